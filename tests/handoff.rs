//! The handoff: events compared field by field with the official Bot
//! Framework SDK's (`tests/data/botframework/`), statuses, the lifecycle,
//! hours, redaction.

use escalate::{
    Action, ConversationReference, ConversationState, Decision, Engine, FallbackChannel,
    HandoffState, HandoffStatus, Phase, Role, Trigger, Turn,
};
use serde_json::{Value, json};

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/data/botframework/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn engine(yaml: &str) -> Engine {
    Engine::from_yaml(yaml).unwrap_or_else(|e| panic!("{}", e.render()))
}

/// Removes what differs on every run of the SDK.
fn without_run_specific(mut event: Value) -> Value {
    for key in ["id", "timestamp", "localTimezone"] {
        event.as_object_mut().unwrap().remove(key);
    }
    event
}

/// Every path where two JSON values differ, for a readable failure.
fn differences(path: &str, expected: &Value, actual: &Value, out: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for key in e.keys().chain(a.keys().filter(|k| !e.contains_key(*k))) {
                let (ev, av) = (
                    e.get(key).unwrap_or(&Value::Null),
                    a.get(key).unwrap_or(&Value::Null),
                );
                if e.contains_key(key) != a.contains_key(key) {
                    out.push(format!(
                        "{path}.{key}: expected {ev}, got {av} (present in only one)"
                    ));
                } else {
                    differences(&format!("{path}.{key}"), ev, av, out);
                }
            }
        }
        (Value::Array(e), Value::Array(a)) if e.len() == a.len() => {
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                differences(&format!("{path}[{i}]"), ev, av, out);
            }
        }
        _ if expected != actual => out.push(format!("{path}: expected {expected}, got {actual}")),
        _ => {}
    }
}

const CREDIT_CARDS: &str = r#"
version: 1
handoff:
  context: { Skill: skill }
rules:
  - id: asks-for-human
    when: { keywords: ["talk to a person"] }
    kind: fallback
    action: escalate
    route: { skill: credit cards }
"#;

#[test]
fn handoff_initiate_matches_the_sdk_field_by_field() {
    let expected = fixture("handoff_initiate.json");
    let reference: ConversationReference =
        serde_json::from_value(expected["relatesTo"].clone()).unwrap();
    let sdk_transcript = expected["attachments"][0]["content"]["activities"]
        .as_array()
        .unwrap();
    let turns: Vec<Turn> = sdk_transcript
        .iter()
        .map(|activity| Turn {
            id: activity["id"].as_str().map(String::from),
            timestamp: activity["timestamp"].as_str().map(String::from),
            role: if activity["from"]["role"] == "bot" {
                Role::Bot
            } else {
                Role::User
            },
            locale: (activity["from"]["role"] == "user").then(|| "en-US".to_string()),
            ..Turn::user(activity["text"].as_str().unwrap())
        })
        .collect();
    let engine = engine(CREDIT_CARDS);
    let mut state = ConversationState::new();
    let mut decision = Decision::default();
    for turn in &turns {
        decision = engine.evaluate(&mut state, turn);
    }
    assert!(decision.starts_handoff(), "{decision:?}");

    let actual = engine.handoff_initiate(&decision, &reference, &turns);
    let mut diffs = Vec::new();
    differences(
        "",
        &without_run_specific(expected),
        &without_run_specific(actual.clone()),
        &mut diffs,
    );
    assert!(
        diffs.is_empty(),
        "differs from the SDK's event:\n{}",
        diffs.join("\n")
    );
    assert_eq!(actual["id"], "handoff-conv-1234-1");
    assert_eq!(actual["timestamp"], "2024-01-01T10:00:05.000Z");
}

#[test]
fn the_default_value_carries_the_routing_context() {
    let engine = engine(
        r#"
version: 1
rules:
  - id: bereavement
    when: { keywords: ["passed away"] }
    kind: planned
    action: escalate
    route: { queue: care, skill: bereavement, priority: high }
    agent_note: handle with care
"#,
    );
    let turn = Turn {
        intent: Some(escalate::Intent {
            name: "account.close".into(),
            confidence: 0.8,
        }),
        attributes: json!({"tier": "gold", "contact": "jane@example.com"})
            .as_object()
            .unwrap()
            .clone(),
        ..Turn::user("my husband passed away, close the account")
    };
    let decision = engine.evaluate(&mut ConversationState::new(), &turn);
    let event = engine.handoff_initiate(
        &decision,
        &ConversationReference::placeholder("c-9"),
        &[turn],
    );
    let value = &event["value"];
    assert_eq!(value["queue"], "care");
    assert_eq!(value["skill"], "bereavement");
    assert_eq!(value["priority"], "high");
    assert_eq!(value["kind"], "planned");
    assert_eq!(value["rule"], "bereavement");
    assert_eq!(value["reasons"][0]["trigger"], "keyword");
    assert_eq!(
        value["intent"],
        json!({"name": "account.close", "confidence": 0.8})
    );
    assert_eq!(
        value["attributes"],
        json!({"tier": "gold", "contact": "j***@example.com"})
    );
    assert_eq!(value["agent_note"], "handle with care");
    // Without a lifecycle the engine keeps no phase, but still hands over.
    assert_eq!(decision.phase, Phase::Bot);
    assert!(decision.starts_handoff());
}

