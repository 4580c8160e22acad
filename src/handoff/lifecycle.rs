//! The conversation's lifecycle: `bot` -> (`offered`) -> (`collecting`, see
//! [`super::triage`]) -> `waiting` ->
//! `with_agent` -> `bot`, and `bot` -> `consulting` (see [`super::consult`])
//! -> `bot`, for policies with a `handoff` section.
//!
//! ```yaml
//! handoff:
//!   offer:
//!     accept: ["go ahead"]          # added to yes, sure, ok... (whole message)
//!     decline: ["maybe later"]      # added to no, no thanks, not now...
//!     accept_menu: [talk_to_agent]  # added to `yes`
//!     cooldown: { turns: 5 }        # the declined rule does not offer again
//!   waiting:
//!     cancel: ["forget about it"]   # added to cancel, never mind... (whole message)
//!     timeout: { turns: 6, minutes: 10 }   # then the offline path
//!   messages:
//!     waiting: "You're in the queue. Expected wait: {wait}."
//! ```
//!
//! Every step puts a reason with trigger `lifecycle` in the decision.

use std::borrow::Cow;
use std::sync::Arc;

use jiff::Timestamp;
use serde_saphyr::Spanned;

use crate::compile::Compiler;
use crate::decision::{Action, Decision, EvalError, Evidence, Kind, Reason, Route, Trigger};
use crate::error::did_you_mean;
use crate::phrases::Heard;
use crate::phrases::{SetId, Whole};
use crate::policy::{HandoffSpec, ListOverrides, PeriodSpec, PhraseList, is_locale_tag, unlocated};
use crate::state::{ConversationState, Cooldown, HandoffMemory, Phase};
use crate::turn::Turn;

use super::hours::Closed;
use super::opens::Language;
use super::{Handoff, HandoffState, HandoffStatus, Handover};

const DEFAULT_ACCEPT: &[&str] = &[
    "yes",
    "yes please",
    "yeah",
    "yep",
    "sure",
    "ok",
    "okay",
    "please",
    "please do",
    "y",
    "connect me",
    "yes connect me",
    "go ahead",
];
const DEFAULT_DECLINE: &[&str] = &[
    "no",
    "no thanks",
    "no thank you",
    "nope",
    "not now",
    "no need",
    "n",
    "i'm fine",
    "im fine",
    "i'm good",
    "maybe later",
];
const DEFAULT_CANCEL: &[&str] = &[
    "cancel",
    "never mind",
    "nevermind",
    "forget it",
    "stop",
    "stop waiting",
    "leave the queue",
    "i'll wait for the bot",
    "back to the bot",
];

const DEFAULT_WAITING: &str = "You're in the queue for a person. Expected wait: {wait}. Say \"cancel\" to go back to the assistant.";
const DEFAULT_CANCELLED: &str = "OK, I've taken you out of the queue. How else can I help?";
const DEFAULT_DECLINED: &str = "No problem. How else can I help?";
const DEFAULT_COMPLETED: &str =
    "You're back with the virtual assistant. Is there anything else I can help with?";

/// The placeholders lifecycle messages may use.
const PLACEHOLDERS: [&str; 3] = ["queue", "wait", "opens"];

/// A compiled lifecycle.
#[derive(Debug)]
pub(crate) struct Lifecycle {
    accept: SetId,
    decline: SetId,
    cancel: SetId,
    accept_menu: Vec<String>,
    decline_menu: Vec<String>,
    cooldown: Period,
    timeout: Period,
    messages: Messages,
}

#[derive(Debug)]
struct Messages {
    waiting: String,
    cancelled: String,
    declined: String,
    accepted: Option<String>,
    completed: String,
    timeout: Option<String>,
    failed: Option<String>,
}

/// Turns, minutes, or both.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Period {
    pub(crate) turns: Option<u32>,
    pub(crate) minutes: Option<u32>,
}

