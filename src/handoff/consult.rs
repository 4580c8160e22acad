//! Supervision: a rule with `action: consult` puts a proposal to an agent
//! (a `handoff.consult` event) and waits for the answer, the conversation
//! staying with the bot in phase `consulting`.
//!
//! ```yaml
//! rules:
//!   - id: large-refund
//!     when: { keywords: ["refund"] }
//!     kind: planned
//!     action: consult
//!     consult:
//!       proposal: "Refund the last order in full"
//!       note: "Over the 100 EUR refund limit"
//!       timeout: { minutes: 10 }   # the default
//!       on_timeout: handoff        # or `continue`, `decline`
//! ```
//!
//! The agent answers with a `handoff.status` of state `approved` or
//! `declined` (with an optional `message` for the user). Until then the
//! bot answers the user; only a rule that escalates by itself takes a turn.
//! The timeout is judged on the next user turn, by the turn's timestamp.

use crate::compile::Compiler;
use crate::decision::{Action, Consult, ConsultAnswer, Decision, EvalError};
use crate::policy::{ConsultSpec, OnTimeout};
use crate::state::{ConsultMemory, ConversationState, Phase};
use crate::turn::Turn;
use serde_saphyr::Spanned;
use std::sync::Arc;

use super::lifecycle::{
    Clock, Period, leave_queue, period, placeholder_problem, reason, started_by, text,
};
use super::opens::Language;
use super::{Handoff, HandoffState, HandoffStatus, Handover};

const DEFAULT_ASKING: &str = "Let me check that with a colleague. One moment, please.";
const DEFAULT_APPROVED: &str = "Good news: that's approved.";
const DEFAULT_DECLINED: &str = "I'm sorry, I can't do that this time.";
const DEFAULT_TIMED_OUT: &str =
    "I couldn't get an answer from a colleague in time. How else can I help?";
const DEFAULT_TIMEOUT: Period = Period {
    turns: None,
    minutes: Some(10),
};

/// A rule's compiled `consult` settings.
#[derive(Debug)]
pub(crate) struct ConsultRule {
    proposal: String,
    note: Option<String>,
    timeout: Period,
    on_timeout: OnTimeout,
    asking: String,
    approved: String,
    declined: String,
    timed_out: String,
}

impl ConsultRule {
    /// Compiles a rule's `consult` section; `None` when it has errors.
    pub(crate) fn compile(
        rule: &str,
        section: &Spanned<ConsultSpec>,
        cx: &mut Compiler,
    ) -> Option<ConsultRule> {
        let spec = &section.value;
        let mut ok = true;
        if spec.proposal.value.trim().is_empty() {
            cx.error_at(
                &spec.proposal,
                "empty-proposal",
                format!("rule `{rule}` consults with an empty `proposal`"),
            )
            .set_help("say what the bot would do, such as `Refund the order in full`");
            ok = false;
        }
        for (name, message) in spec.named() {
            if let Some(message) = message
                && let Some((problem, help)) = placeholder_problem(name, Some(&message.value))
            {
                cx.error_at(
                    message,
                    "unknown-placeholder",
                    format!("rule `{rule}`: {problem}"),
                )
                .set_help(help);
                ok = false;
            }
        }
        let timeout = match &spec.timeout {
            Some(given) => {
                let period = period(Some(given), "timeout", cx);
                ok &= period.is_some();
                period.unwrap_or(DEFAULT_TIMEOUT)
            }
            None => DEFAULT_TIMEOUT,
        };
        ok.then(|| ConsultRule {
            proposal: spec.proposal.value.clone(),
            note: spec.note.clone(),
            timeout,
            on_timeout: spec.on_timeout,
            asking: text(&spec.asking).unwrap_or_else(|| DEFAULT_ASKING.into()),
            approved: text(&spec.approved).unwrap_or_else(|| DEFAULT_APPROVED.into()),
            declined: text(&spec.declined).unwrap_or_else(|| DEFAULT_DECLINED.into()),
            timed_out: text(&spec.timed_out).unwrap_or_else(|| DEFAULT_TIMED_OUT.into()),
        })
    }
}

