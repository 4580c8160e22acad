//! The turn: what the bot knows about one message of the conversation.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// One message of a conversation, as the bot hands it to [`Engine::evaluate`](crate::Engine::evaluate).
///
/// Every field is optional. It deserializes from exactly the JSON of one line
/// of a `.jsonl` transcript; unknown fields are refused so that a typo in a
/// transcript is an error rather than a silently ignored signal (put your own
/// data under `attributes`).
///
/// ```
/// use escalate::{Outcome, Turn};
///
/// let turn: Turn = serde_json::from_str(
///     r#"{"conversation_id": "c-17", "text": "I want a real person", "outcome": "no_match"}"#,
/// ).unwrap();
/// assert_eq!(turn.outcome, Outcome::NoMatch);
///
/// let same = Turn { outcome: Outcome::NoMatch, ..Turn::user("I want a real person") };
/// assert_eq!(same.text, turn.text);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Turn {
    /// The conversation this turn belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<Arc<str>>,
    /// Who wrote it; bot turns are kept for the transcript but not evaluated.
    #[serde(default)]
    pub role: Role,
    /// What the user typed or said.
    #[serde(default)]
    pub text: String,
    /// The id or label of the menu option the user picked, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub menu: Option<String>,
    /// The top intent the bot's NLU recognized.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent: Option<Intent>,
    /// The ranked intents, when the NLU gives more than one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub intents: Vec<Intent>,
    /// Sentiment of the message, from -1 (very negative) to 1 (very positive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentiment: Option<f64>,
    /// How the bot fared on this turn.
    #[serde(default)]
    pub outcome: Outcome,
    /// The language of the message, such as `en` or `es-MX`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Whether human agents can take the conversation now; `None` means yes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agents_available: Option<bool>,
    /// When the message was sent (RFC 3339), kept for the transcript.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// Anything else the bot knows (customer tier, channel...), for scripts.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub attributes: serde_json::Map<String, serde_json::Value>,
}

impl Turn {
    /// A user turn with this text and every other field at its default.
    pub fn user(text: impl Into<String>) -> Turn {
        Turn {
            text: text.into(),
            ..Turn::default()
        }
    }

    /// The confidence of the top intent: `intent.confidence`, or else the
    /// highest of `intents`. Out-of-range values are clamped to 0..=1 and
    /// non-finite ones ignored.
    pub fn top_confidence(&self) -> Option<f64> {
        match &self.intent {
            Some(intent) => clamp_unit(intent.confidence),
            None => self
                .top_two_intents()
                .0
                .and_then(|i| clamp_unit(i.confidence)),
        }
    }

    /// The two highest-ranked entries of `intents`, best first.
    pub fn top_two_intents(&self) -> (Option<&Intent>, Option<&Intent>) {
        let mut first: Option<&Intent> = None;
        let mut second: Option<&Intent> = None;
        for intent in &self.intents {
            if first.is_none_or(|f| intent.confidence > f.confidence) {
                second = first;
                first = Some(intent);
            } else if second.is_none_or(|s| intent.confidence > s.confidence) {
                second = Some(intent);
            }
        }
        (first, second)
    }

    /// The sentiment clamped to -1..=1, or `None` when absent or not finite.
    pub fn sentiment_score(&self) -> Option<f64> {
        self.sentiment
            .filter(|s| s.is_finite())
            .map(|s| s.clamp(-1.0, 1.0))
    }

    /// Whether agents are available (absent means yes).
    pub fn agents_online(&self) -> bool {
        self.agents_available.unwrap_or(true)
    }
}

fn clamp_unit(value: f64) -> Option<f64> {
    value.is_finite().then(|| value.clamp(0.0, 1.0))
}

/// One intent recognized by the bot's NLU, with its confidence from 0 to 1.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Intent {
    /// The intent's name, such as `billing.dispute`.
    pub name: String,
    /// How sure the NLU is, from 0 to 1.
    pub confidence: f64,
}

/// Who wrote a turn.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The end user; only user turns are evaluated.
    #[default]
    User,
    /// The bot; kept for the transcript.
    Bot,
}

/// How the bot fared on a turn.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The bot understood and answered.
    #[default]
    Ok,
    /// The bot recognized no intent.
    NoMatch,
    /// The user's answer to a question was not valid.
    InvalidInput,
    /// The user said nothing (timeout or empty message).
    NoInput,
}

impl Outcome {
    /// Every outcome that counts as a failure.
    pub const FAILURES: [Outcome; 3] = [Outcome::NoMatch, Outcome::InvalidInput, Outcome::NoInput];

    /// The outcome's name as written in turns and policies.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::NoMatch => "no_match",
            Outcome::InvalidInput => "invalid_input",
            Outcome::NoInput => "no_input",
        }
    }
}
