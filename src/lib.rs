//! `escalate` decides, on every user turn of a chatbot conversation, whether
//! to hand the conversation to a human now, offer to, or carry on, and why.
//!
//! Operations staff write the answer as a YAML policy; the bot compiles it
//! once into an [`Engine`] and calls [`Engine::evaluate`] with the
//! conversation's [`ConversationState`] and each [`Turn`]. The [`Decision`]
//! carries the action, the deciding rule, every rule that fired with its
//! evidence, the route and the message for the user.
//!
//! ```
//! use escalate::{Action, ConversationState, Engine, Outcome, Turn};
//!
//! let engine = Engine::builtin();
//! let mut state = ConversationState::new();
//! for text in ["where is my parcel", "i said my parcel", "PARCEL!!"] {
//!     let turn = Turn { outcome: Outcome::NoMatch, ..Turn::user(text) };
//!     let decision = engine.evaluate(&mut state, &turn);
//!     if decision.action != Action::None {
//!         println!("{}: {}", decision.action, decision.message.unwrap());
//!     }
//! }
//! ```
//!
//! The library never prints, never exits and never reads the environment.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod builder;
mod check;
mod compile;
mod condition;
mod corpus;
mod decision;
mod dfa;
mod engine;
mod error;
mod eval;
mod handle;
mod handoff;
mod lint;
mod load;
mod phrases;
mod policy;
mod schema;
mod sentiment;
mod state;
mod suite;
mod text;
mod trigger;
mod turn;
mod words;

pub use crate::{
    builder::EngineBuilder,
    check::CheckReport,
    corpus::{BadLine, Conversation, Corpus, CorpusStats, Course},
    decision::{
        Action, Consult, ConsultAnswer, Decision, EvalError, Evidence, FallbackChannel, Kind,
        PolicyId, Priority, ReadAs, Reason, Repeat, Route, SentimentWord, Trigger,
    },
    engine::{DEFAULT_POLICY, DEFAULT_TESTS, Engine, PolicySummary},
    error::{Diagnostic, PolicyError, Severity},
    eval::{
        EvalCase, EvalReport, Expected, Floor, FloorCheck, IntentMap, LabelFigures, LabelledSet,
        LanguageFigures, Overall, RuleFigures, Utterance, UtteranceError,
    },
    handle::{PolicyHandle, ReloadError},
    handoff::{
        ChannelAccount, ConversationAccount, ConversationReference, HandoffState, HandoffStatus,
        TranscriptLine,
    },
    load::{MAX_NESTING, MAX_TEXT_BYTES},
    policy::policy_schema,
    schema::{Document, schema},
    sentiment::builtin_sentiment,
    state::{ConversationState, HISTORY, LastDecision, Phase, STATE_VERSION, StateError},
    suite::{CaseReport, Expect, ExpectRoute, Mismatch, TestReport, TestSuite},
    trigger::script::MAX_OPERATIONS as MAX_SCRIPT_OPERATIONS,
    turn::{Intent, MAX_TURN_NESTING, Outcome, Role, Turn, TurnError},
};

#[cfg(test)]
pub(crate) mod tests {
    //! Helpers for the table-driven unit tests of each trigger.
    use crate::{ConversationState, Decision, Engine, Turn};

    /// Compiles a policy, failing the test with rendered errors if it does not load.
    pub(crate) fn engine(yaml: &str) -> Engine {
        Engine::from_yaml(yaml).unwrap_or_else(|e| panic!("{}", e.render()))
    }

    /// A policy with one rule `r` (fallback, escalate) firing `when`.
    pub(crate) fn rule_yaml(when: &str) -> String {
        format!(
            "version: 1\nrules:\n  - {{ id: r, when: {when}, kind: fallback, action: escalate }}\n"
        )
    }

    /// The compiled [`rule_yaml`] policy.
    pub(crate) fn rule_policy(when: &str) -> Engine {
        engine(&rule_yaml(when))
    }

    /// Feeds the turns to a fresh conversation and returns the last decision.
    pub(crate) fn decide(engine: &Engine, turns: &[Turn]) -> Decision {
        let mut state = ConversationState::new();
        let mut last = Decision::default();
        for turn in turns {
            last = engine.evaluate(&mut state, turn);
        }
        last
    }

    /// The (code, line, column, help) of each error of a policy that must not load.
    pub(crate) fn policy_errors(yaml: &str) -> Vec<(String, usize, usize, Option<String>)> {
        match Engine::from_yaml(yaml) {
            Ok(_) => panic!("policy loaded but should not:\n{yaml}"),
            Err(e) => e
                .diagnostics()
                .map(|d| {
                    (
                        d.code().to_string(),
                        d.line(),
                        d.column(),
                        d.help().map(String::from),
                    )
                })
                .collect(),
        }
    }
}