impl Lifecycle {
    pub(crate) fn compile(section: &Spanned<HandoffSpec>, cx: &mut Compiler) -> Lifecycle {
        let spec = &section.value;
        let mut phrases = |defaults: &[&str], own: &PhraseList| {
            let set = cx.phrases.new_set(Whole::Message, false);
            let built_in = PhraseList {
                groups: vec![(
                    Some("en".to_string()),
                    defaults.iter().map(|p| unlocated(p.to_string())).collect(),
                )],
                overrides: ListOverrides::default(),
            };
            cx.add_phrases(set, &built_in, ListOverrides::EXACT);
            cx.add_phrases(set, own, ListOverrides::EXACT);
            set
        };
        let accept = phrases(DEFAULT_ACCEPT, &spec.offer.accept);
        let decline = phrases(DEFAULT_DECLINE, &spec.offer.decline);
        let cancel = phrases(DEFAULT_CANCEL, &spec.waiting.cancel);
        let cooldown = period(spec.offer.cooldown.as_ref(), "cooldown", cx).unwrap_or(Period {
            turns: Some(5),
            minutes: None,
        });
        let timeout = period(spec.waiting.timeout.as_ref(), "timeout", cx).unwrap_or(Period {
            turns: None,
            minutes: Some(10),
        });
        let m = &spec.messages;
        for (name, text) in m.named() {
            if let Some((message, help)) =
                placeholder_problem(name, text.as_ref().map(|t| t.value.as_str()))
            {
                cx.error_at(section, "unknown-placeholder", message)
                    .set_help(help);
            }
        }
        Lifecycle {
            accept,
            decline,
            cancel,
            accept_menu: with_default("yes", &spec.offer.accept_menu),
            decline_menu: with_default("no", &spec.offer.decline_menu),
            cooldown,
            timeout,
            messages: Messages {
                waiting: text(&m.waiting).unwrap_or_else(|| DEFAULT_WAITING.into()),
                cancelled: text(&m.cancelled).unwrap_or_else(|| DEFAULT_CANCELLED.into()),
                declined: text(&m.declined).unwrap_or_else(|| DEFAULT_DECLINED.into()),
                accepted: text(&m.accepted),
                completed: text(&m.completed).unwrap_or_else(|| DEFAULT_COMPLETED.into()),
                timeout: text(&m.timeout),
                failed: text(&m.failed),
            },
        }
    }

    /// Whether the queue timeout counts minutes, so entering the queue
    /// must note the time.
    pub(crate) fn timeout_in_minutes(&self) -> bool {
        self.timeout.minutes.is_some()
    }
}

/// A message's text, without its place in the file.
pub(crate) fn text(message: &Option<Spanned<String>>) -> Option<String> {
    message.as_ref().map(|m| m.value.clone())
}

impl Period {
    /// How long the phase has lasted (`3 turns`, `10 minutes`) if that is
    /// past this period: in turns since `since_turn`, or in minutes since
    /// `since` at the clock's time.
    pub(crate) fn over(&self, state: &ConversationState, clock: &mut Clock) -> Option<String> {
        let memory = state.handoff();
        let waited = state.turns().saturating_sub(memory.since_turn);
        if let Some(turns) = self.turns.filter(|&limit| waited >= limit) {
            return Some(format!("{turns} turns"));
        }
        let (limit, since) = self.minutes.zip(memory.since)?;
        let minutes = (clock.now().as_second() - since) / 60;
        (minutes >= i64::from(limit)).then(|| format!("{minutes} minutes"))
    }
}

fn with_default(default: &str, own: &[String]) -> Vec<String> {
    std::iter::once(default.to_string())
        .chain(own.iter().cloned())
        .collect()
}

pub(crate) fn period(
    spec: Option<&Spanned<PeriodSpec>>,
    name: &str,
    cx: &mut Compiler,
) -> Option<Period> {
    let spanned = spec?;
    let PeriodSpec { turns, minutes } = spanned.value;
    if turns.is_none() && minutes.is_none() || turns == Some(0) || minutes == Some(0) {
        cx.error_at(
            spanned,
            "out-of-range",
            format!("`{name}` needs a number of turns or minutes above 0"),
        )
        .set_help(format!(
            "write `{name}: {{ turns: 5 }}`, `{{ minutes: 10 }}` or both"
        ));
        return None;
    }
    Some(Period { turns, minutes })
}

