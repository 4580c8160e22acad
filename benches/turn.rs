//! Per-turn cost of the built-in policy, and its compile time.
//!
//! `cargo bench --bench turn`. The messages are a fixed pool of English chat
//! messages, most of which decide `none` (as most real turns do).

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use escalate::{ConversationState, DEFAULT_POLICY, Engine, Turn};

const MESSAGES: &[&str] = &[
    "hi",
    "where is my parcel",
    "What are your opening hours on Sunday?",
    "I was charged twice for the same order last week, can you check that for me please",
    "I want to talk to a real person",
    "My card was declined at the shop this morning even though I have money in my account, what is going on with that? I really need this fixed today because I am travelling tomorrow and need to pay for the hotel.",
];

fn turn(c: &mut Criterion) {
    let engine = Engine::builtin();
    let mut group = c.benchmark_group("turn");
    for message in MESSAGES {
        let turn = Turn::user(*message);
        group.throughput(Throughput::Bytes(message.len() as u64));
        group.bench_with_input(
            BenchmarkId::new("builtin", message.len()),
            &turn,
            |b, turn| {
                b.iter(|| {
                    let mut state = ConversationState::new();
                    black_box(engine.evaluate(&mut state, black_box(turn)))
                })
            },
        );
    }
    group.finish();
    c.bench_function("compile/builtin", |b| {
        b.iter(|| Engine::from_yaml(black_box(DEFAULT_POLICY)).unwrap())
    });
}

criterion_group!(benches, turn);
criterion_main!(benches);
