//! Routes that depend on the turn's language: `{lang}` in a queue or skill
//! name, `by_locale` tables on the policy and on a rule, and the route a
//! decision carries after the handoff began.

use escalate::{
    Action, ConversationState, Engine, HandoffState, HandoffStatus, Priority, Route, Turn,
};

/// A Sunday, when a queue open on weekdays is closed.
const SUNDAY: &str = "2026-12-06T15:00:00Z";

fn turn(text: &str, locale: Option<&str>) -> Turn {
    Turn {
        locale: locale.map(str::to_string),
        timestamp: Some(SUNDAY.to_string()),
        ..Turn::user(text)
    }
}

fn route_of(engine: &Engine, text: &str, locale: Option<&str>) -> Route {
    let decision = engine.evaluate(&mut ConversationState::new(), &turn(text, locale));
    assert_eq!(decision.action, Action::Escalate, "{text:?} in {locale:?}");
    decision.route.expect("an escalation has a route")
}

fn names(route: &Route) -> (&str, Option<&str>) {
    (&route.queue, route.skill.as_deref())
}

#[test]
fn lang_fills_a_queue_or_skill_name_with_the_turn_s_language() {
    let engine = Engine::from_yaml(
        r#"
version: 1
matching: { default_locale: en-GB }
route: { queue: "support-{lang}", skill: "speaks-{lang}" }
rules:
  - id: human
    when: { keywords: [human, humano, humain] }
    kind: fallback
    action: escalate
"#,
    )
    .unwrap();
    // (locale the turn gives, queue, skill)
    let cases = [
        (Some("pt-BR"), "support-pt", "speaks-pt"),
        (Some("PT_br"), "support-pt", "speaks-pt"),
        (Some("es"), "support-es", "speaks-es"),
        (Some(" fr-CA "), "support-fr", "speaks-fr"),
        // No locale, or one that is no locale tag: the policy's default.
        (None, "support-en", "speaks-en"),
        (Some("portuguese"), "support-en", "speaks-en"),
        (Some(""), "support-en", "speaks-en"),
    ];
    for (locale, queue, skill) in cases {
        let route = route_of(&engine, "a human please", locale);
        assert_eq!(names(&route), (queue, Some(skill)), "{locale:?}");
    }
}

#[test]
fn the_most_specific_part_wins_rule_before_policy_language_before_none() {
    let engine = Engine::from_yaml(
        r#"
version: 1
route:
  queue: support
  skill: general
  priority: low
  by_locale:
    pt: { queue: suporte, skill: portugues }
    es: { skill: espanol }
rules:
  - id: billing
    when: { keywords: [bill, fatura, factura] }
    kind: planned
    action: escalate
    route:
      queue: billing
      priority: high
      by_locale:
        pt: { skill: faturas-pt }
        de: { queue: billing-de }
  - id: other
    when: { keywords: [human, humano] }
    kind: fallback
    action: escalate
"#,
    )
    .unwrap();
    // (text, locale, queue, skill)
    let cases = [
        // The rule's table, then the rule's route, then the policy's table, then the policy's route.
        ("my bill", Some("pt"), "billing", Some("faturas-pt")),
        ("my bill", Some("de-AT"), "billing-de", Some("general")),
        ("my bill", Some("es"), "billing", Some("espanol")),
        ("my bill", Some("en"), "billing", Some("general")),
        ("my bill", None, "billing", Some("general")),
        ("a human", Some("pt-PT"), "suporte", Some("portugues")),
        ("a human", Some("es"), "support", Some("espanol")),
        ("a human", Some("de"), "support", Some("general")),
    ];
    for (text, locale, queue, skill) in cases {
        let route = route_of(&engine, text, locale);
        assert_eq!(names(&route), (queue, skill), "{text:?} in {locale:?}");
    }
    assert_eq!(
        route_of(&engine, "my bill", Some("pt")).priority,
        Priority::High
    );
    assert_eq!(
        route_of(&engine, "a human", Some("pt")).priority,
        Priority::Low
    );
}

const BY_LANGUAGE: &str = r#"
version: 1
route: { queue: "support-{lang}" }
handoff: { waiting: { timeout: { turns: 2 } } }
queues:
  support-en: { expected_wait: "two minutes" }
  support-pt:
    expected_wait: "dois minutos"
    hours: { time_zone: "America/Sao_Paulo", open: { mon-fri: "09:00-18:00" } }
rules:
  - id: human
    when: { keywords: [human, humano] }
    kind: fallback
    action: escalate
    messages:
      online: "Connecting you ({wait})."
      offline: "Closed, queue {queue}."
"#;

