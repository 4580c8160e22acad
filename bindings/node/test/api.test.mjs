// Every class, method and getter of the package, and its errors.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'

import * as esm from 'escalate'
import escalateDefault from 'escalate'
import { repo, root, readJSON } from '../testing/support.mjs'

const require = createRequire(import.meta.url)
const {
  Engine,
  ConversationState,
  Decision,
  PolicyHandle,
  MAX_TURN_VALUES,
  EscalateError,
  PolicyError,
  TurnError,
  StateError,
  ReloadError,
} = require('escalate')

const sha16 = (file) => createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 16)

const REQUEST = { conversation_id: 'c-1', id: 'm1', text: 'I want to talk to a real person', locale: 'en-US' }

test('require and import give the same objects', () => {
  for (const name of ['Engine', 'ConversationState', 'Decision', 'PolicyHandle', 'EscalateError', 'PolicyError', 'TurnError', 'StateError', 'ReloadError', 'MAX_TURN_VALUES']) {
    assert.equal(esm[name], require('escalate')[name], name)
    assert.equal(escalateDefault[name], require('escalate')[name], name)
  }
  assert.equal(MAX_TURN_VALUES, 100000)
})

test('Engine.builtin: the built-in policy, its id the hash of policies/default.yaml', () => {
  const engine = Engine.builtin()
  assert.ok(engine instanceof Engine)
  assert.equal(engine.name, 'default')
  assert.deepEqual(engine.policyId, { name: 'default', hash: sha16(repo('policies/default.yaml')) })
  assert.deepEqual(engine.warnings, [])
  assert.equal(engine.transcriptTurns, 20)
  assert.equal(engine.redact('my card is 4242 4242 4242 4242'), 'my card is **** **** **** 4242')
  assert.throws(() => new Engine(), /made by the package/)
})

test('Engine.fromPath and fromYaml: the same policy, the same id', () => {
  const file = repo('policies/examples/bank.yaml')
  const fromPath = Engine.fromPath(file)
  const fromYaml = Engine.fromYaml(readFileSync(file, 'utf8'))
  assert.equal(fromPath.name, fromYaml.name)
  assert.deepEqual(fromPath.policyId, { name: fromPath.name, hash: sha16(file) })
  assert.deepEqual(fromYaml.policyId, fromPath.policyId)
  assert.equal(fromPath.transcriptTurns, 15)
})

test('engine.warnings: each warning as the Diagnostic serde JSON', () => {
  const engine = Engine.fromPath(repo('tests/data/lint.yaml'))
  assert.ok(engine.warnings.length >= 2)
  assert.deepEqual(engine.warnings[0], {
    code: 'unused-topic',
    severity: 'warning',
    file: repo('tests/data/lint.yaml'),
    line: 6,
    column: 3, // the topic's name, where `check` points
    end: 12,
    message: 'no rule uses topic `forgotten`',
    help: 'refer to it with `when: { topic: forgotten }`, or remove it',
  })
  for (const warning of engine.warnings) {
    assert.deepEqual(Object.keys(warning).filter((k) => k !== 'help'), ['code', 'severity', 'file', 'line', 'column', 'end', 'message'])
  }
})

test('PolicyError: the report the CLI prints, and every diagnostic', () => {
  process.chdir(root) // the CLI's expected output names the file as given from the root
  let error
  assert.throws(() => Engine.fromPath('tests/data/broken.yaml'), (e) => (error = e) instanceof PolicyError)
  assert.ok(error instanceof EscalateError && error instanceof Error)
  assert.equal(error.name, 'PolicyError')
  const stdout = readFileSync(repo('cli/tests/cmd/check_broken.stdout'), 'utf8')
  assert.equal(`${error.message}\n\ntests/data/broken.yaml: invalid: 7 errors\n`.replaceAll('\\', '/'), stdout)
  assert.equal(error.diagnostics.length, 7)
  assert.deepEqual(Object.keys(error.diagnostics[1]), ['code', 'severity', 'file', 'line', 'column', 'end', 'message', 'help'])
  assert.deepEqual(error.diagnostics[1], {
    code: 'unknown-topic',
    severity: 'error',
    file: 'tests/data/broken.yaml',
    line: 9,
    column: 20,
    end: 30,
    message: 'unknown topic `bereavment`',
    help: 'did you mean `bereavement`?',
  })
})