#[test]
fn the_transcript_is_the_last_n_turns_redacted() {
    let engine = engine(
        r#"
version: 1
handoff:
  transcript: { turns: 3 }
  redact: { patterns: ['\bACC-\d{6}\b'] }
rules:
  - { id: human, when: { keywords: [agent] }, kind: fallback, action: escalate }
"#,
    );
    let turns = vec![
        Turn::user("my account is ACC-123456"),
        Turn {
            role: Role::Bot,
            ..Turn::user("What is your card number?")
        },
        Turn::user("4242 4242 4242 4242, call me on +44 7700 900123"),
        Turn {
            role: Role::Bot,
            ..Turn::user("Sorry, I did not get that.")
        },
        Turn::user("agent"),
    ];
    let mut state = ConversationState::new();
    let decision = turns
        .iter()
        .map(|t| engine.evaluate(&mut state, t))
        .last()
        .unwrap();
    let event =
        engine.handoff_initiate(&decision, &ConversationReference::placeholder("c"), &turns);
    let texts: Vec<&str> = event["attachments"][0]["content"]["activities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        [
            "**** **** **** 4242, call me on +** **** ****23",
            "Sorry, I did not get that.",
            "agent"
        ]
    );
    assert_eq!(engine.redact("ACC-123456"), "***-******");
}

#[test]
fn statuses_read_from_the_sdk_events() {
    let all = fixture("handoff_status_all.json");
    let cases = [
        ("accepted", HandoffState::Accepted, None),
        ("failed", HandoffState::Failed, Some("No agents available")),
        ("completed", HandoffState::Completed, None),
    ];
    for (name, state, message) in cases {
        let bytes = serde_json::to_vec(&all[name]).unwrap();
        let status = HandoffStatus::from_json(&bytes).unwrap();
        assert_eq!(status.state, state, "{name}");
        assert_eq!(status.message.as_deref(), message, "{name}");
        assert_eq!(status.conversation_id.as_deref(), Some("conv-1234"));
    }
    let single = serde_json::to_vec(&fixture("handoff_status.json")).unwrap();
    assert_eq!(
        HandoffStatus::from_json(&single).unwrap().state,
        HandoffState::Accepted
    );
}

#[test]
fn bad_statuses_say_what_is_wrong() {
    let cases: [(&[u8], &str); 4] = [
        (
            br#"{"type": "event", "name": "handoff.status", "value": {"state": "acepted"}}"#,
            "did you mean `accepted`?",
        ),
        (
            br#"{"type": "event", "name": "handoff.initiate", "value": {"state": "accepted"}}"#,
            "statuses are events named `handoff.status`; turns have no `type`",
        ),
        (
            br#"{"type": "event", "name": "handoff.status"}"#,
            r#"give the state, such as `"value": {"state": "accepted"}`"#,
        ),
        (
            b"[1]",
            r#"write the event as `{"type": "event", "name": "handoff.status", "value": {"state": "accepted"}}`"#,
        ),
    ];
    for (json, help) in cases {
        let error = HandoffStatus::from_json(json).unwrap_err();
        assert_eq!(
            error.help(),
            Some(help),
            "{}",
            String::from_utf8_lossy(json)
        );
    }
}

const LIFECYCLE: &str = r#"
version: 1
route: { queue: general }
queues:
  general: { expected_wait: about 4 minutes, fallback_channel: callback }
handoff:
  offer: { cooldown: { turns: 2 }, accept_menu: [talk_to_agent] }
  waiting: { timeout: { turns: 3 }, cancel: ["i will wait for the bot"] }
  messages:
    waiting: "Queue {queue}: about {wait}."
    failed: "Sorry, nobody can take this now."
rules:
  - { id: human, when: { keywords: ["real person"] }, kind: fallback, action: escalate }
  - { id: stuck, when: { failures: { consecutive: 2 } }, kind: fallback, action: offer }
"#;

