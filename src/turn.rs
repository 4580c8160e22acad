//! The turn: what the bot knows about one message of the conversation.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{ErrorSource, floor_char_boundary};

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
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Turn {
    /// The conversation this turn belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<Arc<str>>,
    /// The message's id (a Bot Framework activity id), kept for the
    /// transcript and for `relatesTo` in `handoff.initiate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
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
        self.top_intent().and_then(|i| clamp_unit(i.confidence))
    }

    /// The top intent: `intent`, or else the highest of `intents`.
    ///
    /// ```
    /// use escalate::{Intent, Turn};
    ///
    /// let intent = |name: &str, confidence| Intent { name: name.into(), confidence };
    /// let turn = Turn { intents: vec![intent("refund", 0.3), intent("pay_bill", 0.6)], ..Turn::user("hi") };
    /// assert_eq!(turn.top_intent().map(|i| i.name.as_str()), Some("pay_bill"));
    /// ```
    pub fn top_intent(&self) -> Option<&Intent> {
        self.intent.as_ref().or_else(|| self.top_two_intents().0)
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

impl Turn {
    /// Reads a turn from one line of JSON (a `.jsonl` transcript line).
    ///
    /// Anything else is an error that says where (the column, counting
    /// characters from 1), what and how to fix it: bytes that are not
    /// UTF-8, a line that is not a JSON object, broken JSON, `NaN`, a
    /// misspelt field or value, JSON nested more than 128 deep. Numbers that
    /// are valid JSON but out of range are kept and clamped where they are
    /// read ([`top_confidence`](Turn::top_confidence),
    /// [`sentiment_score`](Turn::sentiment_score)).
    ///
    /// ```
    /// use escalate::Turn;
    ///
    /// let err = Turn::from_json(br#"{"text": "hi", "sentimnet": -0.5}"#).unwrap_err();
    /// assert_eq!(err.column(), 16);
    /// assert_eq!(err.to_string(), "unknown field `sentimnet`");
    /// assert_eq!(err.help(), Some("did you mean `sentiment`?"));
    /// ```
    pub fn from_json(line: &[u8]) -> Result<Turn, TurnError> {
        parse_line(
            line,
            "a turn is a JSON object",
            r#"write one object per line, such as `{"text": "hello"}`"#,
        )
    }
}

/// Reads one JSON object from a line; `not_object` and its `help` say what
/// is wrong when the line holds something else.
pub(crate) fn parse_line<T: serde::de::DeserializeOwned>(
    line: &[u8],
    not_object: &str,
    help: &str,
) -> Result<T, TurnError> {
    parse_line_as(line, not_object, help, &LineKind::TURN)
}

/// What a line holds, for the messages about it: the name of the object
/// and the help for a field it does not have.
pub(crate) struct LineKind {
    pub(crate) noun: &'static str,
    pub(crate) unknown_field_help: &'static str,
    pub(crate) nesting_help: &'static str,
}

impl LineKind {
    const TURN: LineKind = LineKind {
        noun: "turn",
        unknown_field_help: "put your own data under `attributes`",
        nesting_help: "flatten `attributes`",
    };
}

/// [`parse_line`] for an object other than a turn.
pub(crate) fn parse_line_as<T: serde::de::DeserializeOwned>(
    line: &[u8],
    not_object: &str,
    help: &str,
    kind: &LineKind,
) -> Result<T, TurnError> {
    let text = std::str::from_utf8(line).map_err(|e| TurnError {
        position: crate::error::position(line, e.valid_up_to()),
        message: "the line is not valid UTF-8".into(),
        help: Some("save the transcript as UTF-8".into()),
        source: ErrorSource::new(e),
    })?;
    if let Some(start) = crate::error::not_an_object(line) {
        return Err(TurnError::new(
            crate::error::position(line, start),
            not_object,
            Some(help),
        ));
    }
    serde_json::from_str(text).map_err(|e| TurnError::from_json_error(text, e, kind))
}

/// How many levels of objects and arrays a turn may nest, `attributes`
/// included (the JSON reader's own limit).
pub const MAX_TURN_NESTING: usize = 128;

/// A line that is not a valid [`Turn`]: where, what, and the fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TurnError {
    /// (line, column), both from 1.
    position: (usize, usize),
    message: String,
    help: Option<String>,
    /// serde's (or UTF-8's) own error, when the message comes from one.
    source: ErrorSource,
}

impl TurnError {
    /// The column (in characters, from 1) where the problem is.
    pub fn column(&self) -> usize {
        self.position.1
    }

