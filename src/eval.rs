//! Measuring a policy on labelled utterances: recall, precision and false
//! alarms, per label, language and deciding rule.
//!
//! Labelled data is what ops teams already hold: NLU training sets. Each
//! utterance is one user turn on a fresh conversation, labelled with what
//! the policy should do with it: an action (`escalate`, `offer`, `none`)
//! or the rule that should decide it. Two formats are read: JSON Lines
//! (`{"text": ..., "expect": ..., "locale": ..., "language": ..., "note": ...}`)
//! and Rasa NLU YAML (`nlu:` intents with `examples:`), whose intents an
//! [`IntentMap`] maps to labels.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use crate::decision::{Action, Decision, PolicyId, Reason};
use crate::engine::Engine;
use crate::error::{Source, did_you_mean};
use crate::load::Limits;
use crate::policy::{primary_language, span_of};
use crate::state::ConversationState;
use crate::turn::{LineKind, Turn, parse_line_as};

/// What a labelled utterance should get from the policy.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Expected {
    /// This action: `none`, `offer` or `escalate`.
    Action(Action),
    /// A decision by this rule (its id in the policy).
    Rule(Arc<str>),
}

impl Expected {
    /// Reads a label: an action name, or else a rule id of `engine`'s policy.
    ///
    /// ```
    /// use escalate::{Action, Engine, Expected};
    ///
    /// let engine = Engine::from_yaml(
    ///     "version: 1\nrules:\n  - { id: fraud, when: { keywords: [stolen card] }, kind: planned, action: escalate }\n",
    /// )?;
    /// assert_eq!(Expected::parse("offer", &engine)?, Expected::Action(Action::Offer));
    /// assert_eq!(Expected::parse("fraud", &engine)?.to_string(), "fraud");
    /// let err = Expected::parse("frad", &engine).unwrap_err();
    /// assert_eq!(err.help(), Some("did you mean `fraud`?"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn parse(label: &str, engine: &Engine) -> Result<Expected, UtteranceError> {
        match label {
            "none" => return Ok(Expected::Action(Action::None)),
            "offer" => return Ok(Expected::Action(Action::Offer)),
            "escalate" => return Ok(Expected::Action(Action::Escalate)),
            _ => {}
        }
        if let Some(id) = engine.rule_ids().find(|id| *id == label) {
            return Ok(Expected::Rule(id.into()));
        }
        let names = ["escalate", "offer", "none"]
            .into_iter()
            .chain(engine.rule_ids());
        let help = did_you_mean(label, names).unwrap_or_else(|| {
            "a label is `escalate`, `offer`, `none` or a rule id of the policy".to_string()
        });
        Err(UtteranceError::new(format!("unknown label `{label}`")).with_help(help))
    }

    /// Whether the policy should act on it (anything but `none`).
    pub fn is_positive(&self) -> bool {
        *self != Expected::Action(Action::None)
    }

    /// Whether `decision` is what was expected: the same action, or a
    /// decision by the expected rule.
    pub fn is_met_by(&self, decision: &Decision) -> bool {
        match self {
            Expected::Action(action) => decision.action == *action,
            Expected::Rule(rule) => decision.rule.as_deref() == Some(&**rule),
        }
    }
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expected::Action(action) => write!(f, "{action}"),
            Expected::Rule(rule) => f.write_str(rule),
        }
    }
}

impl Serialize for Expected {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// One labelled utterance, with where it was read.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Utterance {
    /// What the user wrote.
    pub text: String,
    /// What the policy should do with it.
    pub expect: Expected,
    /// The locale the bot would send with it, if any.
    pub locale: Option<String>,
    /// The language the text is in, for the per-language figures: as
    /// labelled, else the primary language of `locale`, else `-`.
    pub language: String,
    /// A free note carried to the report.
    pub note: Option<String>,
    /// The file it was read from.
    pub file: Arc<str>,
    /// Its line in that file, from 1.
    pub line: usize,
}

impl Utterance {
    /// An utterance with no locale, language or note, at line 0 of `<input>`.
    pub fn new(text: impl Into<String>, expect: Expected) -> Utterance {
        Utterance {
            text: text.into(),
            expect,
            locale: None,
            language: "-".to_string(),
            note: None,
            file: "<input>".into(),
            line: 0,
        }
    }

    /// Sets the locale, and the language to its primary language.
    pub fn with_locale(mut self, locale: impl Into<String>) -> Utterance {
        let locale = locale.into();
        self.language = language_of(None, Some(&locale));
        self.locale = Some(locale);
        self
    }
}

/// The language an utterance is counted under.
fn language_of(language: Option<&str>, locale: Option<&str>) -> String {
    match (language, locale) {
        (Some(language), _) if !language.trim().is_empty() => language.trim().to_lowercase(),
        (_, Some(locale)) if !primary_language(locale).is_empty() => {
            primary_language(locale.trim()).to_lowercase()
        }
        _ => "-".to_string(),
    }
}

/// A problem with labelled data or an evaluation argument: where (when it
/// has a place), what, and the fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UtteranceError {
    file: String,
    line: usize,
    column: usize,
    message: String,
    help: Option<String>,
}

impl UtteranceError {
    fn new(message: impl Into<String>) -> UtteranceError {
        UtteranceError {
            file: String::new(),
            line: 0,
            column: 0,
            message: message.into(),
            help: None,
        }
    }

    fn with_help(mut self, help: impl Into<String>) -> UtteranceError {
        self.help = Some(help.into());
        self
    }

    fn at(mut self, file: &str, line: usize, column: usize) -> UtteranceError {
        self.file = file.to_string();
        self.line = line;
        self.column = column;
        self
    }

    /// The file, or empty for an argument.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The line, from 1; 0 when the problem has no place in a file.
    pub fn line(&self) -> usize {
        self.line
    }

    /// The column in characters, from 1; 0 when there is no place.
    pub fn column(&self) -> usize {
        self.column
    }

    /// What is wrong, without the place.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// How to fix it, when there is a likely fix.
    pub fn help(&self) -> Option<&str> {
        self.help.as_deref()
    }
}

/// `file:line:column: message`, or just the message when it has no place.
impl fmt::Display for UtteranceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        } else if !self.file.is_empty() {
            write!(f, "{}: ", self.file)?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for UtteranceError {}

/// Which Rasa intent means what: intents not in the map count as `none`
/// (hard negatives).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IntentMap {
    labels: BTreeMap<String, Expected>,
}

