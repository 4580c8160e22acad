//! The engine: a compiled policy, and the one loop that evaluates a turn.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::collections::hash_map::Entry;

use crate::load::Limits;
use std::sync::Arc;

use serde_json::Value;
use serde_saphyr::Spanned;

use crate::compile::Compiler;
use crate::condition::Condition;
use crate::decision::{Action, Decision, EvalError, Kind, PolicyId, Reason};
use crate::error::{Diagnostic, PolicyError, Source};
use crate::handoff::consult::ConsultRule;
use crate::handoff::lifecycle::{Clock, end_cooldowns, placeholder_problem, text};
use crate::handoff::route::{RouteLayer, RuleRoute};
use crate::handoff::triage;
use crate::handoff::{ConversationReference, Handoff, HandoffStatus, Handover};
use crate::phrases::{Cue, Found, Heard, Hits, PhraseIndex, TurnLocale};
use crate::policy::{
    DEFAULT_NEGATION_CUES, MessagesSpec, PolicySpec, RuleSpec, is_locale_tag, is_simple_name,
    primary_language,
};
use crate::sentiment::{LEXICON_FOLDING, Language};
use crate::state::{ConversationState, Phase};
use crate::text::{Folding, Normalized};
use crate::trigger::script::{ScriptScope, Scripts};
use crate::trigger::sentiment::SentimentSource;
use crate::trigger::topic::Topic;
use crate::trigger::{Ctx, EvidenceUsed, Explanation, TurnSentiment};
use crate::turn::{Role, Turn};
use crate::words::WordScratch;

/// The built-in default policy (`policies/default.yaml`), compiled into the library.
pub const DEFAULT_POLICY: &str = include_str!("../policies/default.yaml");

/// The built-in policy's tests (`policies/default.tests.yaml`), for
/// [`TestSuite::from_test_file_yaml`](crate::TestSuite::from_test_file_yaml).
pub const DEFAULT_TESTS: &str = include_str!("../policies/default.tests.yaml");

const DEFAULT_ONLINE: &str = "Let me connect you with a person who can help.";
const DEFAULT_OFFLINE: &str = "Our team is offline right now. Leave your email and we'll get back to you as soon as we're in.";
const DEFAULT_OFFER: &str = "Would you like me to connect you with a person?";

/// A compiled policy: immutable, `Send + Sync`, built once and shared by
/// every conversation and thread.
///
/// ```
/// use escalate::{Action, ConversationState, Engine, Turn};
///
/// let engine = Engine::from_yaml(r#"
/// version: 1
/// rules:
///   - id: asks-for-human
///     when: { keywords: ["real person", "talk to a human"] }
///     kind: fallback
///     action: escalate
/// "#)?;
/// let mut state = ConversationState::new();
/// let decision = engine.evaluate(&mut state, &Turn::user("I want a real person"));
/// assert_eq!(decision.action, Action::Escalate);
/// assert_eq!(decision.rule.as_deref(), Some("asks-for-human"));
/// # Ok::<(), escalate::PolicyError>(())
/// ```
#[derive(Debug)]
pub struct Engine {
    pub(crate) id: Arc<PolicyId>,
    pub(crate) rules: Vec<Rule>,
    gates: Gates,
    phrases: PhraseIndex,
    topics: Vec<Topic>,
    scripts: Scripts,
    summary: PolicySummary,
    warnings: Vec<Diagnostic>,
    pub(crate) handoff: Handoff,
    /// Where sentiment scores come from, if any rule has a sentiment trigger.
    sentiment: Option<SentimentSource>,
    /// The built-in scorer's language for turns without a locale (the
    /// policy's `default_locale`), if it has a lexicon for it.
    sentiment_language: Option<Language>,
    /// Whether a rule has a `repeats` trigger (messages are then signed).
    repeats: bool,
    /// How much of a turn's text is read ([`EngineBuilder::max_text_bytes`]).
    max_text_bytes: usize,
}

#[derive(Debug)]
pub(crate) struct Rule {
    id: Arc<str>,
    condition: Condition,
    kind: Kind,
    action: Action,
    priority: i32,
    locales: Vec<String>,
    evidence_used: EvidenceUsed,
}

/// Which rules a turn has to check: those without a phrase gate, and those
/// whose gate has a hit. A policy of many keyword rules then costs a turn
/// what its few matching rules cost, not a look at every rule.
#[derive(Debug)]
struct Gates {
    ungated: Vec<usize>,
    /// For each phrase set, the rules it gates.
    by_set: Vec<Vec<usize>>,
}

