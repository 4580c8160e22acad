//! The shared cases of `tests/data/shared/` (see its README), run through the
//! Rust API. The Python and Node packages run the same files through theirs,
//! so every language is held to the same decisions, errors and events.

use std::path::{Path, PathBuf};

use escalate::{
    ConversationReference, ConversationState, Decision, Engine, HandoffStatus, Role, Turn,
};
use serde_json::{Value, value::RawValue};

fn shared(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/shared")
        .join(name)
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> T {
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Whether `expected` is part of `actual`: every key of an expected object
/// (a key the actual object lacks counts as `null`), arrays item by item
/// and of the same length, anything else equal.
fn check_subset(expected: &Value, actual: &Value, at: &str) -> Result<(), String> {
    match (expected, actual) {
        (Value::Object(want), _) => want.iter().try_for_each(|(key, want)| {
            let got = actual.get(key).unwrap_or(&Value::Null);
            check_subset(want, got, &format!("{at}.{key}"))
        }),
        (Value::Array(want), Value::Array(got)) if want.len() == got.len() => want
            .iter()
            .zip(got)
            .enumerate()
            .try_for_each(|(i, (want, got))| check_subset(want, got, &format!("{at}[{i}]"))),
        _ if expected == actual => Ok(()),
        _ => Err(format!("{at}: expected {expected}, got {actual}")),
    }
}

/// The decision as the cases see it: its JSON, with the phase and whether
/// it starts a handoff always present.
fn decision_json(decision: &Decision) -> Value {
    let mut json = serde_json::to_value(decision).unwrap();
    json["phase"] = serde_json::to_value(decision.phase).unwrap();
    json["starts_handoff"] = decision.starts_handoff().into();
    json
}

fn run_conversation(path: &Path) -> Result<(), String> {
    let case: Value = read_json(path);
    let engine = match case["policy"].as_str() {
        Some(policy) => Engine::from_path(Path::new(env!("CARGO_MANIFEST_DIR")).join(policy))
            .map_err(|e| e.render())?,
        None => Engine::builtin(),
    };
    let store_state = case["store_state"].as_bool().unwrap_or(false);
    let mut state = ConversationState::new();
    let mut transcript: Vec<Turn> = Vec::new();
    let mut last = Decision::default();
    for (i, step) in case["steps"].as_array().unwrap().iter().enumerate() {
        if store_state {
            state = ConversationState::from_json(state.to_json().as_bytes())
                .map_err(|e| format!("step {i}: {e}"))?;
        }
        let actual = if let Some(turn) = step.get("turn") {
            let turn = Turn::from_json(turn.to_string().as_bytes())
                .map_err(|e| format!("step {i}: {e}"))?;
            last = engine.evaluate(&mut state, &turn);
            transcript.push(turn);
            decision_json(&last)
        } else if let Some(turn) = step.get("bot") {
            let turn = Turn::from_json(turn.to_string().as_bytes()).unwrap();
            assert_eq!(turn.role, Role::Bot, "{}: step {i}", path.display());
            transcript.push(turn);
            continue;
        } else if let Some(status) = step.get("status") {
            let status = HandoffStatus::from_json(status.to_string().as_bytes())
                .map_err(|e| format!("step {i}: {e}"))?;
            last = engine.apply_status(&mut state, &status);
            decision_json(&last)
        } else if let Some(handoff) = step.get("handoff_initiate") {
            let id = handoff["conversation_id"].as_str().unwrap();
            let reference = ConversationReference::placeholder(id);
            engine.handoff_initiate(&last, &reference, &transcript)
        } else if let Some(consult) = step.get("handoff_consult") {
            let id = consult["conversation_id"].as_str().unwrap();
            let reference = ConversationReference::placeholder(id);
            engine.handoff_consult(&last, &reference, &transcript)
        } else {
            panic!(
                "{}: step {i} has no turn, bot, status, handoff_initiate or handoff_consult",
                path.display()
            );
        };
        check_subset(&step["expect"], &actual, &format!("step {i}"))?;
    }
    Ok(())
}

#[test]
fn every_shared_conversation_gets_its_decisions() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(shared("conversations"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 6, "the shared conversations are missing");
    let failures: Vec<String> = files
        .iter()
        .filter_map(|path| {
            run_conversation(path)
                .err()
                .map(|e| format!("{}: {e}", path.display()))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Removes the whitespace between a JSON text's tokens, keeping the order of
/// its keys, as the bindings write a turn to point at a column.
fn compact(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            in_string = escaped || c != '"';
            escaped = !escaped && c == '\\';
        } else if c.is_whitespace() {
            continue;
        } else {
            in_string = c == '"';
        }
        out.push(c);
    }
    out
}

#[test]
fn every_shared_bad_turn_is_refused_where_the_cli_points() {
    #[derive(serde::Deserialize)]
    struct Case {
        turn: Box<RawValue>,
        message: String,
        column: usize,
        help: Option<String>,
    }
    #[derive(serde::Deserialize)]
    struct Cases {
        cases: Vec<Case>,
    }
    let cases: Cases = read_json(&shared("bad-turns.json"));
    for case in cases.cases {
        let line = compact(case.turn.get());
        let error = Turn::from_json(line.as_bytes()).expect_err(&line);
        assert_eq!(error.to_string(), case.message, "{line}");
        assert_eq!(error.column(), case.column, "{line}");
        assert_eq!(error.help(), case.help.as_deref(), "{line}");
    }
}

#[test]
fn every_shared_bad_policy_is_refused_at_each_error() {
    let cases: Value = read_json(&shared("bad-policies.json"));
    for case in cases["cases"].as_array().unwrap() {
        let result = match (case["path"].as_str(), case["yaml"].as_str()) {
            (Some(path), _) => Engine::from_path(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)),
            (None, Some(yaml)) => Engine::from_yaml(yaml),
            _ => panic!("a bad policy case needs `path` or `yaml`"),
        };
        let Err(error) = result else {
            panic!("the policy must not load: {case}")
        };
        let actual: Vec<Value> = error
            .diagnostics()
            .map(|d| {
                serde_json::json!({
                    "code": d.code(), "line": d.line(), "column": d.column(), "help": d.help()
                })
            })
            .collect();
        check_subset(&case["diagnostics"], &Value::from(actual), "diagnostics").unwrap();
    }
}

#[test]
fn every_shared_bad_state_is_refused_with_its_reason() {
    let cases: Value = read_json(&shared("bad-states.json"));
    for case in cases["cases"].as_array().unwrap() {
        let json = case["json"].as_str().unwrap();
        let message = ConversationState::from_json(json.as_bytes())
            .expect_err(json)
            .to_string();
        let reason = case["reason"].as_str().unwrap();
        assert!(
            message.starts_with("cannot read the saved conversation state: ")
                && message.contains(reason),
            "{json}: {message}"
        );
    }
}

#[test]
fn the_names_bindings_read_are_the_json_names() {
    use escalate::{Action, Kind, Phase};
    for action in [
        Action::None,
        Action::Offer,
        Action::Collect,
        Action::Escalate,
    ] {
        assert_eq!(serde_json::to_value(action).unwrap(), action.as_str());
    }
    for kind in [Kind::Planned, Kind::Fallback] {
        assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
    }
    for phase in [
        Phase::Bot,
        Phase::Offered,
        Phase::Collecting,
        Phase::Waiting,
        Phase::WithAgent,
    ] {
        assert_eq!(serde_json::to_value(phase).unwrap(), phase.as_str());
    }
}