impl IntentMap {
    /// An empty map: every intent counts as `none`.
    pub fn new() -> IntentMap {
        IntentMap::default()
    }

    /// Maps `intent` to `expect`.
    pub fn insert(&mut self, intent: impl Into<String>, expect: Expected) {
        self.labels.insert(intent.into(), expect);
    }

    /// Reads and adds `NAME=LABEL`, as `--intent` takes it.
    pub fn add_spec(&mut self, spec: &str, engine: &Engine) -> Result<(), UtteranceError> {
        let Some((name, label)) = spec.split_once('=') else {
            return Err(
                UtteranceError::new(format!("expected NAME=LABEL, not `{spec}`"))
                    .with_help("such as `--intent human_handoff=escalate`"),
            );
        };
        let name = name.trim();
        if name.is_empty() {
            return Err(UtteranceError::new(format!("no intent name in `{spec}`"))
                .with_help("such as `--intent human_handoff=escalate`"));
        }
        self.insert(name, Expected::parse(label.trim(), engine)?);
        Ok(())
    }

    /// The intents mapped, in order of name.
    pub fn intents(&self) -> impl Iterator<Item = &str> {
        self.labels.keys().map(String::as_str)
    }
}

/// Labelled utterances, read from one or more files, ready to measure a
/// policy with.
///
/// ```
/// use escalate::{Engine, IntentMap, LabelledSet};
///
/// let engine = Engine::from_yaml(
///     "version: 1\nrules:\n  - { id: human, when: { keywords: [real person] }, kind: fallback, action: escalate }\n",
/// )?;
/// let mut set = LabelledSet::new();
/// let jsonl = br#"{"text": "a real person please", "expect": "human"}
/// {"text": "where is my parcel", "expect": "none"}
/// "#;
/// assert!(set.read_jsonl(&engine, "labelled.jsonl", jsonl).is_empty());
/// let mut intents = IntentMap::new();
/// intents.add_spec("handoff=escalate", &engine)?;
/// let rasa = "nlu:\n- intent: handoff\n  examples: |\n    - get me a [real person](agent)\n    - I want a human\n";
/// assert!(set.read_rasa("nlu.yml", rasa, &intents).is_empty());
///
/// let report = set.evaluate(&engine);
/// assert_eq!(report.overall.positives, 3);
/// assert_eq!(report.overall.recalled, 2); // "I want a human" is missed
/// assert_eq!(report.misses[0].text, "I want a human");
/// assert_eq!(report.overall.precision, Some(1.0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct LabelledSet {
    utterances: Vec<Utterance>,
    /// Rasa intents seen, with how many of their examples were not mapped.
    intents: BTreeMap<String, usize>,
}

/// One line of labelled JSONL.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UtteranceSpec {
    text: String,
    expect: String,
    #[serde(default)]
    locale: Option<String>,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    note: Option<String>,
}

const UTTERANCE: LineKind = LineKind {
    noun: "utterance",
    unknown_field_help: "an utterance has `text`, `expect`, `locale`, `language` and `note`",
    nesting_help: "an utterance's fields are text",
};

/// A Rasa NLU file: only `nlu:` is read.
#[derive(Deserialize)]
struct RasaSpec {
    #[serde(default)]
    nlu: Option<Vec<Spanned<RasaItem>>>,
}

/// One item of `nlu:`; only intents are read, and their keys other than
/// `intent` and `examples` (such as `metadata`) are ignored.
#[derive(Deserialize)]
struct RasaItem {
    #[serde(default)]
    intent: Option<String>,
    #[serde(default)]
    examples: Option<Spanned<String>>,
    #[serde(default)]
    synonym: Option<IgnoredAny>,
    #[serde(default)]
    regex: Option<IgnoredAny>,
    #[serde(default)]
    lookup: Option<IgnoredAny>,
}

impl LabelledSet {
    /// An empty set.
    pub fn new() -> LabelledSet {
        LabelledSet::default()
    }

    /// Adds one utterance.
    pub fn push(&mut self, utterance: Utterance) {
        self.utterances.push(utterance);
    }

    /// The utterances, in the order read.
    pub fn utterances(&self) -> &[Utterance] {
        &self.utterances
    }

    /// The Rasa intents read, in order of name.
    pub fn intents(&self) -> impl Iterator<Item = &str> {
        self.intents.keys().map(String::as_str)
    }

    /// Reads labelled JSON Lines, one utterance a line, checking each label
    /// against `engine`'s rules. Returns the lines that could not be read
    /// (each located, with a fix); the others are kept.
    pub fn read_jsonl(
        &mut self,
        engine: &Engine,
        origin: &str,
        bytes: &[u8],
    ) -> Vec<UtteranceError> {
        let file: Arc<str> = origin.into();
        let mut errors = Vec::new();
        for (index, line) in bytes.split(|&b| b == b'\n').enumerate() {
            let number = index + 1;
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let spec: UtteranceSpec = match parse_line_as(
                line,
                "an utterance is a JSON object",
                r#"write one object per line, such as `{"text": "I want a person", "expect": "escalate"}`"#,
                &UTTERANCE,
            ) {
                Ok(spec) => spec,
                Err(e) => {
                    let mut error = UtteranceError::new(format!("invalid utterance: {e}")).at(
                        origin,
                        number + e.line() - 1,
                        e.column(),
                    );
                    error.help = e.help().map(String::from);
                    errors.push(error);
                    continue;
                }
            };
            let expect = match Expected::parse(&spec.expect, engine) {
                Ok(expect) => expect,
                Err(e) => {
                    let column = value_column(&String::from_utf8_lossy(line), "expect");
                    errors.push(e.at(origin, number, column));
                    continue;
                }
            };
            self.utterances.push(Utterance {
                language: language_of(spec.language.as_deref(), spec.locale.as_deref()),
                text: spec.text,
                expect,
                locale: spec.locale,
                note: spec.note,
                file: file.clone(),
                line: number,
            });
        }
        errors
    }

