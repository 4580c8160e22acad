//! Any bytes as a transcript line (a turn or a handoff status) or a saved
//! state: a value or a located error, and what reads back serializes again.
#![no_main]

use escalate::{ConversationState, HandoffStatus, TranscriptLine, Turn};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match Turn::from_json(data) {
        Ok(turn) => {
            let json = serde_json::to_vec(&turn).unwrap();
            let _ = Turn::from_json(&json);
        }
        Err(e) => assert!(e.column() >= 1),
    }
    if let Err(e) = HandoffStatus::from_json(data) {
        assert!(e.column() >= 1);
    }
    match TranscriptLine::from_json(data) {
        Ok(TranscriptLine::Turn(turn)) => assert_eq!(Turn::from_json(data), Ok(turn)),
        Ok(TranscriptLine::Status(status)) => assert_eq!(HandoffStatus::from_json(data), Ok(status)),
        Err(e) => assert!(e.column() >= 1),
    }
    if let Ok(state) = ConversationState::from_json(data) {
        let again = ConversationState::from_json(state.to_json().as_bytes());
        assert_eq!(again.as_ref(), Ok(&state));
    }
});