impl Gates {
    /// Gates each rule by the phrase set without whose hit it cannot fire,
    /// if it has one.
    fn new(rules: &[Rule], topics: &[Topic], sets: usize) -> Gates {
        let mut gates = Gates {
            ungated: Vec::new(),
            by_set: vec![Vec::new(); sets],
        };
        for (index, rule) in rules.iter().enumerate() {
            match rule.condition.required_set(topics) {
                Some(set) => gates.by_set[set].push(index),
                None => gates.ungated.push(index),
            }
        }
        gates
    }

    /// The rules to check on a turn with `hits`, in policy order.
    fn candidates(&self, hits: &Hits, out: &mut Vec<usize>) {
        out.clear();
        out.extend_from_slice(&self.ungated);
        for &set in hits.filled() {
            out.extend_from_slice(&self.by_set[set]);
        }
        if !hits.filled().is_empty() {
            out.sort_unstable();
        }
    }
}

/// Counts that describe a compiled policy, as `escalate-check check` prints them.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct PolicySummary {
    /// The policy's `name`.
    pub name: String,
    /// The first 16 hex digits of the SHA-256 of the policy's text.
    pub hash: String,
    /// Rules in the file.
    pub rules: usize,
    /// Rules that are enabled (the others are checked but never run).
    pub enabled_rules: usize,
    /// Phrases of every `keywords`, `whole_message`, `whole_sentence`, `last_clause` and topic list.
    pub phrases: usize,
    /// Distinct normalized phrases and negation cues in the automaton.
    pub patterns: usize,
    /// Named topics.
    pub topics: usize,
    /// Rules with a script.
    pub scripts: usize,
    /// Heap bytes used by the phrase automaton.
    pub automaton_bytes: usize,
    /// `dfa` for small policies (faster), `nfa` past a 4 MiB DFA budget.
    pub automaton: &'static str,
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
        self.handoff.redact(text)
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
        self.handoff
            .handoff_initiate(decision, reference, transcript)
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
        self.handoff
            .handoff_consult(decision, reference, transcript)
    }

    /// Applies a `handoff.status` event from the agent hub to the state and
    /// explains it: `accepted` moves the conversation to `with_agent`,
    /// `failed` takes the offline path (the offline message and the fallback
    /// channel), `completed` returns it to the bot with the counters reset;
    /// `approved` and `declined` answer a consultation (phase `consulting`,
    /// see `consult`) and apply in that phase only.
    ///
    /// The hub is trusted: a status applies whatever the phase. A policy
    /// without a `handoff` section keeps no phase; the status then changes
    /// nothing and the decision's `errors` say so.
    ///
    /// ```
    /// use escalate::{ConversationState, Engine, HandoffState, HandoffStatus, Phase, Turn};
    ///
    /// let engine = Engine::builtin();
    /// let mut state = ConversationState::new();
    /// engine.evaluate(&mut state, &Turn::user("I want a real person"));
    /// assert_eq!(state.phase(), Phase::Waiting);
    /// engine.apply_status(&mut state, &HandoffStatus::new(None, HandoffState::Accepted));
    /// assert_eq!(state.phase(), Phase::WithAgent);
    /// let back = engine.apply_status(&mut state, &HandoffStatus::new(None, HandoffState::Completed));
    /// assert_eq!(state.phase(), Phase::Bot);
    /// assert!(back.message.is_some());
    /// ```
    pub fn apply_status(&self, state: &mut ConversationState, status: &HandoffStatus) -> Decision {
        let decision = Decision {
            conversation_id: status.conversation_id.clone(),
            turn: state.turns(),
            policy: Some(self.id.clone()),
            ..Decision::default()
        };
        self.handoff.apply_status(state, status, decision)
    }

    /// The policy's `name`.
    pub fn name(&self) -> &str {
        &self.id.name
    }

    /// The policy's name and the hash of its text, as every decision carries them.
    pub fn id(&self) -> &PolicyId {
        &self.id
    }

    /// What in the policy is probably a mistake, though it loads: a topic
    /// no rule uses, a rule another always outranks, a phrase in rules of
    /// different kinds, a threshold that is never crossed.
    pub fn warnings(&self) -> impl ExactSizeIterator<Item = &Diagnostic> {
        self.warnings.iter()
    }

    /// The ids of the enabled rules, in policy order.
    pub fn rule_ids(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|rule| &*rule.id)
    }

    /// Counts that describe the compiled policy.
    pub fn summary(&self) -> &PolicySummary {
        &self.summary
    }

    /// Evaluates one turn: updates the conversation's state and returns the
    /// decision. Bot turns change nothing and decide `none`.
    ///
    /// This is the hot path: the text is normalized once and scanned once
    /// for every phrase of the policy; thresholds and counters are plain
    /// comparisons; scripts run only if the policy has them.
    pub fn evaluate(&self, state: &mut ConversationState, turn: &Turn) -> Decision {
        let phase = match &self.handoff.lifecycle {
            Some(_) => state.phase(),
            None => Phase::Bot,
        };
        if turn.role == Role::Bot || phase == Phase::WithAgent {
            if turn.role == Role::User {
                state.count_turn();
            }
            return Decision {
                conversation_id: turn.conversation_id.clone(),
                turn: state.turns(),
                policy: Some(self.id.clone()),
                phase,
                ..Decision::default()
            };
        }
        // A text past the limit is read up to it (offsets stay within 32
        // bits), and the decision says so.
        let cut;
        let (turn, too_long) = if turn.text.len() > self.max_text_bytes {
            let end = crate::error::floor_char_boundary(&turn.text, self.max_text_bytes);
            cut = Turn {
                text: turn.text[..end].to_string(),
                ..turn.clone()
            };
            (&cut, Some(turn.text.len()))
        } else {
            (turn, None)
        };
        let recorded = !matches!(phase, Phase::Waiting | Phase::Collecting);
        match recorded {
            false => state.count_turn(),
            true => state.record(turn),
        }
        thread_local! {
            static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
        }
        let mut decision = Decision {
            conversation_id: turn.conversation_id.clone(),
            turn: state.turns(),
            policy: Some(self.id.clone()),
            ..Decision::default()
        };
        SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
            Ok(mut scratch) => {
                self.decide(&mut scratch, state, turn, recorded, &mut decision);
                scratch.trim();
            }
            Err(_) => self.decide(
                &mut Scratch::default(),
                state,
                turn,
                recorded,
                &mut decision,
            ),
        });
        decision.phase = state.phase();
        if let Some(length) = too_long {
            decision.errors.push(EvalError {
                rule: "(turn)".into(),
                message: format!(
                    "the turn's text is {length} bytes, more than the limit of {}: only the first {} were read",
                    self.max_text_bytes,
                    turn.text.len()
                ),
            });
        }
        decision
    }

    fn decide(
        &self,
        scratch: &mut Scratch,
        state: &mut ConversationState,
        turn: &Turn,
        recorded: bool,
        decision: &mut Decision,
    ) {
        let locale = self.phrases.turn_locale(turn.locale.as_deref());
        scratch.find_phrases(self, turn, locale);
        let (score, language) = self.score_sentiment(scratch, turn);
        if recorded && let Some(score) = score {
            state.record_sentiment(score);
        }
        if recorded
            && self.repeats
            && let Some(signature) = crate::trigger::repeats::signature(scratch.text.as_str())
        {
            state.record_message(signature);
        }
        let mut clock = Clock::new(turn.timestamp.as_deref());
        if let Some(lifecycle) = &self.handoff.lifecycle {
            match state.phase() {
                Phase::Waiting => {
                    self.handoff.while_waiting(
                        lifecycle,
                        scratch.heard(),
                        state,
                        turn,
                        &mut clock,
                        decision,
                    );
                    clock.report("handoff", decision);
                    return;
                }
                Phase::Offered => {
                    if self.handoff.answer_offer(
                        lifecycle,
                        scratch.heard(),
                        state,
                        turn,
                        &mut clock,
                        decision,
                    ) {
                        clock.report("handoff", decision);
                        return;
                    }
                }
                Phase::Collecting => {
                    let cancel = self
                        .handoff
                        .triage
                        .cancel
                        .and_then(|set| scratch.heard().said(set, &turn.text));
                    if let Some(words) = cancel {
                        self.handoff.cancel_triage(words, state, decision);
                        return;
                    }
                }
                Phase::Bot | Phase::Consulting | Phase::WithAgent => {}
            }
            if !state.handoff().cooldowns.is_empty() {
                end_cooldowns(state, &mut clock);
            }
        }

        // While an agent looks at a proposal only a rule that escalates by
        // itself (a crisis) takes the turn; on the others the answer may be
        // overdue, else the bot answers.
        let consulting = self.handoff.lifecycle.is_some() && state.phase() == Phase::Consulting;
        let ctx = Ctx {
            turn,
            state,
            text: &scratch.text,
            hits: &scratch.hits,
            phrases: &self.phrases,
            topics: &self.topics,
            scripts: &self.scripts,
            script_scope: &scratch.script_scope,
            sentiment: TurnSentiment {
                score,
                language,
                text: (language.is_some() && !scratch.sentiment_in_text)
                    .then_some(&scratch.sentiment_text),
            },
        };

        scratch.fired.clear();
        self.gates
            .candidates(&scratch.hits, &mut scratch.candidates);
        let language = turn.locale.as_deref().map_or("", primary_language);
        let cooling = &ctx.state.handoff().cooldowns;
        for &index in &scratch.candidates {
            let rule = &self.rules[index];
            if !rule.applies_to(language, locale)
                || (consulting && rule.action != Action::Escalate)
                || (!cooling.is_empty()
                    && rule.action == Action::Offer
                    && cooling.iter().any(|c| c.rule == rule.id))
            {
                continue;
            }
            if rule.condition.check(&ctx, &mut scratch.script_errors) {
                scratch.fired.push(index);
            }
            if !scratch.script_errors.is_empty() {
                decision
                    .errors
                    .extend(scratch.script_errors.drain(..).map(|message| EvalError {
                        rule: rule.id.clone(),
                        message,
                    }));
            }
        }

        let deciding = scratch.fired.iter().copied().max_by(|&a, &b| {
            let (ra, rb) = (&self.rules[a], &self.rules[b]);
            (ra.priority, ra.action)
                .cmp(&(rb.priority, rb.action))
                .then(b.cmp(&a))
        });
        // During triage only a rule that escalates by itself (a crisis,
        // "just get me a person") takes the turn: anything else answers.
        let collecting = self.handoff.lifecycle.is_some() && state.phase() == Phase::Collecting;
        if collecting && deciding.is_none_or(|i| self.rules[i].action != Action::Escalate) {
            self.handoff
                .answer_triage(turn, state, &mut clock, decision);
            clock.report("handoff", decision);
            return;
        }
        if consulting && deciding.is_none() {
            if !self
                .handoff
                .consult_overdue(state, turn, &mut clock, decision)
            {
                self.handoff.still_consulting(state, decision);
            }
            clock.report("handoff", decision);
            return;
        }
        let Some(deciding) = deciding else {
            return;
        };

        for &index in &scratch.fired {
            let rule = &self.rules[index];
            let reason = |e: Explanation| Reason {
                rule: rule.id.clone(),
                trigger: e.trigger,
                kind: rule.kind,
                action: rule.action,
                detail: e.detail,
                evidence: e.evidence,
            };
            rule.condition.explain(&ctx, &mut decision.reasons, &reason);
        }
        let rule = &self.rules[deciding];
        let handover = &self.handoff.rules[deciding];
        let used = scratch
            .fired
            .iter()
            .fold(EvidenceUsed::default(), |acc, &i| {
                acc.union(self.rules[i].evidence_used)
            });
        state.decided(rule.id.clone(), rule.action, used);
        let event = match rule.action {
            Action::Offer => "offered",
            _ => "escalated",
        };
        let route = self.handoff.route_for(handover, turn);
        let detail = || match rule.action {
            Action::Offer => "the bot offered a person".to_string(),
            _ => format!("the conversation joined queue `{}`", route.queue),
        };
        if consulting {
            let memory = state.handoff_mut();
            memory.phase = Phase::Bot;
            memory.consult = None;
            let detail = || format!("{}; the consultation ends", detail());
            let step = (Phase::Consulting, "escalated during consultation", detail);
            self.handoff
                .hand_over(handover, turn, state, &mut clock, decision, step);
        } else if let Some(settings) = handover
            .consult
            .as_ref()
            .filter(|_| rule.action == Action::Consult)
        {
            self.handoff
                .start_consult(handover, settings, turn, state, &mut clock, decision);
        } else if rule.action == Action::Escalate && !collecting {
            self.handoff.hand_over(
                handover,
                turn,
                state,
                &mut clock,
                decision,
                (Phase::Bot, event, detail),
            );
        } else {
            // An offer, or an escalation that ends a triage: the handoff
            // starts at once, with what the triage collected.
            let (from, event) = if collecting {
                let memory = state.handoff_mut();
                memory.phase = Phase::Bot;
                decision.collected = memory
                    .triage
                    .take()
                    .map(|t| t.collected)
                    .unwrap_or_default();
                (Phase::Collecting, "escalated during triage")
            } else {
                (Phase::Bot, event)
            };
            let detail = || match collecting {
                true => format!("{}; the triage ends", detail()),
                false => detail(),
            };
            let step = (from, event, detail);
            self.handoff.conclude(
                handover,
                rule.action,
                turn,
                state,
                &mut clock,
                decision,
                step,
            );
        }
        clock.report(&rule.id, decision);
    }
}

