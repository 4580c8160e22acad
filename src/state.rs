//! What the engine remembers between the turns of one conversation.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::decision::{Action, FallbackChannel, Kind};
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
/// **The handoff.** Under a policy with a `handoff` section the state also
/// keeps the conversation's [`Phase`] (with the rule and queue that started
/// the handoff, since when, and the rules cooling down after a declined
/// offer); [`phase`](Self::phase) tells the bot whether to relay messages to
/// an agent. An agent hub's `completed` resets every counter.
///
/// **Saving and upgrades.** The JSON carries a format version `v`
/// ([`STATE_VERSION`]). A release reads the states of every earlier release
/// (the test suite keeps a state saved by each); a state from a newer
/// release, another program, or a corrupted store is a [`StateError`] that
/// says why, so the bot can start the conversation fresh and log the reason.
///
/// ```
/// use escalate::ConversationState;
///
/// let state = ConversationState::new();
/// let saved = state.to_json();
/// assert_eq!(ConversationState::from_json(saved.as_bytes()), Ok(state));
///
/// let stored = br#"{"v": 99, "turns": 3}"#;
/// let state = ConversationState::from_json(stored).unwrap_or_else(|error| {
///     assert!(error.to_string().contains("newer release"));
///     ConversationState::new() // and log `error`
/// });
/// assert_eq!(state.turns(), 0);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConversationState {
    #[serde(rename = "v", deserialize_with = "supported_version")]
    version: u32,
    turns: u32,
    #[serde(default)]
    #[schemars(with = "Vec<Outcome>")]
    outcomes: History<Outcome>,
    #[serde(default)]
    failures: FailureTotals,
    #[serde(default, deserialize_with = "confidences")]
    #[schemars(with = "Vec<f64>")]
    confidence: History<f64>,
    #[serde(default, deserialize_with = "sentiments")]
    #[schemars(with = "Vec<f64>")]
    sentiment: History<f64>,
    #[serde(default)]
    last_decision: Option<LastDecision>,
    #[serde(default, skip_serializing_if = "HandoffMemory::is_idle")]
    handoff: HandoffMemory,
    /// The trigram signatures of recent messages, for `repeats` triggers.
    #[serde(default, skip_serializing_if = "Messages::is_empty")]
    #[schemars(with = "Vec<SavedMessage>")]
    messages: Messages,
}

/// Where a conversation stands in the handoff to a person.
///
/// `bot` -> (`offered`) -> (`collecting`) -> `waiting` -> `with_agent` ->
/// `bot`, and `bot` -> `consulting` -> `bot` while an agent approves a
/// proposal. Policies with a `handoff` section move conversations through
/// it; see docs/policy.md.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// The bot is talking with the user.
    #[default]
    Bot,
    /// The bot has offered a person and waits for the answer.
    Offered,
    /// Triage: the bot asks for what the agent needs before handing over.
    Collecting,
    /// Supervision: an agent looks at the bot's proposal; the conversation
    /// stays with the bot meanwhile.
    Consulting,
    /// The user waits in a queue for an agent.
    Waiting,
    /// An agent has the conversation; the bot relays messages.
    WithAgent,
}

impl Phase {
    /// The phase's name in decision JSON and saved state: `bot`, `offered`,
    /// `collecting`, `consulting`, `waiting` or `with_agent`.
    ///
    /// ```
    /// assert_eq!(escalate::Phase::WithAgent.as_str(), "with_agent");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Bot => "bot",
            Phase::Offered => "offered",
            Phase::Collecting => "collecting",
            Phase::Consulting => "consulting",
            Phase::Waiting => "waiting",
            Phase::WithAgent => "with_agent",
        }
    }

    /// Whether the bot has the conversation.
    pub fn is_bot(&self) -> bool {
        *self == Phase::Bot
    }
}

/// The handoff part of the state: the phase, since when, for which rule
/// and queue, and the rules cooling down after a declined offer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct HandoffMemory {
    #[serde(default)]
    pub(crate) phase: Phase,
    /// The rule that offered or escalated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) rule: Option<Arc<str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) kind: Option<Kind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) queue: Option<Arc<str>>,
    /// The user turn the phase began on.
    #[serde(default)]
    pub(crate) since_turn: u32,
    /// When the phase began, in seconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) since: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) cooldowns: Vec<Cooldown>,
    /// The triage under way, in phase `collecting`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) triage: Option<TriageMemory>,
    /// The proposal an agent looks at, in phase `consulting`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) consult: Option<ConsultMemory>,
}

/// A consultation under way: the proposal as it was put to the agent (the
/// answer's decision repeats it, whatever the policy says by then).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConsultMemory {
    pub(crate) proposal: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) note: Option<String>,
}

