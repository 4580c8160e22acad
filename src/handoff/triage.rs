//! Triage: before a rule hands over, the bot asks for what the agent needs,
//! one question at a time, at most `max_questions`, then hands over anyway.
//!
//! ```yaml
//! rules:
//!   - id: order-problem
//!     when: { topic: orders }
//!     kind: planned
//!     action: escalate
//!     collect:
//!       - { attribute: order_id, ask: "What is your order number?", pattern: '\b\d{8}\b' }
//! handoff:
//!   triage: { max_questions: 2, contact: true }   # offline: ask for an e-mail or phone
//! ```
//!
//! A turn whose `attributes` already have a value needs no question for it.
//! An answer is the attribute when the bot sets it on the turn, else the
//! pattern's first match in the text (the whole text without a pattern).
//! Urgent rules (route priority `urgent`) never wait for triage; during a
//! triage, a cancel phrase calls it off and a message that escalates by
//! itself hands over at once with what was collected.

use std::collections::BTreeMap;
use std::sync::Arc;

use regex_automata::meta::Regex;

use crate::compile::Compiler;
use crate::decision::{Action, Collect, Decision, FallbackChannel, Priority, Route};
use crate::error::floor_char_boundary;
use crate::phrases::{SetId, Whole};
use crate::policy::is_simple_name;
use crate::policy::{CollectSpec, ContactSpec, ListOverrides, PhraseList, TriageSpec, unlocated};
use crate::state::{ConversationState, MAX_QUESTIONS, Phase, TriageMemory};
use crate::turn::Turn;

use super::lifecycle::{Clock, leave_queue, reason, started_by};
use super::{Handoff, Handover};

const DEFAULT_MAX_QUESTIONS: u32 = 2;
const DEFAULT_CANCEL: &[&str] = &[
    "never mind",
    "nevermind",
    "forget it",
    "forget about it",
    "don't bother",
    "dont bother",
    "cancel that",
    "i don't need a person",
];
const DEFAULT_RETRY: &str = "Sorry, I couldn't read that.";
const DEFAULT_CANCELLED: &str = "OK, I won't pass you on. How else can I help?";
/// The longest value kept from an answer, in bytes (a value is for an
/// agent to read, and it lives in the saved state).
pub(crate) const MAX_VALUE_BYTES: usize = 256;

/// One value to collect, compiled.
#[derive(Debug)]
pub(crate) struct CollectItem {
    pub(crate) attribute: Arc<str>,
    ask: String,
    pattern: Option<(Regex, String)>,
}

/// The compiled triage settings.
#[derive(Debug)]
pub(crate) struct Triage {
    /// Phrases that call the triage off (none without a `handoff` section).
    pub(crate) cancel: Option<SetId>,
    max_questions: u32,
    retry: String,
    cancelled: String,
    contact: Vec<(FallbackChannel, CollectItem)>,
}

impl Triage {
    pub(crate) fn compile(spec: &TriageSpec, cx: &mut Compiler) -> Triage {
        let max_questions = match &spec.max_questions {
            Some(max) if !(1..=MAX_QUESTIONS).contains(&max.value) => {
                cx.error_at(
                    max,
                    "out-of-range",
                    format!(
                        "`max_questions` is {}, outside 1..={MAX_QUESTIONS}",
                        max.value
                    ),
                )
                .set_help("one or two questions, not a form: 2 is usual");
                DEFAULT_MAX_QUESTIONS
            }
            Some(max) => max.value,
            None => DEFAULT_MAX_QUESTIONS,
        };
        let contact = match &spec.contact {
            ContactSpec::Off => Vec::new(),
            ContactSpec::BuiltIn => built_in_contact(cx),
            ContactSpec::Own(own) => own
                .iter()
                .filter_map(|(channel, item)| Some((*channel, CollectItem::compile(item, cx)?)))
                .collect(),
        };
        let cancel = cx.phrases.new_set(Whole::Anywhere, false);
        let built_in = PhraseList {
            groups: vec![(
                Some("en".to_string()),
                DEFAULT_CANCEL
                    .iter()
                    .map(|p| unlocated(p.to_string()))
                    .collect(),
            )],
            overrides: ListOverrides::default(),
        };
        cx.add_phrases(cancel, &built_in, ListOverrides::EXACT);
        cx.add_phrases(cancel, &spec.cancel, ListOverrides::EXACT);
        Triage {
            cancel: Some(cancel),
            max_questions,
            retry: spec.retry.clone().unwrap_or_else(|| DEFAULT_RETRY.into()),
            cancelled: spec
                .cancelled
                .clone()
                .unwrap_or_else(|| DEFAULT_CANCELLED.into()),
            contact,
        }
    }
}

