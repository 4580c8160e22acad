//! The policy format's JSON Schema: every shipped policy validates, a typo
//! does not, and the committed `policies/policy.schema.json` (the file
//! editors point at) is exactly what the types generate.

use std::path::Path;

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
fn the_committed_schema_is_the_generated_one() {
    let committed: serde_json::Value =
        serde_json::from_str(include_str!("../policies/policy.schema.json")).unwrap();
    assert!(
        committed == escalate::policy_schema(),
        "policies/policy.schema.json is stale: run `cargo run --bin escalate-check -- schema > policies/policy.schema.json`"
    );
}