impl Engine {
    /// The turn's sentiment score as the policy's sentiment triggers see
    /// it, and the scorer's language when the built-in scorer gave it.
    fn score_sentiment(
        &self,
        scratch: &mut Scratch,
        turn: &Turn,
    ) -> (Option<f64>, Option<Language>) {
        let given = turn.sentiment_score();
        let builtin = match self.sentiment {
            None | Some(SentimentSource::Turn) => false,
            Some(SentimentSource::Auto) => given.is_none(),
            Some(SentimentSource::Builtin) => true,
        };
        if !builtin {
            return (given, None);
        }
        // A turn's locale names its language; a locale without a lexicon
        // gets no score, a turn without one is guessed from its words.
        let tagged = turn
            .locale
            .as_deref()
            .map(|locale| Language::from_subtag(primary_language(locale)));
        if tagged == Some(None) {
            return (None, None);
        }
        scratch.sentiment_in_text =
            self.phrases.folding() == LEXICON_FOLDING && self.phrases.set_count() > 0;
        let text = if scratch.sentiment_in_text {
            &scratch.text
        } else {
            scratch.sentiment_text.fill(&turn.text, LEXICON_FOLDING);
            &scratch.sentiment_text
        };
        let Some(language) =
            tagged.unwrap_or_else(|| Language::guess(text, self.sentiment_language))
        else {
            return (None, None);
        };
        let score = crate::sentiment::score(text, &turn.text, language, |_| {});
        (Some(score), Some(language))
    }
}

