//! The decision: what the engine answers for one turn, and why.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::handoff::activity::HandoffState;
use crate::state::Phase;

/// What the bot should do after this turn.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Carry on: no rule fired.
    #[default]
    None,
    /// Ask the user whether they would like a person.
    Offer,
    /// Put a proposal to an agent (the decision's `consult` says what) and
    /// wait for the answer, the conversation staying with the bot:
    /// supervision.
    Consult,
    /// Ask the user for what the agent needs (the decision's `collect`
    /// says what) before handing over: triage.
    Collect,
    /// Hand the conversation to a person now.
    Escalate,
}

impl Action {
    /// The action's name in decision JSON: `none`, `offer`, `consult`,
    /// `collect` or `escalate`.
    ///
    /// ```
    /// assert_eq!(escalate::Action::Escalate.as_str(), "escalate");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Action::None => "none",
            Action::Offer => "offer",
            Action::Consult => "consult",
            Action::Collect => "collect",
            Action::Escalate => "escalate",
        }
    }
}

impl Kind {
    /// The kind's name in decision JSON: `planned` or `fallback`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Planned => "planned",
            Kind::Fallback => "fallback",
        }
    }
}

/// Why a rule escalates: a situation planned for, or the bot failing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// An anticipated situation that always goes to a person (a menu item,
    /// a sensitive topic, a service the bot cannot perform).
    Planned,
    /// The bot is failing (repeated no-match, low confidence, frustration,
    /// an explicit request for a person after failing).
    Fallback,
}

/// The kind of condition that produced a reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// A menu option the user picked.
    Menu,
    /// A phrase of a `keywords`, `whole_message`, `whole_sentence` or `last_clause` list.
    Keyword,
    /// Intent confidence (or the margin between the top two intents).
    Confidence,
    /// The top intent is one the policy lists, or none of the bot's capabilities.
    Intent,
    /// Sentiment of the turn, or its mean over a window.
    Sentiment,
    /// Counted failures of the bot.
    Failures,
    /// The user wrote nearly the same message several times.
    Repeats,
    /// A named topic's phrase or pattern.
    Topic,
    /// A Rhai script.
    Script,
    /// A step of the handoff: an offer answered, a queue joined, left or
    /// timed out, an agent hub's status (see [`Phase`]).
    Lifecycle,
    /// Agents are unavailable: the queue is closed, or the turn said so.
    Availability,
}

macro_rules! display_as_serde_name {
    ($($ty:ty),*) => {$(
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let name = serde_json::to_value(self).ok();
                f.write_str(name.as_ref().and_then(|v| v.as_str()).unwrap_or("?"))
            }
        }
    )*};
}
display_as_serde_name!(
    Action,
    Kind,
    Trigger,
    Priority,
    FallbackChannel,
    Phase,
    HandoffState,
    ConsultAnswer
);

/// How the bot hands over when no agent can take the conversation now.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum FallbackChannel {
    /// Open a ticket the team answers later.
    Ticket,
    /// Take a phone number and call back.
    Callback,
    /// Take an e-mail address and reply by e-mail (the default, as the
    /// default offline message says).
    #[default]
    Email,
}

/// Where a handed-over conversation goes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Route {
    /// The agents' queue.
    pub queue: Arc<str>,
    /// The skill an agent needs, if any.
    pub skill: Option<Arc<str>>,
    /// How urgently the queue should serve it.
    pub priority: Priority,
}

/// The urgency of a route.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Whenever an agent is free.
    Low,
    /// The usual.
    #[default]
    Normal,
    /// Ahead of normal.
    High,
    /// First.
    Urgent,
}

/// How a word of the user's text was read as a phrase's word.
///
/// ```
/// use escalate::{ConversationState, Engine, Evidence, Turn};
///
/// let engine = Engine::builtin();
/// let decision = engine.evaluate(&mut ConversationState::new(), &Turn::user("talkk to a human"));
/// let Evidence::Phrase { read, .. } = &decision.reasons[0].evidence else { panic!() };
/// assert_eq!((read[0].said.as_str(), read[0].read_as.as_str()), ("talkk", "talk"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ReadAs {
    /// The user's word or words, as written.
    pub said: String,
    /// The phrase's word or words it was read as.
    #[serde(rename = "as")]
    pub read_as: String,
    /// `typo`, `word_form`, `joined` (two words run together) or `split`.
    pub how: String,
}

/// An earlier message alike to this turn's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Repeat {
    /// The user turn it was written on.
    pub turn: u32,
    /// How alike it is to this turn's message, 0 to 1 (three decimals).
    pub similarity: f64,
}

/// A word that moved the built-in sentiment score.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SentimentWord {
    /// The word as the user wrote it.
    pub word: String,
    /// What it added to the sum before normalization: its lexicon valence
    /// (-4..4) after boosters, negation, capitals and "but".
    pub valence: f64,
    /// Byte offset where the word starts in the original text.
    pub start: usize,
    /// Byte offset where the word ends in the original text.
    pub end: usize,
}

