// The TypeScript definitions (index.d.ts, the generated native.d.ts,
// types.d.ts) type a bot author's code: test/types/example.ts and .mts
// compile with `tsc --noEmit` under `strict`, and the mistakes marked
// `@ts-expect-error` there are caught.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')

test('the type definitions compile a TypeScript example, strictly', () => {
  const result = spawnSync(process.execPath, [tsc, '-p', path.join(here, 'types/tsconfig.json')], { encoding: 'utf8' })
  assert.equal(result.status, 0, result.stdout + result.stderr)
})
