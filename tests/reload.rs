//! Hot reload: threads evaluate without pause while the policy is swapped
//! many times; no evaluation fails or sees a mixture of two policies, and a
//! policy that fails to load or to pass its check never serves.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};

use escalate::{Action, ConversationState, Decision, Engine, PolicyHandle, ReloadError, Turn};

const A: &str = "version: 1\nname: a\nrules:\n  - { id: a-escalates, when: { keywords: [switch] }, kind: planned, action: escalate }\n";
const B: &str = "version: 1\nname: b\nrules:\n  - { id: b-offers, when: { keywords: [switch] }, kind: fallback, action: offer, messages: { offer: from b } }\n";
const BROKEN: &str = "version: 1\nname: c\nrules:\n  - { id: c, when: { keywords: [switch] }, kind: planned, action: explode }\n";

/// Which policy made the decision, after checking it is wholly that policy's.
fn made_by(decision: &Decision) -> &str {
    let name = decision
        .policy
        .as_ref()
        .expect("decisions name their policy")
        .name
        .as_str();
    let whole = match name {
        "a" => {
            decision.rule.as_deref() == Some("a-escalates")
                && decision.action == Action::Escalate
                && decision.reasons.iter().all(|r| &*r.rule == "a-escalates")
        }
        "b" => {
            decision.rule.as_deref() == Some("b-offers")
                && decision.action == Action::Offer
                && decision.message.as_deref() == Some("from b")
                && decision.reasons.iter().all(|r| &*r.rule == "b-offers")
        }
        other => panic!("policy `{other}` should never serve"),
    };
    assert!(whole, "a mixture of policies: {decision:?}");
    assert!(decision.errors.is_empty(), "{decision:?}");
    name
}

#[test]
fn evaluations_never_fail_or_mix_while_the_policy_is_swapped() {
    let dir = std::env::temp_dir().join(format!("escalate-reload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("policy.yaml");
    std::fs::write(&path, A).unwrap();
    let handle = Arc::new(PolicyHandle::from_path(Engine::builder(), &path).unwrap());
    let done = Arc::new(AtomicBool::new(false));
    let start = Arc::new(Barrier::new(5));

    let evaluators: Vec<_> = (0..4)
        .map(|_| {
            let (handle, done, start) = (handle.clone(), done.clone(), start.clone());
            std::thread::spawn(move || {
                let (mut seen_a, mut seen_b) = (0u32, 0u32);
                start.wait();
                while !done.load(Ordering::Relaxed) {
                    let mut state = ConversationState::new();
                    let decision = handle.evaluate(&mut state, &Turn::user("switch"));
                    match made_by(&decision) {
                        "a" => seen_a += 1,
                        _ => seen_b += 1,
                    }
                }
                (seen_a, seen_b)
            })
        })
        .collect();

    start.wait();
    let mut refused = 0;
    for round in 0..400 {
        let text = match round % 5 {
            4 => BROKEN,
            n if n % 2 == 0 => B,
            _ => A,
        };
        std::fs::write(&path, text).unwrap();
        let before = handle.current().id().clone();
        match handle.reload() {
            Ok(id) => assert_eq!(&id, handle.current().id()),
            Err(ReloadError::Invalid(e)) => {
                assert_eq!(text, BROKEN, "{e}");
                assert_eq!(
                    handle.current().id(),
                    &before,
                    "a broken policy never serves"
                );
                refused += 1;
            }
            Err(ReloadError::Refused(never)) => match never {},
            Err(e) => panic!("{e}"),
        }
    }
    done.store(true, Ordering::Relaxed);
    assert_eq!(refused, 80);
    let (mut seen_a, mut seen_b) = (0, 0);
    for evaluator in evaluators {
        let (a, b) = evaluator.join().expect("no evaluation panicked");
        (seen_a, seen_b) = (seen_a + a, seen_b + b);
    }
    assert!(
        seen_a > 0 && seen_b > 0,
        "both policies served: {seen_a} and {seen_b}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_engine_in_use_outlives_the_swap() {
    let handle = PolicyHandle::new(Engine::from_yaml(A).unwrap());
    let in_flight = handle.current();
    handle
        .replace_with(Engine::from_yaml(B), |_| Ok::<(), String>(()))
        .unwrap();
    let mut state = ConversationState::new();
    assert_eq!(
        made_by(&in_flight.evaluate(&mut state, &Turn::user("switch"))),
        "a"
    );
    assert_eq!(
        made_by(&handle.evaluate(&mut state, &Turn::user("switch"))),
        "b"
    );
}

#[test]
fn a_policy_the_check_refuses_never_serves() {
    let handle = PolicyHandle::new(Engine::from_yaml(A).unwrap());
    // The bot's own check: a golden turn must still escalate.
    let golden = |engine: &Engine| {
        let decision = engine.evaluate(&mut ConversationState::new(), &Turn::user("switch"));
        match decision.action {
            Action::Escalate => Ok(()),
            other => Err(format!("`switch` now decides {other}")),
        }
    };
    match handle.replace_with(Engine::from_yaml(B), golden) {
        Err(ReloadError::Refused(why)) => assert_eq!(why, "`switch` now decides offer"),
        other => panic!("{other:?}"),
    }
    assert_eq!(handle.current().name(), "a");

    let err = handle.reload().unwrap_err();
    assert!(err.to_string().contains("no policy file"), "{err}");
    assert_eq!(handle.current().name(), "a");
}

#[test]
fn a_policy_that_fails_its_own_tests_never_serves() {
    let dir = std::env::temp_dir().join(format!("escalate-reload-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("policy.yaml");
    let tests = "tests:\n  - name: switch escalates\n    turns: [{ text: switch }]\n    expect: { action: escalate }\n";
    std::fs::write(&path, format!("{A}{tests}")).unwrap();
    let handle = PolicyHandle::from_path(Engine::builder(), &path).unwrap();

    std::fs::write(&path, format!("{B}{tests}")).unwrap();
    match handle.reload() {
        Err(ReloadError::TestsFailed(report)) => {
            assert_eq!((report.passed(), report.failed()), (0, 1));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(handle.current().name(), "a", "the old policy keeps serving");

    // The same edit with its tests updated is served.
    std::fs::write(
        &path,
        format!("{B}{}", tests.replace("escalate }", "offer }")),
    )
    .unwrap();
    assert_eq!(handle.reload().unwrap().name, "b");
    std::fs::remove_dir_all(&dir).unwrap();
}
