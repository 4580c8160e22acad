//! The engine: a compiled policy, and the one loop that evaluates a turn.

use std::cell::RefCell;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::path::Path;
use std::sync::Arc;

use serde_saphyr::Spanned;

use crate::compile::Compiler;
use crate::condition::Condition;
use crate::decision::{Action, Decision, EvalError, Kind, Priority, Reason, Route};
use crate::error::{Diagnostic, PolicyError, Source, did_you_mean, lowercase_first};
use crate::phrases::{Cue, Found, Hit, PhraseIndex, SetId, TurnLocale};
use crate::policy::{DEFAULT_NEGATION_CUES, PolicySpec, RuleSpec, is_locale_tag, primary_language};
use crate::state::ConversationState;
use crate::text::{Folding, Normalized};
use crate::trigger::script::Scripts;
use crate::trigger::topic::Topic;
use crate::trigger::{Ctx, EvidenceUsed, Explanation};
use crate::turn::{Role, Turn};

/// The built-in default policy (`policies/default.yaml`), compiled into the library.
pub const DEFAULT_POLICY: &str = include_str!("../policies/default.yaml");

const DEFAULT_ONLINE: &str = "Let me connect you with a person who can help.";
const DEFAULT_OFFLINE: &str = "Our team is offline right now. Leave your email and we'll get back to you as soon as we're in.";
const DEFAULT_OFFER: &str = "Would you like me to connect you with a person?";
const DEFAULT_QUEUE: &str = "general";

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
    name: String,
    rules: Vec<Rule>,
    phrases: PhraseIndex,
    topics: Vec<Topic>,
    scripts: Scripts,
    folding: Folding,
    summary: PolicySummary,
}

#[derive(Debug)]
struct Rule {
    id: Arc<str>,
    condition: Condition,
    kind: Kind,
    action: Action,
    priority: i32,
    route: Route,
    online: String,
    offline: String,
    offer: String,
    agent_note: Option<String>,
    locales: Vec<String>,
    evidence_used: EvidenceUsed,
    /// A phrase set without whose hit the rule cannot fire.
    gate: Option<SetId>,
}

/// Counts that describe a compiled policy, as `escalate-check check` prints them.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct PolicySummary {
    /// The policy's `name`.
    pub name: String,
    /// Rules in the file.
    pub rules: usize,
    /// Rules that are enabled (the others are checked but never run).
    pub enabled_rules: usize,
    /// Phrases of every `keywords`, `whole_message` and topic list.
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

/// Loads policies with non-default options.
///
/// ```
/// use escalate::Engine;
///
/// let err = Engine::builder()
///     .origin("tiny.yaml")
///     .max_policy_bytes(10)
///     .build("version: 1\nrules: []\n")
///     .unwrap_err();
/// assert_eq!(err.diagnostics().next().unwrap().code(), "policy-too-large");
/// ```
#[derive(Clone, Debug)]
pub struct EngineBuilder {
    origin: String,
    max_policy_bytes: usize,
    max_phrases: usize,
}

impl Default for EngineBuilder {
    fn default() -> Self {
        EngineBuilder {
            origin: "<policy>".to_string(),
            max_policy_bytes: 8 << 20,
            max_phrases: 100_000,
        }
    }
}

impl EngineBuilder {
    /// The file name diagnostics mention (default `<policy>`).
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = origin.into();
        self
    }

    /// Refuses policy texts longer than this (default 8 MiB).
    pub fn max_policy_bytes(mut self, bytes: usize) -> Self {
        self.max_policy_bytes = bytes;
        self
    }

    /// Refuses policies with more phrases than this, counting every list
    /// and negation cue (default 100,000).
    pub fn max_phrases(mut self, phrases: usize) -> Self {
        self.max_phrases = phrases;
        self
    }

    /// Compiles a policy from YAML text.
    pub fn build(&self, yaml: &str) -> Result<Engine, PolicyError> {
        let source = Source {
            file: &self.origin,
            text: yaml,
        };
        if yaml.len() > self.max_policy_bytes {
            let mut d = source.error(
                "policy-too-large",
                format!(
                    "policy is {} bytes, more than the {} allowed",
                    yaml.len(),
                    self.max_policy_bytes
                ),
            );
            d.set_help(
                "split the phrase lists, or raise the limit with `EngineBuilder::max_policy_bytes`",
            );
            return Err(PolicyError::new(vec![d]));
        }
        let spec: PolicySpec = serde_saphyr::from_str(yaml)
            .map_err(|e| PolicyError::new(vec![yaml_diagnostic(&source, &e)]))?;
        compile(spec, source, self.max_phrases)
    }

    /// Reads and compiles a policy file; diagnostics name the file as given.
    pub fn build_from_path(&self, path: impl AsRef<Path>) -> Result<Engine, PolicyError> {
        let path = path.as_ref();
        let builder = self.clone().origin(path.display().to_string());
        let source = Source {
            file: &builder.origin,
            text: "",
        };
        let bytes = std::fs::read(path).map_err(|e| {
            let mut d = source.error(
                "io",
                format!("cannot read the policy: {}", lowercase_io(&e)),
            );
            d.set_help("check the path and its permissions");
            PolicyError::new(vec![d])
        })?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let valid = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(e.as_bytes());
            let source = Source {
                file: &builder.origin,
                text: &text,
            };
            let mut d = source.error_at(valid, 1, "not-utf8", "the policy is not valid UTF-8");
            d.set_help("save the file as UTF-8");
            PolicyError::new(vec![d])
        })?;
        builder.build(&text)
    }
}