/// One step of a conversation: a user turn (`text`, with `!` marking a
/// no-match) or a status (`@accepted`...), and the action, phase and
/// lifecycle event expected after it.
type Step<'a> = (&'a str, Action, Phase, Option<&'a str>);

fn run_steps(steps: &[Step]) {
    let engine = engine(LIFECYCLE);
    let mut state = ConversationState::new();
    for (i, &(step, action, phase, event)) in steps.iter().enumerate() {
        let decision = if let Some(status) = step.strip_prefix('@') {
            let state_name: HandoffState = serde_json::from_value(json!(status)).unwrap();
            engine.apply_status(&mut state, &HandoffStatus::new(None, state_name))
        } else {
            let (text, failed) = match step.strip_prefix('!') {
                Some(text) => (text, true),
                None => (step, false),
            };
            let turn = Turn {
                outcome: if failed {
                    escalate::Outcome::NoMatch
                } else {
                    escalate::Outcome::Ok
                },
                menu: text.strip_prefix("menu:").map(String::from),
                ..Turn::user(text)
            };
            engine.evaluate(&mut state, &turn)
        };
        let lifecycle = decision
            .reasons
            .iter()
            .find(|r| r.trigger == Trigger::Lifecycle);
        let seen = lifecycle.map(|r| match &r.evidence {
            escalate::Evidence::Lifecycle { event, .. } => event.as_str(),
            other => panic!("lifecycle reason with {other:?}"),
        });
        let context = format!("step {i} `{step}` of {steps:?}: {decision:#?}");
        assert_eq!(decision.action, action, "{context}");
        assert_eq!(decision.phase, phase, "{context}");
        assert_eq!(state.phase(), phase, "{context}");
        assert_eq!(seen, event, "{context}");
    }
}

#[test]
fn lifecycle_table() {
    use Action::{Escalate, None as Carry, Offer};
    use Phase::*;
    let tables: &[&[Step]] = &[
        // Escalate, wait, an agent takes it, finishes: back to the bot.
        &[
            ("real person please", Escalate, Waiting, Some("escalated")),
            ("hello?", Carry, Waiting, Some("waiting")),
            ("@accepted", Carry, WithAgent, Some("handoff accepted")),
            ("real person", Carry, WithAgent, None),
            ("@completed", Carry, Bot, Some("handoff completed")),
            ("thanks", Carry, Bot, None),
        ],
        // An offer accepted by phrase, then by menu after a second offer.
        &[
            ("!blah", Carry, Bot, None),
            ("!blah", Offer, Offered, Some("offered")),
            ("Yes please!", Escalate, Waiting, Some("offer accepted")),
            ("@completed", Carry, Bot, Some("handoff completed")),
            ("!x", Carry, Bot, None),
            ("!x", Offer, Offered, Some("offered")),
            (
                "menu:talk_to_agent",
                Escalate,
                Waiting,
                Some("offer accepted"),
            ),
        ],
        // A decline cools the rule down for two turns; it offers again after.
        &[
            ("!a", Carry, Bot, None),
            ("!b", Offer, Offered, Some("offered")),
            ("no thanks", Carry, Bot, Some("offer declined")),
            ("!c", Carry, Bot, None),
            ("!d", Carry, Bot, None),
            ("!e", Offer, Offered, Some("offered")),
            (
                "what about my parcel",
                Carry,
                Bot,
                Some("offer not answered"),
            ),
        ],
        // Cancel phrases, built-in and the policy's own, leave the queue.
        &[
            ("real person", Escalate, Waiting, Some("escalated")),
            ("Never mind.", Carry, Bot, Some("cancelled")),
            ("real person", Escalate, Waiting, Some("escalated")),
            ("I will wait for the bot", Carry, Bot, Some("cancelled")),
            (
                "i want to cancel my order, real person",
                Escalate,
                Waiting,
                Some("escalated"),
            ),
        ],
        // A queue timeout and a failed handoff take the offline path.
        &[
            ("real person", Escalate, Waiting, Some("escalated")),
            ("hi", Carry, Waiting, Some("waiting")),
            ("hi", Carry, Waiting, Some("waiting")),
            ("hi", Escalate, Bot, Some("queue timeout")),
            ("real person", Escalate, Waiting, Some("escalated")),
            ("@failed", Escalate, Bot, Some("handoff failed")),
        ],
    ];
    for steps in tables {
        run_steps(steps);
    }
}