impl Handoff {
    /// A `consult` decision for `rule`: the proposal goes to an agent and the
    /// conversation waits in phase `consulting`. When no agent can answer
    /// now (agents unavailable, the queue closed), the timeout's fallback
    /// applies at once.
    pub(crate) fn start_consult(
        &self,
        rule: &Handover,
        settings: &ConsultRule,
        turn: &Turn,
        state: &mut ConversationState,
        clock: &mut Clock,
        decision: &mut Decision,
    ) {
        let route = self.route_for(rule, turn);
        let queue = &route.queue;
        let language = self.language_of(turn);
        let proposal = self.say(&settings.proposal, queue, clock, language);
        let memory = ConsultMemory {
            proposal,
            note: settings.note.clone(),
        };
        if let Some((closed, _)) = self.closed(queue, turn, clock) {
            let why = format!("no agent of queue `{queue}` can answer now ({closed})");
            self.consult_fallback(
                rule,
                settings,
                memory,
                Phase::Bot,
                why,
                turn,
                state,
                clock,
                decision,
            );
            return;
        }
        decision.action = Action::Consult;
        self.decided_by(rule, &route, decision);
        decision.message = Some(self.say(&settings.asking, queue, clock, language));
        decision.reasons.push(reason(
            (&rule.id, rule.kind),
            Action::Consult,
            (Phase::Bot, Phase::Consulting),
            "consulting",
            format!(
                "asking an agent of queue `{queue}` to approve: {}",
                memory.proposal
            ),
        ));
        decision.consult = Some(consult(&memory, None));
        let since = settings
            .timeout
            .minutes
            .is_some()
            .then(|| clock.now().as_second());
        let turns = state.turns();
        let handoff = state.handoff_mut();
        handoff.phase = Phase::Consulting;
        handoff.rule = Some(rule.id.clone());
        handoff.kind = Some(rule.kind);
        handoff.queue = Some(queue.clone());
        handoff.since_turn = turns;
        handoff.since = since;
        handoff.consult = Some(memory);
    }

    /// A user turn while an agent looks at a proposal that no escalating
    /// rule took: the timeout's fallback when the answer is overdue, or the
    /// end of a consultation whose rule the policy no longer has (returns
    /// `true`: the turn is decided), else `false`.
    pub(crate) fn consult_overdue(
        &self,
        state: &mut ConversationState,
        turn: &Turn,
        clock: &mut Clock,
        decision: &mut Decision,
    ) -> bool {
        let handoff = state.handoff();
        let (rule_id, kind, queue) = started_by(handoff);
        let memory = handoff.consult.clone().unwrap_or_default();
        let Some((rule, settings)) = self
            .rule(&rule_id)
            .and_then(|rule| Some((rule, rule.consult.as_ref()?)))
        else {
            decision.reasons.push(reason(
                (&rule_id, kind),
                Action::None,
                (Phase::Consulting, Phase::Bot),
                "consultation dropped",
                format!("the rule `{rule_id}` that asked for approval is not in the policy"),
            ));
            leave_queue(state);
            return true;
        };
        let Some(how_long) = settings.timeout.over(state, clock) else {
            return false;
        };
        let why = format!("no agent of queue `{queue}` answered after {how_long}");
        self.consult_fallback(
            rule,
            settings,
            memory,
            Phase::Consulting,
            why,
            turn,
            state,
            clock,
            decision,
        );
        true
    }

    /// A user turn while consulting that no escalating rule took: the bot
    /// answers as usual; the decision says what is still awaited.
    pub(crate) fn still_consulting(&self, state: &ConversationState, decision: &mut Decision) {
        let handoff = state.handoff();
        let (rule_id, kind, queue) = started_by(handoff);
        let proposal = handoff.consult.as_ref().map_or("", |c| &c.proposal);
        decision.reasons.push(reason(
            (&rule_id, kind),
            Action::None,
            (Phase::Consulting, Phase::Consulting),
            "consulting",
            format!("waiting for an agent of queue `{queue}` to answer: {proposal}"),
        ));
    }

