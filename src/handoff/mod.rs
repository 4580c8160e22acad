//! The handoff itself: the `handoff.initiate` event with its transcript,
//! the agent hub's `handoff.status` events, queues with their hours, and the
//! settings of the conversation's lifecycle (see [`lifecycle`]).
//!
//! The events follow the Bot Framework protocol exactly as its official SDK
//! makes them (`tests/handoff.rs` compares them with the SDK's own output).

pub(crate) mod consult;
pub(crate) mod hours;
pub(crate) mod lifecycle;
pub(crate) mod opens;
pub(crate) mod redact;
pub(crate) mod route;
pub(crate) mod triage;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::compile::Compiler;
use crate::decision::{Decision, FallbackChannel};
use crate::engine::Engine;
use crate::policy::{ContextField, PolicySpec, TranscriptSpec};
use crate::turn::{Role, Turn, TurnError, parse_line};
use hours::Hours;
use lifecycle::Lifecycle;
use redact::Redactor;
use triage::{CollectItem, Triage};

/// The most turns a transcript may carry.
const MAX_TRANSCRIPT_TURNS: u32 = 200;

/// The compiled `handoff` section (its defaults when the policy has none).
#[derive(Debug)]
pub(crate) struct Handoff {
    pub(crate) transcript_turns: usize,
    context: Vec<(String, ContextField)>,
    pub(crate) redactor: Redactor,
    pub(crate) fallback: FallbackChannel,
    /// The policy's offline message, for an offline path no rule started.
    pub(crate) offline: String,
    /// Present when the policy has a `handoff` section: the engine then
    /// tracks each conversation's phase.
    pub(crate) lifecycle: Option<Lifecycle>,
    pub(crate) queues: BTreeMap<String, Queue>,
    /// The language of `{opens}` for turns without a locale (`default_locale`'s).
    pub(crate) language: opens::Language,
    pub(crate) triage: Triage,
}

/// One queue's compiled settings.
#[derive(Debug)]
pub(crate) struct Queue {
    pub(crate) expected_wait: Option<String>,
    pub(crate) fallback: Option<FallbackChannel>,
    pub(crate) hours: Option<Hours>,
    /// What the bot collects before handing over to the queue.
    pub(crate) collect: Vec<CollectItem>,
}

impl Handoff {
    pub(crate) fn compile(spec: &PolicySpec, offline: &str, cx: &mut Compiler) -> Handoff {
        let queues = spec
            .queues
            .iter()
            .map(|(name, queue)| {
                let queue = &queue.value;
                let hours = queue
                    .hours
                    .as_ref()
                    .and_then(|hours| Hours::compile(name, &hours.value, cx));
                let compiled = Queue {
                    expected_wait: queue.expected_wait.clone(),
                    fallback: queue.fallback_channel,
                    hours,
                    collect: queue
                        .collect
                        .as_deref()
                        .map_or_else(Vec::new, |list| triage::compile_list(list, cx)),
                };
                (name.clone(), compiled)
            })
            .collect();
        let language = opens::Language::of(&spec.matching.default_locale);
        opens::check_hours(spec, cx);
        let Some(section) = &spec.handoff else {
            return Handoff {
                transcript_turns: TranscriptSpec::default().turns.value as usize,
                context: default_context(),
                redactor: Redactor::default(),
                fallback: FallbackChannel::default(),
                offline: offline.to_string(),
                lifecycle: None,
                queues,
                language,
                triage: Triage::default(),
            };
        };
        let handoff = &section.value;
        let turns = &handoff.transcript.turns;
        if turns.value > MAX_TRANSCRIPT_TURNS {
            cx.error_at(
                turns,
                "out-of-range",
                format!(
                    "a transcript of {} turns is more than the {MAX_TRANSCRIPT_TURNS} allowed",
                    turns.value
                ),
            )
            .set_help("agents read the last few turns; 10 to 30 is usual");
        }
        let context = match &handoff.context {
            Some(context) => context.entries.clone(),
            None => default_context(),
        };
        Handoff {
            transcript_turns: turns.value.min(MAX_TRANSCRIPT_TURNS) as usize,
            context,
            redactor: Redactor::compile(&handoff.redact, cx),
            fallback: handoff.fallback_channel.unwrap_or_default(),
            offline: offline.to_string(),
            lifecycle: Some(Lifecycle::compile(section, cx)),
            queues,
            language,
            triage: Triage::compile(&handoff.triage, cx),
        }
    }

    /// The fallback channel for a queue.
    pub(crate) fn fallback_for(&self, queue: &str) -> FallbackChannel {
        self.queues
            .get(queue)
            .and_then(|q| q.fallback)
            .unwrap_or(self.fallback)
    }

    /// The language `{opens}` is said in on `turn`: its locale's, else the policy's.
    pub(crate) fn language_of(&self, turn: &Turn) -> opens::Language {
        turn.locale
            .as_deref()
            .map_or(self.language, opens::Language::of)
    }