    /// Reads Rasa NLU training data (the `nlu:` intents of a Rasa 2 or 3
    /// YAML file), labelling each example by its intent through `intents`
    /// (`none` when not mapped). Entity annotations are stripped to their
    /// text. Other keys and items (`version`, `responses`, synonyms, lookup
    /// tables, regexes) are ignored. Returns what could not be read, each
    /// located; a file that is not valid YAML gives one error and no
    /// utterances.
    pub fn read_rasa(
        &mut self,
        origin: &str,
        text: &str,
        intents: &IntentMap,
    ) -> Vec<UtteranceError> {
        let source = Source { file: origin, text };
        let limits = Limits {
            policy_bytes: 64 << 20,
            phrases: 1_000_000,
            ..Limits::default()
        };
        let spec: RasaSpec = match crate::load::parse_yaml(&source, limits) {
            Ok(spec) => spec,
            Err(e) => {
                return e
                    .diagnostics()
                    .map(|d| {
                        let mut error =
                            UtteranceError::new(format!("invalid Rasa NLU data: {}", d.message()))
                                .at(origin, d.line(), d.column());
                        error.help = d.help().map(String::from);
                        error
                    })
                    .collect();
            }
        };
        let file: Arc<str> = origin.into();
        let place = |offset: usize| crate::error::position(text.as_bytes(), offset);
        let mut errors = Vec::new();
        let Some(items) = spec.nlu.filter(|items| !items.is_empty()) else {
            return vec![
                UtteranceError::new("no `nlu:` examples in the file")
                    .at(origin, 1, 1)
                    .with_help(
                        "Rasa training data lists `- intent: NAME` with `examples: |` under `nlu:`",
                    ),
            ];
        };
        for item in items {
            let (offset, _) = span_of(&item);
            let item = item.value;
            let Some(intent) = item.intent else {
                if item.synonym.is_none() && item.regex.is_none() && item.lookup.is_none() {
                    let (line, column) = place(offset);
                    errors.push(
                        UtteranceError::new("an `nlu` item with no `intent`")
                            .at(origin, line, column)
                            .with_help("an item is `- intent: NAME` with `examples: |`, or a `synonym`, `regex` or `lookup`"),
                    );
                }
                continue;
            };
            let Some(examples) = item.examples else {
                let (line, column) = place(offset);
                errors.push(
                    UtteranceError::new(format!("intent `{intent}` has no `examples`"))
                        .at(origin, line, column)
                        .with_help("add `examples: |` with one `- text` line per example"),
                );
                continue;
            };
            let expect = intents.labels.get(&intent).cloned();
            let unmapped = self.intents.entry(intent.clone()).or_default();
            let (start, _) = span_of(&examples);
            let mut lines = BlockLines::new(text, start);
            for example in examples.value.lines() {
                let content = example.trim();
                if content.is_empty() || content.starts_with('#') {
                    continue;
                }
                let (line, column) = lines.place(content);
                let Some(example) = content.strip_prefix('-') else {
                    errors.push(
                        UtteranceError::new(format!(
                            "an example of `{intent}` is not a `- text` line"
                        ))
                        .at(origin, line, column)
                        .with_help("write each example on its own line, as `- text`"),
                    );
                    continue;
                };
                let example = strip_entities(example.trim());
                if example.is_empty() {
                    continue;
                }
                if expect.is_none() {
                    *unmapped += 1;
                }
                self.utterances.push(Utterance {
                    text: example,
                    expect: expect.clone().unwrap_or(Expected::Action(Action::None)),
                    locale: None,
                    language: "-".to_string(),
                    note: None,
                    file: file.clone(),
                    line,
                });
            }
        }
        errors
    }

    /// The intents of `map` that no Rasa file read has, each an error with
    /// the closest intent read: a misspelt `--intent` would otherwise count
    /// its examples as `none`.
    pub fn unread_intents(&self, map: &IntentMap) -> Vec<UtteranceError> {
        map.intents()
            .filter(|intent| !self.intents.contains_key(*intent))
            .map(|intent| {
                let error =
                    UtteranceError::new(format!("intent `{intent}` is in no Rasa file read"));
                match did_you_mean(intent, self.intents()) {
                    Some(help) => error.with_help(help),
                    None => error.with_help("map the intents of the Rasa files given"),
                }
            })
            .collect()
    }

    /// Evaluates every utterance as one user turn (its text and locale) on
    /// a fresh conversation, and scores the decisions.
    pub fn evaluate(&self, engine: &Engine) -> EvalReport {
        let decisions: Vec<Decision> = self
            .utterances
            .iter()
            .map(|u| {
                let turn = Turn {
                    locale: u.locale.clone(),
                    ..Turn::user(u.text.clone())
                };
                engine.evaluate(&mut ConversationState::new(), &turn)
            })
            .collect();
        let rules: Vec<&str> = engine.rule_ids().collect();
        let mut report = score(
            engine.id().clone(),
            &rules,
            self.utterances.iter().zip(&decisions),
        );
        for (intent, &count) in &self.intents {
            if count > 0 {
                report.unmapped_examples += count;
                report.unmapped_intents.push(intent.clone());
            }
        }
        report
    }
}

/// The column (from 1, in characters) of the value of `"key"` in a JSON
/// line, or 1 when it cannot be found.
fn value_column(line: &str, key: &str) -> usize {
    let quoted = format!("\"{key}\"");
    line.find(&quoted)
        .and_then(|at| {
            let after = at + quoted.len();
            let colon = after + line[after..].find(':')?;
            let value = colon + 1 + line[colon + 1..].len() - line[colon + 1..].trim_start().len();
            Some(line[..value].chars().count() + 1)
        })
        .unwrap_or(1)
}

/// Where the lines of a scalar of examples are in the file: each is
/// looked for on the lines from the scalar's start on, in order (a literal
/// block, `examples: |`, keeps one value line per source line).
struct BlockLines<'t> {
    text: &'t str,
    /// Where to look for the next example.
    cursor: usize,
    /// The scalar's own place, the fallback.
    start: usize,
}

