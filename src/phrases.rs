//! One automaton for every phrase of every rule and topic, and the negation cues.
//!
//! A *phrase set* is what one trigger looks for: the phrases of one
//! `keywords` or `whole_message` condition, or of one topic. Phrases are
//! normalized at load and deduplicated into the automaton's patterns; each
//! pattern knows which sets use it. A turn is scanned once with overlapping
//! search, so a phrase nested in a longer one is still found, and each set
//! keeps its first match that is word-bounded and not negated.

use std::collections::HashMap;
use std::sync::Arc;

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::nfa::{contiguous, noncontiguous};
use aho_corasick::{Anchored, MatchKind, dfa};

/// The most memory the phrase automaton may take as a DFA.
const DFA_BUDGET: usize = 4 << 20;
/// How much larger a DFA is than the contiguous NFA of the same phrases
/// (measured at 1,000, 4,500 and 10,000 phrases: 9.5 to 9.6 times).
const NFA_TO_DFA_GROWTH: usize = 10;

use crate::text::{Folding, Normalized};

/// Index of a phrase set.
pub(crate) type SetId = usize;

/// Index of an interned locale (a primary language such as `en`).
pub(crate) type LocaleId = u8;

/// Where a phrase set's match came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HitSource {
    /// Index into [`PhraseIndex::phrase`].
    Phrase(u32),
    /// Index of the topic's pattern.
    Pattern(u32),
}

/// A phrase set's match: where in the normalized text, and what matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Hit {
    pub(crate) source: HitSource,
    pub(crate) start: u32,
    pub(crate) end: u32,
}

/// A word-bounded match of one of the automaton's patterns.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Found {
    pattern: u32,
    start: u32,
    end: u32,
}

/// A negation cue found in the text.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cue {
    end: u32,
    locale: LocaleId,
}

/// The turn's language as far as phrase matching is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TurnLocale {
    /// The turn did not say: phrases of every locale apply.
    Unknown,
    /// A language some phrase list or cue list names.
    Known(LocaleId),
    /// A language no list names: only locale-free phrases apply.
    Other,
}

#[derive(Clone, Copy, Debug)]
enum Use {
    Phrase {
        set: SetId,
        phrase: u32,
        locale: Option<LocaleId>,
    },
    Cue(LocaleId),
}

#[derive(Clone, Copy, Debug, Default)]
struct SetOptions {
    whole_message: bool,
    negation: bool,
}

/// Collects phrase sets and cues while a policy compiles.
#[derive(Debug, Default)]
pub(crate) struct PhraseIndexBuilder {
    patterns: Vec<String>,
    pattern_of: HashMap<String, usize>,
    uses: Vec<Vec<Use>>,
    phrases: Vec<Arc<str>>,
    sets: Vec<SetOptions>,
    locales: Vec<String>,
}

impl PhraseIndexBuilder {
    /// Starts a new phrase set and returns its id.
    pub(crate) fn new_set(&mut self, whole_message: bool, negation: bool) -> SetId {
        self.sets.push(SetOptions {
            whole_message,
            negation,
        });
        self.sets.len() - 1
    }

    /// Adds a phrase (already normalized as `normalized`) to a set.
    pub(crate) fn add_phrase(
        &mut self,
        set: SetId,
        original: &str,
        normalized: String,
        locale: Option<&str>,
    ) {
        let locale = locale.map(|l| self.locale_id(l));
        let phrase = self.phrases.len() as u32;
        self.phrases.push(Arc::from(original));
        let pattern = self.pattern(normalized);
        self.uses[pattern].push(Use::Phrase {
            set,
            phrase,
            locale,
        });
    }

    /// Adds a negation cue (already normalized) for a locale.
    pub(crate) fn add_cue(&mut self, normalized: String, locale: &str) {
        let locale = self.locale_id(locale);
        let pattern = self.pattern(normalized);
        self.uses[pattern].push(Use::Cue(locale));
    }

    /// Interns a locale's primary language and returns its id.
    pub(crate) fn locale_id(&mut self, locale: &str) -> LocaleId {
        let language = crate::policy::primary_language(locale).to_ascii_lowercase();
        match self.locales.iter().position(|l| *l == language) {
            Some(id) => id as LocaleId,
            None => {
                self.locales.push(language);
                (self.locales.len() - 1) as LocaleId
            }
        }
    }

    /// How many locales have been interned; at most 255 fit.
    pub(crate) fn locale_count(&self) -> usize {
        self.locales.len()
    }