test('PolicyError for YAML text, and for a file that cannot be read', () => {
  assert.throws(
    () => Engine.fromYaml('version: 1\nrules: [oops]\n'),
    (e) => e instanceof PolicyError && e.diagnostics.length > 0 && e.diagnostics[0].file === '<policy>' && e.message.includes('<policy>'),
  )
  assert.throws(
    () => Engine.fromPath(repo('no/such/policy.yaml')),
    (e) => e instanceof PolicyError && e.diagnostics[0].code === 'io' && e.message.includes('policy.yaml'),
  )
})

test('ConversationState: new, phase, turns, toJSON and fromJSON', () => {
  const state = new ConversationState()
  assert.equal(state.phase, 'bot')
  assert.equal(state.turns, 0)
  const saved = state.toJSON()
  assert.equal(Object.getPrototypeOf(saved), Object.prototype)
  assert.equal(saved.v, 4)
  assert.equal(saved.turns, 0)
  assert.equal(JSON.stringify(state), JSON.stringify(saved))

  const engine = Engine.builtin()
  engine.evaluate(state, { text: 'where is my parcel', outcome: 'no_match', sentiment: -0.4 })
  engine.evaluate(state, REQUEST)
  assert.equal(state.phase, 'waiting')
  assert.equal(state.turns, 2)
  const text = JSON.stringify(state)
  for (const back of [
    ConversationState.fromJSON(text),
    ConversationState.fromJSON(JSON.parse(text)),
    ConversationState.fromJSON(state.toJSON()),
    ConversationState.fromJSON(Buffer.from(text)),
    ConversationState.fromJSON(new TextEncoder().encode(text)),
  ]) {
    assert.ok(back instanceof ConversationState)
    assert.equal(JSON.stringify(back), text)
    assert.equal(back.phase, 'waiting')
    assert.equal(back.turns, 2)
  }
})

test('ConversationState.fromJSON reads the state every release saved', () => {
  for (const version of ['v1', 'v2', 'v3', 'v4']) {
    const saved = readFileSync(repo(`tests/data/states/${version}.json`), 'utf8')
    const state = ConversationState.fromJSON(saved)
    assert.equal(state.toJSON().v, 4, version)
    assert.equal(state.turns, JSON.parse(saved).turns, version)
  }
})

test('StateError: the library message, for text, objects and bytes alike', () => {
  const check = (saved, message) =>
    assert.throws(
      () => ConversationState.fromJSON(saved),
      (e) => e instanceof StateError && e instanceof EscalateError && e.name === 'StateError' && e.message === message,
    )
  check('{"v": 99, "turns": 3}', 'cannot read the saved conversation state: state version 99 was written by a newer release of escalate (this one reads up to 4) (line 1, column 8)')
  check({ v: 99, turns: 3 }, 'cannot read the saved conversation state: state version 99 was written by a newer release of escalate (this one reads up to 4) (line 1, column 7)')
  check(Buffer.from('[1, 2]'), 'cannot read the saved conversation state: a saved state is a JSON object (line 1, column 1)')
  check('', 'cannot read the saved conversation state: EOF while parsing a value (line 1, column 0)')
  check({ v: 2, turns: 1, session: 'x' }, 'cannot read the saved conversation state: unknown field `session`, expected one of `v`, `turns`, `outcomes`, `failures`, `confidence`, `sentiment`, `last_decision`, `handoff`, `messages` (line 1, column 26)')
})