    /// What follows a consultation without an answer, as `on_timeout` says.
    #[allow(clippy::too_many_arguments)]
    fn consult_fallback(
        &self,
        rule: &Handover,
        settings: &ConsultRule,
        memory: ConsultMemory,
        from: Phase,
        why: String,
        turn: &Turn,
        state: &mut ConversationState,
        clock: &mut Clock,
        decision: &mut Decision,
    ) {
        leave_queue(state);
        decision.consult = Some(consult(&memory, Some(ConsultAnswer::TimedOut)));
        if settings.on_timeout == OnTimeout::Handoff {
            if from == Phase::Bot {
                decision.reasons.push(reason(
                    (&rule.id, rule.kind),
                    Action::Escalate,
                    (from, Phase::Bot),
                    "consultation skipped",
                    format!("{why}; handing over instead"),
                ));
            }
            self.hand_over(
                rule,
                turn,
                state,
                clock,
                decision,
                (from, "consultation timed out", || {
                    format!(
                        "{why}; handing over to queue `{}`",
                        self.route_for(rule, turn).queue
                    )
                }),
            );
            return;
        }
        let language = self.language_of(turn);
        decision.action = Action::None;
        let route = self.route_for(rule, turn);
        self.decided_by(rule, &route, decision);
        decision.message = Some(self.say(&settings.timed_out, &route.queue, clock, language));
        let what = match settings.on_timeout {
            OnTimeout::Decline => "the proposal is declined",
            _ => "the bot carries on without it",
        };
        decision.reasons.push(reason(
            (&rule.id, rule.kind),
            Action::None,
            (from, Phase::Bot),
            "consultation timed out",
            format!("{why}; {what}"),
        ));
    }

    /// Applies an agent's `approved` or `declined` to the consultation under
    /// way; a conversation not consulting is left as it is, the decision's
    /// `errors` saying so.
    pub(crate) fn answer_consult(
        &self,
        state: &mut ConversationState,
        status: &HandoffStatus,
        (clock, language): (&mut Clock, Language),
        decision: &mut Decision,
    ) {
        let handoff = state.handoff();
        let (rule_id, kind, queue) = started_by(handoff);
        let answered = match status.state {
            HandoffState::Approved => ConsultAnswer::Approved,
            _ => ConsultAnswer::Declined,
        };
        let (Phase::Consulting, Some(memory)) = (handoff.phase, handoff.consult.clone()) else {
            decision.errors.push(EvalError {
                rule: Arc::from("handoff"),
                message: format!(
                    "the conversation is in phase `{}`, not `consulting`: `{}` ignored",
                    handoff.phase.as_str(),
                    answered.as_str()
                ),
            });
            return;
        };
        let rule = self.rule(&rule_id);
        if let Some(rule) = rule {
            self.decided_by(rule, &self.route_to(rule, &queue), decision);
        }
        let settings = rule.and_then(|r| r.consult.as_ref());
        let (template, event) = match answered {
            ConsultAnswer::Approved => (
                settings.map_or(DEFAULT_APPROVED, |s| &s.approved),
                "consultation approved",
            ),
            _ => (
                settings.map_or(DEFAULT_DECLINED, |s| &s.declined),
                "consultation declined",
            ),
        };
        decision.message = Some(match &status.message {
            Some(words) => words.clone(),
            None => self.say(template, &queue, clock, language),
        });
        let said = match &status.message {
            Some(words) => format!(" (\"{words}\")"),
            None => String::new(),
        };
        decision.reasons.push(reason(
            (&rule_id, kind),
            Action::None,
            (Phase::Consulting, Phase::Bot),
            event,
            format!("the agent {}{said}: {}", answered.as_str(), memory.proposal),
        ));
        decision.consult = Some(consult(&memory, Some(answered)));
        leave_queue(state);
    }
}