/// The error and help for a message (named `name`) that uses a `{word}`
/// which is not a placeholder, if it does.
pub(crate) fn placeholder_problem(name: &str, text: Option<&str>) -> Option<(String, String)> {
    let unknown = text?
        .split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(word, _)| word))
        .find(|word| !PLACEHOLDERS.contains(word))?;
    let help = did_you_mean(unknown, PLACEHOLDERS)
        .unwrap_or_else(|| "messages may use `{queue}`, `{wait}` and `{opens}`".to_string());
    Some((
        format!("the `{name}` message uses `{{{unknown}}}`, which is not filled in"),
        help,
    ))
}

/// A message with `{queue}`, `{wait}` and `{opens}` (when given) filled
/// in, in one pass (a queue name that itself holds `{wait}` stays as it is).
pub(crate) fn fill(template: &str, queue: &str, wait: &str, opens: Option<&str>) -> String {
    let mut message = String::with_capacity(template.len() + queue.len() + wait.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        message.push_str(&rest[..open]);
        rest = &rest[open..];
        let (value, placeholder) = if rest.starts_with("{queue}") {
            (queue, "{queue}")
        } else if rest.starts_with("{wait}") {
            (wait, "{wait}")
        } else if let Some(opens) = opens.filter(|_| rest.starts_with("{opens}")) {
            (opens, "{opens}")
        } else {
            ("{", "{")
        };
        message.push_str(value);
        rest = &rest[placeholder.len()..];
    }
    message.push_str(rest);
    message
}

/// The time of a turn: its `timestamp`, or the current time when it has
/// none. Read at most once per turn, and only when a step needs it.
pub(crate) struct Clock<'a> {
    timestamp: Option<&'a str>,
    now: Option<Timestamp>,
    /// A timestamp that could not be read, reported once.
    pub(crate) error: Option<String>,
}

impl<'a> Clock<'a> {
    pub(crate) fn new(timestamp: Option<&'a str>) -> Clock<'a> {
        Clock {
            timestamp,
            now: None,
            error: None,
        }
    }

    pub(crate) fn now(&mut self) -> Timestamp {
        if let Some(now) = self.now {
            return now;
        }
        let now = match self.timestamp.map(str::parse::<Timestamp>) {
            Some(Ok(at)) => at,
            Some(Err(_)) => {
                self.error = Some(format!(
                    "the turn's timestamp `{}` is not RFC 3339 (such as `2026-11-20T14:03:00Z`): used the current time",
                    self.timestamp.unwrap_or_default()
                ));
                Timestamp::now()
            }
            None => Timestamp::now(),
        };
        self.now = Some(now);
        now
    }

    /// Moves a timestamp error, if any, into the decision.
    pub(crate) fn report(self, rule: &str, decision: &mut Decision) {
        if let Some(message) = self.error {
            decision.errors.push(EvalError {
                rule: Arc::from(rule),
                message,
            });
        }
    }
}

/// A reason with trigger `lifecycle`.
pub(crate) fn reason(
    memory: (&Arc<str>, Kind),
    action: Action,
    (from, to): (Phase, Phase),
    event: &str,
    detail: String,
) -> Reason {
    Reason {
        rule: memory.0.clone(),
        trigger: Trigger::Lifecycle,
        kind: memory.1,
        action,
        detail,
        evidence: Evidence::Lifecycle {
            from,
            to,
            event: event.to_string(),
        },
    }
}

/// The rule a handoff started with (`handoff` when there is none) and its
/// kind, and the queue it went to (empty when none).
pub(crate) fn started_by(memory: &HandoffMemory) -> (Arc<str>, Kind, Arc<str>) {
    (
        memory.rule.clone().unwrap_or_else(|| Arc::from("handoff")),
        memory.kind.unwrap_or(Kind::Fallback),
        memory.queue.clone().unwrap_or_else(|| Arc::from("")),
    )
}

impl Handoff {
    /// A user turn while the conversation waits for an agent: leave the
    /// queue on a cancel phrase, take the offline path on timeout, or give
    /// the waiting message.
    pub(crate) fn while_waiting(
        &self,
        lifecycle: &Lifecycle,
        heard: Heard,
        state: &mut ConversationState,
        turn: &Turn,
        clock: &mut Clock,
        decision: &mut Decision,
    ) {
        let memory = state.handoff();
        let (rule_id, kind, queue) = started_by(memory);
        if let Some(words) = heard.said(lifecycle.cancel, &turn.text) {
            let language = self.language_of(turn);
            decision.message =
                Some(self.say(&lifecycle.messages.cancelled, &queue, clock, language));
            decision.reasons.push(reason(
                (&rule_id, kind),
                Action::None,
                (Phase::Waiting, Phase::Bot),
                "cancelled",
                format!("the user left queue `{queue}`: \"{words}\""),
            ));
            leave_queue(state);
            return;
        }
        let waited = state.turns().saturating_sub(memory.since_turn);
        let timed_out = lifecycle.timeout.over(state, clock);
        let wait = self.expected_wait(&queue);
        let language = self.language_of(turn);
        let Some(how_long) = timed_out else {
            decision.message = Some(self.say(&lifecycle.messages.waiting, &queue, clock, language));
            decision.reasons.push(reason(
                (&rule_id, kind),
                Action::None,
                (Phase::Waiting, Phase::Waiting),
                "waiting",
                format!(
                    "waiting in queue `{queue}` for {waited} turn{} (expected wait: {wait})",
                    plural(waited)
                ),
            ));
            return;
        };
        let rule = self.rule(&rule_id);
        self.offline(rule, &queue, (clock, language), decision);
        if let Some(message) = &lifecycle.messages.timeout {
            decision.message = Some(self.say(message, &queue, clock, language));
        }
        decision.reasons.push(reason(
            (&rule_id, kind),
            Action::Escalate,
            (Phase::Waiting, Phase::Bot),
            "queue timeout",
            format!("no agent took the conversation after {how_long} in queue `{queue}`"),
        ));
        leave_queue(state);
    }

