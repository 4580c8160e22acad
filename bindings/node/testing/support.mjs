// Helpers shared by the tests (kept out of test/, where `node --test test/` would run it as a test file).
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository's root: the shared cases' paths are relative to it. */
export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')

/** A file of the repository, by its path from the root. */
export const repo = (...parts) => path.join(root, ...parts)

export const readJSON = (file) => JSON.parse(readFileSync(file, 'utf8'))

/**
 * Throws unless `expected` is part of `actual`, as tests/conversations.rs
 * checks it: every key of an expected object (a key the actual object
 * lacks counts as `null`), arrays item by item and of the same length,
 * anything else equal.
 */
export function checkSubset(expected, actual, at = '') {
  if (expected !== null && typeof expected === 'object' && !Array.isArray(expected)) {
    for (const [key, want] of Object.entries(expected)) {
      const got = actual !== null && typeof actual === 'object' && key in actual ? actual[key] : null
      checkSubset(want, got ?? null, `${at}.${key}`)
    }
    return
  }
  if (Array.isArray(expected) && Array.isArray(actual) && expected.length === actual.length) {
    expected.forEach((want, i) => checkSubset(want, actual[i], `${at}[${i}]`))
    return
  }
  if (JSON.stringify(expected) !== JSON.stringify(actual)) {
    throw new Error(`${at}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`)
  }
}

/** The decision as the shared cases see it: its JSON, with the phase and whether it starts a handoff always present. */
export function decisionJSON(decision) {
  return { ...decision.toJSON(), phase: decision.phase, starts_handoff: decision.startsHandoff }
}