impl Rule {
    /// Whether the rule runs on a turn in `language` (its primary subtag).
    fn applies_to(&self, language: &str, locale: TurnLocale) -> bool {
        if self.locales.is_empty() || locale == TurnLocale::Unknown {
            return true;
        }
        self.locales
            .iter()
            .any(|l| l.eq_ignore_ascii_case(language))
    }
}

/// Per-thread buffers reused from turn to turn, so that a turn allocates
/// nothing once they have grown.
#[derive(Default)]
pub(crate) struct Scratch {
    pub(crate) text: Normalized,
    pub(crate) hits: Hits,
    cues: Vec<Cue>,
    found: Vec<Found>,
    words: WordScratch,
    candidates: Vec<usize>,
    fired: Vec<usize>,
    script_errors: Vec<String>,
    script_scope: RefCell<ScriptScope>,
    /// The turn normalized for the built-in sentiment scorer, when the
    /// phrase scan's text does not serve (no phrases, or other folding).
    sentiment_text: Normalized,
    /// Whether the scorer read `text` rather than `sentiment_text`.
    sentiment_in_text: bool,
}

impl Scratch {
    /// Normalized text a thread keeps between turns; the buffers of a longer
    /// turn are given back rather than held for the thread's life.
    const KEEP_BYTES: usize = 64 << 10;