    /// A user turn after an offer. Returns whether the answer decided the
    /// turn (accepted or declined); otherwise the rules run as usual.
    pub(crate) fn answer_offer(
        &self,
        lifecycle: &Lifecycle,
        heard: Heard,
        state: &mut ConversationState,
        turn: &Turn,
        clock: &mut Clock,
        decision: &mut Decision,
    ) -> bool {
        let (rule_id, kind, queue) = started_by(state.handoff());
        let picked = |options: &[String]| {
            turn.menu
                .as_deref()
                .filter(|m| options.iter().any(|o| o.eq_ignore_ascii_case(m)))
        };
        let answer =
            |options: &[String], set: SetId| match (picked(options), heard.said(set, &turn.text)) {
                (Some(option), _) => Some(format!("picked menu option `{option}`")),
                (None, Some(words)) => Some(format!("answered \"{words}\"")),
                (None, None) => None,
            };
        let rule = self.rule(&rule_id);
        if let (Some(answer), Some(rule)) = (answer(&lifecycle.accept_menu, lifecycle.accept), rule)
        {
            state.handoff_mut().phase = Phase::Bot;
            self.hand_over(
                rule,
                turn,
                state,
                clock,
                decision,
                (Phase::Offered, "offer accepted", || {
                    format!("the user {answer}")
                }),
            );
            return true;
        }
        state.handoff_mut().phase = Phase::Bot;
        if let Some(answer) = answer(&lifecycle.decline_menu, lifecycle.decline) {
            let cooldown = lifecycle.cooldown;
            let until = cooldown
                .minutes
                .map(|m| clock.now().as_second() + i64::from(m) * 60);
            let turns = state.turns();
            let memory = state.handoff_mut();
            memory.rule = None;
            memory.kind = None;
            memory.cooldowns.retain(|c| c.rule != rule_id);
            memory.cooldowns.push(Cooldown {
                rule: rule_id.clone(),
                until_turn: cooldown.turns.map(|t| turns.saturating_add(t)),
                until,
            });
            let quiet = match (cooldown.turns, cooldown.minutes) {
                (Some(t), Some(m)) => format!("{t} turns and {m} minutes"),
                (Some(t), None) => format!("{t} turns"),
                (None, Some(m)) => format!("{m} minutes"),
                (None, None) => "a while".to_string(),
            };
            let language = self.language_of(turn);
            decision.message =
                Some(self.say(&lifecycle.messages.declined, &queue, clock, language));
            decision.reasons.push(reason(
                (&rule_id, kind),
                Action::None,
                (Phase::Offered, Phase::Bot),
                "offer declined",
                format!("the user {answer}; `{rule_id}` will not offer again for {quiet}"),
            ));
            return true;
        }
        decision.reasons.push(reason(
            (&rule_id, kind),
            Action::None,
            (Phase::Offered, Phase::Bot),
            "offer not answered",
            "the user went on without answering the offer".to_string(),
        ));
        false
    }

