//! Rule semantics, end to end through the public API.

use escalate::{Action, ConversationState, Decision, Engine, Kind, Outcome, Priority, Role, Turn};

fn engine(yaml: &str) -> Engine {
    Engine::from_yaml(yaml).unwrap_or_else(|e| panic!("{}", e.render()))
}

fn run(engine: &Engine, turns: &[Turn]) -> Vec<Decision> {
    let mut state = ConversationState::new();
    turns
        .iter()
        .map(|t| engine.evaluate(&mut state, t))
        .collect()
}

const PRIORITIES: &str = r#"
version: 1
messages: { online: "policy online", offline: "policy offline", offer: "policy offer" }
route: { queue: general, skill: triage, priority: low }
rules:
  - { id: offer-high, when: { keywords: ["a"] }, kind: fallback, action: offer, priority: 5 }
  - { id: escalate-high, when: { keywords: ["b"] }, kind: planned, action: escalate, priority: 5,
      route: { queue: vip }, messages: { online: "rule online" }, agent_note: "note b" }
  - { id: escalate-low, when: { keywords: ["a", "b", "c"] }, kind: fallback, action: escalate }
  - { id: first-of-equals, when: { keywords: ["d"] }, kind: fallback, action: offer }
  - { id: second-of-equals, when: { keywords: ["d"] }, kind: planned, action: offer }
  - { id: off, when: { keywords: ["a", "b", "c", "d"] }, kind: planned, action: escalate, priority: 99, enabled: false }
"#;

#[test]
fn the_deciding_rule_is_priority_then_escalate_then_file_order() {
    let e = engine(PRIORITIES);
    let cases = [
        ("a", "offer-high", Action::Offer),
        ("b", "escalate-high", Action::Escalate),
        ("a b", "escalate-high", Action::Escalate),
        ("c", "escalate-low", Action::Escalate),
        ("d", "first-of-equals", Action::Offer),
    ];
    for (text, rule, action) in cases {
        let d = &run(&e, &[Turn::user(text)])[0];
        assert_eq!(d.rule.as_deref(), Some(rule), "{text}");
        assert_eq!(d.action, action, "{text}");
    }
    let d = &run(&e, &[Turn::user("a b")])[0];
    let fired: Vec<&str> = d.reasons.iter().map(|r| &*r.rule).collect();
    assert_eq!(
        fired,
        ["offer-high", "escalate-high", "escalate-low"],
        "every fired rule, in policy order"
    );
}

#[test]
fn messages_routes_and_notes() {
    let e = engine(PRIORITIES);
    let offline = |text: &str| Turn {
        agents_available: Some(false),
        ..Turn::user(text)
    };
    let cases = [
        (Turn::user("a"), "policy offer"),
        (offline("a"), "policy offline"),
        (Turn::user("b"), "rule online"),
        (offline("b"), "policy offline"),
        (Turn::user("c"), "policy online"),
    ];
    for (turn, message) in cases {
        let d = &run(&e, std::slice::from_ref(&turn))[0];
        assert_eq!(d.message.as_deref(), Some(message), "{turn:?}");
    }
    let d = &run(&e, &[Turn::user("b")])[0];
    let route = d.route.as_ref().unwrap();
    assert_eq!(
        (&*route.queue, route.skill.as_deref(), route.priority),
        ("vip", Some("triage"), Priority::Low)
    );
    assert_eq!(d.agent_note.as_deref(), Some("note b"));
    assert_eq!(d.kind, Some(Kind::Planned));
    let none = &run(&e, &[Turn::user("nothing here")])[0];
    assert_eq!(
        (
            none.action,
            none.rule.as_ref(),
            none.route.as_ref(),
            none.message.as_ref()
        ),
        (Action::None, None, None, None)
    );
}

