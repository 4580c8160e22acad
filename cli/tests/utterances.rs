//! The built-in policy measured on the development corpus
//! (`tests/data/utterances/`, written by the project, never copied from
//! public intent data) with `escalate-check eval`, as an ops team would
//! measure their own policy on their NLU data. The floors sit just under
//! the figures README reports, so a change to matching or to the built-in
//! policy that loses recall or precision fails here. `dev` is the split the
//! policy was tuned on; `holdout` was written beside it and not looked at
//! while tuning, so its floors are lower and its figures are the honest ones.

use std::process::Command;

fn eval(split: &str, floors: &[&str]) -> (bool, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_escalate-check"));
    command.current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    command.arg("eval");
    for floor in floors {
        command.arg(floor);
    }
    for file in ["requests", "negatives", "crisis", "topics"] {
        command.arg(format!("tests/data/utterances/{split}/{file}.jsonl"));
    }
    let output = command.output().expect("escalate-check runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), text)
}

#[test]
fn the_built_in_policy_holds_its_floors_on_the_dev_split() {
    let (ok, report) = eval(
        "dev",
        &[
            "--min-recall=escalate@en=0.99",
            "--min-recall=escalate=0.99",
            "--min-recall=crisis=0.97",
            "--min-recall=crisis@en=0.97",
            "--min-recall=crisis@es=0.97",
            "--min-recall=crisis@fr=0.96",
            "--min-recall=crisis@de=0.97",
            "--min-recall=crisis@pt=0.98",
            "--min-recall=crisis@it=0.97",
            "--min-precision=crisis=0.995",
            "--min-recall=none=0.99",
            "--min-recall=none@en=0.99",
            "--min-recall=bereavement=0.95",
            "--min-recall=cancellation=0.97",
            "--min-recall=complaint=0.97",
            "--min-recall=legal-threat=0.99",
            "--min-recall=fraud=0.97",
            "--min-precision=0.99",
            "--min-recall=escalate@es=0.98",
            "--min-recall=escalate@fr=0.99",
            "--min-recall=escalate@it=0.98",
            "--min-recall=escalate@pt=0.98",
            "--min-recall=escalate@de=0.99",
        ],
    );
    assert!(ok, "{report}");
}

#[test]
fn the_built_in_policy_holds_its_floors_on_the_holdout_split() {
    let (ok, report) = eval(
        "holdout",
        &[
            "--min-recall=escalate=0.93",
            "--min-recall=none=0.98",
            "--min-recall=crisis=0.94",
            "--min-recall=fraud=0.90",
            "--min-recall=complaint=0.90",
            "--min-recall=cancellation=0.90",
            "--min-precision=0.98",
        ],
    );
    assert!(ok, "{report}");
}

/// The floors are real: one the built-in policy does not reach fails the run.
#[test]
fn a_floor_that_is_not_met_fails_the_run() {
    let (ok, report) = eval("dev", &["--min-recall=escalate=0.999"]);
    assert!(!ok, "{report}");
    assert!(report.contains("escalate"), "{report}");
}
