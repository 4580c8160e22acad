// `JSON.stringify(decision)` and `JSON.stringify(event)` are exactly what
// `escalate-check run --format json` prints: the transcripts of
// examples/transcripts/ run through the JavaScript API as the CLI runs them
// (cli/src/run.rs: a state and a transcript per conversation, statuses
// applied, `handoff.initiate` after each decision that starts a handoff,
// addressed with the placeholder reference), compared line by line with
// the CLI's own expected output in cli/tests/cmd/ (kept by its trycmd tests,
// which compare `\` as `/` and accept `[..]` for the policy hash).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'

import { Engine, ConversationState } from '../index.js'
import { repo } from '../testing/support.mjs'

function run(transcript, handoff) {
  const engine = Engine.builtin()
  const conversations = new Map()
  const out = []
  for (const text of readFileSync(repo(transcript), 'utf8').split('\n')) {
    if (!text.trim()) continue
    const line = JSON.parse(text)
    const id = line.type ? line.conversation?.id : line.conversation_id
    if (!conversations.has(id)) conversations.set(id, { state: new ConversationState(), transcript: [] })
    const conversation = conversations.get(id)
    if (line.type) {
      out.push(engine.applyStatus(conversation.state, line))
      continue
    }
    if (handoff) {
      if (conversation.transcript.length === engine.transcriptTurns) conversation.transcript.shift()
      conversation.transcript.push(line)
    }
    if (line.role === 'bot') continue
    const decision = engine.evaluate(conversation.state, line)
    out.push(decision)
    if (handoff && decision.startsHandoff) {
      out.push(engine.handoffInitiate(decision, line.conversation_id ?? '-', conversation.transcript))
    }
  }
  return out.map((item) => normalized(JSON.stringify(item)))
}

/** As trycmd compares: `\\` as `/`, and the policy hash as `[..]` (which the expected files write in some lines). */
const normalized = (line) => line.replaceAll('\\', '/').replace(/"hash":"[0-9a-f]{16}"/g, '"hash":"[..]"')

function expected(stdout) {
  return readFileSync(repo('cli/tests/cmd', stdout), 'utf8').split('\n').filter(Boolean).map(normalized)
}

test('decisions are the CLI decision JSON, byte for byte', () => {
  const want = expected('run_json.stdout')
  const got = run('examples/transcripts/support.jsonl', false)
  assert.equal(got.length, want.length)
  got.forEach((line, i) => assert.equal(line, want[i], `line ${i + 1}`))
})

test('decisions, statuses and handoff.initiate events are the CLI JSON, byte for byte', () => {
  const want = expected('run_handoff_json.stdout')
  const got = run('examples/transcripts/handoff.jsonl', true)
  assert.equal(got.length, want.length)
  got.forEach((line, i) => assert.equal(line, want[i], `line ${i + 1}`))
})
