//! Shared state and checks while a policy compiles into an [`Engine`](crate::Engine).

use regex_automata::meta::Regex;
use regex_automata::util::syntax;
use serde_saphyr::Spanned;

use crate::error::{Diagnostic, Source, did_you_mean};
use crate::load::Limits;
use crate::phrases::{PhraseIndexBuilder, SetId};
use crate::policy::{ListOverrides, PhraseList, span_of};
use crate::state::HISTORY;
use crate::text::{Folding, normalize};
use crate::trigger::script::Scripts;
use crate::words::{ListMatching, WordPhrase};

/// Longest regex source accepted, in bytes.
const MAX_PATTERN_LEN: usize = 1_000;
/// Compiled size limit of one regex, in bytes.
const PATTERN_SIZE_LIMIT: usize = 1 << 20;
/// The most a regex's lazy DFA keeps per thread, in bytes.
const PATTERN_CACHE_LIMIT: usize = 256 << 10;
/// Longest phrase accepted, in bytes.
const MAX_PHRASE_LEN: usize = 500;
/// Most phrases one phrase with alternatives may expand to.
const MAX_EXPANSIONS: usize = 1_000;

/// What compiling needs: the source for locating errors, the errors so far,
/// and the parts of the engine being built.
pub(crate) struct Compiler<'a> {
    pub(crate) source: Source<'a>,
    pub(crate) diagnostics: Vec<Diagnostic>,
    pub(crate) phrases: PhraseIndexBuilder,
    pub(crate) scripts: Scripts,
    pub(crate) folding: Folding,
    pub(crate) topic_names: Vec<String>,
    pub(crate) phrase_count: usize,
    pub(crate) limits: Limits,
    /// Memory taken by the topic patterns compiled so far.
    pub(crate) pattern_memory: usize,
    /// How phrase lists match unless they say otherwise (`matching`).
    pub(crate) matching: ListMatching,
    /// The source of the first sentiment trigger compiled, and whether it
    /// was written out; the others must agree.
    pub(crate) sentiment_source: Option<(crate::trigger::sentiment::SentimentSource, bool)>,
    /// Whether a rule has a `repeats` trigger.
    pub(crate) repeats: bool,
}

