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

use crate::dfa::FlatDfa;
use crate::words::{
    ListMatching, Read, Typos, WordEnd, WordIndex, WordIndexBuilder, WordPhrase, WordScratch,
};

/// The most memory the phrase automaton may take as a DFA.
const DFA_BUDGET: usize = 4 << 20;
/// How much larger a DFA is than the contiguous NFA of the same phrases
/// (measured at 1,000, 4,500 and 10,000 phrases: 9.5 to 9.6 times).
const NFA_TO_DFA_GROWTH: usize = 10;

use crate::text::{AsciiTable, Folding, Normalized};

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
    /// Read through a typo: an exact match found later replaces it.
    pub(crate) fuzzy: bool,
}

/// What a turn's phrase scan heard: its hits, and the normalized text
/// their offsets are into.
#[derive(Clone, Copy)]
pub(crate) struct Heard<'a> {
    pub(crate) hits: &'a Hits,
    pub(crate) text: &'a Normalized,
}

impl Heard<'_> {
    /// The words of `original` (the text the scan read) that matched `set`,
    /// as written.
    pub(crate) fn said(self, set: SetId, original: &str) -> Option<&str> {
        let hit = self.hits[set]?;
        let (start, end) = self
            .text
            .original_span(original, hit.start as usize, hit.end as usize);
        Some(&original[start..end])
    }
}

/// A turn's hit table: one slot per phrase set, each holding the set's first
/// match, and the sets that have one, so that the rules they gate can be
/// found without looking at the others.
#[derive(Debug, Default)]
pub(crate) struct Hits {
    slots: Vec<Option<Hit>>,
    filled: Vec<SetId>,
}

impl Hits {
    /// Empties the table, for `sets` phrase sets. Only the slots that were
    /// filled are cleared, so a turn costs nothing per set of the policy.
    pub(crate) fn reset(&mut self, sets: usize) {
        for &set in &self.filled {
            self.slots[set] = None;
        }
        self.filled.clear();
        self.slots.resize(sets, None);
    }

    /// Gives `set` its match, if it has none yet, or only one read
    /// through a typo and this one is not: exact matches win.
    pub(crate) fn fill(&mut self, set: SetId, hit: Hit) {
        match self.slots[set] {
            None => {
                self.slots[set] = Some(hit);
                self.filled.push(set);
            }
            Some(old) if old.fuzzy && !hit.fuzzy => self.slots[set] = Some(hit),
            Some(_) => {}
        }
    }

    /// The sets that have a match, in the order they got it.
    pub(crate) fn filled(&self) -> &[SetId] {
        &self.filled
    }
}

impl std::ops::Index<SetId> for Hits {
    type Output = Option<Hit>;

    fn index(&self, set: SetId) -> &Option<Hit> {
        &self.slots[set]
    }
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
    start: u32,
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
    whole: Whole,
    negation: bool,
}

/// How much of the text a set's phrase must be.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Whole {
    /// Anywhere in the text (`keywords`, topics).
    #[default]
    Anywhere,
    /// All the user wrote (`whole_message`).
    Message,
    /// A sentence of it, or all of it (`whole_sentence`).
    Sentence,
    /// The last clause of a sentence, or a whole sentence (`last_clause`).
    LastClause,
}

impl Whole {
    /// Whether a match at the normalized bytes `start..end` of `text` is
    /// as whole as asked.
    fn holds(self, text: &Normalized, (start, end): (usize, usize)) -> bool {
        match self {
            Whole::Anywhere => true,
            Whole::Message => start == 0 && end == text.bytes.len(),
            Whole::Sentence => text.is_sentence(start, end),
            Whole::LastClause => text.is_last_clause(start, end),
        }
    }
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
    /// The most memory the automaton may take as a DFA; `None` for
    /// [`DFA_BUDGET`].
    dfa_budget: Option<usize>,
    /// Phrases matched word by word (typos, word forms, gaps, any order).
    words: WordIndexBuilder,
    /// The language of phrases listed for no locale, for word forms.
    default_language: String,
    /// `matching.typos`: the edit budget per word length.
    pub(crate) typos: Typos,
    /// `matching.locales: all`: every list applies to every turn.
    pub(crate) all_locales: bool,
}