    /// Applies a `handoff.status` event from the agent hub to the state,
    /// explained in `decision` (see [`crate::Engine::apply_status`]).
    pub(crate) fn apply_status(
        &self,
        state: &mut ConversationState,
        status: &HandoffStatus,
        mut decision: Decision,
    ) -> Decision {
        let Some(lifecycle) = &self.lifecycle else {
            decision.errors.push(EvalError {
                rule: Arc::from("handoff"),
                message: "the policy has no `handoff` section, so it keeps no handoff phase: status ignored".into(),
            });
            return decision;
        };
        let from = state.phase();
        let (rule_id, kind, queue) = started_by(state.handoff());
        // A status has no time or locale of its own: now, in the policy's language.
        let (clock, language) = (&mut Clock::new(None), self.language);
        match status.state {
            HandoffState::Approved | HandoffState::Declined => {
                self.answer_consult(state, status, (clock, language), &mut decision);
            }
            HandoffState::Accepted => {
                let memory = state.handoff_mut();
                memory.phase = Phase::WithAgent;
                memory.consult = None;
                decision.message = lifecycle
                    .messages
                    .accepted
                    .as_ref()
                    .map(|m| self.say(m, &queue, clock, language));
                decision.reasons.push(reason(
                    (&rule_id, kind),
                    Action::None,
                    (from, Phase::WithAgent),
                    "handoff accepted",
                    format!("an agent from queue `{queue}` has the conversation"),
                ));
            }
            HandoffState::Failed => {
                let rule = self.rule(&rule_id);
                self.offline(rule, &queue, (clock, language), &mut decision);
                if let Some(message) = &lifecycle.messages.failed {
                    decision.message = Some(self.say(message, &queue, clock, language));
                }
                let why = status.message.as_deref().unwrap_or("no reason given");
                decision.reasons.push(reason(
                    (&rule_id, kind),
                    Action::Escalate,
                    (from, Phase::Bot),
                    "handoff failed",
                    format!("the agent hub could not hand over: {why}"),
                ));
                leave_queue(state);
            }
            HandoffState::Completed => {
                state.reset_counters();
                decision.message =
                    Some(self.say(&lifecycle.messages.completed, &queue, clock, language));
                decision.reasons.push(reason(
                    (&rule_id, kind),
                    Action::None,
                    (from, Phase::Bot),
                    "handoff completed",
                    "the agent finished; the bot has the conversation again, its counters reset"
                        .to_string(),
                ));
            }
        }
        decision.phase = state.phase();
        decision
    }

    /// Fills a decision that takes the offline path for `rule` (or for the
    /// queue alone when the policy no longer has the rule).
    pub(crate) fn offline(
        &self,
        rule: Option<&Handover>,
        queue: &str,
        at: (&mut Clock, Language),
        decision: &mut Decision,
    ) {
        decision.action = Action::Escalate;
        if let Some(rule) = rule {
            self.decided_by(rule, &self.route_to(rule, queue), decision);
        }
        self.take_offline_path(rule, queue, at, decision);
    }

    /// The deciding rule's part of a decision: kind, id, `route`, agent note.
    pub(crate) fn decided_by(&self, rule: &Handover, route: &Route, decision: &mut Decision) {
        decision.kind = Some(rule.kind);
        decision.rule = Some(rule.id.clone());
        decision.route = Some(route.clone());
        decision.agent_note = rule.agent_note.clone();
    }

