//! Evaluates the benchmark's turns in a plain loop, for profilers that
//! want a process rather than a criterion harness (`valgrind
//! --tool=cachegrind`, `perf record`):
//!
//! ```sh
//! cargo build --release --example turn_loop
//! valgrind --tool=cachegrind --cache-sim=no target/release/examples/turn_loop 400000 100
//! ```
//!
//! Arguments: turns (default 400,000), message size in bytes (20, 100 or
//! 1,000; default 100), `script` to add the benchmark's Rhai rule (or
//! `plain`, the default, without it), and
//! `quiet` or `loud` to keep only the messages that decide `none`, or that
//! do not, and `fuzzy` to turn typo tolerance and word forms on (as in
//! `turn/engine_fuzzy/1000/100`) or `sentiment` to score every turn with
//! the built-in sentiment scorer (as in `turn/engine_sentiment/1000/100`),
//! and then `cold` to give every word of every turn a suffix of its own
//! (four letters from the turn's number), so that no word was seen before:
//! the word matcher's per-thread cache of readings never helps (the
//! words are longer, so it costs a little more than a real miss). The policy has 1,000 phrases, as in
//! `turn/engine/1000/*`; each turn gets a fresh state. Prints how many
//! turns escalated or offered.

#[path = "../tests/support/synthetic.rs"]
mod synthetic;

use std::hint::black_box;

use escalate::{Action, ConversationState, Engine, Turn};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(String::as_str);
    let count: usize = arg(0).map_or(400_000, |n| n.parse().expect("a number of turns"));
    let size: usize = arg(1).map_or(100, |n| n.parse().expect("a message size"));
    let script = match arg(2).unwrap_or("plain") {
        "script" => true,
        "plain" => false,
        other => panic!("`{other}`: expected `script` or `plain`"),
    };
    let keep = arg(3).unwrap_or("all");
    let fuzzy = arg(4) == Some("fuzzy");
    let sentiment = arg(4) == Some("sentiment");
    let cold = arg(5) == Some("cold");

    let phrases = synthetic::phrases(1_000);
    let mut yaml = synthetic::policy_yaml(&phrases, script);
    if fuzzy {
        yaml = synthetic::with_word_matching(&yaml);
    }
    if sentiment {
        yaml = synthetic::with_builtin_sentiment(&yaml);
    }
    let engine = Engine::from_yaml(&yaml).expect("the generated policy compiles");
    let turns: Vec<Turn> = synthetic::messages(&phrases, size)
        .into_iter()
        .map(|message| {
            let mut turn = Turn::user(message);
            turn.attributes.insert("tier".into(), "silver".into());
            turn
        })
        .filter(|turn| {
            let quiet = engine.evaluate(&mut ConversationState::new(), turn).action == Action::None;
            match keep {
                "quiet" => quiet,
                "loud" => !quiet,
                _ => true,
            }
        })
        .collect();
    assert!(!turns.is_empty(), "no message is {keep}");

    let mut fired = 0;
    let mut fresh = Turn::user("");
    for i in 0..count {
        let mut state = ConversationState::new();
        let turn = &turns[i % turns.len()];
        let turn = if cold {
            fresh.clone_from(turn);
            fresh.text = unseen_words(&turn.text, i);
            &fresh
        } else {
            turn
        };
        let decision = engine.evaluate(&mut state, turn);
        fired += usize::from(decision.action != Action::None);
        black_box(&decision);
    }
    println!("{fired} of {count} turns escalated or offered");
}

/// `text` with four letters from `n` after each word but the last three
/// (where a turn's phrase is), so that its words are new to the engine.
fn unseen_words(text: &str, n: usize) -> String {
    let tag: String = (0..4)
        .map(|k| char::from(b'a' + ((n / 26usize.pow(k)) % 26) as u8))
        .collect();
    let words: Vec<&str> = text.split(' ').collect();
    let keep = words.len().saturating_sub(3);
    let mut out = String::with_capacity(text.len() + 5 * words.len());
    for (i, word) in words.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(word);
        if i < keep {
            out.push_str(&tag);
        }
    }
    out
}