#[test]
fn each_language_s_queue_keeps_its_own_settings() {
    let engine = Engine::from_yaml(BY_LANGUAGE).unwrap();
    assert_eq!(
        engine.warnings().len(),
        0,
        "{:?}",
        engine.warnings().collect::<Vec<_>>()
    );
    let mut state = ConversationState::new();
    let english = engine.evaluate(&mut state, &turn("a human", Some("en-US")));
    assert_eq!(
        english.message.as_deref(),
        Some("Connecting you (two minutes).")
    );
    // The Portuguese queue is closed on Sundays: the offline path, for that queue.
    let mut state = ConversationState::new();
    let portuguese = engine.evaluate(&mut state, &turn("um humano", Some("pt-BR")));
    assert_eq!(
        portuguese.message.as_deref(),
        Some("Closed, queue support-pt.")
    );
    assert_eq!(
        portuguese.route.map(|r| r.queue.to_string()).as_deref(),
        Some("support-pt")
    );
}

#[test]
fn a_decision_after_the_handoff_began_keeps_the_language_s_route() {
    let engine = Engine::from_yaml(BY_LANGUAGE).unwrap();
    let mut state = ConversationState::new();
    let first = engine.evaluate(&mut state, &turn("un humano", Some("es")));
    assert_eq!(state.phase(), escalate::Phase::Waiting);
    assert_eq!(first.route.as_ref().map(|r| &*r.queue), Some("support-es"));
    // The hub gives up: the offline path keeps the queue the Spanish turn chose,
    // though the status names no language.
    let failed = engine.apply_status(&mut state, &HandoffStatus::new(None, HandoffState::Failed));
    assert_eq!(failed.action, Action::Escalate);
    assert_eq!(failed.route.as_ref().map(|r| &*r.queue), Some("support-es"));
    // The same after a timeout on a turn in another language.
    let mut state = ConversationState::new();
    engine.evaluate(&mut state, &turn("un humano", Some("es")));
    let timed_out = (0..3)
        .map(|_| engine.evaluate(&mut state, &turn("hello?", Some("en"))))
        .find(|d| d.action == Action::Escalate)
        .expect("the wait times out");
    assert_eq!(
        timed_out.route.as_ref().map(|r| &*r.queue),
        Some("support-es")
    );
}

#[test]
fn queue_names_with_lang_count_as_routed_for_the_unused_queue_lint() {
    let engine = Engine::from_yaml(&BY_LANGUAGE.replace("support-en:", "suport-en:")).unwrap();
    let warnings: Vec<String> = engine.warnings().map(|w| w.message().to_string()).collect();
    assert_eq!(
        warnings,
        ["no rule routes to queue `suport-en`, so its settings never apply"],
        "{warnings:?}"
    );
}

#[test]
fn bad_routes_are_located_with_a_hint() {
    // (what, the rule's route, code, line, column, a word of the help): a
    // table entry is reported at its value, a name at the rule's id (line 3).
    let cases = [
        (
            "a region in a language table",
            "route: { queue: q, by_locale: { pt-BR: { queue: p } } }",
            "invalid-locale",
            (7, 44),
            "write `pt`",
        ),
        (
            "a language name",
            "route: { queue: q, by_locale: { portuguese: { queue: p } } }",
            "invalid-locale",
            (7, 49),
            "language codes",
        ),
        (
            "an entry that changes nothing",
            "route: { by_locale: { pt: {} } }",
            "empty-route",
            (7, 31),
            "give it a `queue`",
        ),
        (
            "a placeholder other than lang",
            "route: { skill: \"team-{language}\" }",
            "unknown-placeholder",
            (3, 9),
            "`{lang}`",
        ),
        (
            "an empty skill",
            "route: { skill: \" \" }",
            "empty-skill",
            (3, 9),
            "name the skill",
        ),
    ];
    for (what, route, code, at, help) in cases {
        let yaml = format!(
            "version: 1\nrules:\n  - id: r\n    when: {{ keywords: [agent] }}\n    kind: planned\n    action: escalate\n    {route}\n"
        );
        let error = Engine::from_yaml(&yaml).expect_err(what);
        let d = error.diagnostics().next().expect(what);
        assert_eq!(
            (d.code(), (d.line(), d.column())),
            (code, at),
            "{what}: {}",
            error.render()
        );
        assert!(
            d.help().is_some_and(|h| h.contains(help)),
            "{what}: {}",
            error.render()
        );
    }
}

#[test]
fn the_policy_s_own_route_is_checked_too() {
    let error = Engine::from_yaml(
        "version: 1\nroute:\n  by_locale:\n    english: { queue: en }\nrules:\n  - { id: r, when: { keywords: [agent] }, kind: planned, action: escalate }\n",
    )
    .unwrap_err();
    let d = error.diagnostics().next().unwrap();
    assert_eq!(
        (d.code(), d.line()),
        ("invalid-locale", 4),
        "{}",
        error.render()
    );
    assert!(d.message().contains("the policy"), "{}", d.message());
}
