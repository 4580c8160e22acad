//! A corpus of conversations, read from JSONL or Bot Framework transcripts,
//! and what a policy does to it: the figures `escalate-check stats` prints
//! and the server's playground charts.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::decision::{Action, Decision};
use crate::engine::Engine;
use crate::handoff::{HandoffStatus, TranscriptLine};
use crate::state::ConversationState;
use crate::turn::{Role, Turn, TurnError};

/// One conversation of a corpus: its turns, and the agent hub's statuses
/// between them, in order.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Conversation {
    /// The `conversation_id` of its lines (`-` for lines without one).
    pub id: String,
    /// Turns and statuses, in order.
    pub lines: Vec<TranscriptLine>,
}

/// A JSONL line that is not a turn: its 1-based line number and why.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct BadLine {
    /// The line, from 1.
    pub line: usize,
    /// What is wrong with it (its column is within the line).
    pub error: TurnError,
}

/// Conversations read from transcripts, in order of their first line.
///
/// ```
/// use escalate::{Corpus, CorpusStats, Engine};
///
/// let mut corpus = Corpus::default();
/// let jsonl = br#"{"conversation_id": "a", "text": "I want a real person"}
/// {"conversation_id": "b", "text": "hello"}
/// "#;
/// assert!(corpus.read("chats.jsonl", jsonl).unwrap().is_empty());
/// let engine = Engine::builtin();
/// let courses: Vec<_> = corpus.conversations.iter().map(|c| engine.course(c)).collect();
/// let stats = CorpusStats::of(&engine, &courses);
/// assert_eq!((stats.conversations, stats.escalated, stats.escalation_rate), (2, 1, 0.5));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Corpus {
    /// Every conversation read.
    pub conversations: Vec<Conversation>,
}

/// The byte-order mark .NET and Windows tools write at the start of UTF-8 files.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

impl Corpus {
    /// Reads one transcript, named `name` in messages: JSONL (one turn or
    /// status per line, conversations grouped by `conversation_id`) or a Bot
    /// Framework transcript (a JSON array of activities, as the Emulator
    /// saves them; `message` activities are turns, from the bot when
    /// `from.role` is `bot`; `handoff.status` events are statuses).
    ///
    /// Conversations of one transcript are kept apart from those of another.
    /// JSONL lines that are not turns are skipped and returned; a Bot
    /// Framework transcript that does not read is an error.
    pub fn read(&mut self, name: &str, bytes: &[u8]) -> Result<Vec<BadLine>, String> {
        let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        let corpus = &mut self.conversations;
        let mut index: BTreeMap<String, usize> = BTreeMap::new();
        let mut add = |id: String, line: TranscriptLine| {
            let at = *index.entry(id.clone()).or_insert_with(|| {
                corpus.push(Conversation {
                    id,
                    lines: Vec::new(),
                });
                corpus.len() - 1
            });
            corpus[at].lines.push(line);
        };
        if first == Some(&b'[') {
            let activities: Vec<serde_json::Value> = serde_json::from_slice(bytes)
                .map_err(|e| format!("{name}: not a Bot Framework transcript: {e}"))?;
            for (number, activity) in activities.iter().enumerate() {
                let at = |what: &str| format!("{name}: activity {}: {what}", number + 1);
                if activity["type"] == "event" && activity["name"] == "handoff.status" {
                    let json = serde_json::to_vec(activity)
                        .map_err(|e| at(&format!("cannot read the handoff status: {e}")))?;
                    let status = HandoffStatus::from_json(&json)
                        .map_err(|e| at(&format!("invalid handoff status: {e}")))?;
                    let id = status.conversation_id.as_deref().unwrap_or("-").to_string();
                    add(id, TranscriptLine::Status(status));
                    continue;
                }
                if activity["type"] != "message" {
                    continue;
                }
                let role = match activity["from"]["role"].as_str() {
                    Some("bot") => Role::Bot,
                    _ => Role::User,
                };
                let id = activity["conversation"]["id"]
                    .as_str()
                    .unwrap_or("-")
                    .to_string();
                // A message without text (a card, an attachment) is an empty
                // turn; text that is not a string is a broken transcript.
                let text = match &activity["text"] {
                    serde_json::Value::Null => "",
                    serde_json::Value::String(text) => text,
                    other => return Err(at(&format!("`text` is `{other}`, not a string"))),
                };
                let turn = Turn {
                    role,
                    conversation_id: Some(id.as_str().into()),
                    timestamp: activity["timestamp"].as_str().map(String::from),
                    locale: activity["locale"].as_str().map(String::from),
                    ..Turn::user(text)
                };
                add(id, TranscriptLine::Turn(turn));
            }
            return Ok(Vec::new());
        }
        let mut bad = Vec::new();
        for (number, line) in bytes.split(|&b| b == b'\n').enumerate() {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let line = match TranscriptLine::from_json(line) {
                Ok(line) => line,
                Err(error) => {
                    bad.push(BadLine {
                        line: number + 1,
                        error,
                    });
                    continue;
                }
            };
            let id = match &line {
                TranscriptLine::Turn(turn) => turn.conversation_id.as_deref(),
                TranscriptLine::Status(status) => status.conversation_id.as_deref(),
            };
            add(id.unwrap_or("-").to_string(), line);
        }
        Ok(bad)
    }
}

