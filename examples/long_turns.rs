//! How evaluation time grows with hostile text: 10 MB messages of plain
//! words, one unbroken word, combining marks, emoji, negation cues and
//! phrases, on the built-in policy. Time per byte stays flat.
//!
//! `cargo run --release --example long_turns`

use std::time::Instant;

use escalate::{ConversationState, Engine, Turn};

fn main() {
    let engine = Engine::builtin();
    let cases = [
        ("words", "i want to talk to someone about my bill "),
        ("one unbroken word", "a"),
        ("combining marks only", "\u{301}"),
        ("letters under marks", "a\u{301}\u{302}\u{303}"),
        ("emoji", "😡"),
        ("emoji joined by ZWJ", "👩\u{200d}"),
        ("negation cues", "not no never don't "),
        ("phrases that fire", "human agent please "),
        ("punctuation", "!?.,"),
    ];
    println!("| text | 1 MB | 10 MB | ns per byte (10 MB) |");
    println!("|---|---|---|---|");
    for (name, unit) in cases {
        let time = |bytes: usize| {
            let turn = Turn::user(unit.repeat(bytes / unit.len()));
            let started = Instant::now();
            engine.evaluate(&mut ConversationState::new(), &turn);
            (started.elapsed(), turn.text.len())
        };
        let (small, _) = time(1 << 20);
        let (large, len) = time(10 << 20);
        println!(
            "| {name} | {:.1} ms | {:.1} ms | {:.1} |",
            small.as_secs_f64() * 1e3,
            large.as_secs_f64() * 1e3,
            large.as_nanos() as f64 / len as f64
        );
    }
}