    /// The line (from 1) where the problem is: 1 unless the JSON given
    /// spans several lines.
    pub fn line(&self) -> usize {
        self.position.0
    }

    /// How to fix it, when there is a likely fix.
    pub fn help(&self) -> Option<&str> {
        self.help.as_deref()
    }

    /// The error for a turn nested deeper than [`MAX_TURN_NESTING`], for
    /// callers that build turns from objects rather than from JSON text, who
    /// must bound the depth (or a cycle) themselves; its position is 1:1.
    ///
    /// ```
    /// let error = escalate::TurnError::too_deep();
    /// assert_eq!(error.to_string(), "the turn nests more than 128 levels deep");
    /// assert_eq!(error.help(), Some("flatten `attributes`"));
    /// ```
    pub fn too_deep() -> TurnError {
        TurnError::nested_too_deep((1, 1), &LineKind::TURN)
    }

    fn nested_too_deep(position: (usize, usize), kind: &LineKind) -> TurnError {
        TurnError {
            position,
            message: format!(
                "the {} nests more than {MAX_TURN_NESTING} levels deep",
                kind.noun
            ),
            help: Some(kind.nesting_help.to_string()),
            source: ErrorSource::default(),
        }
    }

    pub(crate) fn new(position: (usize, usize), message: &str, help: Option<&str>) -> TurnError {
        TurnError {
            position,
            message: message.to_string(),
            help: help.map(String::from),
            source: ErrorSource::default(),
        }
    }

    fn from_json_error(text: &str, e: serde_json::Error, kind: &LineKind) -> TurnError {
        let message = crate::error::without_position(&e.to_string());
        let message = message.as_str();
        // serde_json counts lines from 1 and bytes within them from 1, and
        // gives column 0 when it ran out of input.
        let line_start: usize = text
            .split_inclusive('\n')
            .take(e.line().saturating_sub(1))
            .map(str::len)
            .sum();
        let mut offset = match e.column() {
            0 => text.trim_end().len(),
            c => floor_char_boundary(text, line_start + c - 1),
        };
        let at = &text[offset..];
        // Point at the start of a misspelt key or value rather than past it.
        let start_of = |word: &str| {
            text[..floor_char_boundary(text, offset + 1)].rfind(&format!("\"{word}\""))
        };
        let (message, help) = if let Some(unknown) = crate::error::Unknown::parse(message) {
            offset = start_of(&unknown.input).unwrap_or(offset);
            let fallback = unknown.field.then_some(kind.unknown_field_help);
            (unknown.message(), Some(unknown.help(fallback)))
        } else if e.is_syntax()
            && ["NaN", "Infinity", "-Infinity"]
                .iter()
                .any(|n| at.starts_with(n))
        {
            (
                "JSON has no `NaN` or `Infinity`".to_string(),
                Some("leave the field out when there is no score".to_string()),
            )
        } else if message == "number out of range" {
            (
                "number out of range".to_string(),
                Some("confidences are from 0 to 1 and sentiments from -1 to 1".to_string()),
            )
        } else if message == "recursion limit exceeded" {
            let position = crate::error::position(text.as_bytes(), offset);
            return TurnError {
                source: ErrorSource::new(e),
                ..TurnError::nested_too_deep(position, kind)
            };
        } else if e.is_eof() {
            offset = text.trim_end().len();
            (
                format!("the line ends before the {} does", kind.noun),
                Some(format!(
                    "a {} is one JSON object on one line; close every `{{`, `[` and `\"`",
                    kind.noun
                )),
            )
        } else {
            (message.to_string(), None)
        };
        TurnError {
            position: crate::error::position(text.as_bytes(), offset),
            message,
            help,
            source: ErrorSource::new(e),
        }
    }
}

impl std::fmt::Display for TurnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TurnError {
    /// serde's (or UTF-8's) error that this one rewords, if any.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.get()
    }
}

fn clamp_unit(value: f64) -> Option<f64> {
    value.is_finite().then(|| value.clamp(0.0, 1.0))
}

/// One intent recognized by the bot's NLU, with its confidence from 0 to 1.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Intent {
    /// The intent's name, such as `billing.dispute`.
    pub name: String,
    /// How sure the NLU is, from 0 to 1.
    pub confidence: f64,
}

/// Who wrote a turn.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The end user; only user turns are evaluated.
    #[default]
    User,
    /// The bot; kept for the transcript.
    Bot,
}

/// How the bot fared on a turn.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
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
