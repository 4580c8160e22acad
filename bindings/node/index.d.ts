// The package's types: the classes generated from the binding (native.d.ts),
// the data shapes (types.d.ts) and the error classes index.js defines.
import type { Diagnostic, DecisionJSON } from './types'

export { Engine, ConversationState, Decision, PolicyHandle, MAX_TURN_VALUES } from './native'
export * from './types'

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
