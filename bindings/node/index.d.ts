// The package's types: its classes (index.js, over the native functions
// typed in the generated native.d.ts) and the data shapes (types.d.ts).
import type {
  Action,
  Collect,
  Consult,
  ConversationReference,
  DecisionJSON,
  Diagnostic,
  EvalError,
  FallbackChannel,
  HandoffConsultEvent,
  HandoffInitiateEvent,
  HandoffStatusEvent,
  Kind,
  Phase,
  PolicyId,
  Reason,
  Route,
  SavedState,
  Turn,
} from './types'

export { MAX_TURN_VALUES } from './native'
export * from './types'

/** A compiled escalation policy. Build it once and share it: evaluation does not change it. */
export declare class Engine {
  private constructor()
  /** The built-in policy (`policies/default.yaml`). */
  static builtin(): Engine
  /** Compiles a policy from its YAML text; throws a `PolicyError` with every problem when it does not load. */
  static fromYaml(text: string): Engine
  /** Loads and compiles a policy file; throws a `PolicyError` when it cannot be read or does not load. */
  static fromPath(path: string): Engine
  /** The policy's `name`. */
  get name(): string
  /** The policy's name and the first 16 hex digits of its SHA-256. */
  get policyId(): PolicyId
  /** The warnings the policy loaded with. */
  get warnings(): Diagnostic[]
  /** How many turns `handoff.initiate`'s transcript carries: keep at least this many per conversation. */
  get transcriptTurns(): number
  /** The text with what the policy's `handoff.redact` masks masked. */
  redact(text: string): string
  /** Decides one turn and updates the state; throws a `TurnError` when the turn is not a valid turn. */
  evaluate(state: ConversationState, turn: Turn): Decision
  /** Applies the agent hub's `handoff.status` event (the activity, or its JSON); throws a `TurnError` when it is not one. */
  applyStatus(state: ConversationState, status: HandoffStatusEvent | string): Decision
  /**
   * The Bot Framework `handoff.initiate` event for a decision, addressed to a
   * conversation id (a placeholder reference) or the SDK's conversation
   * reference, with the turns kept (user and bot, oldest first) as its
   * redacted transcript.
   */
  handoffInitiate(decision: Decision, conversation: string | ConversationReference, transcript: Iterable<Turn>): HandoffInitiateEvent
  /** The Bot Framework `handoff.consult` event for a `consult` decision: the envelope and transcript of `handoffInitiate`, with the proposal. */
  handoffConsult(decision: Decision, conversation: string | ConversationReference, transcript: Iterable<Turn>): HandoffConsultEvent
}

/** What the engine remembers of one conversation: `JSON.stringify` saves it, `ConversationState.fromJSON` reads it back. */
export declare class ConversationState {
  /** The state of a conversation that has not started. */
  constructor()
  /** Reads a saved state (JSON text or bytes, or the object `toJSON` gave); throws a `StateError` on a corrupt or foreign state. */
  static fromJSON(saved: string | Uint8Array | SavedState): ConversationState
  /** Where the conversation stands in the handoff. */
  get phase(): Phase
  /** How many user turns have been evaluated. */
  get turns(): number
  /** The saved state as a plain object (what `JSON.stringify` writes). */
  toJSON(): SavedState
}

/** The engine's answer for one turn: what to do and why. */
export declare class Decision {
  private constructor()
  /** The conversation, copied from the turn. */
  get conversationId(): string | null
  /** The number of this user turn in the conversation, from 1. */
  get turn(): number
  get action(): Action
  /** `null` when the action is `none`. */
  get kind(): Kind | null
  /** The deciding rule. */
  get rule(): string | null
  /** Every rule that fired, with its evidence. */
  get reasons(): Reason[]
  /** Where to send the conversation. */
  get route(): Route | null
  /** What to tell the user. */
  get message(): string | null
  /** A note for the agent who takes over. */
  get agentNote(): string | null
  /** The policy that made the decision. */
  get policy(): PolicyId | null
  /** Rules that could not be evaluated on this turn. */
  get errors(): EvalError[]
  /** The conversation's phase after this turn. */
  get phase(): Phase
  /** Set on the offline path: how to follow up instead of a live handoff. */
  get fallbackChannel(): FallbackChannel | null
  /** On the offline path to a queue with hours: when it opens next (RFC 3339). */
  get opensAt(): string | null
  /** Triage: what the question (`message`) asks for, when the action is `collect`. */
  get collect(): Collect | null
  /** What a triage collected, on the decision that hands over after it. */
  get collected(): Record<string, string>
  /** Supervision: the proposal, with the agent's `answer` once given. */
  get consult(): Consult | null
  /** Whether to send `handoff.consult` now (the action is `consult`). */
  get startsConsult(): boolean
  /** Whether the agent approved the proposal on this decision: carry it out now. */
  get isApproved(): boolean
  /** Whether to send `handoff.initiate` now. */
  get startsHandoff(): boolean
  /** Whether the bot should hand over now. */
  get isEscalation(): boolean
  /** Whether the bot should offer a person. */
  get isOffer(): boolean
  /** The decision JSON, as `escalate-check run --format json` prints it. */
  toJSON(): DecisionJSON
}

/** A policy file served to every conversation, reloadable while it serves; a policy that fails to load or its own tests never serves. */
export declare class PolicyHandle {
  private constructor()
  /** Loads the policy file and serves it; `reload` reads it again. */
  static fromPath(path: string): PolicyHandle
  /** The engine serving now. */
  get engine(): Engine
  /** Evaluates a turn on the engine serving now. */
  evaluate(state: ConversationState, turn: Turn): Decision
  /** Serves the file again if it loads and passes its own tests and returns its id; otherwise throws a `PolicyError` or `ReloadError` and keeps serving the old one. */
  reload(): PolicyId
}

/** The base of every error the package throws. */
export declare class EscalateError extends Error {}

/** A policy that does not load; `message` is the located report the CLI prints. */
export declare class PolicyError extends EscalateError {
  /** Every error, in file order. */
  readonly diagnostics: Diagnostic[]
}

/** A turn, `handoff.status` event or transcript turn that is refused. */
export declare class TurnError extends EscalateError {
  /** How to fix it, when there is a likely fix. */
  readonly help: string | null
  /** Where in `json` the problem is (characters, from 1); `null` when the JSON reads but the object does not convert. */
  readonly column: number | null
  /** The line in `json` (1 unless the JSON given spans several lines). */
  readonly line: number | null
  /** The compact JSON line the library read (what `JSON.stringify` writes). */
  readonly json: string | null
  /** The turn's position in the transcript given to `handoffInitiate`. */
  readonly index?: number
}

/** A saved state that cannot be read: corrupt, foreign or from a newer release. */
export declare class StateError extends EscalateError {}

/** One case of a policy's tests. */
export interface CaseReport {
  name: string
  passed: boolean
  failures: Array<{ turn: number; field: string; expected: string; actual: string; decision: DecisionJSON }>
}

/** A reloaded policy that loads but fails its own tests; the old one keeps serving. */
export declare class ReloadError extends EscalateError {
  /** The names of the failed cases. */
  readonly failed: string[]
  /** The whole test report. */
  readonly report: { cases: CaseReport[]; uncovered_rules: string[] }
}