/// The evidence behind one reason: what was observed against what threshold.
///
/// Serialized without a tag; each shape has its own set of fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Evidence {
    /// A phrase found in the user's text; `start..end` are byte offsets into
    /// the original text.
    Phrase {
        /// The topic the phrase belongs to, for topic triggers.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        topic: Option<Arc<str>>,
        /// The phrase as the policy wrote it.
        phrase: Arc<str>,
        /// Byte offset where the match starts in the original text.
        start: usize,
        /// Byte offset where the match ends in the original text.
        end: usize,
        /// The user's words that matched only as typos, word forms, or
        /// words run together or split.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        read: Vec<ReadAs>,
    },
    /// A topic's regex pattern matched.
    Pattern {
        /// The topic.
        topic: Arc<str>,
        /// The pattern as the policy wrote it.
        pattern: Arc<str>,
        /// Byte offset where the match starts in the original text.
        start: usize,
        /// Byte offset where the match ends in the original text.
        end: usize,
    },
    /// The menu option picked.
    Menu {
        /// The option as the turn gave it.
        option: String,
    },
    /// A sentiment the built-in scorer gave, compared with a threshold.
    Sentiment {
        /// The observed value: this turn's score, or the mean over `turns`.
        observed: f64,
        /// The policy's threshold.
        threshold: f64,
        /// How many turns the observation covers, when more than this one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        turns: Option<u32>,
        /// `builtin`.
        scorer: String,
        /// The language of the lexicon that scored this turn.
        language: String,
        /// This turn's score, -1 to 1.
        score: f64,
        /// The words that drove this turn's score.
        words: Vec<SentimentWord>,
    },
    /// A number compared with a threshold.
    Threshold {
        /// The observed value (a confidence, a margin, a sentiment or a mean).
        observed: f64,
        /// The policy's threshold.
        threshold: f64,
        /// How many turns the observation covers, when more than this one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        turns: Option<u32>,
    },
    /// The turn's top intent, for an `intent` trigger.
    Intent {
        /// The intent's name.
        intent: String,
        /// Its confidence (clamped to 0..=1), when the turn gives a number.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        confidence: Option<f64>,
        /// The listed name or glob it matched; absent when the trigger
        /// fired because the intent is none of the bot's capabilities.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        matched: Option<Arc<str>>,
    },
    /// A count compared with a threshold.
    Count {
        /// `consecutive` or `total`.
        counted: String,
        /// The observed count.
        count: u32,
        /// The policy's threshold.
        threshold: u32,
    },
    /// The user wrote nearly the same message `count` times.
    Repeats {
        /// How many messages were alike, this one included.
        count: u32,
        /// The policy's `times`.
        times: u32,
        /// The policy's `similarity`.
        threshold: f64,
        /// The earlier messages alike to this one, oldest first.
        earlier: Vec<Repeat>,
    },
    /// A script evaluated to true.
    Script {
        /// The script's source.
        script: String,
    },
    /// The condition under a `not` did not hold.
    Not {
        /// A summary of the negated condition.
        not: String,
    },
    /// The conversation moved from one phase of the handoff to another (or
    /// stayed, while waiting).
    Lifecycle {
        /// The phase before the turn or status.
        from: Phase,
        /// The phase after it.
        to: Phase,
        /// What moved it, such as `offer accepted` or `handoff failed`.
        event: String,
    },
    /// Why no agent can take the conversation now.
    Availability {
        /// The queue the decision routes to.
        queue: Arc<str>,
        /// `agents unavailable`, `outside hours`, `holiday` or `closure`.
        closed: String,
        /// The time in the queue's time zone, when its hours decided.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        local_time: Option<String>,
    },
}

/// One rule that fired, with the trigger that made it fire.
///
/// A rule whose condition combines several triggers gives one reason per
/// trigger that contributed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Reason {
    /// The rule's id.
    pub rule: Arc<str>,
    /// The kind of condition that fired.
    pub trigger: Trigger,
    /// The rule's kind.
    pub kind: Kind,
    /// The rule's action.
    pub action: Action,
    /// One line for people, such as `phrase "real person" matched at 22..33`.
    pub detail: String,
    /// The same, for machines.
    pub evidence: Evidence,
}

/// Which policy made a decision, so that a logged decision can be traced to
/// the exact policy text behind it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PolicyId {
    /// The policy's `name` (`unnamed` when it has none).
    pub name: String,
    /// The first 16 hex digits of the SHA-256 of the policy's text, as
    /// `sha256sum policy.yaml | cut -c1-16` prints them.
    pub hash: String,
}

/// A problem met while evaluating a rule, such as a script that failed at run
/// time. The rule is then treated as not firing; the rest of the decision stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EvalError {
    /// The rule whose condition failed, or `(turn)` when the turn itself
    /// was not read whole (a text past [`EngineBuilder::max_text_bytes`](crate::EngineBuilder::max_text_bytes)).
    pub rule: Arc<str>,
    /// What went wrong.
    pub message: String,
}

