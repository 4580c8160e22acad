//! Writes a synthetic JSONL transcript for load tests of `escalate-check run`:
//!
//! ```sh
//! cargo run --release --example gen_transcript -- 1000000 > big.jsonl
//! ```
//!
//! N user turns in conversations of 3 to 12 turns, with about 50 open at
//! once and their turns interleaved, as a busy bot's log would have them.
//! Messages, scores and outcomes vary; a few turns ask for a person or fail.
//! The output is the same for the same N.

use std::io::{BufWriter, Write};

const MESSAGES: &[&str] = &[
    "hi",
    "where is my parcel",
    "What are your opening hours on Sunday?",
    "I was charged twice for the same order last week, can you check that for me please",
    "how do I reset my password",
    "the app keeps crashing when I open my statement",
    "can I change my delivery address",
    "I want to talk to a real person",
    "this is useless",
    "agent",
    "my card was declined at the shop this morning even though I have money in my account",
    "¿Puedo hablar con un agente?",
    "thanks, that helped",
    "what is the fee for sending money abroad",
    "I don't need an agent, just my balance",
    "please cancel my subscription",
];

const OUTCOMES: &[&str] = &["ok", "ok", "ok", "ok", "no_match", "invalid_input"];

fn main() {
    let turns: u64 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move |bound: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % bound
    };
    let out = std::io::stdout();
    let mut out = BufWriter::new(out.lock());
    // Open conversations: (id, turns left).
    let mut open: Vec<(u64, u64)> = Vec::new();
    let mut started = 0;
    for _ in 0..turns {
        if open.len() < 50 || next(10) == 0 {
            open.push((started, 3 + next(10)));
            started += 1;
        }
        let slot = next(open.len() as u64) as usize;
        let (id, left) = &mut open[slot];
        let message = MESSAGES[next(MESSAGES.len() as u64) as usize];
        let line = serde_json::json!({
            "conversation_id": format!("gen-{id}"),
            "text": message,
            "intent": {"name": "support", "confidence": next(100) as f64 / 100.0},
            "sentiment": (next(200) as f64 - 100.0) / 100.0,
            "outcome": OUTCOMES[next(OUTCOMES.len() as u64) as usize],
            "timestamp": "2026-11-20T14:03:00Z",
        });
        writeln!(out, "{line}").expect("stdout");
        *left -= 1;
        if *left == 0 {
            open.swap_remove(slot);
        }
    }
    out.flush().expect("stdout");
}
