//! README's quick start holds: its policy loads and does what the text
//! around it says.

use escalate::{Action, ConversationState, Engine, Phase, Turn};

/// The first YAML block of README.md, the quick-start policy.
fn quick_start_policy() -> String {
    let readme = include_str!("../README.md");
    let start = readme.find("```yaml\n").expect("README has a YAML block") + "```yaml\n".len();
    let len = readme[start..].find("```").expect("the YAML block ends");
    readme[start..start + len].to_owned()
}

#[test]
fn the_quick_start_policy_loads_and_hands_over() {
    let engine = Engine::from_yaml(&quick_start_policy()).expect("README's policy loads");
    for text in [
        "I want a real person",
        "talkk to a humam",
        "speaking to an agent",
    ] {
        let mut state = ConversationState::new();
        let decision = engine.evaluate(&mut state, &Turn::user(text));
        assert_eq!(decision.action, Action::Escalate, "{text:?}");
        assert_eq!(decision.rule.as_deref(), Some("asks-for-human"), "{text:?}");
        assert_eq!(
            state.phase(),
            Phase::Waiting,
            "{text:?}: the handoff section keeps the phase"
        );
    }
    let decision = engine.evaluate(
        &mut ConversationState::new(),
        &Turn::user("where is my parcel"),
    );
    assert_eq!(decision.action, Action::None);
}