impl Default for Triage {
    fn default() -> Triage {
        Triage {
            cancel: None,
            max_questions: DEFAULT_MAX_QUESTIONS,
            retry: DEFAULT_RETRY.into(),
            cancelled: DEFAULT_CANCELLED.into(),
            contact: Vec::new(),
        }
    }
}

/// `contact: true`: an e-mail address for `email`, a phone number for `callback`.
fn built_in_contact(cx: &mut Compiler) -> Vec<(FallbackChannel, CollectItem)> {
    let item = |attribute: &str, ask: &str, pattern: &str| CollectSpec {
        attribute: unlocated(attribute.to_string()),
        ask: unlocated(ask.to_string()),
        pattern: Some(unlocated(pattern.to_string())),
    };
    [
        (
            FallbackChannel::Email,
            item(
                "email",
                "What e-mail address should we reply to?",
                r"[^\s@]+@[^\s@]+\.[^\s@]+",
            ),
        ),
        (
            FallbackChannel::Callback,
            item(
                "phone",
                "What number should we call you back on?",
                r"\+?[0-9][0-9 ().-]{5,18}[0-9]",
            ),
        ),
    ]
    .into_iter()
    .filter_map(|(channel, spec)| Some((channel, CollectItem::compile(&spec, cx)?)))
    .collect()
}

impl CollectItem {
    pub(crate) fn compile(spec: &CollectSpec, cx: &mut Compiler) -> Option<CollectItem> {
        let attribute = &spec.attribute.value;
        if !is_simple_name(attribute) {
            cx.error_at(
                &spec.attribute,
                "invalid-attribute",
                format!("`{attribute}` is not an attribute name"),
            )
            .set_help("use letters, digits, `-`, `_` and `.`, such as `order_id`");
        }
        if spec.ask.value.trim().is_empty() {
            cx.error_at(&spec.ask, "empty-question", "the question `ask` is empty")
                .set_help("write the question the bot asks, such as `What is your order number?`");
        }
        let pattern = match &spec.pattern {
            Some(source) => Some((
                cx.compile_pattern(source, "it runs on the user's text as written")?,
                source.value.clone(),
            )),
            None => None,
        };
        Some(CollectItem {
            attribute: Arc::from(attribute.as_str()),
            ask: spec.ask.value.clone(),
            pattern,
        })
    }

    /// The answer a turn gives: the attribute when the bot set it, else
    /// the pattern's first match in the text (the whole text without one).
    fn answer(&self, turn: &Turn) -> Option<String> {
        if let Some(value) = attribute_value(turn, &self.attribute) {
            return Some(value);
        }
        let text = turn.text.trim();
        let value = match &self.pattern {
            Some((regex, _)) => regex.find(text).map(|m| &text[m.range()])?,
            None => text,
        };
        (!value.is_empty()).then(|| bounded(value))
    }
}

/// Compiles a rule's or a queue's `collect` list, refusing an attribute listed twice.
pub(crate) fn compile_list(list: &[CollectSpec], cx: &mut Compiler) -> Vec<CollectItem> {
    let mut items: Vec<CollectItem> = Vec::new();
    for spec in list {
        if items.iter().any(|i| *i.attribute == *spec.attribute.value) {
            cx.error_at(
                &spec.attribute,
                "duplicate-attribute",
                format!("attribute `{}` is collected twice", spec.attribute.value),
            )
            .set_help("list each attribute once");
            continue;
        }
        items.extend(CollectItem::compile(spec, cx));
    }
    items
}