test('evaluate: a Decision with every getter, and toJSON the decision JSON', () => {
  const engine = Engine.builtin()
  const state = new ConversationState()
  const decision = engine.evaluate(state, REQUEST)
  assert.ok(decision instanceof Decision)
  assert.throws(() => new Decision(), /made by the package/)
  const json = decision.toJSON()
  assert.equal(decision.conversationId, 'c-1')
  assert.equal(decision.turn, 1)
  assert.equal(decision.action, 'escalate')
  assert.equal(decision.kind, 'fallback')
  assert.equal(decision.rule, 'asks-for-human')
  assert.deepEqual(decision.reasons, json.reasons)
  assert.deepEqual(decision.reasons[0], {
    rule: 'asks-for-human',
    trigger: 'keyword',
    kind: 'fallback',
    action: 'escalate',
    detail: 'phrase "talk to real person ~3" matched at 10..31',
    evidence: { phrase: 'talk to real person ~3', start: 10, end: 31 },
  })
  assert.deepEqual(decision.route, { queue: 'general', skill: null, priority: 'normal' })
  assert.equal(decision.message, 'Let me connect you with a person who can help.')
  assert.equal(decision.agentNote, null)
  assert.deepEqual(decision.policy, engine.policyId)
  assert.deepEqual(decision.errors, [])
  assert.equal(decision.phase, 'waiting')
  assert.equal(decision.fallbackChannel, null)
  assert.equal(decision.opensAt, null)
  assert.equal(decision.startsHandoff, true)
  assert.equal(decision.isEscalation, true)
  assert.equal(decision.isOffer, false)
  assert.deepEqual(Object.keys(json), ['conversation_id', 'turn', 'action', 'kind', 'rule', 'reasons', 'route', 'message', 'agent_note', 'policy', 'phase'])
  assert.equal(JSON.stringify(decision), JSON.stringify(json))
})

test('a decision that carries on, one that offers, and the offline path', () => {
  const engine = Engine.builtin()
  const none = engine.evaluate(new ConversationState(), { text: 'where is my parcel' })
  assert.equal(none.action, 'none')
  assert.equal(none.kind, null)
  assert.equal(none.rule, null)
  assert.equal(none.route, null)
  assert.equal(none.message, null)
  assert.equal(none.conversationId, null)
  assert.equal(none.phase, 'bot')
  assert.equal(none.isEscalation || none.isOffer || none.startsHandoff, false)
  assert.equal('phase' in none.toJSON(), false)

  const offer = engine.evaluate(new ConversationState(), { text: 'this is hopeless', sentiment: -0.9 })
  assert.equal(offer.action, 'offer')
  assert.equal(offer.isOffer, true)
  assert.equal(offer.startsHandoff, false)
  assert.equal(offer.phase, 'offered')
  assert.equal(offer.reasons[0].trigger, 'sentiment')
  assert.deepEqual(offer.reasons[0].evidence, { observed: -0.9, threshold: -0.7 })

  const offline = engine.evaluate(new ConversationState(), { text: 'real person please', agents_available: false })
  assert.equal(offline.action, 'escalate')
  assert.equal(offline.isEscalation, true)
  assert.equal(offline.startsHandoff, false)
  assert.equal(offline.fallbackChannel, 'email')
  assert.equal(offline.toJSON().fallback_channel, 'email')
  assert.ok(offline.reasons.some((r) => r.trigger === 'availability'))
  // The built-in policy's queue has no hours: no opening to tell.
  assert.equal(offline.opensAt, null)
})

test('the offline path to a queue with hours says when it opens', () => {
  const engine = Engine.fromYaml(`version: 1
messages: { offline: "Back {opens}." }
queues: { general: { hours: { time_zone: Europe/Paris, open: { mon-fri: "09:00-18:00" } } } }
rules:
  - { id: human, when: { keywords: [agent] }, kind: fallback, action: escalate }
`)
  // Saturday 5 December 2026, 10:00 in Paris.
  const closed = engine.evaluate(new ConversationState(), { text: 'agent', locale: 'fr', timestamp: '2026-12-05T09:00:00Z' })
  assert.equal(closed.message, 'Back lundi à 09:00.')
  assert.equal(closed.opensAt, '2026-12-07T09:00:00+01:00')
  assert.equal(closed.toJSON().opens_at, '2026-12-07T09:00:00+01:00')
  const open = engine.evaluate(new ConversationState(), { text: 'agent', timestamp: '2026-12-07T09:00:00Z' })
  assert.equal(open.opensAt, null)
  assert.equal('opens_at' in open.toJSON(), false)
})