    fn pattern(&mut self, normalized: String) -> usize {
        if let Some(&id) = self.pattern_of.get(&normalized) {
            return id;
        }
        let id = self.patterns.len();
        self.pattern_of.insert(normalized.clone(), id);
        self.patterns.push(normalized);
        self.uses.push(Vec::new());
        id
    }

    /// Builds the automaton.
    pub(crate) fn build(
        self,
        word_boundaries: bool,
        negation_window: u32,
        default_locale: &str,
    ) -> Result<PhraseIndex, String> {
        // With word boundaries, each pattern is stored between spaces and
        // the text scanned between spaces too: the automaton then reports
        // only whole-word matches, and never "no" inside "know".
        let padded: Vec<String> = match word_boundaries {
            true => self.patterns.iter().map(|p| format!(" {p} ")).collect(),
            false => Vec::new(),
        };
        let patterns = if word_boundaries {
            &padded
        } else {
            &self.patterns
        };
        // The scan feeds the automaton itself, a byte at a time, and has no
        // use for a prefilter (which would also make start states special).
        let nfa = noncontiguous::Builder::new()
            .match_kind(MatchKind::Standard)
            .prefilter(false)
            .build(patterns)
            .map_err(|e| e.to_string())?;
        let contiguous = contiguous::Builder::new()
            .match_kind(MatchKind::Standard)
            .prefilter(false)
            .build_from_noncontiguous(&nfa)
            .map_err(|e| e.to_string())?;
        // A DFA scans about a quarter faster than the contiguous NFA but
        // takes about ten times its memory: use it while that stays small.
        let automaton = if contiguous.memory_usage() * NFA_TO_DFA_GROWTH <= DFA_BUDGET {
            PhraseAutomaton::Dfa(
                dfa::Builder::new()
                    .match_kind(MatchKind::Standard)
                    .prefilter(false)
                    .build_from_noncontiguous(&nfa)
                    .map_err(|e| e.to_string())?,
            )
        } else {
            PhraseAutomaton::Nfa(contiguous)
        };
        let default_language = crate::policy::primary_language(default_locale).to_ascii_lowercase();
        let default_locale = self
            .locales
            .iter()
            .position(|l| *l == default_language)
            .map(|i| i as LocaleId);
        Ok(PhraseIndex {
            automaton,
            uses: self.uses,
            phrases: self.phrases,
            sets: self.sets,
            locales: self.locales,
            word_boundaries,
            negation_window,
            default_locale,
            longest_pattern: self.patterns.iter().map(String::len).max().unwrap_or(0),
            patterns: self.patterns.len(),
        })
    }
}

/// The phrase automaton: a DFA while it stays small, else a contiguous NFA.
/// The engine drives it a byte at a time as the text is normalized, so it
/// is kept as the automaton itself rather than behind an `AhoCorasick`.
#[derive(Debug)]
enum PhraseAutomaton {
    Dfa(dfa::DFA),
    Nfa(contiguous::NFA),
}

/// The compiled automaton and what each of its patterns means.
#[derive(Debug)]
pub(crate) struct PhraseIndex {
    automaton: PhraseAutomaton,
    uses: Vec<Vec<Use>>,
    phrases: Vec<Arc<str>>,
    sets: Vec<SetOptions>,
    locales: Vec<String>,
    word_boundaries: bool,
    negation_window: u32,
    default_locale: Option<LocaleId>,
    patterns: usize,
    longest_pattern: usize,
}

impl PhraseIndex {
    /// How many phrase sets there are (the length of a hit table).
    pub(crate) fn set_count(&self) -> usize {
        self.sets.len()
    }

    /// How many distinct normalized phrases and cues the automaton holds.
    pub(crate) fn pattern_count(&self) -> usize {
        self.patterns
    }

    /// The phrase as the policy wrote it.
    pub(crate) fn phrase(&self, id: u32) -> &Arc<str> {
        &self.phrases[id as usize]
    }

    /// The heap memory the automaton uses, in bytes.
    pub(crate) fn memory_usage(&self) -> usize {
        match &self.automaton {
            PhraseAutomaton::Dfa(dfa) => dfa.memory_usage(),
            PhraseAutomaton::Nfa(nfa) => nfa.memory_usage(),
        }
    }