#[test]
fn an_escalation_does_not_refire_on_a_stale_counter() {
    let e = engine(
        r#"
version: 1
rules:
  - { id: fails, when: { failures: { consecutive: 2 } }, kind: fallback, action: escalate }
  - { id: sad, when: { sentiment: { mean_below: -0.5, window: 2 } }, kind: fallback, action: offer }
"#,
    );
    let miss = |sentiment: f64| Turn {
        outcome: Outcome::NoMatch,
        sentiment: Some(sentiment),
        ..Turn::user("?")
    };
    let actions: Vec<Action> = run(
        &e,
        &[
            miss(0.0),
            miss(0.0),
            miss(0.0),
            miss(0.0),
            miss(-0.9),
            miss(-0.9),
        ],
    )
    .iter()
    .map(|d| d.action)
    .collect();
    assert_eq!(
        actions,
        [
            Action::None,
            Action::Escalate,
            Action::None,
            Action::Escalate,
            Action::None,
            Action::Escalate
        ]
    );
}

#[test]
fn bot_turns_are_not_evaluated_and_change_nothing() {
    let e = engine(
        "version: 1\nrules:\n  - { id: r, when: { failures: { total: 1 } }, kind: fallback, action: escalate }\n",
    );
    let mut state = ConversationState::new();
    let bot = Turn {
        role: Role::Bot,
        outcome: Outcome::NoMatch,
        ..Turn::user("real person")
    };
    let d = e.evaluate(&mut state, &bot);
    assert_eq!(d.action, Action::None);
    assert_eq!(state, ConversationState::new());
}

#[test]
fn rule_locales() {
    let e = engine(
        "version: 1\nrules:\n  - { id: r, when: { keywords: [ayuda] }, kind: fallback, action: escalate, locales: [es] }\n",
    );
    let in_locale = |locale: Option<&str>| Turn {
        locale: locale.map(String::from),
        ..Turn::user("ayuda")
    };
    assert_eq!(
        run(&e, &[in_locale(Some("es-AR"))])[0].action,
        Action::Escalate
    );
    assert_eq!(run(&e, &[in_locale(None)])[0].action, Action::Escalate);
    assert_eq!(run(&e, &[in_locale(Some("en"))])[0].action, Action::None);
}

#[test]
fn state_survives_a_round_trip_between_turns() {
    let e = Engine::builtin();
    let miss = Turn {
        outcome: Outcome::NoMatch,
        ..Turn::user("blah")
    };
    let mut direct = ConversationState::new();
    let mut stored = serde_json::to_string(&ConversationState::new()).unwrap();
    for _ in 0..3 {
        let a = e.evaluate(&mut direct, &miss);
        let mut state: ConversationState = serde_json::from_str(&stored).unwrap();
        let b = e.evaluate(&mut state, &miss);
        stored = serde_json::to_string(&state).unwrap();
        assert_eq!(a, b);
    }
    assert_eq!(
        serde_json::from_str::<ConversationState>(&stored).unwrap(),
        direct
    );
}

#[test]
fn decision_json_has_the_documented_shape() {
    let turn: Turn = serde_json::from_str(
        r#"{"conversation_id": "c-17", "role": "user", "text": "I want to talk to a real person",
            "menu": null, "intent": {"name": "billing.dispute", "confidence": 0.91},
            "sentiment": 0.1, "outcome": "ok", "locale": "en", "agents_available": true,
            "timestamp": "2026-11-20T14:03:00Z", "attributes": {"tier": "silver", "channel": "web"}}"#,
    )
    .unwrap();
    let d = Engine::builtin().evaluate(&mut ConversationState::new(), &turn);
    let json = serde_json::to_value(&d).unwrap();
    let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
    let mut want = [
        "conversation_id",
        "turn",
        "action",
        "kind",
        "rule",
        "reasons",
        "route",
        "message",
        "agent_note",
        "policy",
        "phase",
    ];
    want.sort();
    assert_eq!(keys, want);
    assert_eq!(json["phase"], "waiting");
    assert_eq!(json["conversation_id"], "c-17");
    assert_eq!(json["turn"], 1);
    assert_eq!(json["action"], "escalate");
    assert_eq!(json["rule"], "asks-for-human");
    let reason = &json["reasons"][0];
    assert_eq!(reason["trigger"], "keyword");
    let (start, end) = (
        reason["evidence"]["start"].as_u64().unwrap() as usize,
        reason["evidence"]["end"].as_u64().unwrap() as usize,
    );
    assert_eq!(&turn.text[start..end], "talk to a real person");
    assert_eq!(
        json["route"],
        serde_json::json!({"queue": "general", "skill": null, "priority": "normal"})
    );
    assert_eq!(json["policy"]["name"], "default");
    let back: Decision = serde_json::from_value(json).unwrap();
    assert_eq!(back, d);
}