    /// The offline message (the rule's, else the policy's), the queue's
    /// fallback channel, and when the queue opens next (for a queue with hours).
    pub(crate) fn take_offline_path(
        &self,
        rule: Option<&Handover>,
        queue: &str,
        (clock, language): (&mut Clock, Language),
        decision: &mut Decision,
    ) {
        let template = rule.map_or(&self.offline, |rule| &rule.offline);
        let wait = self.expected_wait(queue);
        let (opens, next) = self.opening(queue, clock, language).unzip();
        decision.message = Some(fill(template, queue, wait, opens.as_deref()));
        decision.fallback_channel = Some(self.fallback_for(queue));
        decision.opens_at = next
            .flatten()
            .map(|at| at.timestamp().display_with_offset(at.offset()).to_string());
    }

    /// A message for `queue` with its placeholders filled in; `{opens}` in
    /// `language`, judged at the clock's time.
    pub(crate) fn say(
        &self,
        template: &str,
        queue: &str,
        clock: &mut Clock,
        language: Language,
    ) -> String {
        let opens = template.contains("{opens}").then(|| {
            // A queue without hours only when a saved state names a queue
            // the policy no longer has (compiling refuses the rest).
            self.opening(queue, clock, language)
                .map_or_else(|| language.say(None, clock.now()), |(said, _)| said)
        });
        fill(template, queue, self.expected_wait(queue), opens.as_deref())
    }

    /// When `queue` opens next: as `{opens}` says it in `language`, and the
    /// moment (`None` past the look-ahead). `None` for a queue without hours.
    fn opening(
        &self,
        queue: &str,
        clock: &mut Clock,
        language: Language,
    ) -> Option<(String, Option<jiff::Zoned>)> {
        let hours = self.queues.get(queue)?.hours.as_ref()?;
        let now = clock.now();
        let next = hours.next_open(now);
        Some((language.say(next.as_ref(), now), next))
    }

