'use strict'
// The package's entry point: its classes, thin JavaScript over the native
// functions (`native.js`, the loader `napi build` writes; src/lib.rs).
//
// - `Engine` and `PolicyHandle` hold a native handle to the Rust value.
// - `ConversationState` holds the library's saved-state JSON (what
//   `JSON.stringify(state)` writes); a new one holds nothing yet.
// - `Decision` holds the decision JSON, parsed when it is first read.
//
// so that a turn is one native call (napi-rs 3 spends microseconds on each
// class instance it makes and on each call on one; README, "Benchmark").
// Every decision, message and error text comes from the library.
//
// The native module is handed, once (`setup`), the two things it leaves
// to JavaScript:
//
// 1. `makeError`: the package's error classes, from a kind and the
//    library's error as a JSON payload (src/errors.rs).
// 2. `compact`: a JS value written as one compact JSON line, exactly as
//    `JSON.stringify` writes it, for the library's own readers: a turn the
//    native conversion gives up on (so the error and its column are the
//    CLI's on that line), a `handoff.status` event, a saved state given as
//    an object, a conversation reference, the transcript's turns. It is
//    bounded against cycles, depth and shared objects.

const native = require('./native.js')

const { MAX_TURN_VALUES } = native

/** The base of every error the package throws. */
class EscalateError extends Error {}

/** A policy that does not load; `message` is the located report the CLI prints. */
class PolicyError extends EscalateError {
  constructor(message, diagnostics = []) {
    super(message)
    /** Every error: `{ code, severity, file, line, column, message, help? }`. */
    this.diagnostics = diagnostics
  }
}

/** A turn, `handoff.status` event or transcript turn that is refused. */
class TurnError extends EscalateError {
  constructor(message, { help = null, column = null, line = null, json = null, index } = {}) {
    super(message)
    /** How to fix it, or `null`. */
    this.help = help
    /** Where in `json` (characters, from 1); `null` when the JSON reads but the object did not convert. */
    this.column = column
    /** The line in `json` (1 unless the JSON given spans several), or `null`. */
    this.line = line
    /** The compact JSON line the library read, or `null`. */
    this.json = json
    /** The turn's position in the transcript given to `handoffInitiate`. */
    if (index !== undefined) this.index = index
  }
}

/** A saved state that cannot be read: corrupt, foreign or from a newer release. */
class StateError extends EscalateError {}

/** A reloaded policy that loads but fails its own tests; the old one keeps serving. */
class ReloadError extends EscalateError {
  constructor(message, failed = [], report = null) {
    super(message)
    /** The names of the failed test cases. */
    this.failed = failed
    /** The test report: `{ cases: [{ name, passed, failures }], uncovered_rules }`. */
    this.report = report
  }
}

for (const error of [EscalateError, PolicyError, TurnError, StateError, ReloadError]) {
  Object.defineProperty(error.prototype, 'name', { value: error.name, writable: true, configurable: true })
}

/** The error of `kind` for the native module's JSON `payload`. */
function makeError(kind, payload) {
  const fields = JSON.parse(payload)
  switch (kind) {
    case 'PolicyError':
      return new PolicyError(fields.message, fields.diagnostics)
    case 'TurnError':
      return new TurnError(fields.message, fields)
    case 'StateError':
      return new StateError(fields.message)
    case 'ReloadError':
      return new ReloadError(fields.message, fields.failed, fields.report)
    default:
      return new EscalateError(fields.message)
  }
}

/** How deep the library's JSON reader reads (serde_json's limit): a bracket this deep is refused. */
const MAX_DEPTH = 128

/**
 * `value` as one compact line of JSON, exactly as `JSON.stringify(value)`
 * writes it, but bounded:
 *
 * - the first value nested deeper than `MAX_DEPTH` (a cycle nests without
 *   end) is written as `0`, and everything after it is left out: the line
 *   is the same up to there, so the library's reader refuses it at the
 *   same bracket and column;
 * - past `MAX_TURN_VALUES` values (for a turn, those under `attributes`,
 *   as the native conversion counts them) it gives `undefined`, and the
 *   native side throws its too-large error.
 *
 * Each object is copied before it is written, so that `JSON.stringify`
 * never meets the same object twice on one path (it would throw on a cycle
 * before the depth is reached); the copy has the same keys in the same
 * order, and `JSON.stringify` has called `toJSON` before the replacer.
 */