impl<'t> BlockLines<'t> {
    fn new(text: &'t str, start: usize) -> BlockLines<'t> {
        let start = crate::error::floor_char_boundary(text, start);
        BlockLines {
            text,
            cursor: crate::error::line_start(text.as_bytes(), start),
            start,
        }
    }

    /// The line and column of the next example, whose trimmed text is `content`.
    fn place(&mut self, content: &str) -> (usize, usize) {
        let mut from = self.cursor;
        for line in self.text[self.cursor..].split_inclusive('\n') {
            if let Some(at) = line.find(content) {
                self.cursor = from + line.len();
                return crate::error::position(self.text.as_bytes(), from + at);
            }
            from += line.len();
        }
        crate::error::position(self.text.as_bytes(), self.start)
    }
}

/// A Rasa example's text without its entity annotations:
/// `[text](entity)`, `[text](entity:value)`, `[text]{"entity": ...}` and
/// `[text][{...}]` all become `text`. Brackets that are not an annotation
/// are kept.
pub(crate) fn strip_entities(example: &str) -> String {
    let mut out = String::with_capacity(example.len());
    let mut rest = example;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let after_open = &rest[open + 1..];
        let annotated = after_open.find(']').and_then(|close| {
            let inner = &after_open[..close];
            let tail = &after_open[close + 1..];
            let end = match tail.chars().next()? {
                '(' => tail.find(')')? + 1,
                '{' => matching(tail, '{', '}')?,
                '[' => matching(tail, '[', ']')?,
                _ => return None,
            };
            (!inner.contains('[')).then_some((inner, &tail[end..]))
        });
        match annotated {
            Some((inner, tail)) => {
                out.push_str(inner);
                rest = tail;
            }
            None => {
                out.push('[');
                rest = after_open;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The length up to and including the bracket closing the one `text`
/// starts with, skipping JSON strings.
fn matching(text: &str, open: char, close: char) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (at, c) in text.char_indices() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            c if c == open => depth += 1,
            c if c == close => {
                depth -= 1;
                if depth == 0 {
                    return Some(at + c.len_utf8());
                }
            }
            _ => {}
        }
    }
    None
}

/// `count / of`, or `None` when there is nothing to divide by.
pub(crate) fn ratio(count: usize, of: usize) -> Option<f64> {
    (of > 0).then(|| count as f64 / of as f64)
}

/// What a policy did to a labelled set. Rates are `null` (`None`) when
/// there is nothing to compute them over.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct EvalReport {
    /// The policy measured.
    pub policy: PolicyId,
    /// The figures over every utterance.
    pub overall: Overall,
    /// Per label, in order: `none`, `offer`, `escalate`, then rule ids.
    pub labels: Vec<LabelFigures>,
    /// Per label and language.
    pub label_languages: Vec<LabelFigures>,
    /// Per language.
    pub languages: Vec<LanguageFigures>,
    /// Per rule that decided an utterance or labels one, in policy order.
    pub rules: Vec<RuleFigures>,
    /// Rasa examples counted as `none` because their intent was not mapped.
    pub unmapped_examples: usize,
    /// The intents of those examples.
    pub unmapped_intents: Vec<String>,
    /// Positives that did not get what they expected.
    pub misses: Vec<EvalCase>,
    /// Negatives (`none`) that were offered or escalated.
    pub false_alarms: Vec<EvalCase>,
}

/// The figures over every utterance.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Overall {
    /// Utterances measured.
    pub utterances: usize,
    /// Those expecting something other than `none`.
    pub positives: usize,
    /// Those expecting `none`.
    pub negatives: usize,
    /// Positives that got what they expected.
    pub recalled: usize,
    /// `recalled / positives`.
    pub recall: Option<f64>,
    /// Decisions that offered or escalated.
    pub decisions: usize,
    /// Of those, the ones that were what the utterance expected.
    pub correct_decisions: usize,
    /// `correct_decisions / decisions`.
    pub precision: Option<f64>,
    /// Negatives that were offered or escalated.
    pub false_alarms: usize,
    /// `false_alarms / negatives`.
    pub false_alarm_rate: Option<f64>,
}

/// How one label fared, in one language or all.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct LabelFigures {
    /// The label.
    pub label: Expected,
    /// The language, for per-language figures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Utterances with the label.
    pub count: usize,
    /// Those that got it.
    pub correct: usize,
    /// `correct / count`.
    pub recall: Option<f64>,
}

/// How one language fared.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct LanguageFigures {
    /// The language (`-` for unknown).
    pub language: String,
    /// Utterances in it.
    pub utterances: usize,
    /// Positives in it.
    pub positives: usize,
    /// Of those, the ones that got what they expected.
    pub recalled: usize,
    /// `recalled / positives`.
    pub recall: Option<f64>,
    /// Negatives in it.
    pub negatives: usize,
    /// Of those, the ones offered or escalated.
    pub false_alarms: usize,
    /// `false_alarms / negatives`.
    pub false_alarm_rate: Option<f64>,
}

/// How one rule fared as the deciding rule, and as a label.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct RuleFigures {
    /// The rule's id.
    pub rule: String,
    /// Utterances it decided.
    pub decided: usize,
    /// Of those, the ones that got what they expected.
    pub correct: usize,
    /// `correct / decided`.
    pub precision: Option<f64>,
    /// Utterances labelled with the rule.
    pub labelled: usize,
    /// Of those, the ones it decided.
    pub recalled: usize,
    /// `recalled / labelled`.
    pub recall: Option<f64>,
}

/// A miss or a false alarm: the utterance and what was decided.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct EvalCase {
    /// The file it was read from.
    pub file: String,
    /// Its line there.
    pub line: usize,
    /// What the user wrote.
    pub text: String,
    /// Its language.
    pub language: String,
    /// The label.
    pub expected: Expected,
    /// The action decided.
    pub action: Action,
    /// The deciding rule, if any.
    pub rule: Option<String>,
    /// Every rule that fired, with its evidence.
    pub reasons: Vec<Reason>,
    /// The utterance's note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Default)]
struct Tally {
    count: usize,
    correct: usize,
}

#[derive(Default)]
struct LanguageTally {
    utterances: usize,
    positives: usize,
    recalled: usize,
    negatives: usize,
    false_alarms: usize,
}

