// Hostile turns and objects: cycles, deep nesting, shared objects, huge
// text, throwing getters. Each gives an error or a decision, in bounded
// time, and never crashes the process.
import { test } from 'node:test'
import assert from 'node:assert/strict'

import { Engine, ConversationState, EscalateError, TurnError, StateError, MAX_TURN_VALUES } from '../index.js'

const engine = Engine.builtin()
const NESTED = 'the turn nests more than 128 levels deep'

/** The column (from 1) of the first bracket 128 levels deep in a JSON line: where the library's reader stops. */
function deepestBracket(line) {
  let depth = 0
  let inString = false
  for (let i = 0; i < line.length; i++) {
    const c = line[i]
    if (inString) {
      if (c === '\\') i++
      else if (c === '"') inString = false
    } else if (c === '"') inString = true
    else if (c === '{' || c === '[') {
      if (++depth === 128) return i + 1
    } else if (c === '}' || c === ']') depth--
  }
  return null
}

function refusedAsNested(turn, column) {
  assert.throws(
    () => engine.evaluate(new ConversationState(), turn),
    (e) => {
      assert.ok(e instanceof TurnError, String(e))
      assert.equal(e.message, NESTED)
      assert.equal(e.help, 'flatten `attributes`')
      assert.equal(e.column, column)
      assert.equal(deepestBracket(e.json), column)
      return true
    },
  )
}

test('attributes nested deeper than the library reads: its error, at the column of the whole line', () => {
  let deep = {}
  for (let i = 0; i < 1000; i++) deep = { x: [deep] }
  const turn = { text: 'hi', attributes: deep }
  // JSON.stringify can still write this one: the column is where the reader stops on the whole line.
  refusedAsNested(turn, deepestBracket(JSON.stringify(turn)))

  // Just within the limit: read as it is.
  let shallow = 'leaf'
  for (let i = 0; i < 126; i++) shallow = { x: shallow }
  assert.equal(engine.evaluate(new ConversationState(), { text: 'hi', attributes: shallow }).action, 'none')
  refusedAsNested({ text: 'hi', attributes: { y: shallow } }, 27 + 5 * 126)
})

test('attributes 10,000 levels deep, which JSON.stringify cannot write', () => {
  let deep = {}
  for (let i = 0; i < 10000; i++) deep = { x: deep }
  assert.throws(() => JSON.stringify(deep), RangeError)
  // `{"text":"hi","attributes":` then `{"x":` per level: the 128th bracket.
  refusedAsNested({ text: 'hi', attributes: deep }, 27 + 5 * 126)
})

test('cyclic attributes: an object, an array, a cycle through both', () => {
  const object = {}
  object.self = object
  refusedAsNested({ text: 'hi', attributes: object }, 27 + 8 * 126)
  const array = []
  array.push(array)
  refusedAsNested({ text: 'hi', attributes: { a: array } }, 31 + 126)
  const a = { list: [] }
  a.list.push({ back: a })
  assert.throws(() => engine.evaluate(new ConversationState(), { text: 'hi', attributes: a }), (e) => e instanceof TurnError && e.message === NESTED)
  // A cycle after a field the library refuses: the first problem on the line is reported.
  assert.throws(
    () => engine.evaluate(new ConversationState(), { text: 'hi', sentimnet: 1, attributes: object }),
    (e) => e instanceof TurnError && e.message === 'unknown field `sentimnet`' && e.column === 14,
  )
})

test('shared objects standing for more values than any line could hold: refused in bounded time', () => {
  let dag = { leaf: 1 }
  for (let i = 0; i < 80; i++) dag = { a: dag, b: dag } // 2^80 values as JSON
  for (const turn of [{ text: 'hi', attributes: dag }, { text: 'hi', sentimnet: 1, attributes: dag }]) {
    const started = Date.now()
    assert.throws(
      () => engine.evaluate(new ConversationState(), turn),
      (e) => e instanceof TurnError && e.message === `the turn's attributes hold more than ${MAX_TURN_VALUES} values` && e.column === null,
    )
    assert.ok(Date.now() - started < 20000, `took ${Date.now() - started} ms`)
  }
  // Many values, each once, within the bound: read.
  const wide = Object.fromEntries(Array.from({ length: 50000 }, (_, i) => [`k${i}`, i]))
  assert.equal(engine.evaluate(new ConversationState(), { text: 'hi', attributes: wide }).action, 'none')
})

