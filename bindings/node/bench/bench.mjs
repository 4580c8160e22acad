// The package's speed on the benchmark's own work (`turn/engine/1000/100`
// of `cargo bench`): the generated policy of 1,000 phrases and its pool of
// ~100-byte messages, written by `cargo run --release --example bench_data`
// (run here if target/bench-data is missing).
//
// - escalate: `engine.evaluate(new ConversationState(), { text })` per
//   message, a fresh state each time as in the Rust benchmark, the turn an
//   object made in the loop, reading `decision.action`;
// - baseline: what a bot author hand-writes carefully: lowercase the
//   message once, then `includes` per phrase over the same 1,000 phrases,
//   stopping at the first match (and, as the Rust `naive` row does, counting
//   every match);
//
// each with a warm-up, then RUNS runs of ITERATIONS calls; the figure is the
// median run's nanoseconds per call. Run after `npm run build` (release).
// The load average printed matters: on a shared host every figure moves
// with it, so compare the rows of one run (and `target/release/examples/
// turn_loop`, the same turns in Rust, timed at the same time).
//
//   npm run bench [-- ITERATIONS RUNS [ROW]]
//
// With ROW (`escalate`, say) only that row is measured: for an instruction
// count, which the load does not move, run it twice under callgrind and
// divide the difference by the difference in turns (warm-up included):
//
//   valgrind --tool=callgrind node --single-threaded bench/bench.mjs 20000 1 escalate
//   valgrind --tool=callgrind node --single-threaded bench/bench.mjs 80000 1 escalate
//
// (40,000 and 130,000 turns: the difference in "Collected" over 90,000.)
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

import { Engine, ConversationState } from '../index.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')
const data = path.join(root, 'target/bench-data')
const files = ['policy.yaml', 'phrases.json', 'messages.json']
if (!files.every((file) => existsSync(path.join(data, file)))) {
  console.error('writing target/bench-data: cargo run --release --example bench_data -- target/bench-data')
  execFileSync('cargo', ['run', '--release', '--example', 'bench_data', '--', 'target/bench-data'], { cwd: root, stdio: 'inherit' })
}

const ITERATIONS = Number(process.argv[2] ?? 200_000)
const RUNS = Number(process.argv[3] ?? 7)
const ROW = process.argv[4]

const engine = Engine.fromPath(path.join(data, 'policy.yaml'))
const phrases = JSON.parse(readFileSync(path.join(data, 'phrases.json'), 'utf8'))
const messages = JSON.parse(readFileSync(path.join(data, 'messages.json'), 'utf8'))

/** Median nanoseconds per call of `step(i)` over RUNS runs of ITERATIONS calls, after a warm-up. */
function measure(step) {
  let sink = 0
  for (let i = 0; i < Math.min(ITERATIONS, 50_000); i++) sink += step(i)
  const perCall = []
  for (let run = 0; run < RUNS; run++) {
    const start = process.hrtime.bigint()
    for (let i = 0; i < ITERATIONS; i++) sink += step(i)
    perCall.push(Number(process.hrtime.bigint() - start) / ITERATIONS)
  }
  perCall.sort((a, b) => a - b)
  return { median: perCall[RUNS >> 1], min: perCall[0], max: perCall[RUNS - 1], sink }
}

const n = messages.length
const rows = {
  escalate: (i) => (engine.evaluate(new ConversationState(), { text: messages[i % n] }).action === 'none' ? 0 : 1),
  'baseline (first match)': (i) => {
    const text = messages[i % n].toLowerCase()
    for (let p = 0; p < phrases.length; p++) if (text.includes(phrases[p])) return 1
    return 0
  },
  'baseline (every match)': (i) => {
    const text = messages[i % n].toLowerCase()
    let found = 0
    for (let p = 0; p < phrases.length; p++) if (text.includes(phrases[p])) found++
    return found
  },
  // Where the escalate figure's time goes, beside the engine's own work.
  'of which new ConversationState()': () => (new ConversationState() ? 1 : 0),
}
const results = Object.fromEntries(
  Object.entries(rows)
    .filter(([name]) => ROW === undefined || name === ROW)
    .map(([name, step]) => [name, measure(step)]),
)

const escalated = messages.filter((text) => engine.evaluate(new ConversationState(), { text }).action !== 'none').length
const load = os.loadavg().map((l) => l.toFixed(2)).join(' ')
console.log(
  `${phrases.length} phrases, ${n} messages of ${Math.round(messages.reduce((s, m) => s + m.length, 0) / n)} bytes on average (${escalated} decide something); ` +
    `${RUNS} runs of ${ITERATIONS.toLocaleString('en')} calls; Node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}; load average ${load}`,
)
for (const [name, { median, min, max }] of Object.entries(results)) {
  console.log(`${name.padEnd(34)} ${median.toFixed(0).padStart(7)} ns per call (runs ${min.toFixed(0)} to ${max.toFixed(0)})`)
}
if (ROW === undefined) {
  const ratio = (name) => (results[name].median / results.escalate.median).toFixed(1)
  console.log(`baseline / escalate: ${ratio('baseline (first match)')}x (first match), ${ratio('baseline (every match)')}x (every match)`)
  console.log(`target: at most 3,000 ns per evaluate: ${results.escalate.median <= 3000 ? 'met' : 'NOT met'}`)
}