fn lowercase_io(e: &std::io::Error) -> String {
    let s = e.to_string();
    lowercase_first(s.split(" (os error").next().unwrap_or(&s))
}

/// Turns a YAML or shape error into a located diagnostic with a hint.
fn yaml_diagnostic(source: &Source, error: &serde_saphyr::Error) -> Diagnostic {
    let raw = error.without_snippet().to_string();
    let message = match raw.rfind(" at line ") {
        Some(at) => &raw[..at],
        None => &raw,
    };
    let (offset, len) = error
        .location()
        .map(|loc| {
            let span = loc.span();
            match (span.byte_offset(), span.byte_len()) {
                (Some(o), Some(l)) if o != u32::MAX as u64 => (o as usize, l as usize),
                _ => (
                    line_col_offset(source.text, loc.line() as usize, loc.column() as usize),
                    1,
                ),
            }
        })
        .unwrap_or((0, 0));
    let (code, message, help) = explain_yaml_message(message);
    let mut d = if error.location().is_some() {
        source.error_at(offset, len, code, message)
    } else {
        source.error(code, message)
    };
    if let Some(help) = help {
        d.set_help(help);
    }
    d
}

fn line_col_offset(text: &str, line: usize, column: usize) -> usize {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let rest = &text[line_start.min(text.len())..];
    line_start
        + rest
            .char_indices()
            .nth(column.saturating_sub(1))
            .map_or(rest.len(), |(i, _)| i)
}

/// Rewrites serde's messages in the project's style and adds a fix.
fn explain_yaml_message(message: &str) -> (&'static str, String, Option<String>) {
    let expected = |rest: &str| -> Vec<String> {
        rest.split_once("expected one of ")
            .map(|(_, list)| {
                list.split(", ")
                    .map(|s| s.trim_matches('`').to_string())
                    .collect()
            })
            .or_else(|| {
                rest.split_once("expected ")
                    .map(|(_, one)| vec![one.trim_matches('`').to_string()])
            })
            .unwrap_or_default()
    };
    let quoted = |s: &str| s.split('`').nth(1).unwrap_or("").to_string();
    let list = |names: &[String]| {
        names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let input = quoted(rest);
        let names = expected(rest);
        let help = did_you_mean(&input, names.iter().map(String::as_str))
            .unwrap_or_else(|| format!("expected one of {}", list(&names)));
        return (
            "unknown-field",
            format!("unknown field `{input}`"),
            Some(help),
        );
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        let input = quoted(rest);
        let names = expected(rest);
        let help = did_you_mean(&input, names.iter().map(String::as_str))
            .unwrap_or_else(|| format!("expected one of {}", list(&names)));
        return (
            "unknown-value",
            format!("unknown value `{input}`"),
            Some(help),
        );
    }
    if let Some(rest) = message.strip_prefix("duplicate mapping key: ") {
        let key = rest.split(',').next().unwrap_or(rest).trim();
        return (
            "duplicate-key",
            format!("duplicate key `{key}`"),
            Some("a key may appear once in each map: remove or merge the other one".into()),
        );
    }
    if let Some(rest) = message.strip_prefix("missing field ") {
        let field = quoted(rest);
        let help = match field.as_str() {
            "version" => "start the policy with `version: 1`".to_string(),
            "rules" => "add `rules:` with at least one rule, or `rules: []`".to_string(),
            "when" => "say when the rule fires, such as `when: { keywords: [\"real person\"] }`"
                .to_string(),
            "kind" => "add `kind: planned` or `kind: fallback`".to_string(),
            "action" => "add `action: escalate` or `action: offer`".to_string(),
            other => format!("add `{other}`"),
        };
        return (
            "missing-field",
            format!("missing field `{field}`"),
            Some(help),
        );
    }
    if message.starts_with("invalid type") {
        return ("invalid-type", message.to_string(), None);
    }
    ("yaml", message.to_string(), None)
}