impl<'a> Compiler<'a> {
    pub(crate) fn new(source: Source<'a>, limits: Limits) -> Compiler<'a> {
        Compiler {
            source,
            diagnostics: Vec::new(),
            phrases: PhraseIndexBuilder::default(),
            scripts: Scripts::new(),
            folding: Folding::default(),
            topic_names: Vec::new(),
            phrase_count: 0,
            limits,
            pattern_memory: 0,
            matching: ListMatching::default(),
            sentiment_source: None,
            repeats: false,
        }
    }

    /// Reports an error at a spanned value and returns it for a `help` line.
    pub(crate) fn error_at<T>(
        &mut self,
        at: &Spanned<T>,
        code: &'static str,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        let (offset, len) = span_of(at);
        let diagnostic = self.source.error_at(offset, len, code, message);
        self.push(diagnostic)
    }

    /// Reports an error at a 1-based (line, column) inside a spanned string
    /// scalar, such as a script. Exact on the scalar's first line; later
    /// lines point at the scalar's start.
    pub(crate) fn error_in(
        &mut self,
        at: &Spanned<String>,
        (line, column): (usize, usize),
        code: &'static str,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        let (offset, _) = span_of(at);
        let quoted = matches!(self.source.text.as_bytes().get(offset), Some(b'\'' | b'"'));
        let offset = if line == 1 {
            offset + usize::from(quoted) + column.saturating_sub(1)
        } else {
            offset
        };
        let diagnostic = self.source.error_at(offset, 1, code, message);
        self.push(diagnostic)
    }

    /// Reports an error about the whole policy.
    pub(crate) fn error(
        &mut self,
        code: &'static str,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        let diagnostic = self.source.error(code, message);
        self.push(diagnostic)
    }

    fn push(&mut self, diagnostic: Diagnostic) -> &mut Diagnostic {
        self.diagnostics.push(diagnostic);
        self.diagnostics.last_mut().expect("just pushed")
    }

    /// Compiles a policy regex within the size limits and the policy's
    /// pattern-memory budget; `matches` says what text it runs on, for the help line.
    pub(crate) fn compile_pattern(
        &mut self,
        pattern: &Spanned<String>,
        matches: &str,
    ) -> Option<Regex> {
        let cx = self;
        if pattern.value.len() > MAX_PATTERN_LEN {
            cx.error_at(
                pattern,
                "pattern-too-long",
                format!(
                    "pattern is {} bytes long, more than the {MAX_PATTERN_LEN} allowed",
                    pattern.value.len()
                ),
            )
            .set_help("split it into several shorter patterns, or list the words as phrases");
            return None;
        }
        let budget = cx.limits.pattern_memory.saturating_sub(cx.pattern_memory);
        let built = pattern_builder(PATTERN_SIZE_LIMIT.min(budget)).build(&pattern.value);
        match built {
            Ok(regex) if regex.memory_usage() <= budget => {
                cx.pattern_memory += regex.memory_usage();
                Some(regex)
            }
            Err(e) if e.size_limit().is_some() && budget >= PATTERN_SIZE_LIMIT => {
                cx.error_at(
                    pattern,
                    "pattern-too-big",
                    format!("pattern compiles to more than {PATTERN_SIZE_LIMIT} bytes"),
                )
                .set_help(
                    "use smaller repetitions than `{1000}` and narrow classes such as `[a-z]` rather than `\\w`, or list the words as phrases",
                );
                None
            }
            Ok(_) => {
                too_much_pattern_memory(pattern, cx);
                None
            }
            Err(e) if e.size_limit().is_some() => {
                too_much_pattern_memory(pattern, cx);
                None
            }
            Err(e) => {
                let message = e
                    .syntax_error()
                    .map_or_else(|| e.to_string(), ToString::to_string);
                let last = message
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("invalid regex");
                let last = last.trim().trim_start_matches("error: ");
                cx.error_at(
                    pattern,
                    "invalid-pattern",
                    format!("invalid regex `{}`: {last}", pattern.value),
                )
                .set_help(format!(
                    "patterns use Rust regex syntax (https://docs.rs/regex); {matches}"
                ));
                None
            }
        }
    }

    /// One regex that matches wherever any of `patterns` (each already
    /// compiled alone, and each anchored at the end of the text) does: a
    /// single reverse search from the end rules them all out on the turns
    /// none of them matches. `None` when it would not fit the
    /// pattern-memory budget, as it is only a shortcut.
    pub(crate) fn compile_any_at_end(&mut self, patterns: &[&str]) -> Option<Regex> {
        let budget = self
            .limits
            .pattern_memory
            .saturating_sub(self.pattern_memory);
        let regex = pattern_builder(budget)
            .build_many(patterns)
            .ok()
            .filter(|regex| regex.memory_usage() <= budget)?;
        self.pattern_memory += regex.memory_usage();
        Some(regex)
    }

    /// Expands and normalizes a list's phrases into a phrase set; returns
    /// how many phrases it added. `outer` are a topic's own settings, which
    /// win over the list's.
    pub(crate) fn add_phrases(
        &mut self,
        set: SetId,
        list: &PhraseList,
        outer: ListOverrides,
    ) -> usize {
        let matching = ListMatching {
            typos: outer
                .typos
                .or(list.overrides.typos)
                .unwrap_or(self.matching.typos),
            word_forms: outer
                .word_forms
                .or(list.overrides.word_forms)
                .unwrap_or(self.matching.word_forms),
            gaps: outer
                .gaps
                .or(list.overrides.gaps)
                .unwrap_or(self.matching.gaps),
        };
        let flexible = matching.typos || matching.word_forms || matching.gaps > 0;
        let mut added = 0;
        for (locale, phrases) in &list.groups {
            for phrase in phrases {
                for expanded in self.expand(phrase) {
                    let words = match WordPhrase::parse(&expanded, self.folding) {
                        Ok(words) => words,
                        Err(e) => {
                            self.error_at(
                                phrase,
                                "invalid-phrase",
                                format!("phrase `{}` {}", phrase.value, e.problem),
                            )
                            .set_help(e.help);
                            // One report a phrase, not one per expansion.
                            break;
                        }
                    };
                    if self.normalize_phrase(phrase, &expanded).is_none() || words.words.is_empty()
                    {
                        continue;
                    }
                    if flexible || words.needs_words() {
                        self.phrases.add_word_phrase(
                            set,
                            &expanded,
                            &words,
                            matching,
                            locale.as_deref(),
                        );
                    } else {
                        self.phrases
                            .add_phrase(set, &expanded, words.literal(), locale.as_deref());
                    }
                    added += 1;
                }
            }
        }
        added
    }

    /// Expands the alternatives of a phrase, reporting malformed braces.
    pub(crate) fn expand(&mut self, phrase: &Spanned<String>) -> Vec<String> {
        match expand_alternatives(&phrase.value, MAX_EXPANSIONS) {
            Ok(expanded) => expanded,
            Err(problem) => {
                self.error_at(phrase, "invalid-phrase", format!("phrase `{}` {problem}", phrase.value))
                    .set_help("write alternatives as `{talk|speak} to {a human|an agent}`; `{me |}` makes a word optional");
                Vec::new()
            }
        }
    }

    /// Normalizes one phrase or cue, reporting phrases that are too long,
    /// too many, or that normalize to nothing.
    pub(crate) fn normalize_phrase(
        &mut self,
        phrase: &Spanned<String>,
        text: &str,
    ) -> Option<String> {
        self.phrase_count += 1;
        if self.phrase_count == self.limits.phrases + 1 {
            self.error_at(
                phrase,
                "too-many-phrases",
                format!("the policy has more than {} phrases", self.limits.phrases),
            )
            .set_help("raise the limit with `EngineBuilder::max_phrases`, or use fewer phrases");
        }
        if self.phrase_count > self.limits.phrases {
            return None;
        }
        if text.len() > MAX_PHRASE_LEN {
            self.error_at(
                phrase,
                "phrase-too-long",
                format!(
                    "phrase is {} bytes long, more than the {MAX_PHRASE_LEN} allowed",
                    text.len()
                ),
            )
            .set_help("phrases are a few words; use a topic pattern for anything longer");
            return None;
        }
        let normalized = normalize(text, self.folding);
        if normalized.is_empty() {
            self.error_at(
                phrase,
                "empty-phrase",
                format!("phrase `{text}` has no letters or digits"),
            )
            .set_help(
                "matching ignores punctuation, spaces and emoji, so this phrase could never match",
            );
            return None;
        }
        Some(normalized)
    }

    /// A threshold that must lie in 0..=1.
    pub(crate) fn unit_interval(&mut self, value: &Spanned<f64>, name: &str) -> Option<f64> {
        self.in_range(value, name, 0.0, 1.0, "confidences run from 0 to 1")
    }

    /// A threshold that must lie in -1..=1.
    pub(crate) fn signed_unit_interval(&mut self, value: &Spanned<f64>, name: &str) -> Option<f64> {
        self.in_range(
            value,
            name,
            -1.0,
            1.0,
            "sentiment scores run from -1 (negative) to 1 (positive)",
        )
    }

    fn in_range(
        &mut self,
        value: &Spanned<f64>,
        name: &str,
        low: f64,
        high: f64,
        help: &str,
    ) -> Option<f64> {
        if (low..=high).contains(&value.value) {
            Some(value.value)
        } else {
            self.error_at(
                value,
                "out-of-range",
                format!("`{name}` is {}, outside {low}..={high}", value.value),
            )
            .set_help(help);
            None
        }
    }

    /// A count of recent turns: 1 up to the history the state keeps.
    pub(crate) fn history_count(&mut self, value: &Spanned<u32>, name: &str) -> Option<u32> {
        if (1..=HISTORY as u32).contains(&value.value) {
            Some(value.value)
        } else {
            self.error_at(
                value,
                "out-of-range",
                format!("`{name}` is {}, outside 1..={HISTORY}", value.value),
            )
            .set_help(format!(
                "the conversation state remembers the last {HISTORY} turns"
            ));
            None
        }
    }

    /// The index of a topic by name.
    pub(crate) fn topic_index(&self, name: &str) -> Option<usize> {
        self.topic_names.iter().position(|t| t == name)
    }

    /// A help line for an unknown topic name.
    pub(crate) fn topic_suggestion(&self, name: &str) -> String {
        did_you_mean(name, self.topic_names.iter().map(String::as_str)).unwrap_or_else(|| {
            if self.topic_names.is_empty() {
                "define the topic under `topics:` at the top of the policy".to_string()
            } else {
                format!(
                    "the policy defines {}",
                    self.topic_names
                        .iter()
                        .map(|t| format!("`{t}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        })
    }
}

/// Expands `{a|b}` alternatives into every combination, in order:
/// `{talk|speak} to {me|}` gives `talk to me`, `talk to `, `speak to me`,
/// `speak to `. Braces do not nest.
fn expand_alternatives(phrase: &str, limit: usize) -> Result<Vec<String>, String> {
    let mut expanded = vec![String::new()];
    let mut rest = phrase;
    loop {
        let (literal, group) = match rest.find('{') {
            Some(open) => (&rest[..open], Some(open)),
            None => (rest, None),
        };
        if literal.contains('}') {
            return Err("has a `}` without a `{`".to_string());
        }
        let Some(open) = group else {
            // An empty alternative leaves two spaces (`to {a|} human`): the
            // phrase as evidence and `check` show it is written once.
            return Ok(expanded
                .iter()
                .map(|e| {
                    let whole = format!("{e}{literal}");
                    whole.split_whitespace().collect::<Vec<_>>().join(" ")
                })
                .collect());
        };
        let close = rest[open..].find('}').ok_or("has a `{` without a `}`")? + open;
        let inner = &rest[open + 1..close];
        if inner.contains('{') {
            return Err("nests braces, which alternatives do not allow".to_string());
        }
        let alternatives: Vec<&str> = inner.split('|').collect();
        if expanded.len() * alternatives.len() > limit {
            return Err(format!("expands to more than {limit} phrases"));
        }
        expanded = expanded
            .iter()
            .flat_map(|prefix| {
                alternatives
                    .iter()
                    .map(move |alt| format!("{prefix}{literal}{alt}"))
            })
            .collect();
        rest = &rest[close + 1..];
    }
}

fn too_much_pattern_memory(pattern: &Spanned<String>, cx: &mut Compiler<'_>) {
    let limit = cx.limits.pattern_memory;
    cx.error_at(
        pattern,
        "pattern-memory",
        format!("the policy's patterns take more than {limit} bytes together"),
    )
    .set_help("use fewer patterns, or raise the limit with `EngineBuilder::max_pattern_memory`");
}

/// How policy regexes are built: nesting and compiled size bounded, the
/// lazy DFA's cache too.
fn pattern_builder(size_limit: usize) -> regex_automata::meta::Builder {
    let mut builder = Regex::builder();
    builder
        .syntax(syntax::Config::new().nest_limit(64))
        .configure(
            Regex::config()
                .nfa_size_limit(Some(size_limit))
                .hybrid_cache_capacity(PATTERN_CACHE_LIMIT),
        );
    builder
}

/// Whether every match of `pattern` ends at the end of the text (`...$`).
pub(crate) fn anchored_at_end(pattern: &str) -> bool {
    regex_syntax::ParserBuilder::new()
        .nest_limit(64)
        .build()
        .parse(pattern)
        .is_ok_and(|hir| {
            hir.properties()
                .look_set_suffix()
                .contains(regex_syntax::hir::Look::End)
        })
}

#[cfg(test)]
mod tests {
    use super::expand_alternatives;

    #[test]
    fn alternatives_expand_in_order() {
        let cases: &[(&str, Result<&[&str], &str>)] = &[
            ("real person", Ok(&["real person"])),
            (
                "{talk|speak} to {me |}you",
                Ok(&[
                    "talk to me you",
                    "talk to you",
                    "speak to me you",
                    "speak to you",
                ]),
            ),
            ("{a|b}{c|d}", Ok(&["ac", "ad", "bc", "bd"])),
            (
                "speak to {a|} human ",
                Ok(&["speak to a human", "speak to human"]),
            ),
            ("{solo}", Ok(&["solo"])),
            ("open {brace", Err("has a `{` without a `}`")),
            ("close} brace", Err("has a `}` without a `{`")),
            (
                "{a|{b}}",
                Err("nests braces, which alternatives do not allow"),
            ),
        ];
        for (phrase, want) in cases {
            let got = expand_alternatives(phrase, 100);
            match want {
                Ok(want) => assert_eq!(got.unwrap(), *want, "{phrase}"),
                Err(want) => assert_eq!(got.unwrap_err(), *want, "{phrase}"),
            }
        }
        assert!(expand_alternatives("{a|b|c|d}{a|b|c|d}{a|b|c|d}", 50).is_err());
    }
}
