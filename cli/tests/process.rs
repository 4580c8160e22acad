//! The CLI beyond its file cases: `run -` as a sidecar, its help.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

#[test]
fn run_on_standard_input_answers_each_turn_before_the_next() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_escalate-check"))
        .args(["run", "--format", "json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("escalate-check starts");
    let mut stdin = child.stdin.take().unwrap();
    let (lines, received) = mpsc::channel();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    std::thread::spawn(move || {
        for line in stdout.lines() {
            if lines.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    for (turn, action) in [
        (r#"{"conversation_id": "s-1", "text": "hello"}"#, "none"),
        (
            r#"{"conversation_id": "s-1", "text": "I want a real person"}"#,
            "escalate",
        ),
    ] {
        writeln!(stdin, "{turn}").unwrap();
        stdin.flush().unwrap();
        // Standard input stays open: the decision must arrive anyway.
        let line = received
            .recv_timeout(Duration::from_secs(60))
            .expect("the decision comes back while standard input is still open");
        let decision: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(decision["action"], action, "{line}");
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

/// `check --help` names every warning the linter can give (a new one must
/// be listed there).
#[test]
fn check_help_names_every_warning() {
    let lint = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../src/lint.rs"))
        .expect("the linter's source");
    let help = Command::new(env!("CARGO_BIN_EXE_escalate-check"))
        .args(["check", "--help"])
        .output()
        .expect("escalate-check runs");
    let help = String::from_utf8(help.stdout).unwrap();
    let codes: Vec<&str> = lint
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|s| s.contains('-') && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'))
        .collect();
    assert!(codes.len() >= 5, "{codes:?}");
    for code in codes {
        assert!(help.contains(code), "`check --help` does not name `{code}`");
    }
}