    /// Ends a turn: drops the script variables' values, and gives back
    /// buffers grown past [`Scratch::KEEP_BYTES`].
    fn trim(&mut self) {
        self.script_scope.get_mut().release();
        if self.text.bytes.capacity() > Self::KEEP_BYTES
            || self.sentiment_text.bytes.capacity() > Self::KEEP_BYTES
            || self.cues.capacity() > Self::KEEP_BYTES / 8
            || self.found.capacity() > Self::KEEP_BYTES / 8
            || self.words.oversized(Self::KEEP_BYTES / 8)
        {
            *self = Scratch::default();
        }
    }

    /// What the turn's phrase scan heard.
    pub(crate) fn heard(&self) -> Heard<'_> {
        Heard {
            hits: &self.hits,
            text: &self.text,
        }
    }

    fn find_phrases(&mut self, engine: &Engine, turn: &Turn, locale: TurnLocale) {
        self.hits.reset(engine.phrases.set_count());
        if engine.phrases.set_count() == 0 {
            // `repeats` reads the text even when no phrase does.
            let text = if engine.repeats { &turn.text[..] } else { "" };
            self.text.fill(text, engine.phrases.folding());
            return;
        }
        engine.phrases.scan(
            &turn.text,
            &mut self.text,
            locale,
            &mut self.hits,
            &mut self.cues,
            &mut self.found,
            &mut self.words,
        );
        for topic in engine.topics.iter().filter(|t| t.has_patterns()) {
            topic.scan_patterns(
                &self.text,
                locale,
                &engine.phrases,
                &self.cues,
                &mut self.hits,
            );
        }
    }
}

