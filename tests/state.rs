//! Saved conversation states survive upgrades, and a corrupt or foreign
//! state is an error the bot can handle, never a panic.

use escalate::{Action, ConversationState, Engine, Outcome, Phase, STATE_VERSION, Turn};

/// States saved by each release, kept forever: every later release must read them.
const SAVED: [(&str, &str, Phase); 4] = [
    ("v1", include_str!("data/states/v1.json"), Phase::Bot),
    ("v2", include_str!("data/states/v2.json"), Phase::Waiting),
    ("v3", include_str!("data/states/v3.json"), Phase::Collecting),
    ("v4", include_str!("data/states/v4.json"), Phase::Consulting),
];

#[test]
fn states_saved_by_every_release_load_and_carry_on() {
    assert_eq!(
        SAVED.len() as u32,
        STATE_VERSION,
        "keep a saved state of each version"
    );
    for (version, json, phase) in SAVED {
        let state = ConversationState::from_json(json.as_bytes())
            .unwrap_or_else(|e| panic!("{version}: {e}"));
        assert_eq!(state.phase(), phase, "{version}");
        assert_eq!(state.turns(), 4, "{version}");
        assert_eq!(state.total(&Outcome::FAILURES), 1, "{version}");
        assert_eq!(state.recent_sentiment(), &[-0.2, -0.4, -0.5], "{version}");
        assert_eq!(state.last_decision().unwrap().action, Action::Escalate);

        let mut state = state;
        let engine = Engine::builtin();
        let next = Turn {
            outcome: Outcome::NoMatch,
            ..Turn::user("??")
        };
        let decision = engine.evaluate(&mut state, &next);
        assert_eq!(decision.turn, 5, "{version}: the count goes on");
        let again = ConversationState::from_json(state.to_json().as_bytes()).unwrap();
        assert_eq!(again, state, "{version}: saves again in the current format");
    }
}

#[test]
fn corrupt_or_foreign_states_are_errors_with_a_reason() {
    let cases: [(&str, &str); 17] = [
        ("", "EOF while parsing"),
        (
            "[1, 2, 3]",
            "a saved state is a JSON object (line 1, column 1)",
        ),
        ("not json", "a saved state is a JSON object"),
        (r#"{"turns": 3}"#, "missing field `v`"),
        (
            r#"{"v": 99, "turns": 3}"#,
            "state version 99 was written by a newer release",
        ),
        (
            r#"{"v": 0, "turns": 3}"#,
            "state version 0 was never written by escalate",
        ),
        (r#"{"v": 1, "turns": -3}"#, "invalid value: integer `-3`"),
        (
            r#"{"v": 1, "turns": 3, "confidence": [5.0]}"#,
            "confidence 5 is outside 0..=1",
        ),
        (
            r#"{"v": 1, "turns": 3, "sentiment": [-2.5]}"#,
            "sentiment -2.5 is outside -1..=1",
        ),
        (
            r#"{"v": 1, "turns": 3, "outcomes": ["exploded"]}"#,
            "unknown variant `exploded`",
        ),
        (
            r#"{"v": 1, "turns": 3, "session": "x"}"#,
            "unknown field `session`",
        ),
        (r#"{"v": 1, "turns": 3"#, "EOF while parsing"),
        (
            r#"{"v": 3, "turns": 3, "messages": [{"turn": 1, "trigrams": "xyz"}]}"#,
            "message signature `xyz` is not 64 hex digits",
        ),
        (
            r#"{"v": 3, "turns": 3, "messages": [{"turn": 2, "trigrams": "0000000000000000000000000000000000000000000000000000000000000001"}, {"turn": 1, "trigrams": "0000000000000000000000000000000000000000000000000000000000000001"}]}"#,
            "message turns go back: 1 after 2",
        ),
        (
            r#"{"v": 3, "turns": 3, "handoff": {"phase": "collecting", "triage": {"asking": "a", "asked": 0}}}"#,
            "triage question count 0 is outside 1..=10",
        ),
        (
            r#"{"v": 3, "turns": 3, "handoff": {"triage": {"asking": "a", "asked": 1, "answers": {}}}}"#,
            "unknown field `answers`",
        ),
        (
            r#"{"v": 4, "turns": 3, "handoff": {"phase": "consulting", "consult": {"note": "n"}}}"#,
            "missing field `proposal`",
        ),
    ];
    for (json, reason) in cases {
        let error = ConversationState::from_json(json.as_bytes()).expect_err(json);
        let message = error.to_string();
        assert!(
            message.starts_with("cannot read the saved conversation state: ")
                && message.contains(reason),
            "{json}: {message}"
        );
    }
}

#[test]
fn a_long_saved_history_keeps_its_newest_values() {
    let json = format!(
        r#"{{"v": 1, "turns": 100, "sentiment": [{}]}}"#,
        (0..100)
            .map(|i| format!("-0.{:02}", i))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let state = ConversationState::from_json(json.as_bytes()).unwrap();
    assert_eq!(state.recent_sentiment().len(), escalate::HISTORY);
    assert_eq!(state.recent_sentiment().last(), Some(&-0.99));
}

#[test]
fn a_state_error_keeps_serdes_error_as_its_source() {
    use std::error::Error;
    let err = ConversationState::from_json(br#"{"version": 3, "turns": "many"}"#).unwrap_err();
    let source = err.source().expect("serde's error is the source");
    let serde = source
        .downcast_ref::<serde_json::Error>()
        .expect("the source is serde_json's error");
    assert!(serde.is_data(), "{serde}");
    // An error the library found itself has no source.
    let not_object = ConversationState::from_json(b"[1]").unwrap_err();
    assert!(not_object.source().is_none());
}
