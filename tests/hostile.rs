//! Hostile and mistaken policies are refused with a located error, in
//! bounded time and memory, and never panic. Each case names the loader
//! bound it hits (README, "Limits").

use std::io::Write;

use escalate::{ConversationState, Engine, EngineBuilder, PolicyError, Turn};

/// A rule whose condition is `when`, given as flow YAML.
fn with_when(when: &str) -> String {
    format!(
        "version: 1\nrules:\n  - id: r\n    kind: planned\n    action: escalate\n    when: {when}\n"
    )
}

fn refused(builder: &EngineBuilder, yaml: &str) -> PolicyError {
    match builder.build(yaml) {
        Ok(_) => panic!("a hostile policy loaded"),
        Err(e) => e,
    }
}

/// The code of the first error, after checking every error is located and helpful.
fn first_code(e: &PolicyError) -> String {
    let first = e.diagnostics().next().expect("at least one diagnostic");
    assert!(first.help().is_some(), "no help for {}", e.render());
    first.code().to_string()
}

fn located_code(e: &PolicyError) -> (String, usize) {
    let first = e.diagnostics().next().expect("at least one diagnostic");
    (first_code(e), first.line())
}

/// A YAML bomb: each anchor refers twice to the one before, so the
/// condition doubles twenty times over.
fn nested_alias_bomb() -> String {
    let mut when = String::from("{ any: [ &a0 { keywords: [lol] }");
    for i in 1..20 {
        when += &format!(", &a{i} {{ any: [*a{}, *a{}] }}", i - 1, i - 1);
    }
    when += "] }";
    with_when(&when)
}

/// One long value repeated through aliases: a few bytes of file, a lot of text.
fn scalar_alias_bomb() -> String {
    let long = "x".repeat(1 << 20);
    let aliases = vec!["*a"; 99].join(", ");
    with_when(&format!("{{ keywords: [&a \"{long}\", {aliases}] }}"))
}

fn nested_flow(depth: usize) -> String {
    with_when(&format!(
        "{}{{ keywords: [a] }}{}",
        "{ not: ".repeat(depth),
        " }".repeat(depth)
    ))
}

fn nested_block(depth: usize) -> String {
    let mut yaml = with_when("").trim_end().to_string() + "\n";
    for level in 0..depth {
        yaml += &format!("{}not:\n", " ".repeat(6 + level));
    }
    yaml + &format!("{}keywords: [a]\n", " ".repeat(6 + depth))[..]
}

fn phrases(n: usize) -> String {
    let mut yaml = with_when("").trim_end().to_string() + "\n      keywords:\n";
    for i in 0..n {
        yaml += &format!("        - phrase number {i}\n");
    }
    yaml
}

fn rules(n: usize) -> String {
    let mut yaml = String::from("version: 1\nrules:\n");
    for i in 0..n {
        yaml += &format!(
            "  - {{ id: r{i}, kind: planned, action: escalate, when: {{ keywords: [x] }} }}\n"
        );
    }
    yaml
}

fn patterns(n: usize) -> String {
    let mut yaml = String::from("version: 1\ntopics:\n");
    for i in 0..n {
        yaml += &format!("  t{i}: {{ patterns: ['[a-z]{{1,{}}}'] }}\n", 1000 + i);
    }
    yaml + "rules:\n  - { id: r, kind: planned, action: escalate, when: { topic: t0 } }\n"
}