    /// `rule`'s route for the language of `turn`: its locale's, else the
    /// policy's `default_locale`'s (a tag that is no locale counts as none).
    pub(crate) fn route_for<'e>(&self, rule: &'e Handover, turn: &Turn) -> Cow<'e, Route> {
        let locale = turn
            .locale
            .as_deref()
            .map(str::trim)
            .filter(|l| is_locale_tag(l));
        rule.route.resolve(locale.unwrap_or(&self.default_locale))
    }

    /// `rule`'s route that sent the conversation to `queue` (see
    /// [`HandoverRoute::for_queue`]).
    pub(crate) fn route_to<'e>(&self, rule: &'e Handover, queue: &str) -> Cow<'e, Route> {
        rule.route.for_queue(queue, &self.default_locale)
    }

    /// Completes a decision that `rule` made with `action`: the route and
    /// messages, the offline path when no agent can take it, and (for
    /// policies with a lifecycle) the move to `offered` or `waiting`,
    /// explained as the step `(from, event, detail)` (the detail is
    /// written only when the step is explained).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn conclude(
        &self,
        rule: &Handover,
        action: Action,
        turn: &Turn,
        state: &mut ConversationState,
        clock: &mut Clock,
        decision: &mut Decision,
        (from, event, detail): (Phase, &str, impl FnOnce() -> String),
    ) {
        decision.action = action;
        let route = self.route_for(rule, turn);
        self.decided_by(rule, &route, decision);
        let queue = &route.queue;
        if let Some((closed, local_time)) = self.closed(queue, turn, clock) {
            let language = self.language_of(turn);
            self.take_offline_path(Some(rule), queue, (clock, language), decision);
            let why = match &local_time {
                Some(at) => format!("queue `{queue}` is closed ({closed}) at {at}"),
                None => format!("no agents are available for queue `{queue}`"),
            };
            decision.reasons.push(Reason {
                rule: rule.id.clone(),
                trigger: Trigger::Availability,
                kind: rule.kind,
                action,
                detail: why,
                evidence: Evidence::Availability {
                    queue: queue.clone(),
                    closed,
                    local_time,
                },
            });
            if from != Phase::Bot {
                decision.reasons.push(reason(
                    (&rule.id, rule.kind),
                    action,
                    (from, Phase::Bot),
                    event,
                    format!("{}, but no agent can take it now", detail()),
                ));
            }
            return;
        }
        let message = match action {
            Action::Offer => &rule.offer,
            _ => &rule.online,
        };
        decision.message = Some(self.say(message, queue, clock, self.language_of(turn)));
        let Some(lifecycle) = &self.lifecycle else {
            return;
        };
        let to = match action {
            Action::Offer => Phase::Offered,
            _ => Phase::Waiting,
        };
        let since = (to == Phase::Waiting && lifecycle.timeout_in_minutes())
            .then(|| clock.now().as_second());
        let turns = state.turns();
        let memory = state.handoff_mut();
        memory.phase = to;
        memory.rule = Some(rule.id.clone());
        memory.kind = Some(rule.kind);
        memory.queue = Some(queue.clone());
        memory.since_turn = turns;
        memory.since = since;
        decision.reasons.push(reason(
            (&rule.id, rule.kind),
            action,
            (from, to),
            event,
            detail(),
        ));
    }

    /// Why no agent can take a conversation for `queue` now, if none can:
    /// the turn says agents are unavailable, or the queue's hours.
    pub(crate) fn closed(
        &self,
        queue: &str,
        turn: &Turn,
        clock: &mut Clock,
    ) -> Option<(String, Option<String>)> {
        if !turn.agents_online() {
            return Some(("agents unavailable".to_string(), None));
        }
        let hours = self.queues.get(queue)?.hours.as_ref()?;
        let (closed, local_time) = hours.closed_at(clock.now())?;
        let name = match &closed {
            Closed::Closure(Some(reason)) => format!("closure: {reason}"),
            other => other.name().to_string(),
        };
        Some((name, Some(local_time)))
    }

    pub(crate) fn rule(&self, id: &str) -> Option<&Handover> {
        self.rules.iter().find(|rule| &*rule.id == id)
    }
}

/// Forgets the cool-downs that are over.
pub(crate) fn end_cooldowns(state: &mut ConversationState, clock: &mut Clock) {
    let turns = state.turns();
    let needs_time = state.handoff().cooldowns.iter().any(|c| c.until.is_some());
    let now = needs_time.then(|| clock.now().as_second());
    state.handoff_mut().cooldowns.retain(|c| {
        c.until_turn.is_some_and(|until| turns <= until)
            || c.until.zip(now).is_some_and(|(until, now)| now < until)
    });
}

/// Back to the bot, keeping only the cool-downs.
pub(crate) fn leave_queue(state: &mut ConversationState) {
    let memory = state.handoff_mut();
    *memory = HandoffMemory {
        cooldowns: std::mem::take(&mut memory.cooldowns),
        ..HandoffMemory::default()
    };
}

fn plural(n: u32) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::fill;

    #[test]
    fn fills_each_placeholder_once_and_leaves_other_braces() {
        let cases = [
            ("plain", "plain"),
            ("", ""),
            ("{queue}", "billing"),
            (
                "Joining {queue} (about {wait}).",
                "Joining billing (about 5 minutes).",
            ),
            (
                "{wait}{wait} {queue}{queue}",
                "5 minutes5 minutes billingbilling",
            ),
            ("{ {queue {wait} {other} {", "{ {queue 5 minutes {other} {"),
            ("é{queue}ü", "ébillingü"),
        ];
        for (template, want) in cases {
            assert_eq!(
                fill(template, "billing", "5 minutes", Some("Monday at 09:00")),
                want,
                "{template:?}"
            );
        }
        // What a queue name holds is not filled in again.
        assert_eq!(fill("{queue}", "{wait}", "5 minutes", None), "{wait}");
        assert_eq!(
            fill("back {opens} ({wait})", "q", "soon", Some("lundi à 09:00")),
            "back lundi à 09:00 (soon)"
        );
        assert_eq!(fill("{opens}", "q", "soon", None), "{opens}");
    }
}