    /// `dfa` or `nfa`: which automaton the phrases compiled to.
    pub(crate) fn automaton_kind(&self) -> &'static str {
        match self.automaton {
            PhraseAutomaton::Dfa(_) => "dfa",
            PhraseAutomaton::Nfa(_) => "nfa",
        }
    }

    /// Classifies a turn's locale tag.
    pub(crate) fn turn_locale(&self, locale: Option<&str>) -> TurnLocale {
        let Some(tag) = locale else {
            return TurnLocale::Unknown;
        };
        let language = crate::policy::primary_language(tag);
        match self
            .locales
            .iter()
            .position(|l| l.eq_ignore_ascii_case(language))
        {
            Some(id) => TurnLocale::Known(id as LocaleId),
            None => TurnLocale::Other,
        }
    }

    /// Normalizes `original` into `text` and scans it in the same pass,
    /// filling `hits` (one slot per set, first match kept) and `cues`
    /// (every negation cue found). `found` is a buffer for the word-bounded
    /// matches.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn scan(
        &self,
        original: &str,
        folding: Folding,
        text: &mut Normalized,
        locale: TurnLocale,
        hits: &mut [Option<Hit>],
        cues: &mut Vec<Cue>,
        found: &mut Vec<Found>,
    ) {
        match &self.automaton {
            PhraseAutomaton::Dfa(dfa) => self.find(dfa, original, folding, text, found),
            PhraseAutomaton::Nfa(nfa) => self.find(nfa, original, folding, text, found),
        }
        cues.clear();
        let text = &*text;
        // "Are you human? Please help" is not "human please".
        found.retain(|m| !text.spans_sentences(m.start as usize, m.end as usize));
        for m in found.iter() {
            for use_ in &self.uses[m.pattern as usize] {
                if let Use::Cue(locale) = *use_ {
                    cues.push(Cue { end: m.end, locale });
                }
            }
        }
        let len = text.bytes.len();
        for m in found.iter() {
            let (start, end) = (m.start as usize, m.end as usize);
            for use_ in &self.uses[m.pattern as usize] {
                let Use::Phrase {
                    set,
                    phrase,
                    locale: phrase_locale,
                } = *use_
                else {
                    continue;
                };
                if hits[set].is_some() || !applies(phrase_locale, locale) {
                    continue;
                }
                let options = self.sets[set];
                if options.whole_message && (start != 0 || end != len) {
                    continue;
                }
                // A phrase is negated when a cue stands shortly before it, or
                // before a longer phrase found around it ("I do not want to
                // talk to a human" negates `human` too).
                let negated = options.negation
                    && self.enclosing(found, m).any(|outer| {
                        self.is_negated(text, cues, outer.start as usize, phrase_locale, locale)
                    });
                if !negated {
                    hits[set] = Some(Hit {
                        source: HitSource::Phrase(phrase),
                        start: m.start,
                        end: m.end,
                    });
                }
            }
        }
    }

    /// Normalizes `original` into `text`, feeding each byte to the
    /// automaton as it is written, and collects every match into `found`
    /// in order of its end. With word boundaries the automaton reads the
    /// text between spaces (see [`PhraseIndexBuilder::build`]): one before
    /// the first byte, one after the last unless the text ended on one that
    /// normalization then trimmed.
    fn find<A: Automaton>(
        &self,
        automaton: &A,
        original: &str,
        folding: Folding,
        text: &mut Normalized,
        found: &mut Vec<Found>,
    ) {
        found.clear();
        let padding = usize::from(self.word_boundaries);
        let Ok(mut state) = automaton.start_state(Anchored::No) else {
            return;
        };
        if self.word_boundaries {
            state = automaton.next_state(Anchored::No, state, b' ');
        }
        // Two calls with a state each, rather than one closure for both:
        // the all-ASCII loop is inlined here, and its state stays in a
        // register only if no other path takes its address.
        let (state, ended_on_space) = if original.is_ascii() {
            let mut state = state;
            let trimmed = text.fill_ascii_feeding(original, folding, |byte, length| {
                state = step(automaton, state, byte, length, padding, found);
            });
            (state, trimmed)
        } else {
            let mut state = state;
            let trimmed = text.fill_feeding(original, folding, |byte, length| {
                state = step(automaton, state, byte, length, padding, found);
            });
            (state, trimmed)
        };
        if self.word_boundaries && !ended_on_space {
            step(automaton, state, b' ', text.bytes.len() + 1, padding, found);
        }
    }

    /// Whether a negation cue of the phrase's language stands at most
    /// `window` words before `start`, in the same clause.
    pub(crate) fn is_negated(
        &self,
        text: &Normalized,
        cues: &[Cue],
        start: usize,
        phrase_locale: Option<LocaleId>,
        turn_locale: TurnLocale,
    ) -> bool {
        let locale = match (phrase_locale, turn_locale) {
            (Some(locale), _) | (None, TurnLocale::Known(locale)) => Some(locale),
            (None, _) => self.default_locale,
        };
        let Some(locale) = locale else {
            return false;
        };
        // Cues come in order of their end: walk back from the phrase and stop
        // at the first cue too far away, so a long text costs no more.
        let before = cues.partition_point(|cue| cue.end as usize <= start);
        for cue in cues[..before].iter().rev() {
            let cue_end = cue.end as usize;
            let window = self.negation_window as usize;
            if text.words_between(cue_end, start, window) > window {
                return false;
            }
            if cue.locale == locale && !text.has_clause_break_between(cue_end, start) {
                return true;
            }
        }
        false
    }

    /// The matches that contain `inner` (itself included). Matches come in
    /// order of their end and none is longer than the longest pattern, so
    /// only a short stretch of `found` is looked at.
    fn enclosing<'f>(
        &'f self,
        found: &'f [Found],
        inner: &Found,
    ) -> impl Iterator<Item = &'f Found> {
        let inner = *inner;
        let from = found.partition_point(|f| f.end < inner.end);
        let reach = inner.start as usize + self.longest_pattern;
        found[from..]
            .iter()
            .take_while(move |f| f.end as usize <= reach)
            .filter(move |f| f.start <= inner.start)
    }
}