test('huge text: a 10 MB message is decided', () => {
  const filler = 'lorem ipsum dolor sit amet '.repeat(400000) // 10.8 MB
  assert.equal(engine.evaluate(new ConversationState(), { text: filler }).action, 'none')
  const request = engine.evaluate(new ConversationState(), { text: `${filler} I want to talk to a real person` })
  assert.equal(request.action, 'escalate')
  assert.equal(engine.evaluate(new ConversationState(), { text: '\u0301'.repeat(1 << 20) }).action, 'none')
})

test('other fields cannot nest: deep or cyclic values there are refused at once', () => {
  let deep = []
  for (let i = 0; i < 10000; i++) deep = [deep]
  const cyclic = {}
  cyclic.self = cyclic
  for (const turn of [{ intents: deep }, { intent: deep }, { menu: cyclic }, { intent: { name: 'x', confidence: 1, more: cyclic } }, { text: cyclic }]) {
    assert.throws(() => engine.evaluate(new ConversationState(), turn), TurnError)
  }
})

test('getters that throw, toJSON that throws, BigInt: the JavaScript error, no crash', () => {
  const state = new ConversationState()
  const turn = {
    get text() {
      throw new Error('getter failed')
    },
  }
  assert.throws(() => engine.evaluate(state, turn), /getter failed/)
  const attributes = {
    toJSON() {
      throw new Error('toJSON failed')
    },
  }
  assert.throws(() => engine.evaluate(state, { text: 'hi', attributes }), /toJSON failed/)
  assert.throws(() => engine.evaluate(state, { text: 'hi', attributes: { n: 1n } }), TypeError)
  assert.equal(state.turns, 0)
})

test('a getter that evaluates on the same state while the turn is read', () => {
  const state = new ConversationState()
  const turn = {
    get text() {
      engine.evaluate(state, { text: 'inner' })
      return 'outer'
    },
  }
  engine.evaluate(state, turn)
  // The outer turn was read from the state as it was before the getter ran, and its result is kept.
  assert.equal(state.turns, 1)
})

test('a state that is not a ConversationState is refused', () => {
  for (const state of [{}, null, undefined, Engine.builtin()]) {
    assert.throws(() => engine.evaluate(state, { text: 'hi' }), Error)
  }
})

test('hostile statuses, saved states and conversation references', () => {
  const cyclic = {}
  cyclic.self = cyclic
  let dag = { leaf: 1 }
  for (let i = 0; i < 80; i++) dag = { a: dag, b: dag }
  const state = new ConversationState()
  assert.throws(() => engine.applyStatus(state, { type: 'event', name: 'handoff.status', value: cyclic }), (e) => e instanceof TurnError && e.column > 0)
  assert.throws(() => engine.applyStatus(state, { type: 'event', extra: dag }), (e) => e instanceof TurnError && e.column === null)
  // A saved state has no field that nests: the reader stops at the first wrong type or field.
  for (const saved of [cyclic, { v: 2, turns: 1, x: cyclic }, { v: 2, turns: 1, last_decision: cyclic }]) {
    assert.throws(() => ConversationState.fromJSON(saved), (e) => e instanceof StateError && e.message.startsWith('cannot read the saved conversation state: '))
  }
  assert.throws(() => ConversationState.fromJSON(dag), (e) => e instanceof StateError && e.message.includes(`more than ${MAX_TURN_VALUES} values`))
  const decision = engine.evaluate(state, { text: 'real person please' })
  assert.throws(() => engine.handoffInitiate(decision, { conversation: cyclic }, []), (e) => e instanceof EscalateError && e.message.startsWith('invalid conversation reference: recursion limit exceeded'))
  assert.throws(() => engine.handoffInitiate(decision, dag, []), (e) => e instanceof EscalateError && e.message.includes(`more than ${MAX_TURN_VALUES} values`))
  assert.throws(() => engine.handoffInitiate(decision, 'c-1', [{ text: 'x', attributes: cyclic }]), (e) => e instanceof TurnError && e.message === NESTED && e.index === 0)
})