/// Validates a deserialized policy and compiles it, collecting every error.
pub(crate) fn compile(
    spec: PolicySpec,
    source: Source,
    limits: Limits,
) -> Result<Engine, PolicyError> {
    let source_text = source.text;
    let warnings = crate::lint::lint(&spec, &source);
    let mut cx = Compiler::new(source, limits);
    if spec.version.value != 1 {
        cx.error_at(
            &spec.version,
            "unsupported-version",
            format!("unsupported policy version `{}`", spec.version.value),
        )
        .set_help("this release reads `version: 1`");
    }
    let matching = &spec.matching;
    cx.folding = Folding {
        case: matching.fold_case,
        accents: matching.fold_accents,
    };
    if !is_locale_tag(&matching.default_locale) {
        cx.error(
            "invalid-locale",
            format!(
                "`default_locale` `{}` is not a locale",
                matching.default_locale
            ),
        )
        .set_help("write a language code such as `en`");
    }
    cx.phrases.set_default_language(&matching.default_locale);
    cx.phrases.typos = matching.typos.budget;
    cx.phrases.all_locales = matching.locales == crate::policy::LocaleScope::All;
    cx.matching = crate::words::ListMatching {
        typos: matching.typos.enabled,
        word_forms: matching.word_forms,
        gaps: matching.gaps.value.min(crate::words::MAX_GAPS),
    };
    if matching.gaps.value > crate::words::MAX_GAPS {
        cx.error_at(
            &matching.gaps,
            "gaps-too-large",
            format!(
                "`gaps` is {}, more than {}",
                matching.gaps.value,
                crate::words::MAX_GAPS
            ),
        )
        .set_help("a few words between a phrase's words is usual: 2 or 3");
    }
    for topic in spec.topics.values() {
        if let Some(gaps) = &topic.value.gaps
            && gaps.value > crate::words::MAX_GAPS
        {
            cx.error_at(
                gaps,
                "gaps-too-large",
                format!(
                    "`gaps` is {}, more than {}",
                    gaps.value,
                    crate::words::MAX_GAPS
                ),
            )
            .set_help("a few words between a phrase's words is usual: 2 or 3");
        }
    }
    add_negation_cues(&spec, &mut cx);
    for (message, help) in placeholder_problems(&spec.messages) {
        cx.error("unknown-placeholder", message).set_help(help);
    }

    cx.topic_names = spec.topics.keys().cloned().collect();
    let mut topics: Vec<Topic> = spec
        .topics
        .iter()
        .map(|(name, topic)| Topic::compile(name, topic, &mut cx))
        .collect();

    if spec.handoff.is_none() {
        let first = spec
            .rules
            .iter()
            .filter_map(|r| r.value.collect.as_deref())
            .chain(
                spec.queues
                    .values()
                    .filter_map(|q| q.value.collect.as_deref()),
            )
            .find_map(|list| list.first());
        if let Some(item) = first {
            cx.error_at(
                &item.attribute,
                "collect-without-handoff",
                "`collect` needs a `handoff` section",
            )
            .set_help("the triage lives in the conversation's handoff phase: add `handoff: {}`");
        }
        if let Some(rule) = spec
            .rules
            .iter()
            .find(|r| r.value.action.value == Action::Consult)
        {
            cx.error_at(
                &rule.value.action,
                "consult-without-handoff",
                format!(
                    "rule `{}` consults, which needs a `handoff` section",
                    rule.value.id.value
                ),
            )
            .set_help(
                "the consultation lives in the conversation's handoff phase: add `handoff: {}`",
            );
        }
    }
    let defaults = Defaults::compile(&spec, &mut cx);
    let mut handoff = Handoff::compile(&spec, &defaults.offline, &mut cx);
    let mut rules = Vec::new();
    let mut first_line: HashMap<&str, usize> = HashMap::new();
    let mut disabled = 0;
    for rule in &spec.rules {
        let line = rule.value.id.referenced.line() as usize;
        let id = rule.value.id.value.as_str();
        if let Entry::Occupied(first) = first_line.entry(id) {
            let first = *first.get();
            cx.error_at(
                &rule.value.id,
                "duplicate-rule-id",
                format!("rule id `{id}` is used twice"),
            )
            .set_help(format!(
                "the first rule with this id is on line {first}; rule ids must be unique"
            ));
        } else {
            first_line.insert(id, line);
        }
        if let Some((compiled, handover)) = compile_rule(rule, &defaults, &mut cx) {
            if rule.value.enabled {
                rules.push(compiled);
                handoff.rules.push(handover);
            } else {
                disabled += 1;
            }
        }
    }

    for topic in &mut topics {
        topic.combine_at_end(&mut cx);
    }
    if cx.phrases.locale_count() > u8::MAX as usize {
        cx.error("too-many-locales", "the policy names more than 255 locales");
    }
    let phrase_total = cx.phrase_count;
    let sentiment_source = cx.sentiment_source.map(|(source, _)| source);
    let repeats = cx.repeats;
    let mut diagnostics = std::mem::take(&mut cx.diagnostics);
    let phrases = cx
        .phrases
        .build(
            cx.folding,
            matching.word_boundaries,
            matching.negation.window.value,
            &matching.default_locale,
        )
        .map_err(|e| {
            let mut d = cx.source.error(
                "automaton",
                format!("cannot build the phrase automaton: {e}"),
            );
            d.set_help("use fewer or shorter phrases");
            d
        });
    let phrases = match phrases {
        Ok(phrases) if diagnostics.is_empty() => phrases,
        Ok(_) => return Err(sorted(diagnostics)),
        Err(d) => {
            diagnostics.push(d);
            return Err(sorted(diagnostics));
        }
    };
    let summary = PolicySummary {
        name: defaults.name.clone(),
        hash: text_hash(source_text),
        rules: rules.len() + disabled,
        enabled_rules: rules.len(),
        phrases: phrase_total,
        patterns: phrases.pattern_count(),
        topics: topics.len(),
        scripts: rules.iter().filter(|r| r.condition.uses_scripts()).count(),
        automaton_bytes: phrases.memory_usage(),
        automaton: phrases.automaton_kind(),
    };
    Ok(Engine {
        id: Arc::new(PolicyId {
            name: defaults.name,
            hash: summary.hash.clone(),
        }),
        gates: Gates::new(&rules, &topics, phrases.set_count()),
        rules,
        phrases,
        topics,
        scripts: cx.scripts,
        summary,
        warnings,
        handoff,
        sentiment: sentiment_source,
        sentiment_language: Language::from_subtag(primary_language(&matching.default_locale)),
        repeats,
        max_text_bytes: limits.text_bytes,
    })
}