/// The engine's answer for one turn: the action, the deciding rule, every
/// rule that fired with its evidence, the route and the messages.
///
/// It serializes to the decision JSON of the README.
///
/// ```
/// use escalate::{Action, ConversationState, Engine, Turn};
///
/// let engine = Engine::builtin();
/// let mut state = ConversationState::new();
/// let decision = engine.evaluate(&mut state, &Turn::user("I want to talk to a real person"));
/// assert_eq!(decision.action, Action::Escalate);
/// assert!(decision.message.is_some());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct Decision {
    /// The conversation, copied from the turn.
    pub conversation_id: Option<Arc<str>>,
    /// The number of this user turn in the conversation, from 1.
    pub turn: u32,
    /// What to do.
    pub action: Action,
    /// Planned or fallback; `None` when the action is `none`.
    pub kind: Option<Kind>,
    /// The deciding rule.
    pub rule: Option<Arc<str>>,
    /// Every rule that fired, in policy order, with evidence.
    pub reasons: Vec<Reason>,
    /// Where to send the conversation.
    pub route: Option<Route>,
    /// What to tell the user (the offline variant when agents are unavailable).
    pub message: Option<String>,
    /// A note for the agent who takes over.
    pub agent_note: Option<String>,
    /// The policy that made the decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<Arc<PolicyId>>,
    /// Rules that could not be evaluated on this turn.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<EvalError>,
    /// The conversation's phase after this turn (absent in JSON when `bot`):
    /// `collecting` while a triage asks its questions, `consulting` while
    /// an agent looks at the bot's proposal, `waiting` after an
    /// escalation the bot should hand over with a `handoff.initiate` event,
    /// `with_agent` while the bot relays messages.
    #[serde(default, skip_serializing_if = "Phase::is_bot")]
    pub phase: Phase,
    /// Set when the decision takes the offline path (agents unavailable,
    /// the queue closed, a queue timeout, a failed handoff): the bot says
    /// `message` and uses this channel instead of a live handoff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_channel: Option<FallbackChannel>,
    /// On the offline path to a queue with hours: when it opens next, in
    /// RFC 3339 with the queue's UTC offset (`2026-12-07T09:00:00+00:00`),
    /// as `{opens}` says it to the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opens_at: Option<String>,
    /// Set when the action is `collect`: the value the bot asks the user
    /// for (the question is `message`) before handing over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collect: Option<Collect>,
    /// What the triage collected, on the decision that hands over after
    /// it; `handoff.initiate` carries these among the `attributes`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub collected: BTreeMap<String, String>,
    /// Set when the action is `consult` (the bot sends `handoff.consult`)
    /// and on the decision that the agent's answer or its timeout gives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consult: Option<Consult>,
}

/// The proposal a `consult` decision puts to an agent, and the answer once
/// there is one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Consult {
    /// What the bot would do, such as `Refund order 12345678 in full`.
    pub proposal: String,
    /// Why the agent is asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The answer: absent while the agent has not given one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<ConsultAnswer>,
}

/// How a consultation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConsultAnswer {
    /// The agent approved: the bot carries out the proposal.
    Approved,
    /// The agent declined: the bot does not carry it out.
    Declined,
    /// No answer came in time; the rule's `on_timeout` decided what follows.
    TimedOut,
}

impl ConsultAnswer {
    /// The answer's name in decision JSON: `approved`, `declined` or `timed_out`.
    ///
    /// ```
    /// assert_eq!(escalate::ConsultAnswer::TimedOut.as_str(), "timed_out");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            ConsultAnswer::Approved => "approved",
            ConsultAnswer::Declined => "declined",
            ConsultAnswer::TimedOut => "timed_out",
        }
    }
}

/// What a `collect` decision asks the user for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Collect {
    /// The attribute the answer fills, such as `order_id`.
    pub attribute: Arc<str>,
    /// Which question of the triage this is, from 1.
    pub question: u32,
    /// The most questions the triage asks before handing over anyway.
    pub of: u32,
}

impl Decision {
    /// Whether the bot should hand over now.
    pub fn is_escalation(&self) -> bool {
        self.action == Action::Escalate
    }

    /// Whether the bot should offer a person.
    pub fn is_offer(&self) -> bool {
        self.action == Action::Offer
    }

    /// Whether the bot should send a `handoff.consult` event now: the
    /// decision puts a proposal to an agent.
    pub fn starts_consult(&self) -> bool {
        self.action == Action::Consult
    }

    /// Whether the agent approved the proposal on this decision: the bot
    /// carries it out now.
    pub fn is_approved(&self) -> bool {
        self.consult
            .as_ref()
            .is_some_and(|c| c.answer == Some(ConsultAnswer::Approved))
    }

    /// Whether the bot should send a `handoff.initiate` event now: the
    /// decision escalates to a live agent, not to a fallback channel.
    pub fn starts_handoff(&self) -> bool {
        self.action == Action::Escalate && self.fallback_channel.is_none()
    }
}