test('triage: a collect decision, then the handoff with what it collected', () => {
  const engine = Engine.fromPath(repo('policies/examples/bank.yaml'))
  const state = new ConversationState()
  const ask = engine.evaluate(state, { text: 'I sent money to the wrong account' })
  assert.equal(ask.action, 'collect')
  assert.equal(ask.phase, 'collecting')
  assert.equal(ask.message, 'How much did you send?')
  assert.deepEqual(ask.collect, { attribute: 'amount', question: 1, of: 2 })
  assert.equal(ask.startsHandoff, false)
  engine.evaluate(state, { text: '450' })
  const done = engine.evaluate(state, { text: 'A Jones' })
  assert.equal(done.action, 'escalate')
  assert.equal(done.collect, null)
  assert.deepEqual(done.collected, { amount: '450', payee: 'A Jones' })
})

test('supervision: a consult decision, its handoff.consult event, and the approval', () => {
  const engine = Engine.fromPath(repo('policies/examples/bank.yaml'))
  const state = new ConversationState()
  const turn = { text: 'can you refund the overdraft fee' }
  const ask = engine.evaluate(state, turn)
  assert.equal(ask.action, 'consult')
  assert.equal(ask.phase, 'consulting')
  assert.equal(ask.startsConsult, true)
  assert.equal(ask.startsHandoff, false)
  assert.equal(ask.isApproved, false)
  assert.equal(ask.consult.proposal, "Refund the customer's last fee")
  assert.equal(ask.consult.answer, undefined)
  const event = engine.handoffConsult(ask, 'c-1', [turn])
  assert.equal(event.name, 'handoff.consult')
  assert.equal(event.value.consult.proposal, ask.consult.proposal)
  assert.equal(event.attachments[0].content.activities[0].text, turn.text)
  const done = engine.applyStatus(state, { type: 'event', name: 'handoff.status', value: { state: 'approved', message: 'Refunded.' } })
  assert.equal(done.isApproved, true)
  assert.equal(done.startsConsult, false)
  assert.equal(done.consult.answer, 'approved')
  assert.equal(done.message, 'Refunded.')
  assert.equal(state.phase, 'bot')
  assert.throws(() => engine.handoffConsult({}, 'c-1', []), TypeError)
})

test('decision.errors: a script that fails at run time', () => {
  const engine = Engine.fromYaml("version: 1\nrules:\n  - { id: r, when: { script: '(1 / 0) > 0' }, kind: fallback, action: escalate }\n")
  const decision = engine.evaluate(new ConversationState(), { text: 'x' })
  assert.equal(decision.action, 'none')
  assert.equal(decision.errors.length, 1)
  assert.equal(decision.errors[0].rule, 'r')
  assert.equal(typeof decision.errors[0].message, 'string')
  assert.deepEqual(decision.toJSON().errors, decision.errors)
})

test('evaluate reads every turn field, as a transcript line', () => {
  const engine = Engine.builtin()
  const state = new ConversationState()
  const turn = {
    conversation_id: 'c-17',
    id: 'act-3',
    role: 'user',
    text: 'I want to talk to a real person',
    menu: null,
    intent: { name: 'billing.dispute', confidence: 0.31 },
    intents: [{ name: 'billing.dispute', confidence: 0.31 }, { name: 'refund', confidence: 0.29 }],
    sentiment: -0.6,
    outcome: 'no_match',
    locale: 'en',
    agents_available: true,
    timestamp: '2026-11-20T14:03:00Z',
    attributes: { tier: 'gold', channel: 'web' },
  }
  engine.evaluate(state, { ...turn, text: 'hmm', intents: [], attributes: {} })
  const decision = engine.evaluate(state, turn)
  assert.equal(decision.conversationId, 'c-17')
  const triggers = decision.reasons.map((r) => `${r.rule}/${r.trigger}`)
  for (const expected of ['asks-for-human/keyword', 'gold-after-two-failures/failures', 'gold-after-two-failures/script', 'low-confidence/confidence', 'ambiguous-intent/confidence']) {
    assert.ok(triggers.includes(expected), `${expected} in ${triggers}`)
  }
  // A bot turn is kept for the transcript, not evaluated.
  const bot = engine.evaluate(state, { role: 'bot', text: 'Connecting you now' })
  assert.equal(bot.action, 'none')
})

