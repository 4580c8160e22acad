//! Any bytes as a policy file: it loads or is refused with diagnostics, and
//! whatever loads evaluates a few turns. Never a panic, a hang or an abort.
#![no_main]

use escalate::{ConversationState, Engine, Turn};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Engine::builder().max_policy_bytes(64 << 10).build(text) {
        Ok(engine) => {
            let mut state = ConversationState::new();
            for text in ["I want a real person", "no", "", "😡 agent!!"] {
                engine.evaluate(&mut state, &Turn::user(text));
            }
        }
        Err(e) => {
            assert!(e.diagnostics().len() > 0);
            let _ = e.render();
        }
    }
});
