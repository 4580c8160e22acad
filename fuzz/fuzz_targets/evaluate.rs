//! Any text through the built-in policy and one that uses every trigger,
//! over a conversation with the agent hub's statuses mixed in: never a
//! panic, the same decision twice, evidence spans on character boundaries
//! of the text, the phase the decision reports is the state's, and the
//! handoff event's transcript is redacted character for character.
#![no_main]

use std::sync::LazyLock;

use escalate::{
    ConversationReference, ConversationState, Engine, HandoffState, HandoffStatus, Intent,
    Outcome, Turn,
};
use libfuzzer_sys::fuzz_target;

static ENGINES: LazyLock<[Engine; 2]> = LazyLock::new(|| {
    let every_trigger = r#"
version: 1
topics:
  money: { phrases: ["refund", "{credit|debit} card"], patterns: ['\b\d{4} ?\d{4}\b'] }
  crisis: { phrases: ["hurt myself"], negation: false }
rules:
  - { id: menu, when: { menu: [agent] }, kind: planned, action: escalate }
  - { id: words, when: { keywords: ["{talk|speak} to {a human|an agent}"] }, kind: fallback, action: escalate }
  - { id: whole, when: { whole_message: [agent, human] }, kind: fallback, action: escalate }
  - { id: money, when: { all: [ { topic: money }, { not: { confidence: { below: 0.2 } } } ] }, kind: planned, action: offer }
  - { id: crisis, when: { topic: crisis }, kind: planned, action: escalate, priority: 10 }
  - { id: unsure, when: { confidence: { below: 0.4, for: 2, margin: 0.1 } }, kind: fallback, action: offer }
  - { id: upset, when: { any: [ { sentiment: { below: -0.7 } }, { sentiment: { mean_below: -0.4, window: 3 } } ] }, kind: fallback, action: offer }
  - { id: failing, when: { failures: { consecutive: 2, total: 3 } }, kind: fallback, action: escalate }
  - { id: script, when: { script: 'turn.text.len() > 40 && state.turns > 1' }, kind: fallback, action: offer }
"#;
    [
        Engine::builtin(),
        Engine::from_yaml(every_trigger).expect("the fuzz policy loads"),
    ]
});

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let turns: Vec<Turn> = text
        .split('\u{1}')
        .enumerate()
        .map(|(i, part)| Turn {
            outcome: [Outcome::Ok, Outcome::NoMatch, Outcome::NoInput][i % 3],
            sentiment: Some(-(i as f64) / 4.0),
            intent: Some(Intent {
                name: "x".into(),
                confidence: 0.1 * i as f64,
            }),
            menu: (part.len() % 7 == 0).then(|| part.chars().take(8).collect()),
            ..Turn::user(part)
        })
        .collect();
    for engine in ENGINES.iter() {
        let mut first = ConversationState::new();
        let mut second = ConversationState::new();
        for turn in &turns {
            let a = engine.evaluate(&mut first, turn);
            let b = engine.evaluate(&mut second, turn);
            assert_eq!(a, b);
            assert_eq!(a.phase, first.phase());
            if a.starts_handoff() {
                let reference = ConversationReference::placeholder("fuzz");
                let event = engine.handoff_initiate(&a, &reference, std::slice::from_ref(turn));
                let sent = event["attachments"][0]["content"]["activities"][0]["text"]
                    .as_str()
                    .unwrap();
                assert_eq!(sent.chars().count(), turn.text.chars().count());
            }
            if turn.text.len() % 5 == 1 {
                let state = [HandoffState::Accepted, HandoffState::Failed, HandoffState::Completed]
                    [turn.text.len() % 3];
                let status = HandoffStatus::new(None, state);
                let a = engine.apply_status(&mut first, &status);
                assert_eq!(a, engine.apply_status(&mut second, &status));
                assert_eq!(a.phase, first.phase());
            }
            for reason in &a.reasons {
                let json = serde_json::to_value(&reason.evidence).unwrap();
                if let (Some(s), Some(e)) = (json["start"].as_u64(), json["end"].as_u64()) {
                    assert!(s <= e && e as usize <= turn.text.len());
                    assert!(turn.text.is_char_boundary(s as usize));
                    assert!(turn.text.is_char_boundary(e as usize));
                }
            }
        }
    }
});