#[test]
fn hostile_policies_are_refused_with_the_bound_they_hit() {
    let default = Engine::builder();
    let roomy = Engine::builder().max_policy_bytes(64 << 20);
    let cases: Vec<(&str, &EngineBuilder, String, &str)> = vec![
        (
            "alias bomb",
            &default,
            nested_alias_bomb(),
            "policy-too-complex",
        ),
        (
            "long value aliased",
            &default,
            scalar_alias_bomb(),
            "policy-too-complex",
        ),
        (
            "nested 10,000 deep (flow)",
            &default,
            nested_flow(10_000),
            "policy-too-complex",
        ),
        (
            "nested 1,000 deep (block)",
            &default,
            nested_block(1_000),
            "policy-too-complex",
        ),
        (
            "a million phrases",
            &default,
            phrases(1_000_000),
            "policy-too-large",
        ),
        (
            "a million phrases, size limit raised",
            &roomy,
            phrases(1_000_000),
            "policy-too-complex",
        ),
        (
            "240,000 phrases, size limit raised",
            &roomy,
            phrases(240_000),
            "too-many-phrases",
        ),
        (
            "100,000 rules",
            &roomy,
            rules(100_000),
            "policy-too-complex",
        ),
        (
            "a regex of gigabytes",
            &default,
            "version: 1\ntopics:\n  t: { patterns: ['\\w{1000}\\w{1000}\\w{1000}'] }\nrules:\n  - { id: r, kind: planned, action: escalate, when: { topic: t } }\n".to_string(),
            "pattern-too-big",
        ),
        (
            "200 patterns of 100 KB",
            &default,
            patterns(200),
            "pattern-memory",
        ),
        (
            "a phrase of 2^11 alternatives",
            &default,
            with_when(&format!("{{ keywords: ['{}'] }}", "{a|b}".repeat(11))),
            "invalid-phrase",
        ),
        (
            "a script that loops",
            &default,
            with_when("{ script: 'loop { }' }"),
            "invalid-script",
        ),
        (
            "a script nested 500 deep",
            &default,
            with_when(&format!(
                "{{ script: '{}true{}' }}",
                "(".repeat(500),
                ")".repeat(500)
            )),
            "invalid-script",
        ),
        (
            "a script of 10 KB",
            &default,
            with_when(&format!("{{ script: 'true{}' }}", " || true".repeat(1_300))),
            "script-too-long",
        ),
        (
            "duplicate keys",
            &default,
            "version: 1\nversion: 1\nrules: []\n".to_string(),
            "duplicate-key",
        ),
        (
            "two documents",
            &default,
            "version: 1\nrules: []\n---\nversion: 1\nrules: []\n".to_string(),
            "policy-too-complex",
        ),
        (
            "an include tag",
            &default,
            "version: 1\nrules: !include /etc/passwd\n".to_string(),
            "yaml",
        ),
    ];
    let mut slowest = (std::time::Duration::ZERO, "");
    for (name, builder, yaml, code) in cases {
        let started = std::time::Instant::now();
        let e = refused(builder, &yaml);
        let took = started.elapsed();
        // `cargo test --release --test hostile -- --nocapture` prints each time.
        eprintln!("{name}: refused in {:.3} s", took.as_secs_f64());
        slowest = slowest.max((took, name));
        let (got, line) = located_code(&e);
        assert_eq!(got, code, "{name}: {}", e.render());
        if code != "policy-too-large" {
            assert!(line > 0, "{name} is not located: {}", e.render());
        }
    }
    // docs/reliability.md gives each case's time in a release build (the
    // slowest about a second on a loaded 2-core host); the bound asserted
    // is three times that, so load does not fail it and a regression to
    // many seconds does. Debug builds are not timed.
    if cfg!(not(debug_assertions)) {
        let (took, name) = slowest;
        assert!(
            took.as_secs_f64() < 3.0,
            "{name} took {:.2} s to refuse",
            took.as_secs_f64()
        );
    }
}

#[test]
fn limits_are_options() {
    let nested = nested_flow(20);
    assert!(Engine::from_yaml(&nested).is_ok());
    let e = refused(&Engine::builder().max_nesting(10), &nested);
    assert_eq!(first_code(&e), "policy-too-complex");
    assert!(
        e.render().contains("deeper than 10 levels"),
        "{}",
        e.render()
    );

    let three = phrases(3);
    assert_eq!(
        first_code(&refused(&Engine::builder().max_phrases(2), &three)),
        "too-many-phrases"
    );
    assert_eq!(
        first_code(&refused(
            &Engine::builder().max_pattern_memory(1000),
            &patterns(1)
        )),
        "pattern-memory"
    );
}

