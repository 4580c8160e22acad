// The shared cases of tests/data/shared/ (see its README), run through the
// JavaScript API exactly as tests/conversations.rs runs them through Rust's.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'

import { Engine, ConversationState, TurnError, PolicyError, StateError } from '../index.js'
import { repo, readJSON, checkSubset, decisionJSON } from '../testing/support.mjs'

const shared = (name) => repo('tests/data/shared', name)

const conversations = readdirSync(shared('conversations'))
  .filter((name) => name.endsWith('.json'))
  .sort()

test('the shared conversations are there', () => {
  assert.ok(conversations.length >= 6, 'the shared conversations are missing')
})

for (const name of conversations) {
  test(`conversation ${name}`, () => {
    const conversation = readJSON(shared(`conversations/${name}`))
    const engine = conversation.policy ? Engine.fromPath(repo(conversation.policy)) : Engine.builtin()
    let state = new ConversationState()
    const transcript = []
    let last = null
    conversation.steps.forEach((step, i) => {
      if (conversation.store_state) state = ConversationState.fromJSON(state.toJSON())
      let actual
      if (step.turn) {
        last = engine.evaluate(state, step.turn)
        transcript.push(step.turn)
        actual = decisionJSON(last)
      } else if (step.bot) {
        assert.equal(step.bot.role, 'bot', `step ${i}`)
        transcript.push(step.bot)
        return
      } else if (step.status) {
        last = engine.applyStatus(state, step.status)
        actual = decisionJSON(last)
      } else if (step.handoff_initiate) {
        actual = engine.handoffInitiate(last, step.handoff_initiate.conversation_id, transcript)
      } else if (step.handoff_consult) {
        actual = engine.handoffConsult(last, step.handoff_consult.conversation_id, transcript)
      } else {
        assert.fail(`step ${i} has no turn, bot, status, handoff_initiate or handoff_consult`)
      }
      checkSubset(step.expect, actual, `step ${i}`)
    })
  })
}

test('every shared bad turn is refused where the CLI points', () => {
  const engine = Engine.builtin()
  for (const bad of readJSON(shared('bad-turns.json')).cases) {
    const line = JSON.stringify(bad.turn)
    assert.throws(
      () => engine.evaluate(new ConversationState(), bad.turn),
      (error) => {
        assert.ok(error instanceof TurnError, `${line}: ${error}`)
        assert.equal(error.message, bad.message, line)
        assert.equal(error.column, bad.column, line)
        assert.equal(error.help, bad.help, line)
        assert.equal(error.json, line)
        return true
      },
    )
  }
})

test('every shared bad policy is refused at each error', () => {
  for (const bad of readJSON(shared('bad-policies.json')).cases) {
    const load = () => (bad.path ? Engine.fromPath(repo(bad.path)) : Engine.fromYaml(bad.yaml))
    assert.throws(load, (error) => {
      assert.ok(error instanceof PolicyError, String(error))
      const actual = error.diagnostics.map(({ code, line, column, help }) => ({ code, line, column, help }))
      checkSubset(bad.diagnostics, actual, 'diagnostics')
      return true
    })
  }
})

test('every shared bad state is refused with its reason', () => {
  for (const bad of readJSON(shared('bad-states.json')).cases) {
    assert.throws(
      () => ConversationState.fromJSON(bad.json),
      (error) => {
        assert.ok(error instanceof StateError, String(error))
        assert.ok(error.message.startsWith('cannot read the saved conversation state: '), error.message)
        assert.ok(error.message.includes(bad.reason), `${bad.json}: ${error.message}`)
        return true
      },
    )
  }
})