/// The decision's `consult` for a proposal.
fn consult(memory: &ConsultMemory, answer: Option<ConsultAnswer>) -> Consult {
    Consult {
        proposal: memory.proposal.clone(),
        note: memory.note.clone(),
        answer,
    }
}

#[cfg(test)]
mod tests {
    use crate::tests::{engine, policy_errors};
    use crate::{
        Action, ConsultAnswer, ConversationState, Decision, Engine, HandoffState, HandoffStatus,
        Phase, Turn,
    };

    const POLICY: &str = r#"
version: 1
handoff: {}
queues:
  closed-desk: { hours: { time_zone: UTC, open: { mon: "09:00-17:00" } } }
rules:
  - { id: crisis, when: { keywords: ["hurt myself"] }, kind: planned, action: escalate,
      priority: 100, route: { queue: crisis, priority: urgent } }
  - { id: human, when: { keywords: ["a human"] }, kind: fallback, action: offer }
  - id: refund
    when: { keywords: ["refund"] }
    kind: planned
    action: consult
    route: { queue: refunds }
    consult:
      proposal: "Refund the last order in full ({queue})"
      note: "Over the refund limit"
      timeout: { turns: 3, minutes: 10 }
  - id: cancel
    when: { keywords: ["cancel my plan"] }
    kind: planned
    action: consult
    consult: { proposal: "Cancel with the fee waived", on_timeout: decline,
               timeout: { turns: 2 }, declined: "Sorry, the fee stays.", timed_out: "No answer yet: the fee stays." }
  - id: upgrade
    when: { keywords: ["upgrade"] }
    kind: planned
    action: consult
    consult: { proposal: "Upgrade for free", on_timeout: continue, timeout: { minutes: 5 } }
  - id: after-hours
    when: { keywords: ["voucher"] }
    kind: planned
    action: consult
    route: { queue: closed-desk }
    consult: { proposal: "Send a voucher" }
"#;

    fn user(text: &str, at: &str) -> Turn {
        let json = serde_json::json!({ "text": text, "timestamp": at });
        Turn::from_json(json.to_string().as_bytes()).unwrap()
    }

    fn status(state: HandoffState, message: Option<&str>) -> HandoffStatus {
        let status = HandoffStatus::new(Some("c-1"), state);
        match message {
            Some(m) => status.with_message(m),
            None => status,
        }
    }

    /// A conversation that consults on its first turn.
    fn consulting(engine: &Engine, text: &str) -> (ConversationState, Decision) {
        let mut state = ConversationState::new();
        let d = engine.evaluate(&mut state, &user(text, "2026-11-20T10:00:00Z"));
        (state, d)
    }

    #[test]
    fn a_consult_rule_asks_an_agent_and_keeps_the_conversation() {
        let engine = engine(POLICY);
        let (state, d) = consulting(&engine, "I want a refund please");
        assert_eq!(d.action, Action::Consult);
        assert!(d.starts_consult() && !d.starts_handoff() && !d.is_approved());
        assert_eq!(d.phase, Phase::Consulting);
        assert_eq!(state.phase(), Phase::Consulting);
        assert_eq!(d.rule.as_deref(), Some("refund"));
        let consult = d.consult.as_ref().unwrap();
        assert_eq!(consult.proposal, "Refund the last order in full (refunds)");
        assert_eq!(consult.note.as_deref(), Some("Over the refund limit"));
        assert_eq!(consult.answer, None);
        assert_eq!(d.message.as_deref(), Some(super::DEFAULT_ASKING));
        let step = d.reasons.last().unwrap();
        assert_eq!(
            step.detail,
            "asking an agent of queue `refunds` to approve: Refund the last order in full (refunds)"
        );
        // The saved state keeps the proposal.
        let saved = serde_json::to_value(&state).unwrap();
        assert_eq!(saved["handoff"]["consult"]["proposal"], consult.proposal);
        let back: ConversationState = serde_json::from_value(saved).unwrap();
        assert_eq!(back, state);
    }