/// Scores decisions against their labels; `rules` is the policy's order.
pub(crate) fn score<'a>(
    policy: PolicyId,
    rules: &[&str],
    scored: impl Iterator<Item = (&'a Utterance, &'a Decision)>,
) -> EvalReport {
    let mut overall = Overall::default();
    let mut labels: BTreeMap<Expected, Tally> = BTreeMap::new();
    let mut label_languages: BTreeMap<(Expected, String), Tally> = BTreeMap::new();
    let mut languages: BTreeMap<String, LanguageTally> = BTreeMap::new();
    let mut deciding: BTreeMap<String, Tally> = BTreeMap::new();
    let mut misses = Vec::new();
    let mut false_alarms = Vec::new();
    for (utterance, decision) in scored {
        let correct = utterance.expect.is_met_by(decision);
        let positive = utterance.expect.is_positive();
        let acted = decision.action != Action::None;
        overall.utterances += 1;
        let language = languages.entry(utterance.language.clone()).or_default();
        language.utterances += 1;
        if positive {
            overall.positives += 1;
            language.positives += 1;
            if correct {
                overall.recalled += 1;
                language.recalled += 1;
            }
        } else {
            overall.negatives += 1;
            language.negatives += 1;
            if acted {
                overall.false_alarms += 1;
                language.false_alarms += 1;
            }
        }
        if acted {
            overall.decisions += 1;
            overall.correct_decisions += usize::from(correct);
        }
        for tally in [
            labels.entry(utterance.expect.clone()).or_default(),
            label_languages
                .entry((utterance.expect.clone(), utterance.language.clone()))
                .or_default(),
        ] {
            tally.count += 1;
            tally.correct += usize::from(correct);
        }
        if let Some(rule) = &decision.rule {
            let tally = deciding.entry(rule.to_string()).or_default();
            tally.count += 1;
            tally.correct += usize::from(correct);
        }
        if (positive && !correct) || (!positive && acted) {
            let case = EvalCase {
                file: utterance.file.to_string(),
                line: utterance.line,
                text: utterance.text.clone(),
                language: utterance.language.clone(),
                expected: utterance.expect.clone(),
                action: decision.action,
                rule: decision.rule.as_deref().map(String::from),
                reasons: decision.reasons.clone(),
                note: utterance.note.clone(),
            };
            if positive {
                misses.push(case);
            } else {
                false_alarms.push(case);
            }
        }
    }
    overall.recall = ratio(overall.recalled, overall.positives);
    overall.precision = ratio(overall.correct_decisions, overall.decisions);
    overall.false_alarm_rate = ratio(overall.false_alarms, overall.negatives);

    let mut rule_order: Vec<String> = rules.iter().map(|r| r.to_string()).collect();
    rule_order.extend(
        deciding
            .keys()
            .filter(|r| !rules.contains(&r.as_str()))
            .cloned(),
    );
    let rules = rule_order
        .into_iter()
        .filter_map(|rule| {
            let decided = deciding.get(&rule);
            let labelled = labels.get(&Expected::Rule(rule.as_str().into()));
            if decided.is_none() && labelled.is_none() {
                return None;
            }
            let (decided, correct) = decided.map_or((0, 0), |t| (t.count, t.correct));
            let (labelled, recalled) = labelled.map_or((0, 0), |t| (t.count, t.correct));
            Some(RuleFigures {
                rule,
                decided,
                correct,
                precision: ratio(correct, decided),
                labelled,
                recalled,
                recall: ratio(recalled, labelled),
            })
        })
        .collect();
    let figures = |label: &Expected, language: Option<&String>, tally: &Tally| LabelFigures {
        label: label.clone(),
        language: language.cloned(),
        count: tally.count,
        correct: tally.correct,
        recall: ratio(tally.correct, tally.count),
    };
    EvalReport {
        policy,
        overall,
        labels: labels.iter().map(|(l, t)| figures(l, None, t)).collect(),
        label_languages: label_languages
            .iter()
            .map(|((l, language), t)| figures(l, Some(language), t))
            .collect(),
        languages: languages
            .into_iter()
            .map(|(language, t)| LanguageFigures {
                language,
                utterances: t.utterances,
                positives: t.positives,
                recalled: t.recalled,
                recall: ratio(t.recalled, t.positives),
                negatives: t.negatives,
                false_alarms: t.false_alarms,
                false_alarm_rate: ratio(t.false_alarms, t.negatives),
            })
            .collect(),
        rules,
        unmapped_examples: 0,
        unmapped_intents: Vec::new(),
        misses,
        false_alarms,
    }
}

/// A minimum a figure of an [`EvalReport`] must reach, as `--min-recall`
/// and `--min-precision` take it.
///
/// ```
/// use escalate::{Engine, Floor, LabelledSet};
///
/// let engine = Engine::from_yaml(
///     "version: 1\nrules:\n  - { id: human, when: { keywords: [real person] }, kind: fallback, action: escalate }\n",
/// )?;
/// let mut set = LabelledSet::new();
/// set.read_jsonl(&engine, "l.jsonl", br#"{"text": "a human please", "expect": "escalate", "locale": "en"}"#);
/// let report = set.evaluate(&engine);
/// let check = report.check(&Floor::recall("escalate@en=0.9", &engine)?);
/// assert!(!check.met);
/// assert_eq!(check.actual, Some(0.0));
/// assert!(report.check(&Floor::precision("0.9", &engine)?).actual.is_none()); // nothing decided
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Floor {
    spec: String,
    metric: Metric,
    min: f64,
}

#[derive(Clone, Debug, PartialEq)]
enum Metric {
    /// Recall of a label (or of all positives), in a language or all.
    Recall {
        label: Option<Expected>,
        language: Option<String>,
    },
    /// Precision of a deciding rule, or of every decision.
    Precision { rule: Option<Arc<str>> },
}

impl Floor {
    /// `[LABEL][@LANG]=FLOOR` or `FLOOR`: the recall of a label (in one
    /// language), or of every positive, must be at least FLOOR (0 to 1).
    pub fn recall(spec: &str, engine: &Engine) -> Result<Floor, UtteranceError> {
        let (target, min) = split_floor(spec)?;
        let (label, language) = match target {
            None => (None, None),
            Some(target) => {
                let (label, language) = match target.split_once('@') {
                    Some((label, language)) => (label, Some(language.trim().to_lowercase())),
                    None => (target, None),
                };
                let label = match label.trim() {
                    "" => None,
                    label => Some(Expected::parse(label, engine)?),
                };
                (label, language.filter(|l| !l.is_empty()))
            }
        };
        Ok(Floor {
            spec: spec.to_string(),
            metric: Metric::Recall { label, language },
            min,
        })
    }