/// How one conversation went: the decision of every user turn, its
/// strongest action, and the turn, rule and reasons of the first decision
/// that took it (an offer at turn 2 then an escalation at turn 3 is an
/// escalation at turn 3, by its own rule).
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct Course {
    /// The conversation's id.
    pub id: String,
    /// The strongest action of any decision.
    pub action: Action,
    /// The turn of the first decision with that action.
    pub turn: Option<u32>,
    /// Its deciding rule.
    pub rule: Option<String>,
    /// Its reasons, as `rule [trigger] detail`.
    pub reasons: Vec<String>,
    /// The decision of every user turn, in order.
    #[serde(skip)]
    pub decisions: Vec<Decision>,
}

impl Engine {
    /// Runs a conversation from a fresh state: statuses move it on, and
    /// each user turn's decision is kept.
    pub fn course(&self, conversation: &Conversation) -> Course {
        let mut state = ConversationState::new();
        let decisions: Vec<Decision> = conversation
            .lines
            .iter()
            .filter_map(|line| match line {
                TranscriptLine::Turn(t) => {
                    let decision = self.evaluate(&mut state, t);
                    (t.role == Role::User).then_some(decision)
                }
                TranscriptLine::Status(status) => {
                    self.apply_status(&mut state, status);
                    None
                }
            })
            .collect();
        let strongest = decisions.iter().map(|d| d.action).max().unwrap_or_default();
        let first = decisions
            .iter()
            .find(|d| d.action == strongest && d.action != Action::None);
        Course {
            id: conversation.id.clone(),
            action: strongest,
            turn: first.map(|d| d.turn),
            rule: first.and_then(|d| d.rule.as_deref().map(String::from)),
            reasons: first.map_or_else(Vec::new, |d| {
                d.reasons
                    .iter()
                    .map(|r| format!("{} [{}] {}", r.rule, r.trigger, r.detail))
                    .collect()
            }),
            decisions,
        }
    }
}

/// What a policy did to a corpus: `escalate-check stats`'s figures.
#[derive(Clone, Debug, Default, Serialize)]
#[non_exhaustive]
pub struct CorpusStats {
    /// The policy's name.
    pub policy: String,
    /// The policy's hash.
    pub hash: String,
    /// Conversations.
    pub conversations: usize,
    /// User turns.
    pub turns: usize,
    /// Conversations that escalated (or asked a triage question, which leads to it).
    pub escalated: usize,
    /// Conversations that were only offered a person.
    pub offered: usize,
    /// `escalated` over `conversations` (0 for no conversations).
    pub escalation_rate: f64,
    /// Conversations by the turn of their first `escalate`.
    pub first_escalation_turn: BTreeMap<u32, usize>,
    /// Decisions by deciding rule.
    pub rules: BTreeMap<String, usize>,
    /// Reasons by trigger.
    pub triggers: BTreeMap<String, usize>,
    /// Decisions by kind.
    pub kinds: BTreeMap<String, usize>,
    /// Decisions by action.
    pub actions: BTreeMap<String, usize>,
}

impl CorpusStats {
    /// The figures of the courses `engine` took.
    pub fn of(engine: &Engine, courses: &[Course]) -> CorpusStats {
        let mut stats = CorpusStats {
            policy: engine.name().to_string(),
            hash: engine.id().hash.clone(),
            conversations: courses.len(),
            ..CorpusStats::default()
        };
        for course in courses {
            match course.action {
                // A triage question leads to an escalation.
                Action::Escalate | Action::Collect => stats.escalated += 1,
                Action::Offer => stats.offered += 1,
                Action::Consult | Action::None => {}
            }
            let first_escalation = course
                .decisions
                .iter()
                .find(|d| d.action == Action::Escalate);
            if let Some(d) = first_escalation {
                *stats.first_escalation_turn.entry(d.turn).or_default() += 1;
            }
            stats.turns += course.decisions.len();
            for d in &course.decisions {
                *stats.actions.entry(d.action.to_string()).or_default() += 1;
                if let (Some(rule), Some(kind)) = (&d.rule, d.kind) {
                    *stats.rules.entry(rule.to_string()).or_default() += 1;
                    *stats.kinds.entry(kind.to_string()).or_default() += 1;
                }
                for reason in &d.reasons {
                    *stats
                        .triggers
                        .entry(reason.trigger.to_string())
                        .or_default() += 1;
                }
            }
        }
        stats.escalation_rate = rate(stats.escalated, stats.conversations);
        stats
    }

    /// `offered` over `conversations` (0 for no conversations).
    pub fn offer_rate(&self) -> f64 {
        rate(self.offered, self.conversations)
    }
}

fn rate(count: usize, of: usize) -> f64 {
    if of == 0 {
        0.0
    } else {
        count as f64 / of as f64
    }
}