    #[test]
    fn the_agents_answer_gives_the_decision_that_follows() {
        let engine = engine(POLICY);
        let cases = [
            (
                "refund",
                HandoffState::Approved,
                None,
                ConsultAnswer::Approved,
                super::DEFAULT_APPROVED,
            ),
            (
                "refund",
                HandoffState::Approved,
                Some("Done: refunded."),
                ConsultAnswer::Approved,
                "Done: refunded.",
            ),
            (
                "refund",
                HandoffState::Declined,
                None,
                ConsultAnswer::Declined,
                super::DEFAULT_DECLINED,
            ),
            (
                "cancel my plan",
                HandoffState::Declined,
                None,
                ConsultAnswer::Declined,
                "Sorry, the fee stays.",
            ),
            (
                "cancel my plan",
                HandoffState::Declined,
                Some("Not this time."),
                ConsultAnswer::Declined,
                "Not this time.",
            ),
        ];
        for (text, answer, message, want, said) in cases {
            let (mut state, asked) = consulting(&engine, text);
            let d = engine.apply_status(&mut state, &status(answer, message));
            assert!(d.errors.is_empty(), "{text}: {:?}", d.errors);
            assert_eq!(d.action, Action::None, "{text}");
            assert_eq!(d.phase, Phase::Bot);
            assert_eq!(state.phase(), Phase::Bot);
            assert_eq!(d.rule, asked.rule);
            assert_eq!(d.message.as_deref(), Some(said), "{text} {answer:?}");
            let consult = d.consult.as_ref().unwrap();
            assert_eq!(consult.answer, Some(want));
            assert_eq!(consult.proposal, asked.consult.as_ref().unwrap().proposal);
            assert_eq!(d.is_approved(), want == ConsultAnswer::Approved);
            let step = d.reasons.last().unwrap();
            assert_eq!(step.rule.as_ref(), asked.rule.as_deref().unwrap());
            // A second answer finds nothing to answer.
            let again = engine.apply_status(&mut state, &status(answer, None));
            assert_eq!(again.consult, None);
            assert!(
                again.errors[0].message.contains("not `consulting`"),
                "{:?}",
                again.errors
            );
        }
    }

    #[test]
    fn an_answer_for_a_conversation_not_consulting_changes_nothing() {
        let engine = engine(POLICY);
        let mut state = ConversationState::new();
        engine.evaluate(&mut state, &user("hello", "2026-11-20T10:00:00Z"));
        let before = state.clone();
        let d = engine.apply_status(&mut state, &status(HandoffState::Approved, Some("ok")));
        assert_eq!(state, before);
        assert_eq!(d.message, None);
        assert_eq!(
            d.errors[0].message,
            "the conversation is in phase `bot`, not `consulting`: `approved` ignored"
        );
        // Nor does one in the queue leave it.
        let mut waiting = ConversationState::new();
        engine.evaluate(
            &mut waiting,
            &user("I might hurt myself", "2026-11-20T10:00:00Z"),
        );
        assert_eq!(waiting.phase(), Phase::Waiting);
        let d = engine.apply_status(&mut waiting, &status(HandoffState::Declined, None));
        assert_eq!(waiting.phase(), Phase::Waiting);
        assert!(d.errors[0].message.contains("phase `waiting`"));
    }

