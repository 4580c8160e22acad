//! The built-in policy on utterances like the ones real users type.

use std::sync::OnceLock;

use escalate::{Action, ConversationState, Decision, Engine, Turn};

fn builtin() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(Engine::builtin)
}

fn decide(text: &str, locale: Option<&str>) -> Decision {
    let turn = Turn {
        locale: locale.map(String::from),
        ..Turn::user(text)
    };
    builtin().evaluate(&mut ConversationState::new(), &turn)
}

/// Genuine requests for a person, as users type them.
const REQUESTS: &[(&str, Option<&str>)] = &[
    ("I want to talk to a real person", None),
    ("talk to a human", None),
    ("Can I speak to someone please", None),
    ("can i speak with an agent", None),
    ("let me talk to a human being", None),
    ("I need to speak to a representative", None),
    ("connect me to an agent", None),
    ("transfer me to a live agent please", None),
    ("put me through to a person", None),
    ("get me a human", None),
    ("AGENT", None),
    ("agent!!", None),
    ("Representative.", None),
    ("operator please", None),
    ("human please", None),
    ("real person", None),
    ("live agent", None),
    ("I want a live person", None),
    ("customer service", None),
    ("I'd like to chat with a human", None),
    ("is there a real person I can talk to?", None),
    ("is there anyone I can speak to", None),
    ("can I have a real person", None),
    ("i need an actual human", None),
    ("I don't want to talk to a bot", None),
    ("this is not working, let me talk to a human", None),
    // DESIGN's example: the cue is 3 words before "get me a human",
    // beyond the window of 2.
    ("this is not working at all get me a human", None),
    ("you're useless, get me a person", None),
    ("I want to speak to your manager", None),
    ("let me speak to a supervisor", None),
    ("talk to customer support", None),
    ("speak with somebody from your team", None),
    ("no, not you, a human", None),
    ("stop, no more bots", None),
    ("quiero hablar con una persona", Some("es")),
    ("¿Puedo hablar con un agente?", Some("es-MX")),
    ("necesito un asesor", Some("es")),
    ("Je voudrais parler à un conseiller", Some("fr")),
    ("je veux parler à quelqu'un", Some("fr")),
    ("Ich möchte mit einem Mitarbeiter sprechen", Some("de")),
    ("kann ich mit einem echten Menschen reden", Some("de")),
    ("Quero falar com um atendente", Some("pt-BR")),
    ("preciso de uma pessoa", Some("pt")),
];

/// Things users say that are not requests for a person.
const NOT_REQUESTS: &[&str] = &[
    "are you a human?",
    "Are you a real person?",
    "am I talking to a bot",
    "what is your phone number?",
    "what are your opening hours",
    "I don't need an agent, just my balance",
    "no need to talk to a human, thanks",
    "I do not want to talk to a human",
    "how do I change my password",
    "my travel agent booked the wrong date",
    "the reagent kit arrived",
    "thank you, that helped",
    "where is my parcel",
    "is this a human or a bot?",
    "what does a representative APR mean",
    "hello",
];

#[test]
fn escalates_genuine_requests_for_a_person() {
    let missed: Vec<&str> = REQUESTS
        .iter()
        .filter(|(text, locale)| decide(text, *locale).action != Action::Escalate)
        .map(|(text, _)| *text)
        .collect();
    assert!(missed.is_empty(), "missed requests: {missed:#?}");
}

#[test]
fn does_not_escalate_questions_and_ordinary_messages() {
    let wrong: Vec<(&str, Option<std::sync::Arc<str>>)> = NOT_REQUESTS
        .iter()
        .map(|text| (*text, decide(text, None)))
        .filter(|(_, d)| d.action != Action::None)
        .map(|(text, d)| (text, d.rule))
        .collect();
    assert!(wrong.is_empty(), "false escalations: {wrong:#?}");
}

#[test]
fn compliance_topics_go_to_their_queues() {
    let cases = [
        ("I want to kill myself", "crisis", "crisis"),
        ("honestly I don't want to live anymore", "crisis", "crisis"),
        (
            "My mother passed away and I need to close her account",
            "bereavement",
            "care",
        ),
        ("my husband died last month", "bereavement", "care"),
        ("I will sue you", "legal-threat", "legal"),
        ("my lawyer will hear about this", "legal-threat", "legal"),
        (
            "there are unauthorized charges on my card",
            "fraud",
            "fraud",
        ),
        ("I didn't make this purchase", "fraud", "fraud"),
        ("I want to file a complaint", "complaint", "complaints"),
        ("please cancel my subscription", "cancellation", "retention"),
    ];
    for (text, rule, queue) in cases {
        let d = decide(text, None);
        assert_eq!(d.action, Action::Escalate, "{text}");
        assert_eq!(d.rule.as_deref(), Some(rule), "{text}");
        assert_eq!(d.route.as_ref().map(|r| &*r.queue), Some(queue), "{text}");
    }
}

#[test]
fn crisis_outranks_everything() {
    let d = decide("get me a human, I want to end my life", None);
    assert_eq!(d.rule.as_deref(), Some("crisis"));
    assert!(d.reasons.iter().any(|r| &*r.rule == "asks-for-human"));
    assert!(d.agent_note.is_some());
}

#[test]
fn the_builtin_policy_covers_every_trigger_kind() {
    let yaml = escalate::DEFAULT_POLICY;
    for key in [
        "menu:",
        "keywords:",
        "whole_sentence:",
        "topic:",
        "confidence:",
        "sentiment:",
        "failures:",
        "script:",
    ] {
        assert!(yaml.contains(key), "default policy lacks `{key}`");
    }
    let summary = builtin().summary().clone();
    assert!(summary.phrases > 500, "{summary:?}");
}