test('a turn read field by field decides as the same turn read through JSON', () => {
  const engine = Engine.builtin()
  const every = {
    conversation_id: 'c-17',
    id: 'act-3',
    role: 'user',
    text: 'I want to talk to a real person, ça presse 🙂',
    menu: 'agent',
    intent: { name: 'billing.dispute', confidence: 0.31 },
    intents: [{ name: 'billing.dispute', confidence: 0.31 }, { name: 'refund', confidence: 0.29 }],
    sentiment: -0.6,
    outcome: 'no_match',
    locale: 'en',
    agents_available: false,
    timestamp: '2026-11-20T14:03:00Z',
    attributes: { tier: 'gold', channel: 'web', n: [1, 2.5, null] },
  }
  const conversations = [
    [{ ...every, text: 'hmm' }, every],
    [{ text: 'no', outcome: 'invalid_input', menu: null, id: null, conversation_id: null, locale: null, timestamp: null }, { sentiment: null, intent: null, agents_available: null, text: 'real person' }],
    [{ role: 'bot', text: 'Hello' }, { attributes: {}, intents: [], text: '' }, {}],
    [{ sentiment: -1, text: 'this is useless' }, { text: 'useless', sentiment: -0.9, locale: 'es' }],
  ]
  for (const turns of conversations) {
    const read = new ConversationState()
    const json = new ConversationState()
    for (const turn of turns) {
      // An object with `toJSON` under `attributes` is for JSON to read, so this turn goes through the library's reader.
      const attributes = turn.attributes ?? {}
      const throughJson = { ...turn, attributes: { toJSON: () => attributes } }
      const expected = engine.evaluate(json, throughJson).toJSON()
      assert.deepEqual(engine.evaluate(read, turn).toJSON(), expected, JSON.stringify(turn))
      assert.deepEqual(read.toJSON(), json.toJSON(), JSON.stringify(turn))
    }
  }
})

test('a field set to undefined counts as absent, as in JSON', () => {
  const engine = Engine.builtin()
  const decision = engine.evaluate(new ConversationState(), { text: 'real person please', outcome: undefined, menu: undefined, attributes: undefined })
  assert.equal(decision.action, 'escalate')
})

test('TurnError: the library message, help and column on the compact line', () => {
  const engine = Engine.builtin()
  const state = new ConversationState()
  let error
  assert.throws(() => engine.evaluate(state, { text: 'hi', sentiment: 'bad' }), (e) => (error = e) instanceof TurnError)
  assert.ok(error instanceof EscalateError)
  assert.equal(error.name, 'TurnError')
  assert.equal(error.message, 'invalid type: string "bad", expected f64')
  assert.equal(error.column, 30)
  assert.equal(error.line, 1)
  assert.equal(error.help, null)
  assert.equal(error.json, '{"text":"hi","sentiment":"bad"}')
  assert.equal(state.turns, 0, 'a refused turn leaves the state alone')

  for (const [turn, message, column] of [
    ['hello', 'a turn is a JSON object', 1],
    [[1, 2], 'a turn is a JSON object', 1],
    [null, 'a turn is a JSON object', 1],
    [{ text: 'hi', sentiment: null, intent: { name: 'x' } }, 'missing field `confidence`', 51],
    [{ text: null }, 'invalid type: null, expected a string', 12],
  ]) {
    assert.throws(
      () => engine.evaluate(state, turn),
      (e) => e instanceof TurnError && e.message === message && e.column === column && e.json === JSON.stringify(turn),
      JSON.stringify(turn),
    )
  }
})

test('a turn the library reads but the object did not convert: the conversion reason, no column', () => {
  const engine = Engine.builtin()
  // A function is left out of JSON, so the line reads; the object still holds one.
  assert.throws(
    () => engine.evaluate(new ConversationState(), { text: () => 'hi' }),
    (e) => e instanceof TurnError && e.column === null && e.json === '{}' && e.message.length > 0,
  )
})

test('attributes are read as JSON reads them', () => {
  const engine = Engine.fromYaml(
    "version: 1\nrules:\n  - { id: r, when: { script: 'attributes.big > 1.0e20 && attributes.n == 3 && attributes.when == \"1970-01-01T00:00:00.000Z\" && attributes.list.len() == 3 && attributes.list[1] == ()' }, kind: fallback, action: escalate }\n",
  )
  const attributes = { big: 1e300, n: 3, when: new Date(0), list: [1, undefined, () => 0], gone: undefined, nan: NaN }
  const decision = engine.evaluate(new ConversationState(), { text: 'x', attributes })
  assert.deepEqual(decision.errors, [])
  assert.equal(decision.action, 'escalate')
})