    #[test]
    fn while_consulting_the_bot_answers_and_only_an_escalating_rule_takes_over() {
        let engine = engine(POLICY);
        let (mut state, _) = consulting(&engine, "refund");
        // Another consult rule and an offer rule do not take the turn.
        for text in ["also an upgrade?", "can I talk to a human", "refund refund"] {
            let d = engine.evaluate(&mut state, &user(text, "2026-11-20T10:01:00Z"));
            assert_eq!(d.action, Action::None, "{text}");
            assert_eq!(d.phase, Phase::Consulting, "{text}");
            assert_eq!(d.consult, None);
            assert_eq!(d.reasons.len(), 1, "{text}: {:?}", d.reasons);
            assert!(
                d.reasons[0]
                    .detail
                    .starts_with("waiting for an agent of queue `refunds`")
            );
            // The third turn of waiting is overdue: the crisis comes then.
            if text == "can I talk to a human" {
                break;
            }
        }
        // The answer is overdue on this turn, but the crisis rule decides it.
        let d = engine.evaluate(
            &mut state,
            &user("I will hurt myself", "2026-11-20T10:02:00Z"),
        );
        assert_eq!(d.action, Action::Escalate);
        assert_eq!(d.rule.as_deref(), Some("crisis"));
        assert!(d.starts_handoff());
        assert_eq!(state.phase(), Phase::Waiting);
        let step = d.reasons.last().unwrap();
        assert!(
            step.detail.ends_with("the consultation ends"),
            "{}",
            step.detail
        );
        // The late answer is for a consultation that has ended.
        let late = engine.apply_status(&mut state, &status(HandoffState::Approved, None));
        assert_eq!(state.phase(), Phase::Waiting);
        assert!(!late.errors.is_empty());
    }

    #[test]
    fn no_answer_in_time_falls_back_as_the_rule_says() {
        let engine = engine(POLICY);
        // handoff (the default), by turns: the third turn after asking.
        let (mut state, _) = consulting(&engine, "refund");
        for at in ["2026-11-20T10:01:00Z", "2026-11-20T10:02:00Z"] {
            let d = engine.evaluate(&mut state, &user("ok", at));
            assert_eq!(d.phase, Phase::Consulting);
        }
        let d = engine.evaluate(&mut state, &user("ok", "2026-11-20T10:03:00Z"));
        assert_eq!(d.action, Action::Escalate);
        assert!(d.starts_handoff());
        assert_eq!(d.route.as_ref().unwrap().queue.as_ref(), "refunds");
        assert_eq!(
            d.consult.as_ref().unwrap().answer,
            Some(ConsultAnswer::TimedOut)
        );
        assert_eq!(state.phase(), Phase::Waiting);
        assert!(
            d.reasons
                .last()
                .unwrap()
                .detail
                .starts_with("no agent of queue `refunds` answered after 3 turns")
        );

        // handoff, by minutes: the next turn, ten minutes on.
        let (mut state, _) = consulting(&engine, "refund");
        let d = engine.evaluate(&mut state, &user("ok", "2026-11-20T10:09:59Z"));
        assert_eq!(d.phase, Phase::Consulting);
        let d = engine.evaluate(&mut state, &user("ok", "2026-11-20T10:10:00Z"));
        assert_eq!(d.action, Action::Escalate);
        assert!(
            d.reasons
                .last()
                .unwrap()
                .detail
                .contains("after 10 minutes")
        );

        // decline: the policy's message, back to the bot.
        let (mut state, _) = consulting(&engine, "cancel my plan");
        engine.evaluate(&mut state, &user("ok", "2026-11-20T10:01:00Z"));
        let d = engine.evaluate(&mut state, &user("ok", "2026-11-20T10:02:00Z"));
        assert_eq!(d.action, Action::None);
        assert_eq!(d.message.as_deref(), Some("No answer yet: the fee stays."));
        assert_eq!(
            d.consult.as_ref().unwrap().answer,
            Some(ConsultAnswer::TimedOut)
        );
        assert!(
            d.reasons
                .last()
                .unwrap()
                .detail
                .ends_with("the proposal is declined")
        );
        assert_eq!(state.phase(), Phase::Bot);

        // continue: the default message, back to the bot.
        let (mut state, _) = consulting(&engine, "upgrade");
        let d = engine.evaluate(&mut state, &user("ok", "2026-11-20T10:06:00Z"));
        assert_eq!(d.action, Action::None);
        assert_eq!(d.message.as_deref(), Some(super::DEFAULT_TIMED_OUT));
        assert!(
            d.reasons
                .last()
                .unwrap()
                .detail
                .ends_with("the bot carries on without it")
        );
        assert_eq!(state.phase(), Phase::Bot);
        // An answer after the timeout is for nothing.
        let late = engine.apply_status(&mut state, &status(HandoffState::Approved, None));
        assert!(!late.errors.is_empty() && late.consult.is_none());
    }

