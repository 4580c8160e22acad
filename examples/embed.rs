//! A bot loop: load a policy once, keep each conversation's state, feed turns.
//!
//! Run with `cargo run --example embed [policy.yaml]`, then type messages;
//! prefix one with `?` to mark it as a turn the bot did not understand.

use std::collections::HashMap;
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use escalate::{ConversationState, Engine, Outcome, Turn};

fn main() -> ExitCode {
    // Compile once at start-up; share the engine across threads if you like.
    let engine = match std::env::args().nth(1).map(Engine::from_path) {
        Some(Ok(engine)) => engine,
        Some(Err(e)) => {
            // The located report, as `escalate-check check` prints it.
            eprintln!("{}", e.render());
            return ExitCode::from(2);
        }
        None => Engine::builtin(),
    };
    let prompt = || {
        if std::io::stdin().is_terminal() {
            print!("you: ");
            let _ = std::io::stdout().flush();
        }
    };
    // The bot owns the state: here a map, in production your session store.
    let mut states: HashMap<String, ConversationState> = HashMap::new();
    prompt();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let (text, outcome) = match line.strip_prefix('?') {
            Some(text) => (text, Outcome::NoMatch),
            None => (line.as_str(), Outcome::Ok),
        };
        let turn = Turn {
            conversation_id: Some("demo".into()),
            outcome,
            ..Turn::user(text)
        };
        let state = states.entry("demo".to_string()).or_default();
        let decision = engine.evaluate(state, &turn);
        // A message comes with every offer and escalation, and with the
        // steps of a handoff (the queue message while waiting, for one).
        match &decision.message {
            None => println!("bot: (carries on)"),
            Some(message) => println!("bot: {message}"),
        }
        for reason in &decision.reasons {
            println!(
                "     because {} [{}]: {}",
                reason.rule, reason.trigger, reason.detail
            );
        }
        if decision.starts_handoff() {
            println!("     (a real bot sends handoff.initiate now: see examples/proxy.rs)");
        }
        prompt();
    }
    ExitCode::SUCCESS
}