impl PhraseIndexBuilder {
    /// Sets the most memory the automaton may take as a DFA (0 for an NFA
    /// whatever the size).
    #[cfg(test)]
    pub(crate) fn dfa_budget(&mut self, bytes: usize) {
        self.dfa_budget = Some(bytes);
    }

    /// Starts a new phrase set and returns its id.
    pub(crate) fn new_set(&mut self, whole: Whole, negation: bool) -> SetId {
        self.sets.push(SetOptions { whole, negation });
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

    /// Sets the language of phrases listed for no locale (for word forms).
    pub(crate) fn set_default_language(&mut self, locale: &str) {
        self.default_language = crate::policy::primary_language(locale).to_ascii_lowercase();
    }

    /// Adds a phrase matched word by word to a set.
    pub(crate) fn add_word_phrase(
        &mut self,
        set: SetId,
        original: &str,
        words: &WordPhrase,
        matching: ListMatching,
        locale: Option<&str>,
    ) {
        let locale_id = locale.map(|l| self.locale_id(l));
        let phrase = self.phrases.len() as u32;
        // An empty alternative leaves two spaces in the expansion.
        let original: Vec<&str> = original.split_whitespace().collect();
        self.phrases.push(Arc::from(original.join(" ")));
        let language = match locale {
            Some(l) => crate::policy::primary_language(l).to_ascii_lowercase(),
            None => self.default_language.clone(),
        };
        let end = WordEnd {
            set,
            phrase,
            locale: locale_id,
            gaps: 0,
        };
        self.words.add(words, matching, &language, end);
    }

    /// Adds a negation cue (already normalized) for a locale.
    pub(crate) fn add_cue(&mut self, normalized: String, locale: &str) {
        self.words.add_cue(&normalized);
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

    /// Builds the automaton, for text normalized with `folding`.
    pub(crate) fn build(
        self,
        folding: Folding,
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
        // A DFA scans faster than the contiguous NFA but takes about ten
        // times its memory: use it while that stays small.
        let budget = self.dfa_budget.unwrap_or(DFA_BUDGET);
        let dfa = if contiguous.memory_usage() * NFA_TO_DFA_GROWTH <= budget {
            let dfa = dfa::Builder::new()
                .match_kind(MatchKind::Standard)
                .prefilter(false)
                .build_from_noncontiguous(&nfa)
                .map_err(|e| e.to_string())?;
            // `None` only if the table would not fit 32-bit state ids,
            // which the budget rules out: the NFA then serves.
            FlatDfa::new(&dfa, patterns)
        } else {
            None
        };
        let (automaton, ascii) = match dfa {
            Some(dfa) => {
                let ascii = AsciiTable::new(folding, |byte| dfa.class(byte));
                (PhraseAutomaton::Dfa(dfa), ascii)
            }
            None => (
                PhraseAutomaton::Nfa(contiguous),
                AsciiTable::new(folding, |_| 0),
            ),
        };
        let default_language = crate::policy::primary_language(default_locale).to_ascii_lowercase();
        let default_locale = self
            .locales
            .iter()
            .position(|l| *l == default_language)
            .map(|i| i as LocaleId);
        let words = (!self.words.is_empty()).then(|| self.words.build(self.typos));
        Ok(PhraseIndex {
            words,
            all_locales: self.all_locales,
            automaton,
            ascii,
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

/// The phrase automaton: a DFA (copied into a flat table) while it stays
/// small, else a contiguous NFA. The engine drives it a byte at a time as
/// the text is normalized, so it is kept as the automaton itself rather
/// than behind an `AhoCorasick`.
#[derive(Debug)]
enum PhraseAutomaton {
    Dfa(FlatDfa),
    Nfa(contiguous::NFA),
}

/// The compiled automaton and what each of its patterns means.
#[derive(Debug)]
pub(crate) struct PhraseIndex {
    /// The phrases matched word by word, if any.
    words: Option<WordIndex>,
    all_locales: bool,
    automaton: PhraseAutomaton,
    /// The all-ASCII normalizing loop's table (tagged with the DFA's
    /// classes), which also gives the folding.
    ascii: AsciiTable,
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

    /// The folding the index normalizes text with.
    pub(crate) fn folding(&self) -> Folding {
        self.ascii.folding()
    }

    /// The phrase as the policy wrote it.
    pub(crate) fn phrase(&self, id: u32) -> &Arc<str> {
        &self.phrases[id as usize]
    }

    /// The heap memory the automaton (and the word matcher) use, in bytes.
    pub(crate) fn memory_usage(&self) -> usize {
        let words = self.words.as_ref().map_or(0, WordIndex::memory_usage);
        words
            + match &self.automaton {
                PhraseAutomaton::Dfa(dfa) => dfa.memory_usage(),
                PhraseAutomaton::Nfa(nfa) => nfa.memory_usage(),
            }
    }

    /// How the user's words of a match were read where not as written
    /// (typos, word forms, words run together or split).
    pub(crate) fn reads(&self, text: &Normalized, hit: &Hit) -> Vec<Read> {
        match (&self.words, hit.source) {
            (Some(words), HitSource::Phrase(phrase)) => {
                words.explain(phrase, text, hit.start, hit.end)
            }
            _ => Vec::new(),
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
        text: &mut Normalized,
        locale: TurnLocale,
        hits: &mut Hits,
        cues: &mut Vec<Cue>,
        found: &mut Vec<Found>,
        words: &mut WordScratch,
    ) {
        match &self.automaton {
            PhraseAutomaton::Dfa(dfa) => self.find(dfa, original, text, found),
            PhraseAutomaton::Nfa(nfa) => self.find(nfa, original, text, found),
        }
        cues.clear();
        let text = &*text;
        // "Are you human? Please help" is not "human please".
        found.retain(|m| !text.spans_sentences(m.start as usize, m.end as usize));
        for m in found.iter() {
            for use_ in &self.uses[m.pattern as usize] {
                if let Use::Cue(locale) = *use_ {
                    cues.push(Cue {
                        start: m.start,
                        end: m.end,
                        locale,
                    });
                }
            }
        }
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
                if hits[set].is_some() || !(self.all_locales || applies(phrase_locale, locale)) {
                    continue;
                }
                let options = self.sets[set];
                if !options.whole.holds(text, (start, end)) {
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
                    hits.fill(
                        set,
                        Hit {
                            source: HitSource::Phrase(phrase),
                            start: m.start,
                            end: m.end,
                            fuzzy: false,
                        },
                    );
                }
            }
        }
        if let Some(index) = &self.words {
            self.fill_word_matches(index, text, locale, hits, cues, words);
        }
    }

    /// Matches the word phrases and fills their sets' slots, with the same
    /// checks as literal phrases: locale, whole message, negation.
    fn fill_word_matches(
        &self,
        index: &WordIndex,
        text: &Normalized,
        locale: TurnLocale,
        hits: &mut Hits,
        cues: &[Cue],
        scratch: &mut WordScratch,
    ) {
        index.scan(text, scratch);
        for m in &scratch.matches {
            let set = m.end.set;
            if hits[set].is_some_and(|hit| !hit.fuzzy) {
                continue;
            }
            if !(self.all_locales || applies(m.end.locale, locale)) {
                continue;
            }
            let options = self.sets[set];
            let start = scratch.words[m.first as usize].start;
            let end = scratch.words[m.last as usize].end;
            if !options.whole.holds(text, (start as usize, end as usize)) {
                continue;
            }
            if options.negation && self.is_negated(text, cues, start as usize, m.end.locale, locale)
            {
                continue;
            }
            hits.fill(
                set,
                Hit {
                    source: HitSource::Phrase(m.end.phrase),
                    start,
                    end,
                    fuzzy: m.fuzzy,
                },
            );
        }
    }

    /// Normalizes `original` into `text`, feeding each byte to the
    /// automaton as it is written, and collects every match into `found`
    /// in order of its end. With word boundaries the automaton reads the
    /// text between spaces (see [`PhraseIndexBuilder::build`]): one before
    /// the first byte, one after the last unless the text ended on one that
    /// normalization then trimmed.
    fn find<S: Scanner>(
        &self,
        automaton: &S,
        original: &str,
        text: &mut Normalized,
        found: &mut Vec<Found>,
    ) {
        found.clear();
        let padding = usize::from(self.word_boundaries);
        let Some(mut state) = automaton.start() else {
            return;
        };
        if self.word_boundaries {
            // Matches here would end before the text begins: none is kept.
            state = automaton.untag(automaton.next_byte(state, b' '));
        }
        let step = |state, length, found: &mut Vec<Found>| {
            if automaton.is_match(state) {
                automaton.record(state, length, padding, found)
            } else {
                state
            }
        };
        // Two calls with a state each, rather than one closure for both:
        // the all-ASCII loop is inlined here, and its state stays in a
        // register only if no other path takes its address.
        let (state, ended_on_space) = if original.is_ascii() {
            let mut state = state;
            let trimmed = text.fill_ascii_feeding(original, &self.ascii, |entry, length| {
                state = step(automaton.next_entry(state, entry), length, found);
            });
            (state, trimmed)
        } else {
            let mut state = state;
            let trimmed = text.fill_feeding(original, self.folding(), |byte, length| {
                state = step(automaton.next_byte(state, byte), length, found);
            });
            (state, trimmed)
        };
        if self.word_boundaries && !ended_on_space {
            let length = text.bytes.len() + 1;
            step(automaton.next_byte(state, b' '), length, found);
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
        // A cue that begins before the phrase and runs into it negates it
        // too: "no need" in "no need for an agent", where the phrase is
        // "need ... agent".
        let overlapping = cues[before..]
            .iter()
            .take_while(|cue| cue.end as usize <= start + self.longest_pattern)
            .any(|cue| cue.locale == locale && (cue.start as usize) < start);
        if overlapping {
            return true;
        }
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

/// What the scan needs of the phrase automaton, whichever it is. The
/// transition functions take only states that [`Scanner::is_match`] says
/// no to, or that [`Scanner::record`] or [`Scanner::untag`] gave back.
trait Scanner {
    type State: Copy;
    /// The state before any byte is read.
    fn start(&self) -> Option<Self::State>;
    /// The state after a byte the all-ASCII loop wrote, given as its
    /// [`AsciiTable`] entry.
    fn next_entry(&self, state: Self::State, entry: u32) -> Self::State;
    /// The state after `byte`.
    fn next_byte(&self, state: Self::State, byte: u8) -> Self::State;
    /// Whether `state` may have matches: a quick test on every byte.
    fn is_match(&self, state: Self::State) -> bool;
    /// `state` as the transition functions take it, its matches ignored.
    fn untag(&self, state: Self::State) -> Self::State;
    /// Records the matches of `state`, reached with `length` bytes of text
    /// read (not counting a leading space), and gives back the state to go
    /// on from. A match ending there began `pattern_len - padding` bytes
    /// before, and its phrase ends `padding` bytes before the end
    /// (`padding` is 1 when the automaton reads the text between spaces,
    /// else 0).
    fn record(
        &self,
        state: Self::State,
        length: usize,
        padding: usize,
        found: &mut Vec<Found>,
    ) -> Self::State;
}

impl Scanner for FlatDfa {
    type State = u32;

    fn start(&self) -> Option<u32> {
        Some(FlatDfa::start(self))
    }

    #[inline(always)]
    fn next_entry(&self, state: u32, entry: u32) -> u32 {
        self.next(state, AsciiTable::tag(entry))
    }

    #[inline(always)]
    fn next_byte(&self, state: u32, byte: u8) -> u32 {
        self.next(state, self.class(byte))
    }

    #[inline(always)]
    fn is_match(&self, state: u32) -> bool {
        FlatDfa::is_match(state)
    }

    fn untag(&self, state: u32) -> u32 {
        FlatDfa::untag(state)
    }

    /// Out of line, so that the untagging stays on this rare path: inlined,
    /// the compiler would untag every state, one more step on each byte's
    /// chain of loads.
    #[inline(never)]
    fn record(&self, state: u32, length: usize, padding: usize, found: &mut Vec<Found>) -> u32 {
        for &(pattern, pattern_len) in self.matches(state) {
            found.push(found_at(pattern, pattern_len as usize, length, padding));
        }
        FlatDfa::untag(state)
    }
}

impl Scanner for contiguous::NFA {
    type State = StateID;

    fn start(&self) -> Option<StateID> {
        self.start_state(Anchored::No).ok()
    }

    #[inline(always)]
    fn next_entry(&self, state: StateID, entry: u32) -> StateID {
        self.next_state(Anchored::No, state, entry as u8)
    }

    #[inline(always)]
    fn next_byte(&self, state: StateID, byte: u8) -> StateID {
        self.next_state(Anchored::No, state, byte)
    }

    #[inline(always)]
    fn is_match(&self, state: StateID) -> bool {
        self.is_special(state)
    }

    fn untag(&self, state: StateID) -> StateID {
        state
    }

    #[inline(never)]
    fn record(
        &self,
        state: StateID,
        length: usize,
        padding: usize,
        found: &mut Vec<Found>,
    ) -> StateID {
        if !Automaton::is_match(self, state) {
            return state;
        }
        for index in 0..self.match_len(state) {
            let pattern = self.match_pattern(state, index);
            found.push(found_at(
                pattern.as_u32(),
                self.pattern_len(pattern),
                length,
                padding,
            ));
        }
        state
    }
}

/// A match of `pattern` (`pattern_len` bytes long) ending after `length`
/// bytes of text.
fn found_at(pattern: u32, pattern_len: usize, length: usize, padding: usize) -> Found {
    Found {
        pattern,
        start: (length + padding - pattern_len) as u32,
        end: (length - padding) as u32,
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

    /// A reset table holds no match, whatever the table held before and
    /// however many sets the next policy has.
    #[test]
    fn a_reset_hit_table_is_empty() {
        let hit = Hit {
            source: HitSource::Phrase(0),
            start: 0,
            end: 1,
            fuzzy: false,
        };
        let mut hits = Hits::default();
        hits.reset(10);
        hits.fill(7, hit);
        hits.fill(2, hit);
        hits.fill(7, Hit { start: 5, ..hit });
        assert_eq!(hits.filled(), [7, 2]);
        assert_eq!(hits[7], Some(hit));
        for sets in [3, 10, 12] {
            hits.reset(sets);
            assert!(hits.filled().is_empty());
            assert!((0..sets).all(|set| hits[set].is_none()), "{sets} sets");
            hits.fill(sets - 1, hit);
        }
    }

    /// The phrases each text matches, with either automaton and by both
    /// normalizing loops: the all-ASCII one and the general one (an emoji
    /// at the end, a separator, sends the text through it without changing
    /// its normalized form); and every match is one a brute-force search
    /// of the normalized text finds, whatever the word-boundary setting.
    #[test]
    fn both_scanning_loops_find_the_same_whole_words() {
        let phrases = ["human", "real person", "no", "help me", "man"];
        let cases: [(&str, &[&str]); 11] = [
            ("I want a HUMAN", &["human"]),
            ("human!", &["human"]),
            ("a real   person, please", &["real person"]),
            ("humans know nothing", &[]),
            ("No. Help me", &["no", "help me"]),
            ("help. me", &[]),
            ("", &[]),
            ("?!", &[]),
            ("no no no", &["no", "no", "no"]),
            ("humanhuman nohuman", &[]),
            ("real person real person", &["real person", "real person"]),
        ];
        for (word_boundaries, budget) in [(true, DFA_BUDGET), (false, DFA_BUDGET), (true, 0)] {
            let mut builder = PhraseIndexBuilder::default();
            builder.dfa_budget(budget);
            let set = builder.new_set(Whole::Anywhere, false);
            for phrase in phrases {
                builder.add_phrase(set, phrase, normalize(phrase, Folding::default()), None);
            }
            let index = builder
                .build(Folding::default(), word_boundaries, 3, "en")
                .unwrap();
            let kind = index.automaton_kind();
            assert_eq!(kind, if budget == 0 { "nfa" } else { "dfa" });
            for (text, want) in cases {
                let mut matched = Vec::new();
                for original in [text.to_string(), format!("{text} 🙂")] {
                    let (mut normalized, mut hits) = (Normalized::default(), Hits::default());
                    hits.reset(1);
                    let (mut cues, mut found) = (Vec::new(), Vec::new());
                    index.scan(
                        &original,
                        &mut normalized,
                        TurnLocale::Unknown,
                        &mut hits,
                        &mut cues,
                        &mut found,
                        &mut WordScratch::default(),
                    );
                    let words: Vec<String> = found
                        .iter()
                        .map(|f| normalized.as_str()[f.start as usize..f.end as usize].to_string())
                        .collect();
                    matched.push(words);
                }
                assert_eq!(matched[0], matched[1], "{text:?} {kind}");
                if word_boundaries {
                    assert_eq!(matched[0], want, "{text:?} {kind}");
                }
                let mut all = brute_force(text, &phrases, word_boundaries);
                all.sort();
                matched[0].sort();
                assert_eq!(matched[0], all, "{text:?} {kind} {word_boundaries}");
            }
        }
    }

    proptest::proptest! {
        /// With typos, word forms and gaps off, the word matcher finds what
        /// the byte automaton finds: the same phrase sets, at the same spans.
        #[test]
        fn the_word_matcher_with_nothing_on_is_the_literal_matcher(
            words in proptest::collection::vec(
                proptest::sample::select(vec![
                    "talk", "to", "a", "human", "real", "person", "talking", "no", "not",
                    "agent", "please", ",", ".", "?", "some", "one", "someone", "Talk", "HUMAN",
                ]),
                0..14,
            )
        ) {
            let phrases = ["talk to a human", "real person", "human please", "someone", "agent"];
            let mut builder = PhraseIndexBuilder::default();
            builder.add_cue(normalize("not", Folding::default()), "en");
            let (literal, worded) = (
                builder.new_set(Whole::Anywhere, true),
                builder.new_set(Whole::Anywhere, true),
            );
            for phrase in phrases {
                let parsed = WordPhrase::parse(phrase, Folding::default()).unwrap();
                builder.add_phrase(literal, phrase, parsed.literal(), None);
                builder.add_word_phrase(worded, phrase, &parsed, ListMatching::default(), None);
            }
            let index = builder.build(Folding::default(), true, 2, "en").unwrap();
            let text = words.join(" ");
            let (mut normalized, mut hits) = (Normalized::default(), Hits::default());
            hits.reset(2);
            index.scan(
                &text,
                &mut normalized,
                TurnLocale::Unknown,
                &mut hits,
                &mut Vec::new(),
                &mut Vec::new(),
                &mut WordScratch::default(),
            );
            let span = |set: SetId| hits[set].map(|h| (h.start, h.end));
            proptest::prop_assert_eq!(hits[literal].is_some(), hits[worded].is_some(), "{}", text);
            // Both keep a match; which one, when there are several, may
            // differ (the automaton reports by end, the trie by start).
            if let (Some(a), Some(b)) = (span(literal), span(worded)) {
                let found = |(s, e): (u32, u32)| normalized.as_str()[s as usize..e as usize].to_string();
                proptest::prop_assert!(phrases.iter().any(|p| normalize(p, Folding::default()) == found(a)));
                proptest::prop_assert!(phrases.iter().any(|p| normalize(p, Folding::default()) == found(b)));
            }
        }
    }

    /// Every occurrence of `phrases` in the normalized `text` (between
    /// spaces or ends when `word_boundaries`) that stays in one sentence.
    fn brute_force(text: &str, phrases: &[&str], word_boundaries: bool) -> Vec<String> {
        let mut normalized = Normalized::default();
        normalized.fill(text, Folding::default());
        let bytes = normalized.as_str().as_bytes();
        let mut found = Vec::new();
        for phrase in phrases {
            let phrase = normalize(phrase, Folding::default());
            for start in 0..bytes.len() {
                let end = start + phrase.len();
                let bounded = |at: Option<&u8>| !word_boundaries || at.is_none_or(|&b| b == b' ');
                if bytes[start..].starts_with(phrase.as_bytes())
                    && bounded(start.checked_sub(1).and_then(|i| bytes.get(i)))
                    && bounded(bytes.get(end))
                    && !normalized.spans_sentences(start, end)
                {
                    found.push(phrase.clone());
                }
            }
        }
        found
    }
}