test('applyStatus: the hub event as an object or JSON text', () => {
  const engine = Engine.builtin()
  const state = new ConversationState()
  engine.evaluate(state, REQUEST)
  const accepted = engine.applyStatus(state, { type: 'event', name: 'handoff.status', conversation: { id: 'c-1' }, value: { state: 'accepted' } })
  assert.ok(accepted instanceof Decision)
  assert.equal(accepted.phase, 'with_agent')
  assert.equal(state.phase, 'with_agent')
  const completed = engine.applyStatus(state, '{"type": "event", "name": "handoff.status", "value": {"state": "completed"}}')
  assert.equal(completed.phase, 'bot')
  assert.equal(completed.reasons[0].trigger, 'lifecycle')

  assert.throws(
    () => engine.applyStatus(state, { type: 'event', name: 'handoff.status', value: { state: 'acepted' } }),
    (e) => e instanceof TurnError && e.message === 'unknown value `acepted`' && e.help === 'did you mean `accepted`?' && e.column === 58,
  )
  assert.throws(
    () => engine.applyStatus(state, { type: 'message', text: 'hi' }),
    (e) => e instanceof TurnError && e.message === 'an activity of type `message` is not a handoff status' && e.column === 1,
  )
})

test('handoffInitiate: the event, addressed by id or by a Bot Framework reference', () => {
  const engine = Engine.builtin()
  const state = new ConversationState()
  const transcript = [{ conversation_id: 'c-1', role: 'bot', text: 'Hi! How can I help?' }, { ...REQUEST, text: `${REQUEST.text}, card 4242 4242 4242 4242` }]
  const decision = engine.evaluate(state, transcript[1])
  const byId = engine.handoffInitiate(decision, 'c-1', transcript)
  assert.equal(Object.getPrototypeOf(byId), Object.prototype)
  assert.equal(byId.type, 'event')
  assert.equal(byId.name, 'handoff.initiate')
  assert.equal(byId.id, 'handoff-c-1-1')
  assert.equal(byId.value.rule, 'asks-for-human')
  assert.equal(byId.attachments[0].name, 'Transcript')
  assert.equal(byId.attachments[0].contentType, 'application/json')
  assert.deepEqual(
    byId.attachments[0].content.activities.map((a) => a.text),
    ['Hi! How can I help?', 'I want to talk to a real person, card **** **** **** 4242'],
  )
  assert.equal(byId.relatesTo.activityId, 'm1')
  assert.equal(byId.relatesTo.locale, 'en-US')

  // The SDK's conversation reference, as in tests/data/botframework/handoff_initiate.json.
  const sdk = readJSON(repo('tests/data/botframework/handoff_initiate.json'))
  const reference = { ...sdk.relatesTo }
  const event = engine.handoffInitiate(decision, reference, transcript)
  assert.deepEqual(event.conversation, sdk.conversation)
  assert.deepEqual(event.from, sdk.from)
  assert.equal(event.channelId, sdk.channelId)
  assert.equal(event.serviceUrl, sdk.serviceUrl)
  assert.deepEqual(event.relatesTo, { ...sdk.relatesTo, activityId: 'm1', locale: 'en-US' })

  assert.throws(
    () => engine.handoffInitiate(decision, { user: { id: 'u' } }, transcript),
    (e) => e instanceof EscalateError && e.message.startsWith('invalid conversation reference: missing field'),
  )
  assert.throws(
    () => engine.handoffInitiate(decision, 'c-1', [REQUEST, { text: 'hi', sentimnet: 1 }]),
    (e) => e instanceof TurnError && e.index === 1 && e.message === 'unknown field `sentimnet`' && e.column === 14,
  )
})

test('the error classes', () => {
  for (const [Class, name] of [[EscalateError, 'EscalateError'], [PolicyError, 'PolicyError'], [TurnError, 'TurnError'], [StateError, 'StateError'], [ReloadError, 'ReloadError']]) {
    const error = new Class('m')
    assert.equal(error.name, name)
    assert.equal(error.message, 'm')
    assert.ok(error instanceof Error && error instanceof EscalateError)
    assert.ok(typeof error.stack === 'string')
  }
  assert.ok(typeof PolicyHandle.fromPath === 'function')
})