impl Engine {
    /// Compiles a policy from YAML text.
    pub fn from_yaml(yaml: &str) -> Result<Engine, PolicyError> {
        EngineBuilder::default().build(yaml)
    }

    /// Reads and compiles a policy file.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Engine, PolicyError> {
        EngineBuilder::default().build_from_path(path)
    }

    /// The built-in default policy ([`DEFAULT_POLICY`]). Each call compiles
    /// it (about 12 ms): build it once and share it.
    pub fn builtin() -> Engine {
        EngineBuilder::default()
            .origin("policies/default.yaml")
            .build(DEFAULT_POLICY)
            .expect("the built-in policy compiles (checked by the test suite)")
    }

    /// A builder for loading policies with non-default options.
    pub fn builder() -> EngineBuilder {
        EngineBuilder::default()
    }

    /// The policy's `name`.
    pub fn name(&self) -> &str {
        &self.name
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
        if turn.role == Role::Bot {
            return Decision {
                conversation_id: turn.conversation_id.clone(),
                turn: state.turns(),
                ..Decision::default()
            };
        }
        state.record(turn);
        thread_local! {
            static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
        }
        SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
            Ok(mut scratch) => self.decide(&mut scratch, state, turn),
            Err(_) => self.decide(&mut Scratch::default(), state, turn),
        })
    }

    fn decide(
        &self,
        scratch: &mut Scratch,
        state: &mut ConversationState,
        turn: &Turn,
    ) -> Decision {
        let locale = self.phrases.turn_locale(turn.locale.as_deref());
        scratch.find_phrases(self, turn, locale);
        let script_scope = RefCell::new(None);
        let ctx = Ctx {
            turn,
            state,
            text: &scratch.text,
            hits: &scratch.hits,
            phrases: &self.phrases,
            topics: &self.topics,
            scripts: &self.scripts,
            script_scope: &script_scope,
        };

        scratch.fired.clear();
        let mut errors = Vec::new();
        let language = turn.locale.as_deref().map_or("", primary_language);
        for (index, rule) in self.rules.iter().enumerate() {
            if rule.gate.is_some_and(|set| scratch.hits[set].is_none())
                || !rule.applies_to(language, locale)
            {
                continue;
            }
            if rule.condition.check(&ctx, &mut scratch.script_errors) {
                scratch.fired.push(index);
            }
            if !scratch.script_errors.is_empty() {
                errors.extend(scratch.script_errors.drain(..).map(|message| EvalError {
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
        let mut decision = Decision {
            conversation_id: turn.conversation_id.clone(),
            turn: ctx.state.turns(),
            errors,
            ..Decision::default()
        };
        let Some(deciding) = deciding else {
            return decision;
        };

        let mut explanations = Vec::new();
        for &index in &scratch.fired {
            let rule = &self.rules[index];
            rule.condition.explain(&ctx, &mut explanations);
            decision
                .reasons
                .extend(explanations.drain(..).map(|e: Explanation| Reason {
                    rule: rule.id.clone(),
                    trigger: e.trigger,
                    kind: rule.kind,
                    action: rule.action,
                    detail: e.detail,
                    evidence: e.evidence,
                }));
        }
        let rule = &self.rules[deciding];
        let message = match (turn.agents_online(), rule.action) {
            (false, _) => &rule.offline,
            (true, Action::Offer) => &rule.offer,
            (true, _) => &rule.online,
        };
        decision.action = rule.action;
        decision.kind = Some(rule.kind);
        decision.rule = Some(rule.id.clone());
        decision.route = Some(rule.route.clone());
        decision.message = Some(message.clone());
        decision.agent_note = rule.agent_note.clone();
        let used = scratch
            .fired
            .iter()
            .fold(EvidenceUsed::default(), |acc, &i| {
                acc.union(self.rules[i].evidence_used)
            });
        state.decided(rule.id.clone(), rule.action, used);
        decision
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
struct Scratch {
    text: Normalized,
    hits: Vec<Option<Hit>>,
    cues: Vec<Cue>,
    found: Vec<Found>,
    fired: Vec<usize>,
    script_errors: Vec<String>,
}

impl Scratch {
    fn find_phrases(&mut self, engine: &Engine, turn: &Turn, locale: TurnLocale) {
        self.hits.clear();
        self.hits.resize(engine.phrases.set_count(), None);
        if self.hits.is_empty() {
            self.text.fill("", engine.folding);
            return;
        }
        self.text.fill(&turn.text, engine.folding);
        engine.phrases.scan(
            &self.text,
            locale,
            &mut self.hits,
            &mut self.cues,
            &mut self.found,
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
fn compile(spec: PolicySpec, source: Source, max_phrases: usize) -> Result<Engine, PolicyError> {
    let mut cx = Compiler::new(source, max_phrases);
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
    add_negation_cues(&spec, &mut cx);

    cx.topic_names = spec.topics.keys().cloned().collect();
    let topics: Vec<Topic> = spec
        .topics
        .iter()
        .map(|(name, topic)| Topic::compile(name, topic, &mut cx))
        .collect();

    let defaults = Defaults::from(&spec);
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
        if let Some(compiled) = compile_rule(rule, &defaults, &topics, &mut cx) {
            if rule.value.enabled {
                rules.push(compiled);
            } else {
                disabled += 1;
            }
        }
    }

    if cx.phrases.locale_count() > u8::MAX as usize {
        cx.error("too-many-locales", "the policy names more than 255 locales");
    }
    let phrase_total = cx.phrase_count;
    let mut diagnostics = std::mem::take(&mut cx.diagnostics);
    let phrases = cx
        .phrases
        .build(
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
        name: defaults.name,
        rules,
        phrases,
        topics,
        scripts: cx.scripts,
        folding: cx.folding,
        summary,
    })
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
        .set_help("a cue negates the few words after it; 3 is usual, 0 turns negation off");
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
    queue: String,
    skill: Option<String>,
    priority: Priority,
    online: String,
    offline: String,
    offer: String,
}

impl From<&PolicySpec> for Defaults {
    fn from(spec: &PolicySpec) -> Defaults {
        Defaults {
            name: spec.name.clone().unwrap_or_else(|| "unnamed".to_string()),
            queue: spec
                .route
                .queue
                .clone()
                .unwrap_or_else(|| DEFAULT_QUEUE.to_string()),
            skill: spec.route.skill.clone(),
            priority: spec.route.priority.unwrap_or_default(),
            online: spec
                .messages
                .online
                .clone()
                .unwrap_or_else(|| DEFAULT_ONLINE.to_string()),
            offline: spec
                .messages
                .offline
                .clone()
                .unwrap_or_else(|| DEFAULT_OFFLINE.to_string()),
            offer: spec
                .messages
                .offer
                .clone()
                .unwrap_or_else(|| DEFAULT_OFFER.to_string()),
        }
    }
}

fn compile_rule(
    spanned: &Spanned<RuleSpec>,
    defaults: &Defaults,
    topics: &[Topic],
    cx: &mut Compiler,
) -> Option<Rule> {
    let spec = &spanned.value;
    let id = &spec.id.value;
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        cx.error_at(
            &spec.id,
            "invalid-rule-id",
            format!("rule id `{id}` is not a simple name"),
        )
        .set_help("use letters, digits, `-`, `_` and `.`, such as `asks-for-human`");
    }
    if spec.action.value == Action::None {
        cx.error_at(
            &spec.action,
            "invalid-action",
            "a rule's action cannot be `none`",
        )
        .set_help("use `offer` or `escalate`; to switch a rule off, write `enabled: false`");
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
    if spec
        .route
        .queue
        .as_deref()
        .is_some_and(|q| q.trim().is_empty())
    {
        cx.error_at(
            &spec.id,
            "empty-queue",
            format!("rule `{id}` routes to an empty queue name"),
        )
        .set_help("name the queue, or leave `queue` out to use the policy's");
    }
    let condition = Condition::compile(&spec.when, cx)?;
    let evidence_used = condition.evidence_used();
    let gate = condition.required_set(topics);
    Some(Rule {
        id: Arc::from(id.as_str()),
        condition,
        kind: spec.kind,
        action: spec.action.value,
        priority: spec.priority,
        route: Route {
            queue: spec
                .route
                .queue
                .clone()
                .unwrap_or_else(|| defaults.queue.clone()),
            skill: spec.route.skill.clone().or_else(|| defaults.skill.clone()),
            priority: spec.route.priority.unwrap_or(defaults.priority),
        },
        online: spec
            .messages
            .online
            .clone()
            .unwrap_or_else(|| defaults.online.clone()),
        offline: spec
            .messages
            .offline
            .clone()
            .unwrap_or_else(|| defaults.offline.clone()),
        offer: spec
            .messages
            .offer
            .clone()
            .unwrap_or_else(|| defaults.offer.clone()),
        agent_note: spec.agent_note.clone(),
        evidence_used,
        gate,
        locales: spec
            .locales
            .iter()
            .map(|l| primary_language(l).to_ascii_lowercase())
            .collect(),
    })
}
