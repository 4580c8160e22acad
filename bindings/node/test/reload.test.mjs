// PolicyHandle: a policy file served, reloaded when it changes; a broken
// edit or a policy that fails its own NAME.tests.yaml never serves.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

import { PolicyHandle, Engine, ConversationState, Decision, PolicyError, ReloadError, EscalateError } from '../index.js'

const A = 'version: 1\nname: a\nrules:\n  - { id: a-escalates, when: { keywords: [switch] }, kind: planned, action: escalate }\n'
const B = 'version: 1\nname: b\nrules:\n  - { id: b-offers, when: { keywords: [switch] }, kind: fallback, action: offer, messages: { offer: from b } }\n'
const BROKEN = 'version: 1\nname: c\nrules:\n  - { id: c, when: { keywords: [switch] }, kind: planned, action: explode }\n'
const TESTS = 'tests:\n  - name: switch offers\n    turns: [{ text: "switch" }]\n    expect: { action: offer }\n  - name: quiet stays quiet\n    turns: [{ text: "hello" }]\n    expect: { action: none }\n'

function tempPolicy(t, text) {
  const dir = mkdtempSync(path.join(tmpdir(), 'escalate-node-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const file = path.join(dir, 'policy.yaml')
  writeFileSync(file, text)
  return file
}

const decide = (handle) => handle.evaluate(new ConversationState(), { text: 'switch' })

test('PolicyHandle serves the file, and reload serves the edit', (t) => {
  const file = tempPolicy(t, A)
  const handle = PolicyHandle.fromPath(file)
  assert.ok(handle instanceof PolicyHandle)
  assert.ok(handle.engine instanceof Engine)
  assert.equal(handle.engine.name, 'a')
  const first = decide(handle)
  assert.ok(first instanceof Decision)
  assert.equal(first.action, 'escalate')
  assert.equal(first.policy.name, 'a')

  writeFileSync(file, B)
  const id = handle.reload()
  assert.deepEqual(id, Engine.fromYaml(B).policyId)
  assert.deepEqual(handle.engine.policyId, id)
  assert.equal(decide(handle).action, 'offer')
  assert.equal(decide(handle).message, 'from b')
})

test('an engine taken from the handle keeps its policy after a reload', (t) => {
  const file = tempPolicy(t, A)
  const handle = PolicyHandle.fromPath(file)
  const before = handle.engine
  writeFileSync(file, B)
  handle.reload()
  assert.equal(before.name, 'a')
  assert.equal(before.evaluate(new ConversationState(), { text: 'switch' }).action, 'escalate')
  assert.equal(handle.engine.name, 'b')
})

test('a broken edit is refused with a PolicyError, and the old policy keeps serving', (t) => {
  const file = tempPolicy(t, A)
  const handle = PolicyHandle.fromPath(file)
  const served = handle.engine.policyId
  writeFileSync(file, BROKEN)
  assert.throws(
    () => handle.reload(),
    (e) => e instanceof PolicyError && e.diagnostics[0].line === 4 && e.message.includes('explode') && e.message.includes(file),
  )
  assert.deepEqual(handle.engine.policyId, served)
  assert.equal(decide(handle).action, 'escalate')
  assert.equal(decide(handle).policy.name, 'a')
})

test('a policy that fails its NAME.tests.yaml is refused with a ReloadError naming the tests', (t) => {
  const file = tempPolicy(t, A)
  const handle = PolicyHandle.fromPath(file)
  writeFileSync(file.replace(/\.yaml$/, '.tests.yaml'), TESTS)
  // A still serves; an edit back to A fails the tests that now sit beside it.
  let error
  assert.throws(() => handle.reload(), (e) => (error = e) instanceof ReloadError)
  assert.ok(error instanceof EscalateError)
  assert.equal(error.name, 'ReloadError')
  assert.equal(error.message, 'the new policy fails its tests: switch offers')
  assert.deepEqual(error.failed, ['switch offers'])
  assert.equal(error.report.cases.length, 2)
  assert.equal(error.report.cases[0].failures[0].field, 'action')
  assert.equal(decide(handle).policy.name, 'a')

  writeFileSync(file, B) // passes its tests
  assert.equal(handle.reload().name, 'b')
  assert.equal(decide(handle).action, 'offer')
})

test('PolicyHandle.fromPath refuses a policy that does not load', (t) => {
  const file = tempPolicy(t, BROKEN)
  assert.throws(() => PolicyHandle.fromPath(file), PolicyError)
  assert.throws(() => PolicyHandle.fromPath(path.join(path.dirname(file), 'missing.yaml')), (e) => e instanceof PolicyError && e.diagnostics[0].code === 'io')
})

test('a deleted policy file is refused on reload; the old policy keeps serving', (t) => {
  const file = tempPolicy(t, A)
  const handle = PolicyHandle.fromPath(file)
  rmSync(file)
  assert.throws(() => handle.reload(), (e) => e instanceof PolicyError && e.diagnostics[0].code === 'io')
  assert.equal(decide(handle).policy.name, 'a')
})

test('handle.evaluate reads turns as engine.evaluate does', (t) => {
  const handle = PolicyHandle.fromPath(tempPolicy(t, A))
  const cyclic = {}
  cyclic.self = cyclic
  assert.throws(() => handle.evaluate(new ConversationState(), { text: 'x', sentimnet: 1 }), (e) => e.name === 'TurnError' && e.column === 13)
  assert.throws(() => handle.evaluate(new ConversationState(), { text: 'x', attributes: cyclic }), (e) => e.name === 'TurnError' && e.message === 'the turn nests more than 128 levels deep')
})