#[test]
fn decisions_name_the_policy_and_the_hash_of_its_text() {
    // `printf 'version: 1\nname: tiny\nrules: []\n' | sha256sum | cut -c1-16`
    let tiny = Engine::from_yaml("version: 1\nname: tiny\nrules: []\n").unwrap();
    assert_eq!(tiny.id().name, "tiny");
    assert_eq!(tiny.id().hash, "2b48760f25e1229d");
    let d = tiny.evaluate(&mut ConversationState::new(), &Turn::user("hi"));
    assert_eq!(d.policy.as_deref(), Some(tiny.id()));
    let bot = Turn {
        role: Role::Bot,
        ..Turn::user("hello")
    };
    assert_eq!(
        tiny.evaluate(&mut ConversationState::new(), &bot)
            .policy
            .as_deref(),
        Some(tiny.id())
    );

    let renamed = Engine::from_yaml("version: 1\nname: tiny\nrules: []\n# edited\n").unwrap();
    assert_eq!(renamed.id().name, "tiny");
    assert_ne!(
        renamed.id().hash,
        tiny.id().hash,
        "any edit changes the hash"
    );
}

#[test]
fn the_policy_file_and_the_builtin_agree() {
    let from_file = Engine::from_path(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/policies/default.yaml"
    ))
    .unwrap();
    assert_eq!(from_file.summary(), Engine::builtin().summary());
}

#[test]
fn public_types_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Engine>();
    assert_send_sync::<ConversationState>();
    assert_send_sync::<Turn>();
    assert_send_sync::<Decision>();
    assert_send_sync::<escalate::PolicyError>();
    assert_send_sync::<escalate::PolicyHandle>();
    assert_send_sync::<escalate::EngineBuilder>();
    assert_send_sync::<escalate::ReloadError<String>>();
    assert_send_sync::<escalate::StateError>();
    assert_send_sync::<escalate::TurnError>();
    assert_send_sync::<escalate::PolicyId>();
}

#[test]
fn one_engine_serves_many_threads() {
    let e = Engine::builtin();
    let texts = ["real person please", "hello", "I will sue you", "agent"];
    let expected: Vec<Decision> = texts
        .iter()
        .map(|t| run(&e, &[Turn::user(*t)]).remove(0))
        .collect();
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for _ in 0..50 {
                    for (text, want) in texts.iter().zip(&expected) {
                        assert_eq!(&run(&e, &[Turn::user(*text)])[0], want);
                    }
                }
            });
        }
    });
}

#[test]
fn warnings_point_at_what_is_probably_a_mistake() {
    let lint =
        Engine::from_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/lint.yaml")).unwrap();
    let found: Vec<(&str, usize)> = lint.warnings().map(|w| (w.code(), w.line())).collect();
    assert_eq!(
        found,
        [
            ("unused-topic", 6),
            ("unused-queue", 8),
            ("shadowed-rule", 11),
            ("shadowed-rule", 13),
            ("phrase-kinds-differ", 15),
            ("never-fires", 16),
            ("never-fires", 17),
        ]
    );
    assert!(
        lint.warnings()
            .all(|w| w.severity() == escalate::Severity::Warning && w.help().is_some())
    );
}

#[test]
fn the_shipped_policies_have_no_warnings() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/policies");
    for policy in [
        "default.yaml",
        "examples/bank.yaml",
        "examples/telecom.yaml",
        "examples/health-insurer.yaml",
    ] {
        let engine = Engine::from_path(format!("{dir}/{policy}")).unwrap();
        let warnings: Vec<String> = engine.warnings().map(|w| w.to_string()).collect();
        assert!(warnings.is_empty(), "{policy}: {warnings:?}");
    }
}