/// A triage under way: the attribute asked for, how many questions were
/// asked, and the values collected so far.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TriageMemory {
    /// The attribute the last question asked for.
    pub(crate) asking: Arc<str>,
    /// Questions asked so far (a question asked again counts again).
    #[serde(deserialize_with = "question_count")]
    pub(crate) asked: u32,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) collected: BTreeMap<String, String>,
    /// The offline path's channel when the triage began on it: its contact
    /// is collected too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) offline: Option<FallbackChannel>,
}

/// The most questions a triage asks; a saved state that counts more is corrupt.
pub(crate) const MAX_QUESTIONS: u32 = 10;

fn question_count<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    let asked = u32::deserialize(deserializer)?;
    if (1..=MAX_QUESTIONS).contains(&asked) {
        Ok(asked)
    } else {
        Err(serde::de::Error::custom(format!(
            "triage question count {asked} is outside 1..={MAX_QUESTIONS}"
        )))
    }
}

impl HandoffMemory {
    fn is_idle(&self) -> bool {
        *self == HandoffMemory::default()
    }
}

/// A rule that does not offer again until a turn or a time, whichever
/// comes later among those set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Cooldown {
    pub(crate) rule: Arc<str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) until_turn: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) until: Option<i64>,
}

#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(deny_unknown_fields)]
struct FailureTotals {
    no_match: u32,
    invalid_input: u32,
    no_input: u32,
}

/// The last decision that offered or escalated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
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
            version: STATE_VERSION,
            turns: 0,
            outcomes: History::default(),
            failures: FailureTotals::default(),
            confidence: History::default(),
            sentiment: History::default(),
            last_decision: None,
            handoff: HandoffMemory::default(),
            messages: Messages::default(),
        }
    }

    /// Reads a state saved with [`to_json`](Self::to_json) (or serde) by
    /// this release or an earlier one.
    pub fn from_json(json: &[u8]) -> Result<ConversationState, StateError> {
        if let Some(start) = crate::error::not_an_object(json) {
            let (line, column) = crate::error::position(json, start);
            return Err(StateError {
                message: "a saved state is a JSON object".into(),
                line,
                column,
                source: crate::error::ErrorSource::default(),
            });
        }
        serde_json::from_slice(json).map_err(|e| StateError {
            message: crate::error::without_position(&e.to_string()),
            line: e.line(),
            column: e.column(),
            source: crate::error::ErrorSource::new(e),
        })
    }

    /// The state as JSON, to store with the conversation.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a state always serializes")
    }

    /// How many user turns have been evaluated.
    pub fn turns(&self) -> u32 {
        self.turns
    }

    /// The number of failures in a row up to the last turn, counting the
    /// given outcomes (at most [`HISTORY`]).
    pub fn consecutive(&self, counted: &[Outcome]) -> u32 {
        self.outcomes
            .as_slice()
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
        self.confidence.as_slice()
    }

    /// The sentiments of recent turns that had one, oldest first.
    pub fn recent_sentiment(&self) -> &[f64] {
        self.sentiment.as_slice()
    }

    /// The recent user messages `repeats` triggers compare, oldest first:
    /// each one's turn number and trigram signature.
    pub(crate) fn recent_messages(&self) -> &[(u32, Signature)] {
        &self.messages.items[..self.messages.len]
    }

    /// Counts this turn's message in for `repeats` triggers.
    pub(crate) fn record_message(&mut self, signature: Signature) {
        self.messages.push((self.turns, signature));
    }

    /// The last decision that offered or escalated.
    pub fn last_decision(&self) -> Option<&LastDecision> {
        self.last_decision.as_ref()
    }

    /// Where the conversation stands in the handoff to a person.
    pub fn phase(&self) -> Phase {
        self.handoff.phase
    }

    pub(crate) fn handoff(&self) -> &HandoffMemory {
        &self.handoff
    }

    pub(crate) fn handoff_mut(&mut self) -> &mut HandoffMemory {
        &mut self.handoff
    }

    /// Counts a user turn that no rule looks at (the conversation is with an
    /// agent, or waiting): the turn number moves on, the counters do not.
    pub(crate) fn count_turn(&mut self) {
        self.turns = self.turns.saturating_add(1);
    }

    /// Forgets the counters and the handoff, as after an agent completed
    /// the conversation; the turn count goes on.
    pub(crate) fn reset_counters(&mut self) {
        *self = ConversationState {
            turns: self.turns,
            ..ConversationState::new()
        };
    }

    /// Counts a user turn in; called by the engine before the rules run.
    pub(crate) fn record(&mut self, turn: &Turn) {
        self.turns = self.turns.saturating_add(1);
        self.outcomes.push(turn.outcome);
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
            self.confidence.push(confidence);
        }
    }

    /// Counts a turn's sentiment score in (the turn's own or the built-in
    /// scorer's, as the policy says); called by the engine after `record`.
    pub(crate) fn record_sentiment(&mut self, score: f64) {
        self.sentiment.push(score.clamp(-1.0, 1.0));
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
        if used.repeats {
            self.messages = Messages::default();
        }
        self.last_decision = Some(LastDecision {
            turn: self.turns,
            rule,
            action,
        });
    }
}