/// A turn's attribute as text, when it is set to something.
fn attribute_value(turn: &Turn, name: &str) -> Option<String> {
    match turn.attributes.get(name)? {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(bounded(s.trim())),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn bounded(value: &str) -> String {
    value[..floor_char_boundary(value, value.len().min(MAX_VALUE_BYTES))].to_string()
}

impl Handoff {
    /// What `rule` collects: its own list, else that of `queue`, its route's.
    fn collect_list<'e>(&'e self, rule: &'e Handover, queue: &str) -> &'e [CollectItem] {
        match &rule.collect {
            Some(list) => list,
            None => self.queues.get(queue).map_or(&[], |queue| &queue.collect),
        }
    }

    /// What there is to collect for `rule`, in order: the contact the
    /// offline path's channel needs (`offline`; without it no one can
    /// follow up), then the rule's list.
    fn to_collect<'e>(
        &'e self,
        rule: &'e Handover,
        queue: &str,
        offline: Option<FallbackChannel>,
    ) -> impl Iterator<Item = &'e CollectItem> {
        let contact = offline.and_then(|channel| {
            self.triage
                .contact
                .iter()
                .find(|(c, _)| *c == channel)
                .map(|(_, item)| item)
        });
        contact.into_iter().chain(self.collect_list(rule, queue))
    }

    /// The channel of the offline path if `queue` is closed now.
    fn offline_channel(
        &self,
        queue: &str,
        turn: &Turn,
        clock: &mut Clock,
    ) -> Option<FallbackChannel> {
        self.closed(queue, turn, clock)
            .map(|_| self.fallback_for(queue))
    }

    /// Hands the conversation over for `rule`, first asking what it
    /// collects when the turn lacks it (never for an urgent rule, nor
    /// without a `handoff` section); `step` explains the move as in
    /// [`Handoff::conclude`].
    pub(crate) fn hand_over(
        &self,
        rule: &Handover,
        turn: &Turn,
        state: &mut ConversationState,
        clock: &mut Clock,
        decision: &mut Decision,
        step: (Phase, &str, impl FnOnce() -> String),
    ) {
        if self.lifecycle.is_some() && rule.route.priority() != Priority::Urgent {
            let route = self.route_for(rule, turn);
            let queue = &route.queue;
            let offline = self.offline_channel(queue, turn, clock);
            let mut known = BTreeMap::new();
            self.take_attributes((rule, queue), offline, turn, &mut known);
            if let Some(item) = self.next_question((rule, queue), offline, &known) {
                let first = TriageMemory {
                    asking: item.attribute.clone(),
                    asked: 1,
                    collected: known,
                    offline,
                };
                self.ask((rule, &route), item, first, false, state, decision, step.0);
                return;
            }
        }
        self.conclude(rule, Action::Escalate, turn, state, clock, decision, step);
    }

    /// The first item not collected yet.
    fn next_question<'e>(
        &'e self,
        (rule, queue): (&'e Handover, &str),
        offline: Option<FallbackChannel>,
        collected: &BTreeMap<String, String>,
    ) -> Option<&'e CollectItem> {
        self.to_collect(rule, queue, offline)
            .find(|item| !collected.contains_key(&*item.attribute))
    }

    /// Adds what the turn's attributes give (the bot set them) to `collected`.
    fn take_attributes(
        &self,
        (rule, queue): (&Handover, &str),
        offline: Option<FallbackChannel>,
        turn: &Turn,
        collected: &mut BTreeMap<String, String>,
    ) {
        for item in self.to_collect(rule, queue, offline) {
            if let Some(value) = attribute_value(turn, &item.attribute) {
                collected.entry(item.attribute.to_string()).or_insert(value);
            }
        }
    }

    /// A `collect` decision asking for `item`, as `triage` (which counts
    /// this question) remembers; `again` after an answer the pattern refused.
    #[allow(clippy::too_many_arguments)]
    fn ask(
        &self,
        (rule, route): (&Handover, &Route),
        item: &CollectItem,
        triage: TriageMemory,
        again: bool,
        state: &mut ConversationState,
        decision: &mut Decision,
        from: Phase,
    ) {
        let settings = &self.triage;
        let question = triage.asked;
        decision.action = Action::Collect;
        self.decided_by(rule, route, decision);
        decision.message = Some(match again {
            true => format!("{} {}", settings.retry, item.ask),
            false => item.ask.clone(),
        });
        decision.collect = Some(Collect {
            attribute: item.attribute.clone(),
            question,
            of: settings.max_questions,
        });
        let queue = &route.queue;
        decision.reasons.push(reason(
            (&rule.id, rule.kind),
            Action::Collect,
            (from, Phase::Collecting),
            "collecting",
            format!(
                "asking for `{}` before handing over to queue `{queue}` (question {question} of at most {})",
                item.attribute, settings.max_questions
            ),
        ));
        let turns = state.turns();
        let memory = state.handoff_mut();
        if memory.phase != Phase::Collecting {
            memory.since_turn = turns;
            memory.since = None;
        }
        memory.phase = Phase::Collecting;
        memory.rule = Some(rule.id.clone());
        memory.kind = Some(rule.kind);
        memory.queue = Some(queue.clone());
        memory.triage = Some(triage);
    }

    /// A cancel phrase during triage: back to the bot, nothing handed over.
    pub(crate) fn cancel_triage(
        &self,
        words: &str,
        state: &mut ConversationState,
        decision: &mut Decision,
    ) {
        let (rule_id, kind, queue) = started_by(state.handoff());
        decision.message = Some(self.triage.cancelled.clone());
        decision.reasons.push(reason(
            (&rule_id, kind),
            Action::None,
            (Phase::Collecting, Phase::Bot),
            "triage cancelled",
            format!("the user called off the handoff to queue `{queue}`: \"{words}\""),
        ));
        leave_queue(state);
    }

    /// A user turn during triage that no escalating rule took: the answer
    /// to the question asked, then the next question or the handoff.
    pub(crate) fn answer_triage(
        &self,
        turn: &Turn,
        state: &mut ConversationState,
        clock: &mut Clock,
        decision: &mut Decision,
    ) {
        let (rule_id, kind, _) = started_by(state.handoff());
        let (Some(rule), Some(triage)) = (self.rule(&rule_id), state.handoff().triage.clone())
        else {
            decision.reasons.push(reason(
                (&rule_id, kind),
                Action::None,
                (Phase::Collecting, Phase::Bot),
                "triage dropped",
                format!("the rule `{rule_id}` that started the triage is not in the policy"),
            ));
            leave_queue(state);
            return;
        };
        let offline = triage.offline;
        let mut collected = triage.collected;
        let route = self.route_for(rule, turn);
        let queue = &*route.queue;
        let asked = self
            .to_collect(rule, queue, offline)
            .find(|item| item.attribute == triage.asking);
        let answer = asked.and_then(|item| item.answer(turn));
        let refused = answer.is_none();
        let detail = match (asked, answer) {
            (Some(item), Some(value)) => {
                collected.insert(item.attribute.to_string(), value);
                format!("the user gave `{}`", item.attribute)
            }
            (
                Some(CollectItem {
                    pattern: Some((_, pattern)),
                    ..
                }),
                None,
            ) => format!(
                "the answer has no `{}` (pattern `{pattern}`)",
                triage.asking
            ),
            _ => format!("the answer gives no `{}`", triage.asking),
        };
        self.take_attributes((rule, queue), offline, turn, &mut collected);
        let event = if refused {
            "triage answer refused"
        } else {
            "triage answered"
        };
        let next = self.next_question((rule, queue), offline, &collected);
        let max = self.triage.max_questions;
        if let Some(item) = next.filter(|_| triage.asked < max) {
            decision.reasons.push(reason(
                (&rule.id, rule.kind),
                Action::Collect,
                (Phase::Collecting, Phase::Collecting),
                event,
                detail,
            ));
            let again = refused && item.attribute == triage.asking;
            let next = TriageMemory {
                asking: item.attribute.clone(),
                asked: triage.asked + 1,
                collected,
                offline,
            };
            self.ask(
                (rule, &route),
                item,
                next,
                again,
                state,
                decision,
                Phase::Collecting,
            );
            return;
        }
        let missing: Vec<String> = self
            .to_collect(rule, queue, offline)
            .filter(|item| !collected.contains_key(&*item.attribute))
            .map(|item| format!("`{}`", item.attribute))
            .collect();
        let done = match missing.is_empty() {
            true => format!("{detail}; the triage is complete"),
            false => format!(
                "{detail}; handing over after {} question{} without {}",
                triage.asked,
                if triage.asked == 1 { "" } else { "s" },
                missing.join(", ")
            ),
        };
        let memory = state.handoff_mut();
        memory.phase = Phase::Bot;
        memory.triage = None;
        decision.collected = collected;
        self.conclude(
            rule,
            Action::Escalate,
            turn,
            state,
            clock,
            decision,
            (Phase::Collecting, event, || done),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::tests::{engine, policy_errors};
    use crate::{Action, ConversationReference, ConversationState, Decision, Phase, Turn};

    const POLICY: &str = r#"
version: 1
handoff:
  triage: { contact: true }
  fallback_channel: email
queues:
  orders:
    collect:
      - { attribute: order_id, ask: "What is your order number?", pattern: '\b\d{6}\b' }
      - { attribute: item, ask: "Which item is it about?" }
rules:
  - { id: crisis, when: { keywords: ["hurt myself"] }, kind: planned, action: escalate,
      priority: 100, route: { queue: crisis, priority: urgent },
      collect: [{ attribute: name, ask: "What is your name?" }] }
  - { id: order, when: { keywords: ["my order"] }, kind: planned, action: escalate,
      route: { queue: orders } }
  - { id: no-triage, when: { keywords: ["my invoice"] }, kind: planned, action: escalate,
      route: { queue: orders }, collect: [] }
  - { id: human, when: { keywords: ["a human"] }, kind: fallback, action: escalate }
  - { id: unsure, when: { keywords: ["not sure"] }, kind: fallback, action: offer,
      route: { queue: orders } }
"#;

    fn turn(json: &str) -> Turn {
        Turn::from_json(json.as_bytes()).unwrap()
    }

    /// Each step's (action, phase, attribute asked or the message).
    type Step<'a> = (&'a str, Action, Phase, &'a str);

    #[test]
    fn asks_one_question_at_a_time_then_hands_over() {
        let engine = engine(POLICY);
        let cases: &[(&str, &[Step])] = &[
            (
                "the queue's questions in order, the pattern's match is the value",
                &[
                    (
                        r#"{"text": "where is my order"}"#,
                        Action::Collect,
                        Phase::Collecting,
                        "order_id",
                    ),
                    (
                        r#"{"text": "it's 123456 I think"}"#,
                        Action::Collect,
                        Phase::Collecting,
                        "item",
                    ),
                    (
                        r#"{"text": "the blue kettle"}"#,
                        Action::Escalate,
                        Phase::Waiting,
                        "Let me connect you with a person who can help.",
                    ),
                ],
            ),
            (
                "an answer the pattern refuses is asked again, and counts",
                &[
                    (
                        r#"{"text": "where is my order"}"#,
                        Action::Collect,
                        Phase::Collecting,
                        "order_id",
                    ),
                    (
                        r#"{"text": "dunno"}"#,
                        Action::Collect,
                        Phase::Collecting,
                        "order_id",
                    ),
                    (
                        r#"{"text": "still dunno"}"#,
                        Action::Escalate,
                        Phase::Waiting,
                        "Let me connect you with a person who can help.",
                    ),
                ],
            ),
            (
                "what the turn's attributes have is not asked",
                &[
                    (
                        r#"{"text": "where is my order", "attributes": {"order_id": 654321}}"#,
                        Action::Collect,
                        Phase::Collecting,
                        "item",
                    ),
                    (
                        r#"{"text": "", "attributes": {"item": "kettle"}}"#,
                        Action::Escalate,
                        Phase::Waiting,
                        "Let me connect you with a person who can help.",
                    ),
                ],
            ),
            (
                "nothing missing, no question",
                &[(
                    r#"{"text": "my order", "attributes": {"order_id": "1", "item": "x"}}"#,
                    Action::Escalate,
                    Phase::Waiting,
                    "Let me connect you with a person who can help.",
                )],
            ),
            (
                "`collect: []` on the rule overrides the queue's",
                &[(
                    r#"{"text": "about my invoice"}"#,
                    Action::Escalate,
                    Phase::Waiting,
                    "Let me connect you with a person who can help.",
                )],
            ),
            (
                "an urgent rule never waits, though it lists questions",
                &[(
                    r#"{"text": "I want to hurt myself"}"#,
                    Action::Escalate,
                    Phase::Waiting,
                    "Let me connect you with a person who can help.",
                )],
            ),
            (
                "a crisis during triage hands over at once",
                &[
                    (
                        r#"{"text": "where is my order"}"#,
                        Action::Collect,
                        Phase::Collecting,
                        "order_id",
                    ),
                    (
                        r#"{"text": "I want to hurt myself"}"#,
                        Action::Escalate,
                        Phase::Waiting,
                        "Let me connect you with a person who can help.",
                    ),
                ],
            ),
            (
                "never mind calls the triage off",
                &[
                    (
                        r#"{"text": "where is my order"}"#,
                        Action::Collect,
                        Phase::Collecting,
                        "order_id",
                    ),
                    (
                        r#"{"text": "never mind"}"#,
                        Action::None,
                        Phase::Bot,
                        "OK, I won't pass you on. How else can I help?",
                    ),
                    (r#"{"text": "hello"}"#, Action::None, Phase::Bot, ""),
                ],
            ),
            (
                "an offer that rules can fire during triage is an answer",
                &[
                    (
                        r#"{"text": "where is my order"}"#,
                        Action::Collect,
                        Phase::Collecting,
                        "order_id",
                    ),
                    (
                        r#"{"text": "not sure, 111222"}"#,
                        Action::Collect,
                        Phase::Collecting,
                        "item",
                    ),
                ],
            ),
            (
                "an accepted offer collects before it hands over",
                &[
                    (
                        r#"{"text": "not sure"}"#,
                        Action::Offer,
                        Phase::Offered,
                        "Would you like me to connect you with a person?",
                    ),
                    (
                        r#"{"text": "yes"}"#,
                        Action::Collect,
                        Phase::Collecting,
                        "order_id",
                    ),
                ],
            ),
            (
                "offline, the contact the channel needs comes first",
                &[
                    (
                        r#"{"text": "where is my order", "agents_available": false}"#,
                        Action::Collect,
                        Phase::Collecting,
                        "email",
                    ),
                    (
                        r#"{"text": "it's jo@example.com thanks"}"#,
                        Action::Collect,
                        Phase::Collecting,
                        "order_id",
                    ),
                    (
                        r#"{"text": "123456", "agents_available": false}"#,
                        Action::Escalate,
                        Phase::Bot,
                        "Our team is offline right now. Leave your email and we'll get back to you as soon as we're in.",
                    ),
                ],
            ),
        ];
        for (name, steps) in cases {
            let mut state = ConversationState::new();
            for (i, (json, action, phase, want)) in steps.iter().enumerate() {
                let saved = state.to_json();
                state = ConversationState::from_json(saved.as_bytes()).unwrap();
                let d = engine.evaluate(&mut state, &turn(json));
                let at = format!("{name}, step {i}");
                assert_eq!((d.action, d.phase), (*action, *phase), "{at}: {d:#?}");
                match &d.collect {
                    Some(collect) => assert_eq!(&*collect.attribute, *want, "{at}"),
                    None => assert_eq!(d.message.as_deref().unwrap_or(""), *want, "{at}"),
                }
            }
        }
    }

    fn run(engine: &crate::Engine, turns: &[&str]) -> (Decision, Vec<Turn>) {
        let mut state = ConversationState::new();
        let turns: Vec<Turn> = turns.iter().map(|t| turn(t)).collect();
        let last = turns.iter().map(|t| engine.evaluate(&mut state, t)).last();
        (last.unwrap(), turns)
    }

    #[test]
    fn the_handoff_carries_what_was_collected() {
        let engine = engine(POLICY);
        let (d, turns) = run(
            &engine,
            &[
                r#"{"text": "where is my order", "attributes": {"tier": "gold"}}"#,
                r#"{"text": "order 123456"}"#,
                r#"{"text": "kettle"}"#,
            ],
        );
        assert!(d.starts_handoff());
        let want = [("item", "kettle"), ("order_id", "123456")];
        let collected: Vec<(&str, &str)> = d
            .collected
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(collected, want);
        let event = engine.handoff_initiate(&d, &ConversationReference::placeholder("c"), &turns);
        let attributes = &event["value"]["attributes"];
        assert_eq!(attributes["order_id"], "123456");
        assert_eq!(attributes["tier"], "gold");
        let lifecycle = &d.reasons.last().unwrap().evidence;
        let json = serde_json::to_value(lifecycle).unwrap();
        assert_eq!(json["from"], "collecting");
        assert_eq!(json["event"], "triage answered");

        // "just get me a human" during triage hands over with what was collected.
        let (d, _) = run(
            &engine,
            &[
                r#"{"text": "my order"}"#,
                r#"{"text": "123456"}"#,
                r#"{"text": "a human please"}"#,
            ],
        );
        assert_eq!(
            (d.action, d.rule.as_deref()),
            (Action::Escalate, Some("human"))
        );
        assert_eq!(
            d.collected.get("order_id").map(String::as_str),
            Some("123456")
        );
    }

    #[test]
    fn a_long_answer_is_kept_short() {
        let engine = engine(POLICY);
        let long = format!(r#"{{"text": "{}"}}"#, "é".repeat(300));
        let (d, _) = run(
            &engine,
            &[
                r#"{"text": "my order", "attributes": {"order_id": "1"}}"#,
                &long,
            ],
        );
        let item = &d.collected["item"];
        assert!(item.len() <= super::MAX_VALUE_BYTES && item.len() >= super::MAX_VALUE_BYTES - 1);
    }

    #[test]
    fn without_a_lifecycle_or_with_bad_items_the_policy_does_not_load() {
        let rule = |collect: &str| {
            format!(
                "version: 1\nhandoff: {{}}\nrules:\n  - {{ id: r, when: {{ keywords: [x] }}, kind: planned, action: escalate, collect: {collect} }}\n"
            )
        };
        let cases = [
            (
                "version: 1\nrules:\n  - { id: r, when: { keywords: [x] }, kind: planned, action: escalate, collect: [{ attribute: a, ask: b }] }\n".to_string(),
                "collect-without-handoff",
            ),
            (rule("[{ attribute: 'order id', ask: b }]"), "invalid-attribute"),
            (rule("[{ attribute: a, ask: ' ' }]"), "empty-question"),
            (rule("[{ attribute: a, ask: b }, { attribute: a, ask: c }]"), "duplicate-attribute"),
            (rule("[{ attribute: a, ask: b, pattern: '(' }]"), "invalid-pattern"),
            (rule("[{ attribute: a, ask: b, pattern: 'a{100000}' }]"), "pattern-too-big"),
            (
                "version: 1\nhandoff: { triage: { max_questions: 0 } }\nrules: []\n".to_string(),
                "out-of-range",
            ),
        ];
        for (yaml, code) in cases {
            let errors = policy_errors(&yaml);
            assert_eq!(errors[0].0, code, "{yaml}: {errors:?}");
            assert!(errors[0].1 > 0, "{yaml}: located");
        }
    }

    #[test]
    fn questions_never_asked_are_warned_of() {
        let engine = engine(
            r#"
version: 1
handoff: { triage: { max_questions: 1 } }
rules:
  - { id: urgent, when: { keywords: [x] }, kind: planned, action: escalate,
      route: { priority: urgent }, collect: [{ attribute: a, ask: b }] }
  - { id: long, when: { keywords: [y] }, kind: planned, action: escalate,
      collect: [{ attribute: a, ask: b }, { attribute: c, ask: d }] }
"#,
        );
        let warnings: Vec<(&str, String)> = engine
            .warnings()
            .map(|w| (w.code(), w.message().to_string()))
            .collect();
        assert_eq!(
            warnings,
            [
                (
                    "collect-never-asked",
                    "rule `urgent` routes with priority `urgent`, which never waits for triage"
                        .to_string()
                ),
                (
                    "collect-never-asked",
                    "rule `long` collects 2 values, but the triage asks at most 1 questions"
                        .to_string()
                ),
            ]
        );
    }
}