    #[test]
    fn when_no_agent_can_answer_the_fallback_applies_at_once() {
        let engine = engine(POLICY);
        let (state, d) = consulting(&engine, "a voucher please");
        assert_eq!(d.action, Action::Escalate);
        assert!(
            d.fallback_channel.is_some(),
            "the closed queue's offline path"
        );
        assert_eq!(
            d.consult.as_ref().unwrap().answer,
            Some(ConsultAnswer::TimedOut)
        );
        assert_eq!(state.phase(), Phase::Bot);
        assert!(d.reasons.iter().any(|r| r.detail
            == "no agent of queue `closed-desk` can answer now (outside hours); handing over instead"));
    }

    #[test]
    fn an_urgent_rule_that_consults_is_warned_of() {
        let yaml = "version: 1\nhandoff: {}\nrules:\n  - { id: r, when: { keywords: [x] }, kind: planned,\n      action: consult, route: { priority: urgent }, consult: { proposal: p } }\n";
        let engine = engine(yaml);
        let warnings: Vec<_> = engine.warnings().collect();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert_eq!(warnings[0].code(), "consult-urgent");
        assert_eq!((warnings[0].line(), warnings[0].column()), (5, 15));
        let calm = engine_of_priority("high");
        assert_eq!(calm.warnings().count(), 0);
    }

    fn engine_of_priority(priority: &str) -> Engine {
        engine(&format!(
            "version: 1\nhandoff: {{}}\nrules:\n  - {{ id: r, when: {{ keywords: [x] }}, kind: planned, action: consult, route: {{ priority: {priority} }}, consult: {{ proposal: p }} }}\n"
        ))
    }

    #[test]
    fn bad_consult_sections_are_located_errors() {
        let rule = |action: &str, consult: &str| {
            format!(
                "version: 1\nhandoff: {{}}\nrules:\n  - {{ id: r, when: {{ keywords: [x] }}, kind: planned, action: {action}{consult} }}\n"
            )
        };
        let cases = [
            (
                "version: 1\nrules:\n  - { id: r, when: { keywords: [x] }, kind: planned, action: consult, consult: { proposal: p } }\n".to_string(),
                "consult-without-handoff",
            ),
            (rule("consult", ""), "consult-without-proposal"),
            (rule("escalate", ", consult: { proposal: p }"), "consult-without-action"),
            (rule("consult", ", consult: { proposal: ' ' }"), "empty-proposal"),
            (rule("consult", ", consult: { proposal: 'p {amount}' }"), "unknown-placeholder"),
            (rule("consult", ", consult: { proposal: p, timeout: { minutes: 0 } }"), "out-of-range"),
            (rule("consult", ", consult: { proposal: p, timeout: {} }"), "out-of-range"),
        ];
        for (yaml, code) in cases {
            let errors = policy_errors(&yaml);
            assert_eq!(errors[0].0, code, "{yaml}: {errors:?}");
            assert!(errors[0].1 > 0 && errors[0].2 > 0, "{yaml}: located");
            assert!(errors[0].3.is_some(), "{yaml}: has help");
        }
        let unknown = Engine::from_yaml(&rule(
            "consult",
            ", consult: { proposal: p, on_timeout: wait }",
        ))
        .unwrap_err()
        .render();
        assert!(
            unknown.contains("handoff") && unknown.contains("continue"),
            "{unknown}"
        );
    }
}