function compact(value, isTurn) {
  const seen = new WeakMap() // copy -> [depth, counted]
  let values = 0
  let stopped = false
  let large = false
  const line = JSON.stringify(value, function (key, item) {
    if (stopped) return undefined
    const [depth, counted] = seen.get(this) ?? [0, false]
    const counts = !isTurn || counted || (depth === 1 && key === 'attributes')
    if (counts && ++values > MAX_TURN_VALUES) {
      stopped = large = true
      return undefined
    }
    if (item === null || typeof item !== 'object') return item
    if (item instanceof Number || item instanceof String || item instanceof Boolean) return item
    if (depth + 1 > MAX_DEPTH) {
      stopped = true
      return 0
    }
    const copy = Array.isArray(item) ? item.slice() : Object.assign({}, item)
    seen.set(copy, [depth + 1, counts])
    return copy
  })
  if (large) return undefined
  // `JSON.stringify(undefined)` writes nothing; the reader is given `null`.
  return line === undefined ? 'null' : line
}

native.setup(makeError, compact)

// A transcript line's fields, as the native side numbers them: each one's place, from 1.
const FIELDS = new Map(native.turnFields().map((name, index) => [name, index + 1]))

/**
 * The native `evaluate` (or `handleEvaluate`) of `handle` on `turn`. For a
 * plain object whose keys are all a transcript line's fields, the values
 * are read here, in key order (one that is `undefined` is left out, as in
 * JSON), and `order` gives each one's field, four bits a value from the
 * lowest: that spares the native side getting each key and property
 * through napi. For any other turn `order` is -1 and the native side reads
 * the object itself, as it does when a value does not convert, for the
 * error the CLI gives on the turn's JSON line.
 */
function evaluateTurn(evaluate, handle, saved, turn) {
  const values = []
  let order = -1
  if (typeof turn === 'object' && turn !== null && !Array.isArray(turn)) {
    const keys = Object.keys(turn)
    order = 0
    for (let i = 0, scale = 1; i < keys.length; i++) {
      const value = turn[keys[i]]
      if (value === undefined) continue
      const field = FIELDS.get(keys[i])
      if (field === undefined) {
        order = -1
        break
      }
      order += field * scale
      scale *= 16
      values.push(value)
    }
  }
  return evaluate(handle, saved, turn, order, ...values)
}

// Set by the classes' static blocks: a state's saved JSON and its update, a decision's JSON.
let stateOf, decisionJSON

/** Guards the constructors that only the package calls. */
const INTERNAL = Symbol('escalate internal')

function internal(token, what) {
  if (token !== INTERNAL) throw new TypeError(`${what} are made by the package: ${hint[what]}`)
}
const hint = {
  engines: 'use Engine.builtin(), Engine.fromYaml(text) or Engine.fromPath(path)',
  decisions: 'use engine.evaluate(state, turn)',
  'policy handles': 'use PolicyHandle.fromPath(path)',
}

