//! Matching that reads people as they write: typos, word forms, gaps, any
//! order and `locales: all`, each capability as a table of texts and whether
//! the rule fires, through the public API. Every policy here is one rule `r`.

use escalate::{Action, ConversationState, Engine, Evidence, Turn};

fn policy(matching: &str, keywords: &str) -> Engine {
    let yaml = format!(
        "version: 1\nmatching: {matching}\nrules:\n  - {{ id: r, when: {{ keywords: {keywords} }}, kind: fallback, action: escalate }}\n"
    );
    Engine::from_yaml(&yaml).unwrap_or_else(|e| panic!("{}", e.render()))
}

fn fires(engine: &Engine, text: &str, locale: Option<&str>) -> bool {
    let turn = Turn {
        locale: locale.map(String::from),
        ..Turn::user(text)
    };
    engine.evaluate(&mut ConversationState::new(), &turn).action == Action::Escalate
}

fn check_table(engine: &Engine, cases: &[(&str, bool)]) {
    let wrong: Vec<_> = cases
        .iter()
        .filter(|(text, want)| fires(engine, text, None) != *want)
        .collect();
    assert!(wrong.is_empty(), "decided otherwise: {wrong:?}");
}

#[test]
fn each_kind_of_edit_within_the_budget() {
    let engine = policy(
        "{ typos: true }",
        r#"["talk to someone", "representative please"]"#,
    );
    check_table(
        &engine,
        &[
            ("talk to someone", true),
            ("talkk to someone", true),     // insertion
            ("tak to someone", true),       // deletion
            ("talk to somepne", true),      // substitution
            ("tlak to someone", true),      // transposition
            ("talk to somoen", true),       // transposition in a longer word
            ("reprsentitive please", true), // two edits in a word of 6 letters or more
            ("talk to sxmxoxne", false),    // three edits
            ("walk to someone", true),      // one edit in a four-letter word: within budget
            ("tk to someone", false),       // two edits in a four-letter word
            ("talk ta someone", false),     // "to" is too short for an edit
            ("talk to some one", true),     // one word split in two
            ("talk tosomeone", true),       // two words run together
            ("talk to. someone", false),    // never across a sentence
        ],
    );
}