#[test]
fn a_huge_file_is_refused_without_reading_it_whole() {
    let dir = std::env::temp_dir().join(format!("escalate-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("huge.yaml");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(100 << 20).unwrap();
    let e = Engine::from_path(&path).unwrap_err();
    assert_eq!(first_code(&e), "policy-too-large");
    assert!(e.render().contains("104857600 bytes"), "{}", e.render());

    #[cfg(unix)]
    {
        let e = Engine::from_path("/dev/zero").unwrap_err();
        assert_eq!(
            first_code(&e),
            "policy-too-large",
            "an endless file is cut off"
        );
    }

    let bad = dir.join("latin1.yaml");
    let mut file = std::fs::File::create(&bad).unwrap();
    file.write_all(b"version: 1\nname: caf\xe9\nrules: []\n")
        .unwrap();
    drop(file);
    let e = Engine::from_path(&bad).unwrap_err();
    let (code, line) = located_code(&e);
    assert_eq!((code.as_str(), line), ("not-utf8", 2), "{}", e.render());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn runaway_scripts_are_cut_off_at_run_time() {
    let scripts = [
        r#"turn.text.pad(100000000, "x") == """#,
        "[].pad(100000000, 0).len() > 0",
        r#"(turn.text + turn.text + turn.text + turn.text) == """#,
    ];
    for script in scripts {
        let engine = Engine::from_yaml(&with_when(&format!("{{ script: '{script}' }}")))
            .unwrap_or_else(|e| panic!("{}", e.render()));
        let mut state = ConversationState::new();
        let decision = engine.evaluate(&mut state, &Turn::user("x".repeat(8_000)));
        assert_eq!(decision.action, escalate::Action::None, "{script}");
        assert_eq!(decision.errors.len(), 1, "{script}: {decision:?}");
    }
}

#[test]
fn malformed_turns_are_errors_that_say_where_and_why() {
    let cases: [(&[u8], usize, &str); 10] = [
        (
            br#"{"text": "hi", "sentiment": NaN}"#,
            29,
            "JSON has no `NaN` or `Infinity`",
        ),
        (
            br#"{"text": "hi", "sentiment": 1e999}"#,
            33,
            "number out of range",
        ),
        (
            br#"{"text": 5}"#,
            10,
            "invalid type: integer `5`, expected a string",
        ),
        (
            br#"{"text": "hi""#,
            14,
            "the line ends before the turn does",
        ),
        (br#"  [1, 2]"#, 3, "a turn is a JSON object"),
        (
            br#"{"text": "hi", "role": "agent"}"#,
            24,
            "unknown value `agent`",
        ),
        (
            br#"{"text": "hi", "outcome": "no-match"}"#,
            27,
            "unknown value `no-match`",
        ),
        (br#"{"txt": "hi"}"#, 2, "unknown field `txt`"),
        (
            b"{\"text\": \"caf\xe9\"}",
            14,
            "the line is not valid UTF-8",
        ),
        (
            format!(
                r#"{{"attributes": {{"a": {}1{}}}}}"#,
                "[".repeat(200),
                "]".repeat(200)
            )
            .leak()
            .as_bytes(),
            147,
            "the turn nests more than 128 levels deep",
        ),
    ];
    for (line, column, message) in cases {
        let shown = String::from_utf8_lossy(line);
        let e = Turn::from_json(line).expect_err(&shown);
        assert_eq!(
            (e.column(), e.to_string().as_str()),
            (column, message),
            "{shown}"
        );
        // The error it rewords is kept as its source; the library's own
        // finding (not an object) has none.
        use std::error::Error;
        let source = e.source();
        let from_parser = source.is_some_and(|s| {
            s.downcast_ref::<serde_json::Error>().is_some()
                || s.downcast_ref::<std::str::Utf8Error>().is_some()
        });
        assert_eq!(
            from_parser,
            !line.trim_ascii_start().starts_with(b"["),
            "{shown}"
        );
    }
    let e = Turn::from_json(br#"{"text": "hi", "outcome": "no-match"}"#).unwrap_err();
    assert_eq!(e.help(), Some("did you mean `no_match`?"));
}

/// The YAML mistakes an author makes by hand get a place and a fix of
/// their own, not the parser's jargon: a missing field (which the parser
/// places at the last key it read) at the start of its map, in block and
/// flow style; a tab in the indentation (which it may report on the line
/// before); one value where a list or a single value belongs.
#[test]
fn hand_written_yaml_mistakes_are_placed_with_a_fix() {
    let cases = [
        (
            "version: 1\nrules:\n  - id: r\n    when: { keywords: [x] }\n    action: escalate\n",
            ("missing-field", 3, 5),
            "add `kind: planned` or `kind: fallback`",
        ),
        (
            "version: 1\nrules:\n  - { id: r, when: { keywords: [x] }, kind: planned }\n",
            ("missing-field", 3, 5),
            "add `action: escalate` or `action: offer`",
        ),
        (
            "# no version\nname: n\nrules: []\n",
            ("missing-field", 2, 1),
            "start the policy with `version: 1`",
        ),
        (
            "version: 1\nrules:\n  - id: r\n\twhen: { keywords: [x] }\n",
            ("tab", 4, 1),
            "indent with spaces, not tabs",
        ),
        (
            "version: 1\nrules:\n\t- id: r\n",
            ("tab", 3, 1),
            "indent with spaces, not tabs",
        ),
        (
            "version: 1\nrules:\n  - id: r\n    kind: planned\n    action: offer\n    when: { keywords: \"real person\" }\n",
            ("invalid-type", 6, 13),
            "write a list here, such as `[a, b]`, or one `- item` per line",
        ),
        (
            "version: 1\nrules:\n  - id: [r]\n    kind: planned\n    action: offer\n    when: { keywords: [x] }\n",
            ("yaml", 3, 9),
            "write a single value here, not a list or a map",
        ),
    ];
    for (yaml, place, help) in cases {
        let e = Engine::from_yaml(yaml).expect_err(yaml);
        let first = e.diagnostics().next().unwrap();
        assert_eq!(
            ((first.code(), first.line(), first.column()), first.help()),
            (place, Some(help)),
            "{}",
            e.render()
        );
    }
}

/// Found by `cargo fuzz run turn_parse`: an error inside a JSON text of
/// several lines, next to a two-byte character, panicked on a slice that
/// was not a char boundary.
#[test]
fn fuzz_regression_multiline_turn_with_wide_characters() {
    let crash = include_bytes!("data/fuzz-turn-multiline-utf8.json");
    let e = Turn::from_json(crash).unwrap_err();
    assert_eq!((e.line(), e.column()), (2, 3), "{e}");
    assert_eq!(e.to_string(), "unknown field `vܜ`");
    assert!(escalate::ConversationState::from_json(crash).is_err());
}

#[test]
fn out_of_range_scores_are_clamped_as_documented() {
    let turn = Turn::from_json(
        br#"{"text": "hi", "sentiment": -7, "intent": {"name": "x", "confidence": 3.5}}"#,
    )
    .unwrap();
    assert_eq!(turn.sentiment_score(), Some(-1.0));
    assert_eq!(turn.top_confidence(), Some(1.0));
    let turn = Turn {
        sentiment: Some(f64::NAN),
        ..Turn::user("hi")
    };
    assert_eq!(turn.sentiment_score(), None);
}

/// Long and strange texts evaluate without panicking, the same way twice,
/// with evidence spans on character boundaries of the original text.
#[test]
fn hostile_texts_evaluate_deterministically() {
    let engine = Engine::builtin();
    let units = [
        "\u{301}",
        "a\u{301}\u{302}",
        "😡",
        "👩\u{200d}",
        "not ",
        "human ",
        "I want a re\u{301}al person ",
        "ﬀ ß İ ",
        "!?",
        "\u{0}\u{feff}",
    ];
    for unit in units {
        let text = unit.repeat((1 << 20) / unit.len());
        let turn = Turn::user(text.clone());
        let first = engine.evaluate(&mut ConversationState::new(), &turn);
        let second = engine.evaluate(&mut ConversationState::new(), &turn);
        assert_eq!(first, second, "{unit:?}");
        for reason in &first.reasons {
            let json = serde_json::to_value(&reason.evidence).unwrap();
            if let (Some(start), Some(end)) = (json["start"].as_u64(), json["end"].as_u64()) {
                let (start, end) = (start as usize, end as usize);
                assert!(start < end && end <= text.len(), "{unit:?}: {start}..{end}");
                assert!(text.is_char_boundary(start) && text.is_char_boundary(end));
            }
        }
    }
}

#[test]
fn redaction_stays_linear_on_a_text_full_of_numbers() {
    // Every detector matches thousands of times; a quadratic overlap check
    // would take hours here.
    let unit = "card 4242 4242 4242 4242 mail jo@example.com call +44 7700 900123; 2026-11-20 ";
    let masked = "card **** **** **** 4242 mail j*@example.com call +** **** ****23; 2026-11-20 ";
    let text = unit.repeat(20_000);
    let engine = Engine::builtin();
    assert_eq!(engine.redact(&text), masked.repeat(20_000));

    let turns = [Turn::user(text.clone() + "real person")];
    let decision = engine.evaluate(&mut ConversationState::new(), &turns[0]);
    let event = engine.handoff_initiate(
        &decision,
        &escalate::ConversationReference::placeholder("big"),
        &turns,
    );
    let sent = event["attachments"][0]["content"]["activities"][0]["text"]
        .as_str()
        .unwrap();
    assert!(sent.starts_with(masked) && sent.ends_with("real person"));
}

#[test]
fn a_text_past_the_limit_is_read_up_to_it_and_says_so() {
    let yaml = "version: 1\nrules:\n  - { id: r, when: { keywords: [agent] }, kind: fallback, action: escalate }\n";
    let engine = Engine::builder()
        .max_text_bytes(1 << 10)
        .build(yaml)
        .unwrap();
    let evaluate = |text: String| engine.evaluate(&mut ConversationState::new(), &Turn::user(text));
    // Within the limit: read whole, no error.
    let within = evaluate(format!("{} agent", "x ".repeat(509)));
    assert_eq!(within.action, escalate::Action::Escalate);
    assert!(within.errors.is_empty(), "{:?}", within.errors);
    // Past it: the phrase after the limit is not seen, and the decision says why.
    let past = evaluate(format!("{} agent", "é".repeat(600)));
    assert_eq!(past.action, escalate::Action::None);
    assert_eq!(past.errors.len(), 1);
    assert_eq!(&*past.errors[0].rule, "(turn)");
    assert_eq!(
        past.errors[0].message,
        // Cut on the last whole character: 512 two-byte letters.
        "the turn's text is 1206 bytes, more than the limit of 1024: only the first 1024 were read"
    );
    // A phrase before the limit still fires.
    let early = evaluate(format!("agent {}", "é".repeat(600)));
    assert_eq!(early.action, escalate::Action::Escalate);
}

/// A long text is read in windows of words: a phrase is found wherever it
/// falls, across a window's edge too, with words in between or in any
/// order, at the same place as if read in one pass.
#[test]
fn a_phrase_is_found_wherever_it_falls_in_a_long_text() {
    let yaml = "version: 1\nrules:\n  - { id: gaps, when: { keywords: ['chat with agent ~2'] }, kind: fallback, action: escalate }\n  - { id: order, when: { keywords: ['any order: sprechen menschen ~2'] }, kind: fallback, action: escalate }\n";
    let engine = Engine::builder().build(yaml).unwrap();
    let cases = [
        ("chat with a damn agent", "gaps", 0..22),
        ("menschen will ich sprechen", "order", 0..26),
    ];
    for before in (4080..4100).chain(8180..8200).chain([0, 1, 20_000]) {
        let filler = "hello ".repeat(before);
        for (phrase, rule, span) in &cases {
            let decision = engine.evaluate(
                &mut ConversationState::new(),
                &Turn::user(format!("{filler}{phrase} hello hello")),
            );
            assert_eq!(
                decision.action,
                escalate::Action::Escalate,
                "{phrase} after {before}"
            );
            assert_eq!(decision.reasons.len(), 1);
            let json = serde_json::to_value(&decision.reasons[0].evidence).unwrap();
            assert_eq!(&*decision.reasons[0].rule, *rule);
            let at = filler.len() as u64;
            assert_eq!(
                (json["start"].as_u64(), json["end"].as_u64()),
                (Some(at + span.start), Some(at + span.end)),
                "{phrase} after {before}: {json}"
            );
        }
    }
}

/// Every word of a 10 MB message is read, so a request at its very end
/// is heard (the windows bound what is held at once).
#[test]
fn a_request_at_the_end_of_a_10_mb_message_is_heard() {
    let engine = Engine::builtin();
    let filler = "lorem ipsum dolor sit amet ".repeat(400_000);
    let plain = engine.evaluate(&mut ConversationState::new(), &Turn::user(filler.clone()));
    assert_eq!(plain.action, escalate::Action::None);
    let request = Turn::user(format!("{filler} I want to talk to a real person"));
    let decision = engine.evaluate(&mut ConversationState::new(), &request);
    assert_eq!(decision.action, escalate::Action::Escalate);
    assert!(decision.errors.is_empty(), "{:?}", decision.errors);
}