#[test]
fn messages_and_fallback_channels_on_each_path() {
    let engine = engine(LIFECYCLE);
    let mut state = ConversationState::new();
    engine.evaluate(&mut state, &Turn::user("real person"));
    let waiting = engine.evaluate(&mut state, &Turn::user("hello?"));
    assert_eq!(
        waiting.message.as_deref(),
        Some("Queue general: about about 4 minutes.")
    );
    let failed = engine.apply_status(
        &mut state,
        &HandoffStatus::new(None, HandoffState::Failed).with_message("No agents available"),
    );
    assert_eq!(
        failed.message.as_deref(),
        Some("Sorry, nobody can take this now.")
    );
    assert_eq!(failed.fallback_channel, Some(FallbackChannel::Callback));
    assert_eq!(failed.rule.as_deref(), Some("human"));
    assert!(
        failed.reasons[0].detail.contains("No agents available"),
        "{:?}",
        failed.reasons
    );
    assert!(!failed.starts_handoff());

    let offline = Turn {
        agents_available: Some(false),
        ..Turn::user("real person")
    };
    let decision = engine.evaluate(&mut state, &offline);
    assert_eq!(decision.action, Action::Escalate);
    assert_eq!(decision.phase, Phase::Bot);
    assert_eq!(decision.fallback_channel, Some(FallbackChannel::Callback));
    assert!(
        decision
            .reasons
            .iter()
            .any(|r| r.trigger == Trigger::Availability)
    );
}

#[test]
fn any_message_tells_the_queue_and_the_wait() {
    let engine = engine(
        r#"
version: 1
queues:
  billing: { expected_wait: about 2 minutes }
rules:
  - id: human
    when: { keywords: [agent] }
    kind: fallback
    action: escalate
    route: { queue: billing }
    messages: { online: "Connecting you to {queue}: about {wait}.", offline: "{queue} is closed." }
"#,
    );
    let online = engine.evaluate(&mut ConversationState::new(), &Turn::user("agent"));
    assert_eq!(
        online.message.as_deref(),
        Some("Connecting you to billing: about about 2 minutes.")
    );
    let offline = Turn {
        agents_available: Some(false),
        ..Turn::user("agent")
    };
    let offline = engine.evaluate(&mut ConversationState::new(), &offline);
    assert_eq!(offline.message.as_deref(), Some("billing is closed."));
    let typo = "version: 1\nrules:\n  - { id: h, when: { keywords: [agent] }, kind: fallback, action: escalate, messages: { offer: \"{wait\" } }\n  - { id: g, when: { keywords: [human] }, kind: fallback, action: escalate, messages: { online: \"{wiat}\" } }\n";
    let error = Engine::from_yaml(typo).map(|_| ()).unwrap_err();
    let d = error.diagnostics().next().unwrap();
    assert_eq!(
        (d.code(), d.line()),
        ("unknown-placeholder", 4),
        "{}",
        error.render()
    );
    assert_eq!(d.help(), Some("did you mean `wait`?"));
}

#[test]
fn completed_resets_the_counters() {
    let engine = engine(LIFECYCLE);
    let mut state = ConversationState::new();
    let no_match = Turn {
        outcome: escalate::Outcome::NoMatch,
        ..Turn::user("blah")
    };
    engine.evaluate(&mut state, &no_match);
    engine.evaluate(&mut state, &Turn::user("real person"));
    engine.apply_status(
        &mut state,
        &HandoffStatus::new(None, HandoffState::Accepted),
    );
    engine.apply_status(
        &mut state,
        &HandoffStatus::new(None, HandoffState::Completed),
    );
    assert_eq!(state.total(&escalate::Outcome::FAILURES), 0);
    assert_eq!(state.turns(), 2);
    // One failure after the reset does not make the two-in-a-row rule offer.
    assert_eq!(engine.evaluate(&mut state, &no_match).action, Action::None);
}

#[test]
fn a_status_without_a_lifecycle_is_reported_not_applied() {
    let engine = engine(
        "version: 1\nrules:\n  - { id: h, when: { keywords: [agent] }, kind: fallback, action: escalate }\n",
    );
    let mut state = ConversationState::new();
    let decision = engine.apply_status(
        &mut state,
        &HandoffStatus::new(Some("c"), HandoffState::Accepted),
    );
    assert_eq!(state.phase(), Phase::Bot);
    assert_eq!(decision.errors.len(), 1);
    assert!(decision.errors[0].message.contains("no `handoff` section"));
}

const HOURS: &str = r#"
version: 1
route: { queue: support }
queues:
  support:
    fallback_channel: ticket
    hours:
      time_zone: America/New_York
      open: { mon-fri: "09:00-17:00", sat: "10:00-12:00, 13:00-14:00" }
      holidays: [2026-11-26]
      closures:
        - { from: 2026-11-20T12:00, to: 2026-11-20T13:30, reason: team training }
