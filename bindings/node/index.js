'use strict'
// The package's entry point: the native classes, as `native.js` (the loader
// `napi build` writes) loads them, plus the two things the native module
// leaves to JavaScript, which it is handed once here (`_setup`):
//
// 1. `makeError`: the package's error classes. The native module gives a
//    kind and the library's error as a JSON payload (src/errors.rs); the
//    message is always the library's text.
// 2. `compact`: a JS value written as one compact JSON line, exactly as
//    `JSON.stringify` writes it, for the library's own readers: a turn the
//    native conversion gives up on (so the error and its column are the
//    CLI's on that line), a `handoff.status` event, a saved state given as
//    an object, a conversation reference, the transcript's turns. It is
//    bounded against cycles, depth and shared objects.
//
// Nothing here decides or words anything.

const native = require('./native.js')

const { Engine, ConversationState, Decision, PolicyHandle, MAX_TURN_VALUES } = native

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

native._setup(makeError, compact)

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
