// Type-checked by test/types.test.mjs (`tsc --noEmit`): the package's types
// as a TypeScript bot author uses them. Each `@ts-expect-error` is a mistake
// the types must catch.
import {
  Engine,
  ConversationState,
  Decision,
  PolicyHandle,
  EscalateError,
  PolicyError,
  TurnError,
  StateError,
  ReloadError,
  MAX_TURN_VALUES,
} from 'escalate'
import type { Action, DecisionJSON, Diagnostic, Evidence, HandoffInitiateEvent, Phase, PolicyId, Reason, Route, SavedState, Turn } from 'escalate'

const engine: Engine = Engine.builtin()
const other: Engine = Engine.fromYaml('version: 1\nrules: []\n')
const fromFile: Engine = Engine.fromPath('policy.yaml')
const name: string = engine.name
const id: PolicyId = engine.policyId
const warnings: Diagnostic[] = other.warnings
const help: string | undefined = warnings[0]?.help
const turns: number = fromFile.transcriptTurns
const masked: string = engine.redact('4242 4242 4242 4242')

const state = new ConversationState()
const phase: Phase = state.phase
const saved: SavedState = state.toJSON()
const restored: ConversationState = ConversationState.fromJSON(JSON.stringify(state))
ConversationState.fromJSON(saved)
ConversationState.fromJSON(new Uint8Array())

const turn: Turn = {
  conversation_id: 'c-1',
  text: 'I want a real person',
  intent: { name: 'billing', confidence: 0.3 },
  outcome: 'no_match',
  attributes: { tier: 'gold' },
}
const decision: Decision = engine.evaluate(state, turn)
const action: Action = decision.action
const reasons: Reason[] = decision.reasons
const evidence: Evidence = reasons[0].evidence
const route: Route | null = decision.route
const message: string | null = decision.message
const policy: PolicyId | null = decision.policy
const flags: boolean[] = [decision.startsHandoff, decision.isEscalation, decision.isOffer]
const json: DecisionJSON = decision.toJSON()
const queue: string | undefined = json.route?.queue
const channel = decision.fallbackChannel
const opensAt: string | null = decision.opensAt
const opensAtJson: string | undefined = json.opens_at
if (channel !== null) {
  const known: 'ticket' | 'callback' | 'email' = channel
}
const rule: string | null = decision.rule
const conversationId: string | null = decision.conversationId
const turnNumber: number = decision.turn

const event: HandoffInitiateEvent = engine.handoffInitiate(decision, 'c-1', [turn, { role: 'bot', text: 'Connecting you' }])
const transcriptName: 'Transcript' = event.attachments[0].name
engine.handoffInitiate(decision, {
  user: { id: 'u' },
  bot: { id: 'b' },
  conversation: { id: 'c-1' },
  channelId: 'webchat',
  serviceUrl: 'https://example.com',
}, [])
const status: Decision = engine.applyStatus(state, { type: 'event', name: 'handoff.status', value: { state: 'accepted' } })
engine.applyStatus(state, '{"type": "event", "name": "handoff.status", "value": {"state": "completed"}}')

const handle = PolicyHandle.fromPath('policy.yaml')
const served: Engine = handle.engine
const newId: PolicyId = handle.reload()
handle.evaluate(state, { text: 'hi' })
const limit: number = MAX_TURN_VALUES

try {
  engine.evaluate(state, turn)
} catch (error) {
  if (error instanceof TurnError) {
    const where: number | null = error.column
    const fix: string | null = error.help
    const line: string | null = error.json
  } else if (error instanceof PolicyError) {
    const all: Diagnostic[] = error.diagnostics
  } else if (error instanceof ReloadError) {
    const failed: string[] = error.failed
  } else if (error instanceof StateError || error instanceof EscalateError) {
    const text: string = error.message
  }
}

// @ts-expect-error: a misspelt field is not a turn field
engine.evaluate(state, { text: 'hi', sentimnet: -0.5 })
// @ts-expect-error: outcomes are a closed set
engine.evaluate(state, { outcome: 'nomatch' })
// @ts-expect-error: there is no such action
if (decision.action === 'escalte') {
}
// @ts-expect-error: decisions come from the engine
new Decision()
// @ts-expect-error: engines come from the factories
new Engine()
// @ts-expect-error: the getter is read-only
decision.action = 'none'

export { name, id, help, turns, masked, phase, restored, action, evidence, route, message, policy, flags, queue, rule, conversationId, turnNumber, transcriptName, status, served, newId, limit }