    /// `[RULE=]FLOOR`: the precision of a deciding rule, or of every
    /// decision that offered or escalated, must be at least FLOOR (0 to 1).
    pub fn precision(spec: &str, engine: &Engine) -> Result<Floor, UtteranceError> {
        let (target, min) = split_floor(spec)?;
        let rule = match target {
            None => None,
            Some(rule) => match Expected::parse(rule.trim(), engine) {
                Ok(Expected::Rule(rule)) => Some(rule),
                Ok(Expected::Action(action)) => {
                    return Err(UtteranceError::new(format!(
                        "`{action}` is an action, not a rule"
                    ))
                    .with_help("a precision floor is overall (`0.95`) or for a deciding rule (`RULE=0.95`)"));
                }
                Err(e) => return Err(e),
            },
        };
        Ok(Floor {
            spec: spec.to_string(),
            metric: Metric::Precision { rule },
            min,
        })
    }
}

/// `TARGET=FLOOR` or `FLOOR`, the floor a number from 0 to 1.
fn split_floor(spec: &str) -> Result<(Option<&str>, f64), UtteranceError> {
    let (target, number) = match spec.rsplit_once('=') {
        Some((target, number)) => (Some(target), number),
        None => (None, spec),
    };
    let min = number
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|n| (0.0..=1.0).contains(n))
        .ok_or_else(|| {
            UtteranceError::new(format!("`{}` is not a floor from 0 to 1", number.trim()))
                .with_help("write a fraction, such as `0.9` for 90%")
        })?;
    Ok((target, min))
}

/// Whether a [`Floor`] was met, and by what figure.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct FloorCheck {
    /// The floor as written.
    pub floor: String,
    /// `recall` or `precision`.
    pub metric: &'static str,
    /// The label whose recall it is, if one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The language, if one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// The deciding rule whose precision it is, if one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The minimum.
    pub min: f64,
    /// The figure, or `None` when there was nothing to compute it over
    /// (which does not meet the floor).
    pub actual: Option<f64>,
    /// Whether `actual` is at least `min`.
    pub met: bool,
}

impl EvalReport {
    /// Checks one floor against the figures.
    pub fn check(&self, floor: &Floor) -> FloorCheck {
        let (metric, label, language, rule, actual) = match &floor.metric {
            Metric::Recall { label, language } => {
                let actual = match (label, language) {
                    (None, None) => self.overall.recall,
                    (None, Some(language)) => self
                        .languages
                        .iter()
                        .find(|l| l.language == *language)
                        .and_then(|l| l.recall),
                    (Some(label), language) => {
                        let rows = match language {
                            None => &self.labels,
                            Some(_) => &self.label_languages,
                        };
                        rows.iter()
                            .find(|f| f.label == *label && f.language == *language)
                            .and_then(|f| f.recall)
                    }
                };
                let label = label.as_ref().map(ToString::to_string);
                ("recall", label, language.clone(), None, actual)
            }
            Metric::Precision { rule } => {
                let actual = match rule {
                    None => self.overall.precision,
                    Some(rule) => self
                        .rules
                        .iter()
                        .find(|r| *r.rule == **rule)
                        .and_then(|r| r.precision),
                };
                let rule = rule.as_deref().map(String::from);
                ("precision", None, None, rule, actual)
            }
        };
        FloorCheck {
            floor: floor.spec.clone(),
            metric,
            label,
            language,
            rule,
            min: floor.min,
            actual,
            met: actual.is_some_and(|a| a >= floor.min),
        }
    }
}

