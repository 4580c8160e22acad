//! Per-turn cost of `Engine::evaluate`, side by side with the floor (one bare
//! Aho-Corasick scan of the lowercased message, with the same kind of
//! automaton the engine chose and, like the engine's, no prefilter), what
//! hand-written bots do (lowercase, then `contains` per phrase) and a
//! `RegexSet` of case-insensitive word-bounded phrases (`(?i)\bphrase\b`)
//! with its compiled-size and lazy-DFA cache limits raised to fit, on the
//! same phrase sets and messages. Run with `cargo bench --bench turn`;
//! docs/benchmarks.md has the table.
//!
//! Policies are generated: keyword rules and topics holding 50, 1,000 and
//! 10,000 two- and three-word phrases, plus threshold rules. Messages are a
//! pool of English chat messages of about 20, 100 and 1,000 bytes, some of
//! which contain a phrase of every set. `rules/{10,1000}` evaluates a
//! message no rule matches against 10 and 1,000 keyword rules.

use std::hint::black_box;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use escalate::{ConversationReference, ConversationState, DEFAULT_POLICY, Engine, Role, Turn};
use regex::RegexSetBuilder;

#[path = "../tests/support/synthetic.rs"]
mod synthetic;

use synthetic::{messages, phrases, policy_yaml, with_builtin_sentiment, with_word_matching};

const PHRASE_COUNTS: [usize; 3] = [50, 1_000, 10_000];
const MESSAGE_SIZES: [usize; 3] = [20, 100, 1_000];

