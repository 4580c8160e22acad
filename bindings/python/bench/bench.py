"""Per-turn cost of `engine.evaluate` from Python, beside what a bot would hand-write.

    maturin develop --release   # or: pip install .
    python bench/bench.py

Both sides run in this process over the same generated policy (1,000 phrases in keyword
rules and topics, `cargo run --release --example bench_data`, the policy of `cargo bench`'s
`turn/engine/1000/100`) and the same ~100-byte messages:

- `escalate`: `engine.evaluate(ConversationState(), {"text": message})`, a dict in and a
  `Decision` out, reading `decision.action` (a fresh state per turn, as in the Rust benchmark);
- baseline: what a careful bot author writes: the phrases lowercased once, then per message
  `message.lower()` and `phrase in lowered` for each phrase, stopping at the first that is found
  (no word boundaries, no negation, no evidence, one answer).

Prints nanoseconds per turn (median of several runs) and the ratio.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import escalate

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "target" / "bench-data"


def data() -> tuple[Path, list[str], list[str]]:
    if not (DATA / "messages.json").exists():
        subprocess.run(
            ["cargo", "run", "--release", "--example", "bench_data", "--", str(DATA), "1000", "100"],
            cwd=ROOT, check=True,
        )
    phrases = json.loads((DATA / "phrases.json").read_text())
    messages = json.loads((DATA / "messages.json").read_text())
    return DATA / "policy.yaml", phrases, messages


def per_turn(run: Callable[[], object], turns: int, repeats: int = 7) -> float:
    """Median nanoseconds per turn over `repeats` runs of `turns` turns, after a warm-up."""
    run()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter_ns()
        run()
        samples.append((time.perf_counter_ns() - start) / turns)
    return statistics.median(samples)


def main() -> None:
    policy, phrases, messages = data()
    engine = escalate.Engine.from_path(policy)
    rounds = 2_000
    turns = [{"text": m} for m in messages] * rounds
    lowered_phrases = [p.lower() for p in phrases]
    pool = messages * rounds

    def with_escalate() -> object:
        actions = 0
        for turn in turns:
            if engine.evaluate(escalate.ConversationState(), turn).action != "none":
                actions += 1
        return actions

    def baseline() -> object:
        found = 0
        for message in pool:
            lowered = message.lower()
            for phrase in lowered_phrases:
                if phrase in lowered:
                    found += 1
                    break
        return found

    engine_ns = per_turn(with_escalate, len(turns))
    baseline_ns = per_turn(baseline, len(pool))
    print(f"python {sys.version.split()[0]}, {len(phrases)} phrases, {len(messages)} messages of ~100 bytes")
    print(f"escalate evaluate (dict in, Decision out): {engine_ns:8.0f} ns/turn")
    print(f"baseline lower() + `in` per phrase:        {baseline_ns:8.0f} ns/turn")
    print(f"baseline / escalate:                       {baseline_ns / engine_ns:8.1f}x")


if __name__ == "__main__":
    main()