#[test]
fn a_word_that_is_also_two_words_run_together_is_read_both_ways() {
    // "ya" is a phrase word, and "y" and "a" of another phrase run together.
    let engine = policy("{ typos: true }", r#"["ya no quiero", "y a la vez"]"#);
    check_table(
        &engine,
        &[
            ("ya no quiero", true),
            ("ya la vez", true),
            ("y a la vez", true),
            ("ya no", false),
        ],
    );
}

#[test]
fn a_long_text_of_known_words_is_read_to_its_end() {
    // Every word has a reading: more than the fixed bound on readings, so
    // only a bound that grows with the text reads the request at the end.
    let engine = policy("{ word_forms: true }", r#"["talk to a real person"]"#);
    let filler = "talks ".repeat(70_000);
    assert!(!fires(&engine, &filler, None));
    assert!(fires(
        &engine,
        &format!("{filler}talk to a real person"),
        None
    ));
}

#[test]
fn the_budget_is_the_shorter_words() {
    // "esta" is two edits from "estafa", but four letters allow one.
    let engine = policy("{ typos: true }", r#"["estafa"]"#);
    check_table(
        &engine,
        &[("estafa", true), ("estafaa", true), ("esta", false)],
    );
    let strict = policy(
        "{ typos: { min_length: 5, two_edits_from: 9, max_edits: 1 } }",
        r#"["someone"]"#,
    );
    check_table(
        &strict,
        &[("somone", true), ("smone", false), ("sommeone", true)],
    );
}

#[test]
fn an_exact_match_wins_over_a_typo() {
    let engine = policy("{ typos: true }", r#"["talk to human", "talk to humane"]"#);
    let d = engine.evaluate(&mut ConversationState::new(), &Turn::user("talk to humane"));
    let Evidence::Phrase { phrase, read, .. } = &d.reasons[0].evidence else {
        panic!("{d:?}")
    };
    assert_eq!((&**phrase, read.len()), ("talk to humane", 0));
}

#[test]
fn negation_cues_are_never_read_through_typos() {
    let engine = policy("{ typos: true }", r#"["human now", "talk to someone"]"#);
    check_table(
        &engine,
        &[
            ("human now", true),
            ("human not", false), // a cue is not read as another word
            ("i do not talk to someone", false), // the cue negates
            ("i nott talk to someone", true), // a typo is not read as a cue
        ],
    );
    // A cue that runs into the phrase negates it: "no need" and "need ... agent".
    let overlap = policy("{ typos: true }", r#"["need agent ~2"]"#);
    check_table(
        &overlap,
        &[("i need an agent", true), ("no need for an agent", false)],
    );
}

#[test]
fn words_stay_whole_under_typos() {
    let engine = policy("{ typos: true, word_forms: true }", r#"["agent"]"#);
    check_table(
        &engine,
        &[
            ("agent", true),
            ("agnet", true),
            ("reagent", false),
            ("management", false),
            ("agentur", false),
        ],
    );
}

#[test]
fn word_forms_in_each_language() {
    let engine = policy(
        "{ word_forms: true, locales: all }",
        r#"{ en: ["talk to someone"], es: ["hablar con alguien"], fr: ["parler avec quelqu'un"],
             de: ["mit jemandem sprechen"], pt: ["falar com alguem"], it: ["parlare con qualcuno"] }"#,
    );
    check_table(
        &engine,
        &[
            ("talking to someone", true),
            ("talked to someone", true),
            ("talks to someone", true),
            ("hablando con alguien", true),
            ("hablé con alguien", true),
            ("parlé avec quelqu'un", true),
            ("parlez avec quelqu'un", true),
            ("mit jemandem spreche", true),
            ("falando com alguém", true),
            ("parlando con qualcuno", true),
            ("talkative to someone", false),
            // Snowball knows no irregular forms, and a form must begin
            // with the stem: "gesprochen" is not read as "sprechen".
            ("mit jemandem gesprochen", false),
        ],
    );
    let exact = policy("{ word_forms: true }", r#"["talk to a =rep"]"#);
    check_table(
        &exact,
        &[("talking to a rep", true), ("talk to a reps", false)],
    );
}

#[test]
fn gaps_are_bounded_and_stay_in_the_clause() {
    let engine = policy("{}", r#"["chat with agent ~2", "close my account"]"#);
    check_table(
        &engine,
        &[
            ("chat with agent", true),
            ("chat with a damn agent", true),
            ("chat with a really damn agent", false),
            ("chat with you, agent", false),
            ("close my premium account", false), // no gaps unless the phrase or list says
        ],
    );
    let list = policy("{}", r#"{ gaps: 1, phrases: ["close my account"] }"#);
    check_table(
        &list,
        &[
            ("close my premium account", true),
            ("close my old premium account", false),
        ],
    );
    let policy_wide = policy("{ gaps: 2 }", r#"["close my account"]"#);
    check_table(&policy_wide, &[("close my old premium account", true)]);
}

#[test]
fn any_order_within_a_window() {
    let engine = policy("{}", r#"["any order: password reset ~1"]"#);
    check_table(
        &engine,
        &[
            ("password reset", true),
            ("reset password", true),
            ("reset my password", true),
            ("reset the old password", false),
            ("reset it. password", false),
        ],
    );
}

#[test]
fn locales_all_applies_every_list_and_keeps_its_cues() {
    let by_turn = policy("{}", r#"{ es: ["hablar con una persona"] }"#);
    let all = policy("{ locales: all }", r#"{ es: ["hablar con una persona"] }"#);
    let text = "quiero hablar con una persona";
    assert!(!fires(&by_turn, text, Some("en")));
    assert!(fires(&all, text, Some("en")));
    assert!(fires(&all, text, Some("de-CH")));
    // The Spanish cue negates the Spanish phrase on a turn tagged `en`.
    assert!(!fires(&all, "no quiero hablar con una persona", Some("en")));
}

#[test]
fn a_list_can_opt_out() {
    let engine = policy(
        "{ typos: true, word_forms: true }",
        r#"{ typos: false, word_forms: false, en: ["want to die"] }"#,
    );
    check_table(
        &engine,
        &[
            ("want to die", true),
            ("want to diet", false),
            ("wanting to die", false),
        ],
    );
}

#[test]
fn the_evidence_says_what_was_read_as_what() {
    let engine = policy(
        "{ typos: true, word_forms: true }",
        r#"["talk to someone", "speak to somebody"]"#,
    );
    /// How the user's words were read: (said, as, how).
    type Reads<'a> = &'a [(&'a str, &'a str, &'a str)];
    let cases: &[(&str, &str, Reads)] = &[
        (
            "Talkk to someone!",
            "(\"Talkk\" read as \"talk\")",
            &[("Talkk", "talk", "typo")],
        ),
        (
            "talking to someone",
            "(\"talking\" read as \"talk\")",
            &[("talking", "talk", "word form")],
        ),
        (
            "speak to some body",
            "(\"some body\" read as \"somebody\")",
            &[("some body", "somebody", "split")],
        ),
        (
            "speak tosomebody",
            "(\"tosomebody\" read as \"to somebody\")",
            &[("tosomebody", "to somebody", "joined")],
        ),
    ];
    for &(text, detail, reads) in cases {
        let d = engine.evaluate(&mut ConversationState::new(), &Turn::user(text));
        let reason = &d.reasons[0];
        assert!(reason.detail.ends_with(detail), "{text}: {}", reason.detail);
        let Evidence::Phrase {
            read, start, end, ..
        } = &reason.evidence
        else {
            panic!("{text}: {reason:?}")
        };
        let got: Vec<(&str, &str, &str)> = read
            .iter()
            .map(|r| (r.said.as_str(), r.read_as.as_str(), r.how.as_str()))
            .collect();
        assert_eq!(got, reads, "{text}");
        assert_eq!(
            &text[*start..*end].to_lowercase().trim_end_matches('!'),
            &text.to_lowercase().trim_end_matches('!')
        );
    }
}

#[test]
fn malformed_matching_syntax_is_refused_at_its_phrase() {
    let cases = [
        ("speak to a =", "`=` before no word"),
        ("speak to a = rep", "`=` before no word"),
        ("chat with agent ~-1", "not a number of words"),
        ("chat with agent ~2.5", "not a number of words"),
        ("chat ~2 with agent", "not a number of words"),
        ("chat with agent ~9", "more than 8"),
        ("chat with agent ~", "no number of words"),
        ("any-order: mensch sprechen", "`any order:`"),
        ("any order:", "no words"),
        ("any order: mensch", "one word"),
    ];
    for (phrase, problem) in cases {
        let yaml = format!(
            "version: 1\nrules:\n  - id: r\n    when: {{ keywords: [\"{phrase}\"] }}\n    kind: fallback\n    action: escalate\n"
        );
        let error = Engine::from_yaml(&yaml).expect_err(phrase);
        let d = error.diagnostics().next().unwrap();
        assert_eq!(
            (d.code(), d.line(), d.column()),
            ("invalid-phrase", 4, 24),
            "{phrase}"
        );
        assert!(d.message().contains(problem), "{phrase}: {}", d.message());
        assert!(d.help().is_some(), "{phrase}");
    }
    let error = Engine::from_yaml(
        "version: 1\nrules:\n  - id: r\n    when: { keywords: { typo: false, en: [\"a b\"] } }\n    kind: fallback\n    action: escalate\n",
    )
    .expect_err("a misspelt setting");
    let d = error.diagnostics().next().unwrap();
    assert_eq!(
        (d.code(), d.help()),
        ("invalid-locale", Some("did you mean `typos`?"))
    );
}

#[test]
fn engines_on_one_thread_keep_their_own_word_forms() {
    // Both engines stem on this thread with their first stemmer: English
    // for one, Spanish for the other. What one learns of "hablando" must
    // not answer for the other.
    let english = policy(
        "{ word_forms: true, locales: all }",
        r#"{ en: ["hablar con alguien"] }"#,
    );
    let spanish = policy(
        "{ word_forms: true, locales: all }",
        r#"{ es: ["hablar con alguien"] }"#,
    );
    for _ in 0..2 {
        assert!(!fires(&english, "hablando con alguien", None));
        assert!(fires(&spanish, "hablando con alguien", None));
    }
}

#[test]
fn words_seen_before_are_read_as_the_first_time() {
    // Each thread keeps the readings of the words it has read, per
    // engine: a word read again, by this engine or after another engine
    // read it otherwise, gives the decision and evidence of a fresh read.
    let typos = policy("{ typos: true, word_forms: true }", r#"["talk to agent"]"#);
    let other = policy("{ typos: true }", r#"["big order", "tall order"]"#);
    let decide = |engine: &Engine, text: &str| {
        serde_json::to_string(&engine.evaluate(&mut ConversationState::new(), &Turn::user(text)))
            .unwrap()
    };
    let texts = [
        "can i talkk to agent",
        "talking to agents",
        "talkk to agent",
        "a tall order",
        "i talk to agent",
        "talk order",
        "i want to tall to agent",
    ];
    // The first reads, each on a thread of its own (nothing seen before).
    let first_read = |engine: &Engine, text: &str| {
        std::thread::scope(|s| s.spawn(|| decide(engine, text)).join().unwrap())
    };
    let fresh: Vec<(String, String)> = texts
        .iter()
        .map(|text| (first_read(&typos, text), first_read(&other, text)))
        .collect();
    assert!(fresh[0].0.contains("read as"), "{}", fresh[0].0);
    assert!(fresh[3].1.contains("escalate"), "{}", fresh[3].1);
    assert!(!fresh[3].0.contains("escalate"), "{}", fresh[3].0);
    // Then all of them on this thread, three times over, the engines interleaved.
    for _ in 0..3 {
        for (text, (with_typos, without)) in texts.iter().zip(&fresh) {
            assert_eq!(&decide(&typos, text), with_typos, "{text}");
            assert_eq!(&decide(&other, text), without, "{text}");
        }
    }
}

#[test]
fn the_default_negation_window_is_two_words() {
    // The policy sets no `negation` at all: the documented default (2) applies.
    let engine = policy("{}", r#"["agent"]"#);
    check_table(
        &engine,
        &[
            ("I do not agent", false),
            ("I do not want agent", false),
            // The cue ends exactly 2 words before the phrase: still negated.
            ("I do not want an agent", false),
            // One word more and the cue is out of reach.
            ("I do not really want an agent", true),
            ("not working at all get me an agent", true),
        ],
    );
    // Setting the window explicitly moves the edge.
    let three = policy("{ negation: { window: 3 } }", r#"["agent"]"#);
    assert!(!fires(&three, "I do not really want an agent", None));
    assert!(fires(&three, "I do not really really want an agent", None));
}

/// Negation on the bilingual example policies: a cue negates only a phrase
/// of its own language, so a cue of the other language in a code-switched
/// message leaves the request standing.
#[test]
fn negation_cues_negate_only_phrases_of_their_language() {
    let bank = Engine::from_yaml(include_str!("../policies/examples/bank.yaml")).unwrap();
    let telecom = Engine::from_yaml(include_str!("../policies/examples/telecom.yaml")).unwrap();
    let asks = |engine: &Engine, rule: &str, text: &str, locale: &str| {
        let turn = Turn {
            locale: Some(locale.to_string()),
            ..Turn::user(text)
        };
        let decision = engine.evaluate(&mut ConversationState::new(), &turn);
        decision.reasons.iter().any(|r| &*r.rule == rule)
    };
    let cases = [
        // (policy, rule, text, locale, fires)
        (
            &bank,
            "asks-for-person",
            "no quiero hablar con una persona",
            "es",
            false,
        ),
        (
            &bank,
            "asks-for-person",
            "quiero hablar con una persona",
            "es",
            true,
        ),
        (
            &bank,
            "asks-for-person",
            "not really quiero hablar con una persona",
            "es",
            true,
        ),
        (
            &bank,
            "asks-for-person",
            "I do not want to talk to a person",
            "en",
            false,
        ),
        (
            &bank,
            "asks-for-person",
            "I said no just talk to a person",
            "en",
            true,
        ),
        (
            &bank,
            "asks-for-person",
            "nunca mind talk to a person",
            "en",
            true,
        ),
        (
            &telecom,
            "asks-for-advisor",
            "je ne veux pas parler à un conseiller",
            "fr",
            false,
        ),
        (
            &telecom,
            "asks-for-advisor",
            "not really parler à un conseiller",
            "fr",
            true,
        ),
        (
            &telecom,
            "asks-for-advisor",
            "I do not want to talk to a person",
            "en",
            false,
        ),
        (
            &telecom,
            "asks-for-advisor",
            "pas important just talk to a person",
            "en",
            true,
        ),
    ];
    let wrong: Vec<_> = cases
        .iter()
        .filter(|(engine, rule, text, locale, fires)| asks(engine, rule, text, locale) != *fires)
        .map(|(_, rule, text, locale, fires)| (rule, text, locale, fires))
        .collect();
    assert!(wrong.is_empty(), "decided otherwise: {wrong:?}");
}
