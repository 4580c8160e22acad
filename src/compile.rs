//! Shared state and checks while a policy compiles into an [`Engine`](crate::Engine).

use serde_saphyr::Spanned;

use crate::error::{Diagnostic, Source, did_you_mean};
use crate::phrases::{PhraseIndexBuilder, SetId};
use crate::policy::{PhraseList, span_of};
use crate::state::HISTORY;
use crate::text::{Folding, normalize};
use crate::trigger::script::Scripts;

/// Longest phrase accepted, in bytes.
const MAX_PHRASE_LEN: usize = 500;

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
    pub(crate) max_phrases: usize,
}

impl<'a> Compiler<'a> {
    pub(crate) fn new(source: Source<'a>, max_phrases: usize) -> Compiler<'a> {
        Compiler {
            source,
            diagnostics: Vec::new(),
            phrases: PhraseIndexBuilder::default(),
            scripts: Scripts::new(),
            folding: Folding::default(),
            topic_names: Vec::new(),
            phrase_count: 0,
            max_phrases,
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

    /// Normalizes a list's phrases into a phrase set; returns how many it added.
    pub(crate) fn add_phrases(&mut self, set: SetId, list: &PhraseList) -> usize {
        let mut added = 0;
        for (locale, phrases) in &list.groups {
            for phrase in phrases {
                if let Some(normalized) = self.normalize_phrase(phrase) {
                    self.phrases
                        .add_phrase(set, &phrase.value, normalized, locale.as_deref());
                    added += 1;
                }
            }
        }
        added
    }

    /// Normalizes one phrase or cue, reporting phrases that are too long,
    /// too many, or that normalize to nothing.
    pub(crate) fn normalize_phrase(&mut self, phrase: &Spanned<String>) -> Option<String> {
        self.phrase_count += 1;
        if self.phrase_count == self.max_phrases + 1 {
            self.error_at(
                phrase,
                "too-many-phrases",
                format!("the policy has more than {} phrases", self.max_phrases),
            )
            .set_help("raise the limit with `EngineBuilder::max_phrases`, or use fewer phrases");
        }
        if self.phrase_count > self.max_phrases {
            return None;
        }
        if phrase.value.len() > MAX_PHRASE_LEN {
            self.error_at(
                phrase,
                "phrase-too-long",
                format!(
                    "phrase is {} bytes long, more than the {MAX_PHRASE_LEN} allowed",
                    phrase.value.len()
                ),
            )
            .set_help("phrases are a few words; use a topic pattern for anything longer");
            return None;
        }
        let normalized = normalize(&phrase.value, self.folding);
        if normalized.is_empty() {
            self.error_at(
                phrase,
                "empty-phrase",
                format!("phrase `{}` has no letters or digits", phrase.value),
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