/// The first 16 hex digits of the SHA-256 of a policy's text.
fn text_hash(text: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(text.as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

fn sorted(mut diagnostics: Vec<Diagnostic>) -> PolicyError {
    diagnostics.sort_by_key(|d| (d.line(), d.column()));
    PolicyError::new(diagnostics)
}

fn add_negation_cues(spec: &PolicySpec, cx: &mut Compiler) {
    let negation = &spec.matching.negation;
    if negation.window.value > 10 {
        cx.error_at(
            &negation.window,
            "out-of-range",
            format!(
                "negation `window` is {}, more than 10 words",
                negation.window.value
            ),
        )
        .set_help(
            "a cue negates a phrase at most `window` words after it: 2 is usual, 0 means right after; `cues: {}` turns negation off",
        );
    }
    match &negation.cues {
        Some(cues) => {
            for (locale, list) in cues {
                if !is_locale_tag(locale) {
                    cx.error(
                        "invalid-locale",
                        format!("negation cues for `{locale}`, which is not a locale"),
                    )
                    .set_help("key the cue lists by language code, such as `en` or `es`");
                    continue;
                }
                for cue in list {
                    for expanded in cx.expand(cue) {
                        if let Some(normalized) = cx.normalize_phrase(cue, &expanded) {
                            cx.phrases.add_cue(normalized, locale);
                        }
                    }
                }
            }
        }
        None => {
            for (locale, list) in DEFAULT_NEGATION_CUES {
                for cue in *list {
                    let normalized = crate::text::normalize(cue, cx.folding);
                    cx.phrases.add_cue(normalized, locale);
                }
            }
        }
    }
}

/// The policy-level defaults every rule falls back on.
struct Defaults {
    name: String,
    route: RouteLayer,
    online: String,
    offline: String,
    offer: String,
}

impl Defaults {
    fn compile(spec: &PolicySpec, cx: &mut Compiler) -> Defaults {
        Defaults {
            name: spec.name.clone().unwrap_or_else(|| "unnamed".to_string()),
            route: spec
                .policy_route
                .as_ref()
                .map_or_else(RouteLayer::default, |route| {
                    RouteLayer::compile(&route.value, "the policy", route, cx)
                }),
            online: text(&spec.messages.online).unwrap_or_else(|| DEFAULT_ONLINE.to_string()),
            offline: text(&spec.messages.offline).unwrap_or_else(|| DEFAULT_OFFLINE.to_string()),
            offer: text(&spec.messages.offer).unwrap_or_else(|| DEFAULT_OFFER.to_string()),
        }
    }
}

/// Messages that use a `{word}` which is not a placeholder.
fn placeholder_problems(messages: &MessagesSpec) -> Vec<(String, String)> {
    [
        ("online", &messages.online),
        ("offline", &messages.offline),
        ("offer", &messages.offer),
    ]
    .into_iter()
    .filter_map(|(name, text)| placeholder_problem(name, text.as_ref().map(|t| t.value.as_str())))
    .collect()
}

fn compile_rule(
    spanned: &Spanned<RuleSpec>,
    defaults: &Defaults,
    cx: &mut Compiler,
) -> Option<(Rule, Handover)> {
    let spec = &spanned.value;
    let id = &spec.id.value;
    if !is_simple_name(id) {
        cx.error_at(
            &spec.id,
            "invalid-rule-id",
            format!("rule id `{id}` is not a simple name"),
        )
        .set_help("use letters, digits, `-`, `_` and `.`, such as `asks-for-human`");
    }
    for (message, help) in placeholder_problems(&spec.messages) {
        cx.error_at(
            &spec.id,
            "unknown-placeholder",
            format!("rule `{id}`: {message}"),
        )
        .set_help(help);
    }
    let consult = match (&spec.consult, spec.action.value) {
        (Some(section), Action::Consult) => ConsultRule::compile(id, section, cx),
        (None, Action::Consult) => {
            cx.error_at(
                &spec.action,
                "consult-without-proposal",
                format!("rule `{id}` consults without a `consult` section"),
            )
            .set_help("add `consult: { proposal: \"Refund the order in full\" }`: what the agent approves");
            None
        }
        (Some(section), _) => {
            cx.error_at(
                section,
                "consult-without-action",
                format!("rule `{id}` has a `consult` section but its action is not `consult`"),
            )
            .set_help("write `action: consult`, or remove the `consult` section");
            None
        }
        (None, _) => None,
    };
    if spec.action.value == Action::None {
        cx.error_at(
            &spec.action,
            "invalid-action",
            "a rule's action cannot be `none`",
        )
        .set_help(
            "use `offer`, `consult` or `escalate`; to switch a rule off, write `enabled: false`",
        );
    }
    for locale in &spec.locales {
        if !is_locale_tag(locale) {
            cx.error_at(
                &spec.id,
                "invalid-locale",
                format!("rule `{id}` lists `{locale}`, which is not a locale"),
            )
            .set_help("write language codes such as `en` or `es`");
        }
    }
    let route = RouteLayer::compile(&spec.route, &format!("rule `{id}`"), &spec.id, cx);
    let condition = Condition::compile(&spec.when, cx)?;
    let evidence_used = condition.evidence_used();
    let rule = Rule {
        id: Arc::from(id.as_str()),
        condition,
        kind: spec.kind,
        action: spec.action.value,
        priority: spec.priority,
        evidence_used,
        locales: spec
            .locales
            .iter()
            .map(|l| primary_language(l).to_ascii_lowercase())
            .collect(),
    };
    let handover = Handover {
        id: rule.id.clone(),
        kind: spec.kind,
        route: RuleRoute::merge(&route, &defaults.route),
        online: text(&spec.messages.online).unwrap_or_else(|| defaults.online.clone()),
        offline: text(&spec.messages.offline).unwrap_or_else(|| defaults.offline.clone()),
        offer: text(&spec.messages.offer).unwrap_or_else(|| defaults.offer.clone()),
        agent_note: spec.agent_note.clone(),
        collect: spec
            .collect
            .as_deref()
            .map(|list| triage::compile_list(list, cx)),
        consult,
    };
    Some((rule, handover))
}