/// The format version of a saved [`ConversationState`]; see there.
///
/// Version 2 added the handoff phase; version 3 the recent messages'
/// signatures (`messages`, for `repeats` triggers) and the triage (phase
/// `collecting`, with what it has collected); version 4 the consultation
/// (phase `consulting`, with the proposal put to the agent).
pub const STATE_VERSION: u32 = 4;

/// A saved state that cannot be read: corrupt, foreign, or from a newer release.
///
/// The bot's usual answer is to start the conversation afresh with
/// [`ConversationState::new`] and log this error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateError {
    message: String,
    line: usize,
    column: usize,
    /// serde's own error, when the message comes from one.
    source: crate::error::ErrorSource,
}

impl std::fmt::Display for StateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cannot read the saved conversation state: {}",
            self.message
        )?;
        if self.line > 0 {
            write!(f, " (line {}, column {})", self.line, self.column)?;
        }
        Ok(())
    }
}

impl std::error::Error for StateError {
    /// serde's error that this one rewords, if any.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.get()
    }
}

fn supported_version<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    let version = u32::deserialize(deserializer)?;
    match version {
        // An older state is upgraded as it is read: its missing parts take
        // their defaults, and it is saved again as the current version.
        1..=STATE_VERSION => Ok(STATE_VERSION),
        newer if newer > STATE_VERSION => Err(serde::de::Error::custom(format!(
            "state version {newer} was written by a newer release of escalate (this one reads up to {STATE_VERSION})"
        ))),
        other => Err(serde::de::Error::custom(format!(
            "state version {other} was never written by escalate"
        ))),
    }
}

fn scores<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
    range: std::ops::RangeInclusive<f64>,
    what: &str,
) -> Result<History<f64>, D::Error> {
    let history = History::<f64>::deserialize(deserializer)?;
    match history.as_slice().iter().find(|v| !range.contains(v)) {
        Some(bad) => Err(serde::de::Error::custom(format!(
            "{what} {bad} is outside {}..={}",
            range.start(),
            range.end()
        ))),
        None => Ok(history),
    }
}

fn confidences<'de, D: serde::Deserializer<'de>>(d: D) -> Result<History<f64>, D::Error> {
    scores(d, 0.0..=1.0, "confidence")
}

fn sentiments<'de, D: serde::Deserializer<'de>>(d: D) -> Result<History<f64>, D::Error> {
    scores(d, -1.0..=1.0, "sentiment")
}

/// The character trigrams of a normalized message, hashed into 256 bits:
/// what `repeats` compares. Saved as 64 hex digits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Signature([u64; 4]);

impl Signature {
    /// The signature of normalized text, read with a space at each end.
    pub(crate) fn of(text: &[u8]) -> Signature {
        let mut bits = [0u64; 4];
        let at = |i: usize| -> u8 {
            match i {
                0 => b' ',
                i if i <= text.len() => text[i - 1],
                _ => b' ',
            }
        };
        for i in 0..text.len() {
            let trigram = u32::from(at(i)) | u32::from(at(i + 1)) << 8 | u32::from(at(i + 2)) << 16;
            // Fibonacci hashing: the top 8 bits pick one of 256.
            let bit = (trigram.wrapping_mul(0x9E37_79B9) >> 24) as usize;
            bits[bit / 64] |= 1 << (bit % 64);
        }
        Signature(bits)
    }

    /// The Jaccard index of the two sets of bits, 0 to 1.
    pub(crate) fn similarity(&self, other: &Signature) -> f64 {
        let (mut both, mut either) = (0, 0);
        for (a, b) in self.0.iter().zip(&other.0) {
            both += (a & b).count_ones();
            either += (a | b).count_ones();
        }
        if either == 0 {
            0.0
        } else {
            f64::from(both) / f64::from(either)
        }
    }
}

/// The last [`KEPT`](crate::trigger::repeats::KEPT) messages' turns and
/// signatures, oldest first, inline; saved as `[{"turn": 3, "trigrams": "..."}]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Messages {
    items: [(u32, Signature); crate::trigger::repeats::KEPT],
    len: usize,
}

