//! The handoff itself: the `handoff.initiate` event with its transcript,
//! the agent hub's `handoff.status` events, queues with their hours, and the
//! settings of the conversation's lifecycle (see [`lifecycle`]).
//!
//! The events follow the Bot Framework protocol exactly as its official SDK
//! makes them (`tests/handoff.rs` compares them with the SDK's own output).

pub(crate) mod activity;
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

use serde_json::{Map, Value, json};

use crate::compile::Compiler;
use crate::decision::{Decision, FallbackChannel, Kind};
use crate::policy::{ContextField, PolicySpec, TranscriptSpec};
use crate::turn::{Role, Turn};
pub use activity::{
    ChannelAccount, ConversationAccount, ConversationReference, HandoffState, HandoffStatus,
    TranscriptLine,
};
use consult::ConsultRule;
use hours::Hours;
use lifecycle::Lifecycle;
use redact::Redactor;
use route::RuleRoute;
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
    /// What each of the engine's rules does once it fires, in the same order.
    pub(crate) rules: Vec<Handover>,
    /// The policy's `default_locale`, for routes of turns without a locale.
    pub(crate) default_locale: Box<str>,
}

/// What a rule does once it fires: where it sends the conversation, what it
/// says, what it collects first, what it puts to an agent. When a rule fires
/// is the engine's part of it; this part lives with the handoff, which
/// carries the decision through the conversation's lifecycle.
#[derive(Debug)]
pub(crate) struct Handover {
    pub(crate) id: Arc<str>,
    pub(crate) kind: Kind,
    pub(crate) route: RuleRoute,
    pub(crate) online: String,
    pub(crate) offline: String,
    pub(crate) offer: String,
    pub(crate) agent_note: Option<String>,
    /// What the rule collects before handing over; `None`: its queue's list.
    pub(crate) collect: Option<Vec<CollectItem>>,
    /// What the rule puts to an agent, for `action: consult`.
    pub(crate) consult: Option<ConsultRule>,
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
                rules: Vec::new(),
                default_locale: spec.matching.default_locale.as_str().into(),
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
            rules: Vec::new(),
            default_locale: spec.matching.default_locale.as_str().into(),
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

impl Handoff {
    /// Masks what the policy's `handoff.redact` says the agent hub must not
    /// receive: card numbers, e-mail addresses, phone numbers, the policy's
    /// own patterns. Borrowed when nothing was masked.
    pub(crate) fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        self.redactor.redact(text)
    }

    /// The Bot Framework `handoff.initiate` event for a decision, addressed
    /// with `reference`, with the last turns of `transcript` (user and bot,
    /// oldest first, redacted) attached as `Transcript`, and the routing
    /// context the policy's `handoff.context` names in `value`.
    pub(crate) fn handoff_initiate(
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
    /// the envelope and transcript of [`Handoff::handoff_initiate`], its
    /// `value` the same routing context and, under `consult`, the
    /// `proposal` the agent approves or declines and its `note`. Its `id` is
    /// `consult-{conversation}-{turn}`; the agent hub answers with a
    /// `handoff.status` of state `approved` or `declined`.
    pub(crate) fn handoff_consult(
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
    /// see [`Handoff::handoff_initiate`].
    fn hub_event(
        &self,
        name: &str,
        prefix: &str,
        decision: &Decision,
        reference: &ConversationReference,
        transcript: &[Turn],
    ) -> Value {
        let recent = &transcript[transcript.len().saturating_sub(self.transcript_turns)..];
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
