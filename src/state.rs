//! What the engine remembers between the turns of one conversation.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::decision::Action;
use crate::trigger::EvidenceUsed;
use crate::turn::{Outcome, Turn};

/// How many recent turns the state keeps for streaks and windows; `for`,
/// `window` and `consecutive` thresholds above this are refused at load.
pub const HISTORY: usize = 32;

/// The memory of one conversation: turn count, failure counters, the recent
/// confidences and sentiments, and the last decision that escalated or offered.
///
/// The caller owns it and keeps it wherever it keeps conversation state; it
/// is small and serializes to JSON, so bots can scale out freely. The engine
/// never holds on to it.
///
/// **Resets.** A turn whose outcome is `ok` ends the run of consecutive
/// failures. A decision that offers or escalates clears the counted evidence
/// that the rules which fired on that turn relied on (the failure counts, the
/// low-confidence streak, the sentiment window), so no rule fires again on
/// the same stale counter: it needs fresh evidence. Counters that no fired
/// rule used keep running (an offer made for low confidence does not forget
/// the failures so far). The turn count and the last decision are kept.
///
/// ```
/// use escalate::ConversationState;
///
/// let state = ConversationState::new();
/// let saved = serde_json::to_string(&state).unwrap();
/// let back: ConversationState = serde_json::from_str(&saved).unwrap();
/// assert_eq!(back, state);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConversationState {
    #[serde(rename = "v")]
    version: u32,
    turns: u32,
    #[serde(default)]
    outcomes: Vec<Outcome>,
    #[serde(default)]
    failures: FailureTotals,
    #[serde(default)]
    confidence: Vec<f64>,
    #[serde(default)]
    sentiment: Vec<f64>,
    #[serde(default)]
    last_decision: Option<LastDecision>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FailureTotals {
    no_match: u32,
    invalid_input: u32,
    no_input: u32,
}

/// The last decision that offered or escalated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LastDecision {
    /// The user turn it was made on.
    pub turn: u32,
    /// The deciding rule.
    pub rule: Arc<str>,
    /// `offer` or `escalate`.
    pub action: Action,
}

impl Default for ConversationState {
    fn default() -> Self {
        ConversationState::new()
    }
}

impl ConversationState {
    /// The state of a conversation that has not started.
    pub fn new() -> ConversationState {
        ConversationState {
            version: 1,
            turns: 0,
            outcomes: Vec::with_capacity(HISTORY),
            failures: FailureTotals::default(),
            confidence: Vec::with_capacity(HISTORY),
            sentiment: Vec::with_capacity(HISTORY),
            last_decision: None,
        }
    }

    /// How many user turns have been evaluated.
    pub fn turns(&self) -> u32 {
        self.turns
    }

    /// The number of failures in a row up to the last turn, counting the
    /// given outcomes (at most [`HISTORY`]).
    pub fn consecutive(&self, counted: &[Outcome]) -> u32 {
        self.outcomes
            .iter()
            .rev()
            .take_while(|o| counted.contains(o))
            .count() as u32
    }

    /// The number of failures since the conversation started or since the
    /// last offer or escalation, counting the given outcomes.
    pub fn total(&self, counted: &[Outcome]) -> u32 {
        counted.iter().fold(0u32, |sum, outcome| {
            sum.saturating_add(match outcome {
                Outcome::Ok => 0,
                Outcome::NoMatch => self.failures.no_match,
                Outcome::InvalidInput => self.failures.invalid_input,
                Outcome::NoInput => self.failures.no_input,
            })
        })
    }

    /// The top-intent confidences of recent turns that had one, oldest first.
    pub fn recent_confidence(&self) -> &[f64] {
        &self.confidence
    }

    /// The sentiments of recent turns that had one, oldest first.
    pub fn recent_sentiment(&self) -> &[f64] {
        &self.sentiment
    }

    /// The last decision that offered or escalated.
    pub fn last_decision(&self) -> Option<&LastDecision> {
        self.last_decision.as_ref()
    }

    /// Counts a user turn in; called by the engine before the rules run.
    pub(crate) fn record(&mut self, turn: &Turn) {
        self.turns = self.turns.saturating_add(1);
        push_bounded(&mut self.outcomes, turn.outcome);
        let total = match turn.outcome {
            Outcome::Ok => None,
            Outcome::NoMatch => Some(&mut self.failures.no_match),
            Outcome::InvalidInput => Some(&mut self.failures.invalid_input),
            Outcome::NoInput => Some(&mut self.failures.no_input),
        };
        if let Some(total) = total {
            *total = total.saturating_add(1);
        }
        if let Some(confidence) = turn.top_confidence() {
            push_bounded(&mut self.confidence, confidence);
        }
        if let Some(sentiment) = turn.sentiment_score() {
            push_bounded(&mut self.sentiment, sentiment);
        }
    }

    /// Remembers a decision that offered or escalated and clears the
    /// counted evidence that the fired rules relied on.
    pub(crate) fn decided(&mut self, rule: Arc<str>, action: Action, used: EvidenceUsed) {
        if used.failures {
            self.outcomes.clear();
            self.failures = FailureTotals::default();
        }
        if used.confidence {
            self.confidence.clear();
        }
        if used.sentiment {
            self.sentiment.clear();
        }
        self.last_decision = Some(LastDecision {
            turn: self.turns,
            rule,
            action,
        });
    }
}

fn push_bounded<T>(history: &mut Vec<T>, value: T) {
    if history.len() >= HISTORY {
        history.remove(0);
    }
    history.push(value);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(outcome: Outcome) -> Turn {
        Turn {
            outcome,
            ..Turn::default()
        }
    }

    #[test]
    fn counts_consecutive_and_total_failures() {
        let mut state = ConversationState::new();
        for outcome in [
            Outcome::NoMatch,
            Outcome::Ok,
            Outcome::NoMatch,
            Outcome::InvalidInput,
            Outcome::NoMatch,
        ] {
            state.record(&turn(outcome));
        }
        assert_eq!(state.consecutive(&Outcome::FAILURES), 3);
        assert_eq!(state.consecutive(&[Outcome::NoMatch]), 1);
        assert_eq!(state.total(&Outcome::FAILURES), 4);
        assert_eq!(state.total(&[Outcome::NoMatch]), 3);
        assert_eq!(state.turns(), 5);
    }

    #[test]
    fn history_is_bounded() {
        let mut state = ConversationState::new();
        for _ in 0..(HISTORY * 3) {
            state.record(&Turn {
                sentiment: Some(-0.5),
                ..turn(Outcome::NoInput)
            });
        }
        assert_eq!(state.consecutive(&Outcome::FAILURES), HISTORY as u32);
        assert_eq!(state.total(&Outcome::FAILURES), (HISTORY * 3) as u32);
        assert_eq!(state.recent_sentiment().len(), HISTORY);
    }

    #[test]
    fn a_decision_clears_the_evidence_used_and_keeps_the_rest() {
        let mut state = ConversationState::new();
        state.record(&Turn {
            sentiment: Some(-0.9),
            ..turn(Outcome::NoMatch)
        });
        let failures_only = EvidenceUsed {
            failures: true,
            ..EvidenceUsed::default()
        };
        state.decided("r".into(), Action::Offer, failures_only);
        assert_eq!(state.total(&Outcome::FAILURES), 0);
        assert_eq!(state.recent_sentiment(), &[-0.9]);
        assert_eq!(state.turns(), 1);
        assert_eq!(state.last_decision().unwrap().turn, 1);
    }
}