impl Messages {
    fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn push(&mut self, item: (u32, Signature)) {
        if self.len == self.items.len() {
            self.items.copy_within(1.., 0);
            self.len -= 1;
        }
        self.items[self.len] = item;
        self.len += 1;
    }
}

#[derive(Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct SavedMessage {
    turn: u32,
    trigrams: String,
}

impl Serialize for Messages {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let saved: Vec<SavedMessage> = self.items[..self.len]
            .iter()
            .map(|(turn, Signature(bits))| SavedMessage {
                turn: *turn,
                trigrams: bits.iter().map(|w| format!("{w:016x}")).collect(),
            })
            .collect();
        saved.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Messages {
    /// Keeps the newest of a longer list; refuses a signature that is not
    /// 64 hex digits, and turns that do not increase.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut messages = Messages::default();
        let mut last = None;
        for saved in Vec::<SavedMessage>::deserialize(deserializer)? {
            let hex = saved.trigrams.as_bytes();
            if hex.len() != 64 || !hex.iter().all(u8::is_ascii_hexdigit) {
                return Err(D::Error::custom(format!(
                    "message signature `{}` is not 64 hex digits",
                    saved.trigrams
                )));
            }
            if last.is_some_and(|l| saved.turn <= l) {
                return Err(D::Error::custom(format!(
                    "message turns go back: {} after {}",
                    saved.turn,
                    last.unwrap_or_default()
                )));
            }
            last = Some(saved.turn);
            let mut bits = [0u64; 4];
            for (i, word) in bits.iter_mut().enumerate() {
                let digits = &saved.trigrams[i * 16..i * 16 + 16];
                *word = u64::from_str_radix(digits, 16).map_err(D::Error::custom)?;
            }
            messages.push((saved.turn, Signature(bits)));
        }
        Ok(messages)
    }
}

/// The last [`HISTORY`] values, oldest first, kept inline so that a state
/// never allocates. Serialized as a plain list.
#[derive(Clone, Copy, Debug)]
struct History<T> {
    items: [T; HISTORY],
    len: usize,
}

impl<T: Copy + Default> Default for History<T> {
    fn default() -> Self {
        History {
            items: [T::default(); HISTORY],
            len: 0,
        }
    }
}

impl<T: Copy + Default> History<T> {
    fn push(&mut self, value: T) {
        if self.len == HISTORY {
            self.items.copy_within(1.., 0);
            self.len -= 1;
        }
        self.items[self.len] = value;
        self.len += 1;
    }

    fn clear(&mut self) {
        self.len = 0;
    }

    fn as_slice(&self) -> &[T] {
        &self.items[..self.len]
    }
}

/// Equal when the kept values are; slots past `len` are leftovers.
impl<T: PartialEq> PartialEq for History<T> {
    fn eq(&self, other: &Self) -> bool {
        self.items[..self.len] == other.items[..other.len]
    }
}

impl<T: Serialize + Copy + Default> Serialize for History<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.as_slice().serialize(serializer)
    }
}

impl<'de, T: Deserialize<'de> + Copy + Default> Deserialize<'de> for History<T> {
    /// Keeps the newest [`HISTORY`] values of a longer list.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut history = History::default();
        Vec::<T>::deserialize(deserializer)?
            .into_iter()
            .for_each(|v| history.push(v));
        Ok(history)
    }
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
    fn a_saved_state_reads_back_as_lists() {
        let mut state = ConversationState::new();
        state.record(&turn(Outcome::NoMatch));
        state.record_sentiment(-0.5);
        let json = serde_json::to_value(&state).unwrap();
        assert_eq!(json["outcomes"], serde_json::json!(["no_match"]));
        assert_eq!(json["sentiment"], serde_json::json!([-0.5]));
        let long = serde_json::json!({"v": 1, "turns": 40, "outcomes": vec!["no_match"; 40]});
        let back: ConversationState = serde_json::from_value(long).unwrap();
        assert_eq!(back.consecutive(&Outcome::FAILURES), HISTORY as u32);
    }

    #[test]
    fn history_is_bounded() {
        let mut state = ConversationState::new();
        for _ in 0..(HISTORY * 3) {
            state.record(&turn(Outcome::NoInput));
            state.record_sentiment(-0.5);
        }
        assert_eq!(state.consecutive(&Outcome::FAILURES), HISTORY as u32);
        assert_eq!(state.total(&Outcome::FAILURES), (HISTORY * 3) as u32);
        assert_eq!(state.recent_sentiment().len(), HISTORY);
    }

    #[test]
    fn a_decision_clears_the_evidence_used_and_keeps_the_rest() {
        let mut state = ConversationState::new();
        state.record(&turn(Outcome::NoMatch));
        state.record_sentiment(-0.9);
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