/** A compiled escalation policy. Build it once and share it: evaluation does not change it. */
class Engine {
  #native
  constructor(token, handle) {
    internal(token, 'engines')
    this.#native = handle
  }
  /** The built-in policy. */
  static builtin() {
    return new Engine(INTERNAL, native.engineBuiltin())
  }
  /** Compiles a policy from its YAML text; throws a `PolicyError` with every problem when it does not load. */
  static fromYaml(text) {
    return new Engine(INTERNAL, native.engineFromYaml(text))
  }
  /** Loads and compiles a policy file; throws a `PolicyError` when it cannot be read or does not load. */
  static fromPath(path) {
    return new Engine(INTERNAL, native.engineFromPath(path))
  }
  /** The policy's `name`. */
  get name() {
    return native.engineName(this.#native)
  }
  /** `{ name, hash }`: the policy's name and the first 16 hex digits of its SHA-256. */
  get policyId() {
    return native.enginePolicyId(this.#native)
  }
  /** The warnings the policy loaded with. */
  get warnings() {
    return native.engineWarnings(this.#native)
  }
  /** How many turns `handoff.initiate`'s transcript carries: keep at least this many per conversation. */
  get transcriptTurns() {
    return native.engineTranscriptTurns(this.#native)
  }
  /** The text with what the policy's `handoff.redact` masks masked. */
  redact(text) {
    return native.engineRedact(this.#native, text)
  }
  /** Decides one turn (a plain object with the fields of a transcript line) and updates the state. */
  evaluate(state, turn) {
    const kept = stateOf(state)
    return kept.update(evaluateTurn(native.evaluate, this.#native, kept.saved, turn))
  }
  /** Applies the agent hub's `handoff.status` event (the activity, or its JSON) to the state. */
  applyStatus(state, status) {
    const kept = stateOf(state)
    return kept.update(native.applyStatus(this.#native, kept.saved, status))
  }
  /** The Bot Framework `handoff.initiate` event for a decision, addressed to a conversation id or reference, with the turns kept. */
  handoffInitiate(decision, conversation, transcript = []) {
    if (!(decision instanceof Decision)) throw new TypeError('handoffInitiate takes the Decision that evaluate gave')
    return native.handoffInitiate(this.#native, decisionJSON(decision), conversation, Array.from(transcript))
  }
  /** The Bot Framework `handoff.consult` event for a `consult` decision, addressed and with a transcript as `handoffInitiate`. */
  handoffConsult(decision, conversation, transcript = []) {
    if (!(decision instanceof Decision)) throw new TypeError('handoffConsult takes the Decision that evaluate gave')
    return native.handoffConsult(this.#native, decisionJSON(decision), conversation, Array.from(transcript))
  }
}

/** What the engine remembers of one conversation; `JSON.stringify` saves it and `ConversationState.fromJSON` reads it back. */
class ConversationState {
  #saved = null // the library's saved-state JSON; null for a conversation not started
  /** The state of a conversation that has not started. */
  constructor() {}
  /** Reads a saved state: JSON text or bytes, or the object `toJSON` gave. Throws a `StateError` on a corrupt or foreign state. */
  static fromJSON(saved) {
    const state = new ConversationState()
    state.#saved = native.stateRead(saved)
    return state
  }
  /** `bot`, `offered`, `waiting` or `with_agent`. */
  get phase() {
    return native.statePhase(this.#saved)
  }
  /** How many user turns have been evaluated. */
  get turns() {
    return native.stateTurns(this.#saved)
  }
  /** The saved state as a plain object. */
  toJSON() {
    return JSON.parse(this.#saved ?? native.stateJson(null))
  }
  static {
    stateOf = (state) => {
      if (!(state instanceof ConversationState) || !(#saved in state)) {
        throw new TypeError('the state is a ConversationState: new ConversationState() or ConversationState.fromJSON(saved)')
      }
      return {
        saved: state.#saved,
        /** Keeps the state the native side gave and makes its decision. */
        update(out) {
          // `1` or `0` (starts a handoff) and the action, the state, the decision (src/lib.rs, `outcome`).
          const first = out.indexOf('\n')
          const second = out.indexOf('\n', first + 1)
          state.#saved = out.slice(first + 1, second)
          return new Decision(INTERNAL, out.slice(second + 1), out[0] === '1', out.slice(1, first))
        },
      }
    }
  }
}

/** The engine's answer for one turn: what to do and why. Its getters read the decision JSON. */
class Decision {
  #json
  #data = null
  #startsHandoff
  #action
  constructor(token, json, startsHandoff, action) {
    internal(token, 'decisions')
    this.#json = json
    this.#startsHandoff = startsHandoff
    this.#action = action
  }
  #read() {
    return (this.#data ??= JSON.parse(this.#json))
  }
  /** A field holding an object, parsed afresh so that the caller may change it. */
  #fresh(field) {
    return JSON.parse(this.#json)[field]
  }
  /** The conversation, copied from the turn. */
  get conversationId() {
    return this.#read().conversation_id
  }
  /** The number of this user turn in the conversation, from 1. */
  get turn() {
    return this.#read().turn
  }
  /** `none`, `offer`, `consult`, `collect` or `escalate`. */
  get action() {
    return this.#action
  }
  /** `planned` or `fallback`; `null` when the action is `none`. */
  get kind() {
    return this.#read().kind
  }
  /** The deciding rule. */
  get rule() {
    return this.#read().rule
  }
  /** Every rule that fired, with its evidence. */
  get reasons() {
    return this.#fresh('reasons')
  }
  /** `{ queue, skill, priority }`: where to send the conversation. */
  get route() {
    return this.#fresh('route')
  }
  /** What to tell the user. */
  get message() {
    return this.#read().message
  }
  /** A note for the agent who takes over. */
  get agentNote() {
    return this.#read().agent_note
  }
  /** `{ name, hash }`: the policy that made the decision. */
  get policy() {
    return this.#fresh('policy') ?? null
  }
  /** Rules that could not be evaluated on this turn. */
  get errors() {
    return this.#fresh('errors') ?? []
  }
  /** The conversation's phase after this turn (the decision JSON leaves out `bot`). */
  get phase() {
    return this.#read().phase ?? 'bot'
  }
  /** `ticket`, `callback` or `email` on the offline path, else `null` (absent from the decision JSON). */
  get fallbackChannel() {
    return this.#read().fallback_channel ?? null
  }
  /** On the offline path to a queue with hours: when it opens next (RFC 3339), else `null`. */
  get opensAt() {
    return this.#read().opens_at ?? null
  }
  /** Triage: `{ attribute, question, of }` when the action is `collect`, else `null`. */
  get collect() {
    return this.#fresh('collect') ?? null
  }
  /** What a triage collected, on the decision that hands over after it (`{}` otherwise). */
  get collected() {
    return this.#fresh('collected') ?? {}
  }
  /** Supervision: `{ proposal, note?, answer? }` when the action is `consult` or the agent answered, else `null`. */
  get consult() {
    return this.#fresh('consult') ?? null
  }
  /** Whether to send `handoff.consult` now (`Decision::starts_consult`). */
  get startsConsult() {
    return this.#action === 'consult'
  }
  /** Whether the agent approved the proposal on this decision (`Decision::is_approved`). */
  get isApproved() {
    return this.#read().consult?.answer === 'approved'
  }
  /** Whether to send `handoff.initiate` now (`Decision::starts_handoff`). */
  get startsHandoff() {
    return this.#startsHandoff
  }
  /** Whether the bot should hand over now. */
  get isEscalation() {
    return this.#action === 'escalate'
  }
  /** Whether the bot should offer a person. */
  get isOffer() {
    return this.#action === 'offer'
  }
  /** The decision JSON, as `escalate-check run --format json` prints it. */
  toJSON() {
    return JSON.parse(this.#json)
  }
  static {
    decisionJSON = (decision) => decision.#json
  }
}

/** A policy file served to every conversation, which can be reloaded while it serves. */
class PolicyHandle {
  #native
  constructor(token, handle) {
    internal(token, 'policy handles')
    this.#native = handle
  }
  /** Loads the policy file and serves it; `reload` reads it again. */
  static fromPath(path) {
    return new PolicyHandle(INTERNAL, native.handleFromPath(path))
  }
  /** The engine serving now. */
  get engine() {
    return new Engine(INTERNAL, native.handleEngine(this.#native))
  }
  /** Evaluates a turn on the engine serving now. */
  evaluate(state, turn) {
    const kept = stateOf(state)
    return kept.update(evaluateTurn(native.handleEvaluate, this.#native, kept.saved, turn))
  }
  /** Serves the file again if it loads and passes its own tests; returns its id. Otherwise throws and keeps the old one. */
  reload() {
    return native.handleReload(this.#native)
  }
}

module.exports = {
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
}