/// `cargo test --all-targets` runs each benchmark once, unoptimized, as a
/// smoke test: then the smallest sizes are enough (the 10,000-phrase
/// `RegexSet` alone takes minutes to build in a debug build).
fn sizes(all: &'static [usize]) -> &'static [usize] {
    if measuring() { all } else { &all[..1] }
}

/// Whether this is `cargo bench` rather than the smoke test.
fn measuring() -> bool {
    std::env::args().any(|arg| arg == "--bench")
}

fn turn(c: &mut Criterion) {
    let mut group = c.benchmark_group("turn");
    for &count in sizes(&PHRASE_COUNTS) {
        let phrases = phrases(count);
        let engine =
            Engine::from_yaml(&policy_yaml(&phrases, false)).expect("generated policy compiles");
        // The floor uses the same automaton configuration as the engine: the
        // kind it chose, and no prefilter (the engine turns it off).
        let kind = match engine.summary().automaton {
            "dfa" => AhoCorasickKind::DFA,
            _ => AhoCorasickKind::ContiguousNFA,
        };
        let floor = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .kind(Some(kind))
            .prefilter(false)
            .build(&phrases)
            .unwrap();
        // A bot author who cared would raise both of the default limits to
        // fit 10,000 phrases: the compiled size (10 MB) and the lazy DFA's
        // cache (2 MB), without which the search thrashes the cache.
        let regexset = RegexSetBuilder::new(
            phrases
                .iter()
                .map(|p| format!(r"(?i)\b{}\b", regex::escape(p))),
        )
        .size_limit(1 << 30)
        .dfa_size_limit(256 << 20)
        .build()
        .unwrap();
        for &size in sizes(&MESSAGE_SIZES) {
            let pool = messages(&phrases, size);
            let turns: Vec<Turn> = pool.iter().map(|m| Turn::user(m.as_str())).collect();
            let lowered: Vec<String> = pool.iter().map(|m| m.to_lowercase()).collect();
            let id = format!("{count}/{size}");
            let mut next = 0;
            group.bench_function(BenchmarkId::new("engine", &id), |b| {
                b.iter(|| {
                    next = (next + 1) % turns.len();
                    let mut state = ConversationState::new();
                    black_box(engine.evaluate(&mut state, &turns[next]))
                })
            });
            group.bench_function(BenchmarkId::new("floor", &id), |b| {
                b.iter(|| {
                    next = (next + 1) % lowered.len();
                    black_box(floor.find_overlapping_iter(&lowered[next]).count())
                })
            });
            if count <= 1_000 || size <= 100 {
                group.bench_function(BenchmarkId::new("naive", &id), |b| {
                    b.iter(|| {
                        next = (next + 1) % pool.len();
                        let text = pool[next].to_lowercase();
                        black_box(phrases.iter().filter(|p| text.contains(p.as_str())).count())
                    })
                });
            }
            group.bench_function(BenchmarkId::new("regexset", &id), |b| {
                b.iter(|| {
                    next = (next + 1) % pool.len();
                    black_box(regexset.matches(&pool[next]).matched_any())
                })
            });
        }
    }

    // The same 1,000-phrase policy with typo tolerance and word forms on,
    // beside `engine/1000/100` (both off) in the same group and run.
    let phrases_1k = phrases(1_000);
    let fuzzy_yaml = with_word_matching(&policy_yaml(&phrases_1k, false));
    let fuzzy = Engine::from_yaml(&fuzzy_yaml).unwrap();
    let fuzzy_turns: Vec<Turn> = messages(&phrases_1k, 100)
        .into_iter()
        .map(Turn::user)
        .collect();
    let mut next = 0;
    group.bench_function(BenchmarkId::new("engine_fuzzy", "1000/100"), |b| {
        b.iter(|| {
            next = (next + 1) % fuzzy_turns.len();
            let mut state = ConversationState::new();
            black_box(fuzzy.evaluate(&mut state, &fuzzy_turns[next]))
        })
    });
    // The same policy with its sentiment rule on the built-in scorer, which
    // then scores every turn, beside `engine/1000/100` (the turn's score).
    let sentiment =
        Engine::from_yaml(&with_builtin_sentiment(&policy_yaml(&phrases_1k, false))).unwrap();
    let plain_turns: Vec<Turn> = messages(&phrases_1k, 100)
        .into_iter()
        .map(Turn::user)
        .collect();
    let mut next = 0;
    group.bench_function(BenchmarkId::new("engine_sentiment", "1000/100"), |b| {
        b.iter(|| {
            next = (next + 1) % plain_turns.len();
            let mut state = ConversationState::new();
            black_box(sentiment.evaluate(&mut state, &plain_turns[next]))
        })
    });
    let scripted = Engine::from_yaml(&policy_yaml(&phrases_1k, true)).unwrap();
    let pool: Vec<Turn> = messages(&phrases_1k, 100)
        .into_iter()
        .map(|m| {
            let mut turn = Turn::user(m);
            turn.attributes.insert("tier".into(), "silver".into());
            turn
        })
        .collect();
    let mut next = 0;
    group.bench_function(BenchmarkId::new("engine_script", "1000/100"), |b| {
        b.iter(|| {
            next = (next + 1) % pool.len();
            let mut state = ConversationState::new();
            black_box(scripted.evaluate(&mut state, &pool[next]))
        })
    });

    // A turn's cost should not grow with keyword rules that do not match.
    let quiet = Turn::user(messages(&phrases_1k, 100).swap_remove(1));
    for &rules in sizes(&[10, 1_000]) {
        let mut yaml = String::from("version: 1\nrules:\n");
        for i in 0..rules {
            yaml.push_str(&format!(
                "  - {{ id: r{i}, when: {{ keywords: [\"word{i} alpha\", \"word{i} beta\"] }}, kind: fallback, action: offer }}\n"
            ));
        }
        let engine = Engine::from_yaml(&yaml).unwrap();
        group.bench_function(BenchmarkId::new("rules", rules), |b| {
            b.iter(|| {
                let mut state = ConversationState::new();
                black_box(engine.evaluate(&mut state, &quiet))
            })
        });
    }

    for &count in sizes(&PHRASE_COUNTS) {
        let yaml = policy_yaml(&phrases(count), false);
        group.bench_function(BenchmarkId::new("compile", count), |b| {
            b.iter(|| Engine::from_yaml(black_box(&yaml)).unwrap())
        });
    }
    let count = if measuring() { 10_000 } else { 50 };
    let yaml = with_word_matching(&policy_yaml(&phrases(count), false));
    group.bench_function(BenchmarkId::new("compile_fuzzy", count), |b| {
        b.iter(|| Engine::from_yaml(black_box(&yaml)).unwrap())
    });
    group.bench_function(BenchmarkId::new("compile", "builtin"), |b| {
        b.iter(|| Engine::from_yaml(black_box(DEFAULT_POLICY)).unwrap())
    });
    group.finish();
}

/// The handoff: the `handoff.initiate` event for an escalation after 20
/// turns of 100-byte messages (user and bot, alternating; of the first 19,
/// a third carry a card number, a third an e-mail address to redact, a
/// third neither), and the bare redaction of one message (one with a card).
fn handoff(c: &mut Criterion) {
    let mut group = c.benchmark_group("handoff");
    let engine = Engine::builtin();
    let phrases = phrases(50);
    let transcript: Vec<Turn> = messages(&phrases, 100)
        .into_iter()
        .cycle()
        .take(19)
        .enumerate()
        .map(|(i, text)| Turn {
            role: if i % 2 == 1 { Role::Bot } else { Role::User },
            ..Turn::user(match i % 3 {
                0 => format!("{text} card 4242 4242 4242 4242"),
                1 => format!("{text} mail jane.doe@example.com"),
                _ => text,
            })
        })
        .chain(std::iter::once(Turn::user(
            "I want to talk to a real person",
        )))
        .collect();
    let decision = engine.evaluate(&mut ConversationState::new(), transcript.last().unwrap());
    assert!(decision.starts_handoff());
    let reference = ConversationReference::placeholder("bench");
    group.bench_function("initiate/20", |b| {
        b.iter(|| black_box(engine.handoff_initiate(&decision, &reference, &transcript)))
    });
    group.bench_function("redact/100", |b| {
        b.iter(|| black_box(engine.redact(black_box(&transcript[0].text)).len()))
    });
    group.finish();
}

/// A 10 MB turn of plain words on the built-in policy (the per-thread
/// buffers grow for it and are given back after it, every time), as
/// `examples/long_turns.rs` times it once for other kinds of text.
fn long_turn(c: &mut Criterion) {
    let mut group = c.benchmark_group("long");
    group.sample_size(10);
    let engine = Engine::builtin();
    let unit = "i want to talk to someone about my bill ";
    let bytes = if measuring() { 10 << 20 } else { 1 << 10 };
    let turn = Turn::user(unit.repeat(bytes / unit.len()));
    group.bench_function("turn/10MB", |b| {
        b.iter(|| black_box(engine.evaluate(&mut ConversationState::new(), &turn)))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50).warm_up_time(std::time::Duration::from_millis(500)).measurement_time(std::time::Duration::from_secs(2));
    targets = turn, handoff, long_turn
}
criterion_main!(benches);
