//! The Bot Framework activities a handoff exchanges with the agent hub, as
//! plain data: the accounts and conversation reference `handoff.initiate` is
//! addressed with, the hub's `handoff.status` events, and transcript lines.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::turn::{Turn, TurnError, parse_line};

/// A Bot Framework user or bot account (`ChannelAccount`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelAccount {
    /// The channel's id for the account.
    pub id: String,
    /// The display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `user` or `bot`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Any other fields the channel gives, passed through unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A Bot Framework conversation (`ConversationAccount`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationAccount {
    /// The conversation's id.
    pub id: String,
    /// Whether more than two people take part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_group: Option<bool>,
    /// Such as `personal`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_type: Option<String>,
    /// The conversation's display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Any other fields the channel gives, passed through unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Where a conversation lives, as the Bot Framework SDK's
/// `TurnContext.getConversationReference` gives it; it deserializes from
/// that JSON. `handoff.initiate` is addressed with it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationReference {
    /// The user's last message (the last user turn's `id` takes its place
    /// when the transcript has one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity_id: Option<String>,
    /// The user.
    pub user: ChannelAccount,
    /// The bot.
    pub bot: ChannelAccount,
    /// The conversation.
    pub conversation: ConversationAccount,
    /// The channel, such as `msteams` or `webchat`.
    pub channel_id: String,
    /// The user's locale, such as `en-US` (the last user turn's `locale`
    /// takes its place when it has one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// The channel's service URL.
    pub service_url: String,
}

impl ConversationReference {
    /// A reference with plain ids, for dry runs and tests: user `user`,
    /// bot `bot`, channel `escalate-check`.
    pub fn placeholder(conversation_id: &str) -> ConversationReference {
        let account = |id: &str, role: &str| ChannelAccount {
            id: id.to_string(),
            name: None,
            role: Some(role.to_string()),
            extra: Map::new(),
        };
        ConversationReference {
            activity_id: None,
            user: account("user", "user"),
            bot: account("bot", "bot"),
            conversation: ConversationAccount {
                id: conversation_id.to_string(),
                ..ConversationAccount::default()
            },
            channel_id: "escalate-check".to_string(),
            locale: None,
            service_url: String::new(),
        }
    }
}

/// What the agent hub says of a handoff, in a `handoff.status` event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HandoffState {
    /// An agent took the conversation.
    Accepted,
    /// The handoff could not happen (no agents, an error); the bot takes
    /// the offline path.
    Failed,
    /// The agent has finished; the bot takes the conversation back.
    Completed,
    /// The agent approved the bot's proposal (phase `consulting`): the bot
    /// carries it out.
    Approved,
    /// The agent declined the bot's proposal (phase `consulting`).
    Declined,
}

/// A `handoff.status` event from the agent hub.
///
/// ```
/// use escalate::{HandoffState, HandoffStatus};
///
/// let event = br#"{"type": "event", "name": "handoff.status",
///     "value": {"state": "failed", "message": "No agents available"},
///     "conversation": {"id": "conv-1234"}}"#;
/// let status = HandoffStatus::from_json(event).unwrap();
/// assert_eq!(status.state, HandoffState::Failed);
/// assert_eq!(status.message.as_deref(), Some("No agents available"));
/// assert_eq!(status.conversation_id.as_deref(), Some("conv-1234"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HandoffStatus {
    /// `conversation.id` of the event.
    pub conversation_id: Option<Arc<str>>,
    /// `value.state`.
    pub state: HandoffState,
    /// `value.message`, given with `failed`, `approved` or `declined` (the
    /// agent's words for the user on the last two).
    pub message: Option<String>,
}

#[derive(Deserialize)]
struct StatusActivity {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    name: Option<String>,
    value: Option<StatusValue>,
    #[serde(default)]
    conversation: Option<ConversationId>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusValue {
    state: HandoffState,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Deserialize)]
struct ConversationId {
    id: Arc<str>,
}

impl HandoffStatus {
    /// A status for a conversation.
    pub fn new(conversation_id: Option<&str>, state: HandoffState) -> HandoffStatus {
        HandoffStatus {
            conversation_id: conversation_id.map(Arc::from),
            state,
            message: None,
        }
    }

    /// The same status with the hub's message (as `failed` gives).
    pub fn with_message(self, message: impl Into<String>) -> HandoffStatus {
        HandoffStatus {
            message: Some(message.into()),
            ..self
        }
    }

    /// Reads a `handoff.status` event activity (other Bot Framework fields
    /// are allowed and ignored). Errors say where and what, as for turns.
    pub fn from_json(json: &[u8]) -> Result<HandoffStatus, TurnError> {
        let activity: StatusActivity = parse_line(
            json,
            "a handoff status is a JSON object",
            r#"write the event as `{"type": "event", "name": "handoff.status", "value": {"state": "accepted"}}`"#,
        )?;
        let at_start = (1, 1);
        if activity.kind != "event" || activity.name.as_deref() != Some("handoff.status") {
            let named = activity
                .name
                .map(|name| format!(" named `{name}`"))
                .unwrap_or_default();
            return Err(TurnError::new(
                at_start,
                &format!(
                    "an activity of type `{}`{named} is not a handoff status",
                    activity.kind
                ),
                Some(r#"statuses are events named `handoff.status`; turns have no `type`"#),
            ));
        }
        let Some(value) = activity.value else {
            return Err(TurnError::new(
                at_start,
                "the handoff status has no `value`",
                Some(r#"give the state, such as `"value": {"state": "accepted"}`"#),
            ));
        };
        Ok(HandoffStatus {
            conversation_id: activity.conversation.map(|c| c.id),
            state: value.state,
            message: value.message,
        })
    }
}

/// One line of a transcript: a turn, or an agent hub's status event.
#[derive(Clone, Debug, PartialEq)]
pub enum TranscriptLine {
    /// A message of the user or the bot.
    Turn(Turn),
    /// A `handoff.status` event.
    Status(HandoffStatus),
}

impl TranscriptLine {
    /// Reads a line: an object with a `type` field is an event (turns have
    /// none), anything else a turn.
    ///
    /// ```
    /// use escalate::TranscriptLine;
    ///
    /// let line = br#"{"type": "event", "name": "handoff.status", "value": {"state": "completed"}}"#;
    /// assert!(matches!(TranscriptLine::from_json(line), Ok(TranscriptLine::Status(_))));
    /// assert!(matches!(TranscriptLine::from_json(br#"{"text": "hi"}"#), Ok(TranscriptLine::Turn(_))));
    /// ```
    pub fn from_json(line: &[u8]) -> Result<TranscriptLine, TurnError> {
        match Turn::from_json(line) {
            Ok(turn) => Ok(TranscriptLine::Turn(turn)),
            Err(_) if has_type_field(line) => {
                HandoffStatus::from_json(line).map(TranscriptLine::Status)
            }
            Err(error) => Err(error),
        }
    }
}

/// Whether a line is a JSON object with a top-level `type` key.
fn has_type_field(line: &[u8]) -> bool {
    serde_json::from_slice::<Map<String, Value>>(line)
        .is_ok_and(|object| object.contains_key("type"))
}