/// For people: "recall of `escalate` in `de` is 0.667, below 0.9".
impl fmt::Display for FloorCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.metric)?;
        match (&self.label, &self.rule) {
            (Some(label), _) => write!(f, " of `{label}`")?,
            (None, Some(rule)) => write!(f, " of rule `{rule}`")?,
            (None, None) if self.metric == "recall" => f.write_str(" of every positive")?,
            (None, None) => f.write_str(" of every decision")?,
        }
        if let Some(language) = &self.language {
            write!(f, " in `{language}`")?;
        }
        match self.actual {
            Some(actual) => {
                let relation = if self.met { "at least" } else { "below" };
                write!(f, " is {actual:.3}, {relation} {}", self.min)
            }
            None => write!(
                f,
                " cannot be measured: nothing to count it over (floor {})",
                self.min
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::engine;

    const POLICY: &str = "version: 1
rules:
  - { id: human, when: { keywords: [real person] }, kind: fallback, action: escalate }
  - { id: fraud, when: { keywords: [stolen card] }, kind: planned, action: escalate, priority: 10 }
  - { id: unsure, when: { keywords: [not sure] }, kind: fallback, action: offer }
";

    fn decided(action: Action, rule: Option<&str>) -> Decision {
        Decision {
            action,
            rule: rule.map(Into::into),
            ..Decision::default()
        }
    }

    fn rule(id: &str) -> Expected {
        Expected::Rule(id.into())
    }

    #[test]
    fn correct_or_not() {
        use Action::{Escalate, None as Nothing, Offer};
        let table = [
            (Expected::Action(Nothing), decided(Nothing, None), true),
            (
                Expected::Action(Nothing),
                decided(Offer, Some("unsure")),
                false,
            ),
            (
                Expected::Action(Nothing),
                decided(Escalate, Some("human")),
                false,
            ),
            (
                Expected::Action(Offer),
                decided(Offer, Some("unsure")),
                true,
            ),
            (
                Expected::Action(Offer),
                decided(Escalate, Some("human")),
                false,
            ),
            (Expected::Action(Offer), decided(Nothing, None), false),
            (
                Expected::Action(Escalate),
                decided(Escalate, Some("fraud")),
                true,
            ),
            (
                Expected::Action(Escalate),
                decided(Offer, Some("unsure")),
                false,
            ),
            (rule("fraud"), decided(Escalate, Some("fraud")), true),
            (rule("fraud"), decided(Escalate, Some("human")), false),
            (rule("fraud"), decided(Nothing, None), false),
            (rule("unsure"), decided(Offer, Some("unsure")), true),
        ];
        for (expect, decision, correct) in table {
            assert_eq!(
                expect.is_met_by(&decision),
                correct,
                "{expect} against {decision:?}"
            );
        }
    }

    fn report(pairs: &[(Expected, Decision)]) -> EvalReport {
        let utterances: Vec<Utterance> = pairs
            .iter()
            .enumerate()
            .map(|(i, (e, _))| Utterance {
                line: i + 1,
                ..Utterance::new(format!("u{i}"), e.clone())
            })
            .collect();
        let decisions: Vec<&Decision> = pairs.iter().map(|(_, d)| d).collect();
        let policy = PolicyId {
            name: "p".into(),
            hash: "0".into(),
        };
        score(
            policy,
            &["human", "fraud", "unsure"],
            utterances.iter().zip(decisions),
        )
    }

    #[test]
    fn nothing_to_count_gives_no_rates() {
        let empty = report(&[]);
        assert_eq!(empty.overall.utterances, 0);
        assert_eq!(empty.overall.recall, None);
        assert_eq!(empty.overall.precision, None);
        assert_eq!(empty.overall.false_alarm_rate, None);
        assert!(empty.labels.is_empty() && empty.rules.is_empty());

        // Only negatives, none decided: no recall, no precision, no false alarm.
        let quiet = report(&[(Expected::Action(Action::None), decided(Action::None, None))]);
        assert_eq!(quiet.overall.recall, None);
        assert_eq!(quiet.overall.precision, None);
        assert_eq!(quiet.overall.false_alarm_rate, Some(0.0));
        assert_eq!(quiet.languages[0].recall, None);
    }

    #[test]
    fn figures_add_up() {
        let r = report(&[
            (rule("fraud"), decided(Action::Escalate, Some("fraud"))),
            (rule("fraud"), decided(Action::Escalate, Some("human"))),
            (
                Expected::Action(Action::Escalate),
                decided(Action::Escalate, Some("human")),
            ),
            (
                Expected::Action(Action::Escalate),
                decided(Action::None, None),
            ),
            (
                Expected::Action(Action::None),
                decided(Action::Offer, Some("unsure")),
            ),
            (Expected::Action(Action::None), decided(Action::None, None)),
        ]);
        let o = &r.overall;
        assert_eq!((o.utterances, o.positives, o.negatives), (6, 4, 2));
        assert_eq!(o.recalled, 2);
        assert_eq!(o.recall, Some(0.5));
        assert_eq!((o.decisions, o.correct_decisions), (4, 2));
        assert_eq!(o.precision, Some(0.5));
        assert_eq!((o.false_alarms, o.false_alarm_rate), (1, Some(0.5)));
        assert_eq!(r.misses.len(), 2);
        assert_eq!(r.false_alarms.len(), 1);
        assert_eq!(r.false_alarms[0].rule.as_deref(), Some("unsure"));
        let rules: Vec<(&str, usize, usize, usize, usize)> = r
            .rules
            .iter()
            .map(|f| (&*f.rule, f.decided, f.correct, f.labelled, f.recalled))
            .collect();
        // Policy order; `human` decided twice, right once (for `escalate`).
        assert_eq!(
            rules,
            [
                ("human", 2, 1, 0, 0),
                ("fraud", 1, 1, 2, 1),
                ("unsure", 1, 0, 0, 0)
            ]
        );
        assert_eq!(r.rules[0].recall, None);
        assert_eq!(r.rules[1].recall, Some(0.5));
        let labels: Vec<(String, usize, usize)> = r
            .labels
            .iter()
            .map(|l| (l.label.to_string(), l.count, l.correct))
            .collect();
        assert_eq!(
            labels,
            [
                ("none".to_string(), 2, 1),
                ("escalate".to_string(), 2, 1),
                ("fraud".to_string(), 2, 1)
            ]
        );
    }

    #[test]
    fn languages_from_labels_or_locales() {
        let e = engine(POLICY);
        let mut set = LabelledSet::new();
        let jsonl = br#"{"text": "a real person", "expect": "human", "locale": "en-GB"}
{"text": "eine echte Person", "expect": "escalate", "locale": "en", "language": "DE"}
{"text": "hola", "expect": "none"}
"#;
        assert_eq!(set.read_jsonl(&e, "l.jsonl", jsonl), []);
        let languages: Vec<&str> = set.utterances().iter().map(|u| &*u.language).collect();
        assert_eq!(languages, ["en", "de", "-"]);
        let r = set.evaluate(&e);
        let de = r.languages.iter().find(|l| l.language == "de").unwrap();
        assert_eq!((de.positives, de.recalled, de.recall), (1, 0, Some(0.0)));
        let check = r.check(&Floor::recall("escalate@de=0.5", &e).unwrap());
        assert_eq!((check.actual, check.met), (Some(0.0), false));
        let check = r.check(&Floor::recall("human=1", &e).unwrap());
        assert!(check.met);
        let check = r.check(&Floor::recall("@en=1", &e).unwrap());
        assert!(check.met, "{check}");
        // A label with no utterance in a language cannot meet a floor.
        let check = r.check(&Floor::recall("escalate@fr=0", &e).unwrap());
        assert_eq!((check.actual, check.met), (None, false));
    }

    #[test]
    fn bad_lines_are_located_and_skipped() {
        let e = engine(POLICY);
        let mut set = LabelledSet::new();
        let jsonl = br#"{"text": "a real person", "expect": "human"}
{"text": "x", "expcet": "none"}
{"text": "my stolen card", "expect": "frad"}
[1]
{"text": "ok", "expect": "none"}"#;
        let errors = set.read_jsonl(&e, "l.jsonl", jsonl);
        let got: Vec<(usize, usize, String, Option<&str>)> = errors
            .iter()
            .map(|e| (e.line(), e.column(), e.message().to_string(), e.help()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    2,
                    15,
                    "invalid utterance: unknown field `expcet`".to_string(),
                    Some("did you mean `expect`?")
                ),
                (
                    3,
                    38,
                    "unknown label `frad`".to_string(),
                    Some("did you mean `fraud`?")
                ),
                (
                    4,
                    1,
                    "invalid utterance: an utterance is a JSON object".to_string(),
                    Some(
                        r#"write one object per line, such as `{"text": "I want a person", "expect": "escalate"}`"#
                    )
                ),
            ]
        );
        assert_eq!(errors[1].to_string(), "l.jsonl:3:38: unknown label `frad`");
        let lines: Vec<usize> = set.utterances().iter().map(|u| u.line).collect();
        assert_eq!(lines, [1, 5]);
    }

    #[test]
    fn entity_annotations_are_stripped() {
        let table = [
            ("my [visa](card) was stolen", "my visa was stolen"),
            ("fly to [Paris](city:CDG)", "fly to Paris"),
            (
                r#"I lost [my card]{"entity": "card", "value": "visa"} today"#,
                "I lost my card today",
            ),
            (
                r#"[Berlin][{"entity": "city"}, {"entity": "dest", "value": "x]"}] please"#,
                "Berlin please",
            ),
            ("[a](b) and [c](d)", "a and c"),
            ("no annotation [here] at all", "no annotation [here] at all"),
            ("an open [bracket", "an open [bracket"),
            ("[unclosed](paren", "[unclosed](paren"),
            ("nested [[x](y)", "nested [x"),
            ("é [ü](e) ß", "é ü ß"),
        ];
        for (example, text) in table {
            assert_eq!(strip_entities(example), text, "{example}");
        }
    }

    const RASA: &str = r#"version: "3.1"
# comment
nlu:
- intent: human_handoff
  examples: |
    - I want a [real person](agent)
    - can I talk to a human

    - get me a [real person]{"entity": "agent"} now
- synonym: person
  examples: |
    - human
- intent: greet
  metadata: { source: logs }
  examples: |
    - hi
    - hello there
- regex: account
  examples: |
    - \d{10}
- lookup: cities
  examples: |
    - Paris
- intent: card_theft
  examples: |-
    - my [card][{"entity": "product"}] was stolen card
responses:
  utter_greet:
    - text: hello
"#;

    #[test]
    fn rasa_intents_are_read_and_mapped() {
        let e = engine(POLICY);
        let mut intents = IntentMap::new();
        intents.add_spec("human_handoff=human", &e).unwrap();
        intents.add_spec("card_theft=escalate", &e).unwrap();
        let mut set = LabelledSet::new();
        assert_eq!(set.read_rasa("nlu.yml", RASA, &intents), []);
        let got: Vec<(usize, &str, String)> = set
            .utterances()
            .iter()
            .map(|u| (u.line, &*u.text, u.expect.to_string()))
            .collect();
        assert_eq!(
            got,
            [
                (6, "I want a real person", "human".to_string()),
                (7, "can I talk to a human", "human".to_string()),
                (9, "get me a real person now", "human".to_string()),
                (16, "hi", "none".to_string()),
                (17, "hello there", "none".to_string()),
                (26, "my card was stolen card", "escalate".to_string()),
            ]
        );
        assert_eq!(
            set.intents().collect::<Vec<_>>(),
            ["card_theft", "greet", "human_handoff"]
        );
        assert_eq!(set.unread_intents(&intents), []);
        intents.add_spec("gret=none", &e).unwrap();
        let unread = set.unread_intents(&intents);
        assert_eq!(unread[0].message(), "intent `gret` is in no Rasa file read");
        assert_eq!(unread[0].help(), Some("did you mean `greet`?"));
        let r = set.evaluate(&e);
        assert_eq!(r.unmapped_examples, 2);
        assert_eq!(r.unmapped_intents, ["greet"]);
        assert_eq!(r.overall.positives, 4);
        assert_eq!(r.overall.recalled, 3);
        assert_eq!(r.misses[0].line, 7);
    }

    #[test]
    fn rasa_errors_are_located() {
        let intents = IntentMap::new();
        let read = |text: &str| -> Vec<(usize, usize, String)> {
            LabelledSet::new()
                .read_rasa("nlu.yml", text, &intents)
                .iter()
                .map(|e| (e.line(), e.column(), e.message().to_string()))
                .collect()
        };
        // Not YAML: one error, located by the parser.
        let broken = read("nlu:\n- intent: a\n  examples: |\n    - x\n  bad: [unclosed\n");
        assert_eq!(broken.len(), 1);
        assert!(
            broken[0].2.starts_with("invalid Rasa NLU data: "),
            "{broken:?}"
        );
        assert!(broken[0].0 >= 5, "{broken:?}");
        // An example that is not a `- text` line, and an intent without examples.
        let got = read(
            "nlu:\n- intent: a\n  examples: |\n    - fine\n    not a list item\n- intent: b\n- synonym: c\n- intnet: d\n  examples: |\n    - x\n",
        );
        assert_eq!(
            got,
            [
                (5, 5, "an example of `a` is not a `- text` line".to_string()),
                (6, 3, "intent `b` has no `examples`".to_string()),
                (8, 3, "an `nlu` item with no `intent`".to_string()),
            ]
        );
        assert_eq!(
            read("version: \"3.1\"\nresponses: {}\n"),
            [(1, 1, "no `nlu:` examples in the file".to_string())]
        );
    }

    #[test]
    fn floors_are_read_and_checked() {
        let e = engine(POLICY);
        assert!(Floor::recall("0.9", &e).is_ok());
        assert!(Floor::recall("human@en=0.9", &e).is_ok());
        let err = Floor::recall("humna=0.9", &e).unwrap_err();
        assert_eq!(err.help(), Some("did you mean `human`?"));
        let err = Floor::recall("human=1.5", &e).unwrap_err();
        assert_eq!(err.message(), "`1.5` is not a floor from 0 to 1");
        let err = Floor::precision("escalate=0.9", &e).unwrap_err();
        assert_eq!(err.message(), "`escalate` is an action, not a rule");
        let r = report(&[
            (rule("fraud"), decided(Action::Escalate, Some("fraud"))),
            (
                Expected::Action(Action::None),
                decided(Action::Escalate, Some("human")),
            ),
        ]);
        let check = r.check(&Floor::precision("fraud=1", &e).unwrap());
        assert!(check.met);
        let check = r.check(&Floor::precision("0.9", &e).unwrap());
        assert_eq!((check.actual, check.met), (Some(0.5), false));
        assert_eq!(
            check.to_string(),
            "precision of every decision is 0.500, below 0.9"
        );
        // A rule that never decided has no precision: the floor is not met.
        let check = r.check(&Floor::precision("unsure=0", &e).unwrap());
        assert_eq!((check.actual, check.met), (None, false));
    }
}
