//! The JSON Schemas: every shipped policy validates, a typo does not; every
//! turn, decision and state of the example transcripts, every saved-state
//! fixture and every test file validates against its schema; and each
//! committed `policies/*.schema.json` is exactly what the types generate.

use std::path::Path;

use escalate::{ConversationState, Document, Engine, TranscriptLine, Turn, schema};

fn validator() -> jsonschema::Validator {
    jsonschema::draft7::new(&escalate::policy_schema()).expect("the schema is valid draft 7")
}

fn yaml_as_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_policy_that_loads_validates_against_the_schema() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let validator = validator();
    let policies = [
        "policies/default.yaml",
        "policies/examples/bank.yaml",
        "policies/examples/telecom.yaml",
        "policies/examples/health-insurer.yaml",
        "tests/data/lint.yaml",
        "tests/data/tested.yaml",
    ];
    for policy in policies {
        let path = root.join(policy);
        assert!(escalate::Engine::from_path(&path).is_ok(), "{policy} loads");
        let errors: Vec<String> = validator
            .iter_errors(&yaml_as_json(&path))
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect();
        assert!(errors.is_empty(), "{policy}: {errors:?}");
    }
}

#[test]
fn a_misspelt_field_fails_the_schema_as_it_fails_the_loader() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/typo.yaml");
    assert!(escalate::Engine::from_path(&path).is_err());
    let errors: Vec<String> = validator()
        .iter_errors(&yaml_as_json(&path))
        .map(|e| e.to_string())
        .collect();
    assert!(errors.iter().any(|e| e.contains("priorty")), "{errors:?}");
}

#[test]
fn the_committed_schemas_are_the_generated_ones() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for document in Document::ALL {
        let name = document.name();
        let path = root.join(format!("policies/{name}.schema.json"));
        let committed: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert!(
            committed == schema(document),
            "policies/{name}.schema.json is stale: run `cargo run --bin escalate-check -- schema --for {name} > policies/{name}.schema.json`"
        );
    }
    assert_eq!(escalate::policy_schema(), schema(Document::Policy));
}

fn errors(validator: &jsonschema::Validator, value: &serde_json::Value) -> Vec<String> {
    validator
        .iter_errors(value)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect()
}

fn validator_for(document: Document) -> jsonschema::Validator {
    jsonschema::draft7::new(&schema(document)).expect("the schema is valid draft 7")
}

#[test]
fn turns_decisions_and_states_of_the_example_transcripts_validate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let [turns, decisions, states] =
        [Document::Turn, Document::Decision, Document::State].map(validator_for);
    let engines = [
        Engine::builtin(),
        Engine::from_path(root.join("policies/examples/bank.yaml")).unwrap(),
    ];
    let mut checked = [0; 3];
    for engine in &engines {
        let transcripts = root.join("examples/transcripts");
        for path in std::fs::read_dir(&transcripts)
            .unwrap()
            .chain(std::fs::read_dir(transcripts.join("bank")).unwrap())
            .map(|file| file.unwrap().path())
            .filter(|path| path.is_file())
        {
            let mut state = ConversationState::new();
            for line in std::fs::read_to_string(&path).unwrap().lines() {
                let at = format!("{}: {line}", path.display());
                let decision = match TranscriptLine::from_json(line.as_bytes()).unwrap() {
                    TranscriptLine::Turn(turn) => {
                        let raw: serde_json::Value = serde_json::from_str(line).unwrap();
                        assert_eq!(errors(&turns, &raw), Vec::<String>::new(), "{at}");
                        checked[0] += 1;
                        engine.evaluate(&mut state, &turn)
                    }
                    TranscriptLine::Status(status) => engine.apply_status(&mut state, &status),
                };
                let decision = serde_json::to_value(&decision).unwrap();
                assert_eq!(errors(&decisions, &decision), Vec::<String>::new(), "{at}");
                let saved: serde_json::Value = serde_json::from_str(&state.to_json()).unwrap();
                assert_eq!(errors(&states, &saved), Vec::<String>::new(), "{at}");
                checked[1] += 1;
                checked[2] += 1;
            }
        }
    }
    assert!(checked.iter().all(|&n| n > 20), "{checked:?}");
    // What the schemas refuse, as the library does.
    let misspelt = serde_json::json!({ "text": "hi", "sentimnet": 0.5 });
    assert!(Turn::from_json(misspelt.to_string().as_bytes()).is_err());
    assert!(!errors(&turns, &misspelt).is_empty());
    let bad_phase = serde_json::json!({ "v": 3, "turns": 1, "handoff": { "phase": "lunch" } });
    assert!(ConversationState::from_json(bad_phase.to_string().as_bytes()).is_err());
    assert!(!errors(&states, &bad_phase).is_empty());
}

#[test]
fn saved_state_fixtures_and_test_files_validate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let states = validator_for(Document::State);
    for version in ["v1", "v2", "v3"] {
        let path = root.join(format!("tests/data/states/{version}.json"));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            ConversationState::from_json(text.as_bytes()).is_ok(),
            "{version}"
        );
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(errors(&states, &value), Vec::<String>::new(), "{version}");
    }
    let tests = validator_for(Document::Tests);
    let mut files = 0;
    for file in std::fs::read_dir(root.join("policies/examples")).unwrap() {
        let path = file.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.ends_with(".tests.yaml") {
            assert_eq!(
                errors(&tests, &yaml_as_json(&path)),
                Vec::<String>::new(),
                "{name}"
            );
            files += 1;
        }
    }
    assert!(files >= 3, "{files} test files");
    // Test files the CLI refuses fail their schema too.
    for bad in ["mistakes", "missing-turns"] {
        let value = yaml_as_json(&root.join(format!("tests/data/{bad}.tests.yaml")));
        assert!(
            !errors(&tests, &value).is_empty(),
            "{bad} passes the schema"
        );
    }
}