rules:
  - { id: human, when: { keywords: [agent] }, kind: fallback, action: escalate }
"#;

#[test]
fn hours_in_a_named_time_zone() {
    let engine = engine(HOURS);
    // (UTC instant, closed as, local time shown)
    let cases = [
        ("2026-11-20T14:30:00Z", None, ""), // Fri 09:30 EST
        (
            "2026-11-20T13:59:00Z",
            Some("outside hours"),
            "Fri 2026-11-20 08:59 EST",
        ),
        (
            "2026-11-20T17:15:00Z",
            Some("closure: team training"),
            "Fri 2026-11-20 12:15 EST",
        ),
        ("2026-11-20T18:30:00Z", None, ""), // training is over
        (
            "2026-11-20T22:00:00Z",
            Some("outside hours"),
            "Fri 2026-11-20 17:00 EST",
        ),
        (
            "2026-11-21T17:30:00Z",
            Some("outside hours"),
            "Sat 2026-11-21 12:30 EST",
        ),
        ("2026-11-21T18:30:00Z", None, ""), // Sat 13:30
        (
            "2026-11-22T15:00:00Z",
            Some("outside hours"),
            "Sun 2026-11-22 10:00 EST",
        ),
        (
            "2026-11-26T15:00:00Z",
            Some("holiday"),
            "Thu 2026-11-26 10:00 EST",
        ),
        // Daylight saving time: 13:30 UTC is 09:30 in New York in July.
        ("2026-07-15T13:30:00Z", None, ""),
        (
            "2026-07-15T12:30:00Z",
            Some("outside hours"),
            "Wed 2026-07-15 08:30 EDT",
        ),
    ];
    for (at, closed, local) in cases {
        let turn = Turn {
            timestamp: Some(at.into()),
            ..Turn::user("agent")
        };
        let decision = engine.evaluate(&mut ConversationState::new(), &turn);
        let availability = decision.reasons.iter().find_map(|r| match &r.evidence {
            escalate::Evidence::Availability {
                closed, local_time, ..
            } => Some((closed.as_str(), local_time.clone().unwrap_or_default())),
            _ => None,
        });
        assert_eq!(availability.as_ref().map(|a| a.0), closed, "{at}");
        if let Some((_, shown)) = availability {
            assert_eq!(shown, local, "{at}");
            assert_eq!(
                decision.fallback_channel,
                Some(FallbackChannel::Ticket),
                "{at}"
            );
        } else {
            assert_eq!(decision.fallback_channel, None, "{at}");
        }
        assert_eq!(decision.action, Action::Escalate, "{at}");
    }
}

#[test]
fn a_bad_timestamp_is_reported_and_the_clock_used() {
    let engine = engine(HOURS);
    let turn = Turn {
        timestamp: Some("yesterday".into()),
        ..Turn::user("agent")
    };
    let decision = engine.evaluate(&mut ConversationState::new(), &turn);
    assert_eq!(decision.action, Action::Escalate);
    assert_eq!(decision.errors.len(), 1, "{:?}", decision.errors);
    assert!(
        decision.errors[0]
            .message
            .contains("`yesterday` is not RFC 3339")
    );
}

#[test]
fn bad_handoff_settings_are_located_errors() {
    let cases = [
        (
            "handoff:\n  transcript: { turns: 1000 }\n",
            "out-of-range",
            3,
        ),
        (
            "handoff:\n  waiting: { timeout: { turns: 0 } }\n",
            "out-of-range",
            3,
        ),
        (
            "handoff:\n  messages: { waiting: \"wait {wiat}\" }\n",
            "unknown-placeholder",
            3,
        ),
        (
            "handoff:\n  redact: { patterns: ['(unclosed'] }\n",
            "invalid-pattern",
            3,
        ),
        ("handoff:\n  context: [skil]\n", "unknown-value", 3),
        (
            "messages: { online: \"in {queue}, wait {wiat}\" }\n",
            "unknown-placeholder",
            0,
        ),
    ];
    for (section, code, line) in cases {
        let yaml = format!(
            "version: 1\n{section}rules:\n  - {{ id: h, when: {{ keywords: [agent] }}, kind: fallback, action: escalate }}\n"
        );
        let error = Engine::from_yaml(&yaml).map(|_| ()).unwrap_err();
        let first = error.diagnostics().next().unwrap();
        assert_eq!(
            (first.code(), first.line()),
            (code, line),
            "{section}: {}",
            error.render()
        );
        assert!(first.help().is_some(), "{section} has no help");
    }
}