    /// What the waiting message says for `{wait}`.
    pub(crate) fn expected_wait(&self, queue: &str) -> &str {
        self.queues
            .get(queue)
            .and_then(|q| q.expected_wait.as_deref())
            .unwrap_or("a few minutes")
    }
}

fn default_context() -> Vec<(String, ContextField)> {
    ContextField::ALL
        .iter()
        .map(|&field| (field.name().to_string(), field))
        .collect()
}

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

impl Engine {
    /// Masks what the policy's `handoff.redact` says the agent hub must not
    /// receive: card numbers, e-mail addresses, phone numbers, the policy's
    /// own patterns. Borrowed when nothing was masked.
    ///
    /// ```
    /// let engine = escalate::Engine::builtin();
    /// assert_eq!(
    ///     engine.redact("my card is 4242 4242 4242 4242"),
    ///     "my card is **** **** **** 4242"
    /// );
    /// ```
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        self.handoff.redactor.redact(text)
    }

    /// How many turns `handoff.initiate`'s transcript carries (the policy's
    /// `handoff.transcript.turns`): keep at least this many per conversation.
    pub fn transcript_turns(&self) -> usize {
        self.handoff.transcript_turns
    }

    /// The Bot Framework `handoff.initiate` event for a decision, addressed
    /// with `reference`, with the last turns of `transcript` (user and bot,
    /// oldest first, redacted) attached as `Transcript`, and the routing
    /// context the policy's `handoff.context` names in `value`.
    ///
    /// Its `id` is `handoff-{conversation}-{turn}` (so a retried send is
    /// recognizably the same event); its `timestamp` is the last turn's,
    /// or the current time when that has none.
    ///
    /// ```
    /// use escalate::{ConversationReference, ConversationState, Engine, Turn};
    ///
    /// let engine = Engine::builtin();
    /// let turns = vec![Turn::user("my card 4242 4242 4242 4242 was stolen, real person please")];
    /// let decision = engine.evaluate(&mut ConversationState::new(), &turns[0]);
    /// assert!(decision.starts_handoff());
    /// let event = engine.handoff_initiate(&decision, &ConversationReference::placeholder("c-1"), &turns);
    /// assert_eq!(event["name"], "handoff.initiate");
    /// assert_eq!(event["value"]["rule"], decision.rule.as_deref().unwrap());
    /// let transcript = &event["attachments"][0]["content"]["activities"];
    /// assert_eq!(transcript[0]["text"], "my card **** **** **** 4242 was stolen, real person please");
    /// ```
    pub fn handoff_initiate(
        &self,
        decision: &Decision,
        reference: &ConversationReference,
        transcript: &[Turn],
    ) -> Value {
        self.hub_event(
            "handoff.initiate",
            "handoff",
            decision,
            reference,
            transcript,
        )
    }

    /// The Bot Framework `handoff.consult` event for a `consult` decision:
    /// the envelope and transcript of [`Engine::handoff_initiate`], its
    /// `value` the same routing context and, under `consult`, the
    /// `proposal` the agent approves or declines and its `note`. Its `id` is
    /// `consult-{conversation}-{turn}`; the agent hub answers with a
    /// `handoff.status` of state `approved` or `declined`.
    ///
    /// ```
    /// use escalate::{ConversationReference, ConversationState, Engine, Turn};
    ///
    /// let engine = Engine::from_yaml(r#"
    /// version: 1
    /// handoff: {}
    /// rules:
    ///   - id: refund
    ///     when: { keywords: ["refund"] }
    ///     kind: planned
    ///     action: consult
    ///     consult: { proposal: "Refund the order in full", note: "Over the limit" }
    /// "#)?;
    /// let turns = vec![Turn::user("I want a refund")];
    /// let decision = engine.evaluate(&mut ConversationState::new(), &turns[0]);
    /// assert!(decision.starts_consult());
    /// let event = engine.handoff_consult(&decision, &ConversationReference::placeholder("c-1"), &turns);
    /// assert_eq!(event["name"], "handoff.consult");
    /// assert_eq!(event["value"]["consult"]["proposal"], "Refund the order in full");
    /// assert_eq!(event["value"]["consult"]["note"], "Over the limit");
    /// assert_eq!(event["attachments"][0]["content"]["activities"][0]["text"], "I want a refund");
    /// # Ok::<(), escalate::PolicyError>(())
    /// ```
    pub fn handoff_consult(
        &self,
        decision: &Decision,
        reference: &ConversationReference,
        transcript: &[Turn],
    ) -> Value {
        let mut event = self.hub_event(
            "handoff.consult",
            "consult",
            decision,
            reference,
            transcript,
        );
        if let (Some(consult), Some(value)) = (&decision.consult, event["value"].as_object_mut()) {
            let mut proposal = json!({ "proposal": consult.proposal });
            if let Some(note) = &consult.note {
                proposal["note"] = json!(note);
            }
            value.insert("consult".to_string(), proposal);
        }
        event
    }

    /// An event for the agent hub named `name`, its id prefixed `prefix`:
    /// see [`Engine::handoff_initiate`].
    fn hub_event(
        &self,
        name: &str,
        prefix: &str,
        decision: &Decision,
        reference: &ConversationReference,
        transcript: &[Turn],
    ) -> Value {
        let recent = &transcript[transcript
            .len()
            .saturating_sub(self.handoff.transcript_turns)..];
        let last_user = transcript.iter().rev().find(|t| t.role == Role::User);
        let activities: Vec<Value> = recent
            .iter()
            .map(|turn| self.transcript_activity(turn, reference))
            .collect();
        let mut relates_to = reference.clone();
        if let Some(id) = last_user.and_then(|t| t.id.clone()) {
            relates_to.activity_id = Some(id);
        }
        if let Some(locale) = last_user.and_then(|t| t.locale.clone()) {
            relates_to.locale = Some(locale);
        }
        let timestamp = transcript
            .last()
            .and_then(|t| t.timestamp.clone())
            .unwrap_or_else(|| jiff::Timestamp::now().to_string());
        let mut event = json!({
            "type": "event",
            "name": name,
            "id": format!("{prefix}-{}-{}", reference.conversation.id, decision.turn),
            "timestamp": timestamp,
            "value": self.context_value(decision, transcript),
            "conversation": reference.conversation,
            "from": reference.user,
            "relatesTo": relates_to,
            "attachments": [{
                "content": { "activities": activities },
                "contentType": "application/json",
                "name": "Transcript",
            }],
            "entities": [],
            "serviceUrl": reference.service_url,
            "channelId": reference.channel_id,
        });
        if let Some(id) = &relates_to.activity_id {
            event["replyToId"] = json!(id);
        }
        event
    }

    /// One turn as a Bot Framework message activity, its text redacted.
    fn transcript_activity(&self, turn: &Turn, reference: &ConversationReference) -> Value {
        let (from, recipient) = match turn.role {
            Role::User => (&reference.user, &reference.bot),
            Role::Bot => (&reference.bot, &reference.user),
        };
        let mut activity = Map::new();
        activity.insert("type".into(), json!("message"));
        if let Some(id) = &turn.id {
            activity.insert("id".into(), json!(id));
        }
        if let Some(timestamp) = &turn.timestamp {
            activity.insert("timestamp".into(), json!(timestamp));
        }
        activity.insert("channelId".into(), json!(reference.channel_id));
        activity.insert("from".into(), json!(from));
        activity.insert("recipient".into(), json!(recipient));
        activity.insert("conversation".into(), json!(reference.conversation));
        activity.insert("text".into(), json!(self.redact(&turn.text)));
        Value::Object(activity)
    }

    /// The event's `value`: each field the policy names, under its key.
    /// `intent` and `attributes` come from the latest user turn that has
    /// them; what a triage collected is added to the `attributes`.
    fn context_value(&self, decision: &Decision, transcript: &[Turn]) -> Value {
        let latest = |has: fn(&Turn) -> bool| {
            transcript
                .iter()
                .rev()
                .find(|t| t.role == Role::User && has(t))
        };
        let route = decision.route.as_ref();
        let value = self
            .handoff
            .context
            .iter()
            .map(|(key, field)| {
                let value = match field {
                    ContextField::Skill => json!(route.and_then(|r| r.skill.as_deref())),
                    ContextField::Queue => json!(route.map(|r| &r.queue)),
                    ContextField::Priority => json!(route.map(|r| r.priority)),
                    ContextField::Kind => json!(decision.kind),
                    ContextField::Rule => json!(decision.rule),
                    ContextField::Reasons => json!(decision.reasons),
                    ContextField::Intent => {
                        let turn = latest(|t| t.intent.is_some() || !t.intents.is_empty());
                        json!(turn.and_then(|t| t.intent.as_ref().or(t.top_two_intents().0)))
                    }
                    ContextField::Attributes => {
                        let turn = latest(|t| !t.attributes.is_empty());
                        let mut attributes = turn.map_or_else(Map::new, |t| t.attributes.clone());
                        for (name, value) in &decision.collected {
                            attributes.insert(name.clone(), json!(value));
                        }
                        let mut attributes = Value::Object(attributes);
                        self.redact_strings(&mut attributes);
                        attributes
                    }
                    ContextField::AgentNote => json!(decision.agent_note),
                    ContextField::Message => json!(decision.message),
                    ContextField::ConversationId => json!(decision.conversation_id),
                    ContextField::Turn => json!(decision.turn),
                };
                (key.clone(), value)
            })
            .collect();
        Value::Object(value)
    }

    fn redact_strings(&self, value: &mut Value) {
        match value {
            Value::String(text) => {
                if let Cow::Owned(redacted) = self.redact(text) {
                    *text = redacted;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.redact_strings(v)),
            Value::Object(map) => map.values_mut().for_each(|v| self.redact_strings(v)),
            _ => {}
        }
    }
}