/// What a phrase matches under each folding, in all-ASCII text and in text
/// with other characters (which takes the general normalizing path).
#[test]
fn folding_settings_decide_what_a_phrase_matches() {
    let cases: [(&str, &[(&str, bool)]); 4] = [
        (
            "{ fold_case: true, fold_accents: true }",
            &[
                ("I want a REAL Person", true),
                ("I want a real person 🙂", true),
                ("un café noir", true),
                ("un CAFE noir", true),
            ],
        ),
        (
            "{ fold_case: false, fold_accents: true }",
            &[
                ("I want a Real Person", true),
                ("I want a real person", false),
                ("I want a Real Person 🙂", true),
                ("I want a REAL PERSON 🙂", false),
                ("un café noir", true),
                ("un CAFE noir", false),
            ],
        ),
        (
            "{ fold_case: true, fold_accents: false }",
            &[
                ("I want a real PERSON", true),
                ("un café noir", true),
                ("un CAFÉ noir", true),
                ("un cafe noir", false),
            ],
        ),
        (
            "{ fold_case: false, fold_accents: false }",
            &[
                ("Real Person", true),
                ("real person", false),
                ("un café noir", true),
                ("un cafe noir", false),
                ("un CAFÉ noir", false),
            ],
        ),
    ];
    for (matching, texts) in cases {
        let policy = format!(
            "version: 1\nmatching: {matching}\nrules:\n  \
             - {{ id: person, when: {{ keywords: [\"Real Person\", \"café\"] }}, kind: planned, action: escalate }}\n"
        );
        let e = engine(&policy);
        for &(text, fires) in texts {
            let d = &run(&e, &[Turn::user(text)])[0];
            assert_eq!(d.action == Action::Escalate, fires, "{matching} {text:?}");
        }
    }
}

/// Rules are checked, and reasons listed, in policy order, whatever order
/// their phrases come in and whether or not a phrase gates them.
#[test]
fn reasons_follow_policy_order_whatever_order_the_phrases_come_in() {
    let e = engine(
        r#"
version: 1
rules:
  - { id: late-phrase, when: { keywords: ["zebra"] }, kind: fallback, action: offer }
  - { id: no-gate, when: { any: [{ keywords: ["zebra"] }, { menu: [agent] }] }, kind: fallback, action: offer }
  - { id: early-phrase, when: { keywords: ["apple"] }, kind: fallback, action: offer }
  - { id: both, when: { all: [{ keywords: ["apple"] }, { keywords: ["zebra"] }] }, kind: fallback, action: offer }
  - { id: never, when: { keywords: ["mango"] }, kind: fallback, action: offer }
"#,
    );
    for text in ["apple then zebra", "zebra then apple"] {
        let d = &run(&e, &[Turn::user(text)])[0];
        let rules: Vec<&str> = d.reasons.iter().map(|r| &*r.rule).collect();
        assert_eq!(
            rules,
            ["late-phrase", "no-gate", "early-phrase", "both", "both"],
            "{text:?}"
        );
        assert_eq!(d.rule.as_deref(), Some("late-phrase"), "{text:?}");
    }
}

#[test]
fn lint_warns_when_the_sentiment_scorer_cannot_read_the_default_locale() {
    let policy = |locale: &str, source: &str| {
        format!(
            "version: 1\nmatching: {{ default_locale: {locale} }}\nrules:\n  - {{ id: upset, when: {{ sentiment: {{ below: -0.5{source} }} }}, kind: fallback, action: offer }}\n"
        )
    };
    let codes = |yaml: String| -> Vec<(String, usize)> {
        Engine::from_yaml(&yaml)
            .unwrap()
            .warnings()
            .map(|w| (w.code().to_string(), w.line()))
            .collect()
    };
    assert_eq!(
        codes(policy("ja", "")),
        [("unscored-language".to_string(), 4)]
    );
    assert_eq!(codes(policy("ja", ", source: builtin")).len(), 1);
    assert!(codes(policy("ja", ", source: turn")).is_empty());
    assert!(codes(policy("pt-BR", "")).is_empty());
}