/// Moves the automaton on by `byte`, the `length`th of the text, and
/// records the matches of the state it reaches.
#[inline(always)]
fn step<A: Automaton>(
    automaton: &A,
    state: StateID,
    byte: u8,
    length: usize,
    padding: usize,
    found: &mut Vec<Found>,
) -> StateID {
    let state = automaton.next_state(Anchored::No, state, byte);
    if automaton.is_special(state) {
        matched(automaton, state, length, padding, found);
    }
    state
}

/// Records the matches of `state`, reached with `length` bytes of text
/// read (not counting a leading space). A match ending there began
/// `pattern_len - padding` bytes before, and its phrase ends `padding`
/// bytes before the end (`padding` is 1 when the automaton reads the text
/// between spaces, else 0).
#[inline(never)]
fn matched<A: Automaton>(
    automaton: &A,
    state: StateID,
    length: usize,
    padding: usize,
    found: &mut Vec<Found>,
) {
    if !automaton.is_match(state) {
        return;
    }
    for index in 0..automaton.match_len(state) {
        let pattern = automaton.match_pattern(state, index);
        let start = length + padding - automaton.pattern_len(pattern);
        found.push(Found {
            pattern: pattern.as_u32(),
            start: start as u32,
            end: (length - padding) as u32,
        });
    }
}

fn applies(phrase_locale: Option<LocaleId>, turn: TurnLocale) -> bool {
    match (phrase_locale, turn) {
        (None, _) | (_, TurnLocale::Unknown) => true,
        (Some(phrase), TurnLocale::Known(turn)) => phrase == turn,
        (Some(_), TurnLocale::Other) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::normalize;

    /// The phrases each text matches, by both normalizing loops: the
    /// all-ASCII one and the general one (an emoji at the end, a separator,
    /// sends the text through it without changing its normalized form).
    #[test]
    fn both_scanning_loops_find_the_same_whole_words() {
        let phrases = ["human", "real person", "no", "help me"];
        let cases: [(&str, &[&str]); 8] = [
            ("I want a HUMAN", &["human"]),
            ("human!", &["human"]),
            ("a real   person, please", &["real person"]),
            ("humans know nothing", &[]),
            ("No. Help me", &["no", "help me"]),
            ("help. me", &[]),
            ("", &[]),
            ("?!", &[]),
        ];
        for word_boundaries in [true, false] {
            let mut builder = PhraseIndexBuilder::default();
            let set = builder.new_set(false, false);
            for phrase in phrases {
                builder.add_phrase(set, phrase, normalize(phrase, Folding::default()), None);
            }
            let index = builder.build(word_boundaries, 3, "en").unwrap();
            for (text, want) in cases {
                let mut matched = Vec::new();
                for original in [text.to_string(), format!("{text} 🙂")] {
                    let (mut normalized, mut hits) = (Normalized::default(), vec![None]);
                    let (mut cues, mut found) = (Vec::new(), Vec::new());
                    index.scan(
                        &original,
                        Folding::default(),
                        &mut normalized,
                        TurnLocale::Unknown,
                        &mut hits,
                        &mut cues,
                        &mut found,
                    );
                    let words: Vec<String> = found
                        .iter()
                        .map(|f| normalized.as_str()[f.start as usize..f.end as usize].to_string())
                        .collect();
                    matched.push(words);
                }
                assert_eq!(matched[0], matched[1], "{text:?}");
                if word_boundaries {
                    assert_eq!(matched[0], want, "{text:?}");
                }
            }
        }
    }
}
