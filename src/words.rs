//! Word-level phrase matching: typos, word forms, gaps and free word order.
//!
//! Literal phrases live in the byte automaton (src/phrases.rs). A phrase
//! whose list tolerates typos or word forms, or that allows words in
//! between (`~N`) or any order (`any order:`), is matched here instead, on
//! the words of the normalized text:
//!
//! 1. each text word gets its *readings*: the phrase words it is exactly,
//!    the word forms it shares a stem with (`talking` is `talk`), the
//!    phrase words it is within a few edits of (`talkk`), two phrase words
//!    it runs together (`tosomebody`), or one phrase word it makes with the
//!    next text word (`some body`);
//! 2. ordered phrases are a trie over those readings, walked once from
//!    every word, with a budget of skipped words (the phrase's gaps);
//! 3. phrases in any order are anchored at their first word and looked for
//!    in a window around it.
//!
//! Nothing here allocates on a turn once the scratch buffers have grown,
//! except the stemmer on a word seen for the first time (its answer is then
//! cached per thread).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};

use rust_stemmers::{Algorithm, Stemmer};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::phrases::{LocaleId, SetId};
use crate::text::{Folding, Normalized, normalize};

/// The most words a phrase may skip (`~N`, `gaps`).
pub(crate) const MAX_GAPS: u8 = 8;
/// Text words longer than this (in bytes) are never read as typos.
const MAX_TYPO_WORD: usize = 32;
/// The most partial matches kept at one word: a bound for hostile text.
const MAX_PARTIALS: usize = 64;
/// The most readings one window keeps (and matches one turn keeps) beyond
/// one a word: a bound for hostile text.
const MAX_READINGS: usize = 1 << 16;
/// A long text is read in windows of this many words (with the words a
/// match can span on either side), so the readings held at once stay
/// bounded however long the text, and every word of it is read.
const WINDOW_WORDS: usize = 4096;

/// The most readings, or matches, a text (or window) of `words` words keeps.
fn reading_limit(words: usize) -> usize {
    MAX_READINGS + words
}
/// Words the per-thread stem cache holds before it starts afresh.
const STEM_CACHE: usize = 4096;

/// Readings reach phrase words by keys: a term (an exact word), or a stem
/// (a word form). Edges of the trie add how the slot may be matched.
const STEM: u32 = 1 << 31;
const FORMS: u32 = 1 << 30;
const TYPOS: u32 = 1 << 29;
/// An edge tagged with its slot's mode, beside an untagged one of the same
/// key that leads to a slot of another mode.
const TAGGED: u32 = 1 << 28;
const ROOT: u32 = 0;

/// How typos are tolerated, as Lucene's `fuzziness: AUTO`: words shorter
/// than `min_length` must be exact, shorter than `two_edits_from` may have
/// one edit, longer ones `max_edits` (at most 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Typos {
    pub(crate) min_length: u8,
    pub(crate) two_edits_from: u8,
    pub(crate) max_edits: u8,
}

impl Default for Typos {
    fn default() -> Self {
        Typos {
            min_length: 3,
            two_edits_from: 6,
            max_edits: 2,
        }
    }
}

impl Typos {
    /// How many edits a phrase word of `len` bytes may be read with.
    pub(crate) fn allowed(&self, len: usize) -> u8 {
        let edits = if len < self.min_length as usize {
            0
        } else if len < self.two_edits_from as usize {
            1
        } else {
            2
        };
        edits.min(self.max_edits)
    }
}

/// How the phrases of one list are matched.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ListMatching {
    pub(crate) typos: bool,
    pub(crate) word_forms: bool,
    /// Extra words allowed among a phrase's words, unless the phrase says.
    pub(crate) gaps: u8,
}

/// A phrase as the word matcher reads it, after `{a|b}` expansion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct WordPhrase {
    /// Normalized words, each with whether it must be matched exactly (`=word`).
    pub(crate) words: Vec<(String, bool)>,
    /// Extra words allowed among the words (`~N`), if the phrase says.
    pub(crate) gaps: Option<u8>,
    /// `any order:` the words may come in any order.
    pub(crate) any_order: bool,
}

impl WordPhrase {
    /// Reads the word-matching syntax of an expanded phrase: a leading
    /// `any order:`, a trailing `~N`, and `=` before a word that must be
    /// matched exactly.
    pub(crate) fn parse(phrase: &str, folding: Folding) -> Result<WordPhrase, SyntaxError> {
        const GAPS_HELP: &str = "write `~N` at the end of the phrase, N a whole number of words from 0 to 8: `chat with agent ~2`";
        let mut rest = phrase.trim();
        let mut any_order = false;
        let head = rest.get(..10).unwrap_or(rest).to_ascii_lowercase();
        if head == "any order:" {
            any_order = true;
            rest = rest[10..].trim_start();
        } else if ["any-order", "any_order", "anyorder"]
            .iter()
            .any(|h| head.starts_with(h))
        {
            return Err(SyntaxError::new(
                "starts like `any order:` but is not written so",
                "write `any order:`, with a space and a colon, before the words",
            ));
        }
        let mut gaps = None;
        if let Some(at) = rest.find('~') {
            let count = rest[at + 1..].trim();
            if count.is_empty() {
                return Err(SyntaxError::new(
                    "ends with `~` but no number of words",
                    GAPS_HELP,
                ));
            }
            if !count.bytes().all(|b| b.is_ascii_digit()) {
                return Err(SyntaxError::new(
                    format!("has `~{count}`, which is not a number of words at the end"),
                    GAPS_HELP,
                ));
            }
            let n: u32 = count.parse().unwrap_or(u32::MAX);
            if n > MAX_GAPS as u32 {
                return Err(SyntaxError::new(
                    format!("allows {n} words in between, more than {MAX_GAPS}"),
                    GAPS_HELP,
                ));
            }
            gaps = Some(n as u8);
            rest = rest[..at].trim_end();
        }
        let mut words = Vec::new();
        for token in rest.split_whitespace() {
            let (exact, token) = match token.strip_prefix('=') {
                Some(token) => (true, token),
                None => (false, token),
            };
            let before = words.len();
            for word in normalize(token, folding)
                .split(' ')
                .filter(|w| !w.is_empty())
            {
                words.push((word.to_string(), exact));
            }
            if exact && words.len() == before {
                return Err(SyntaxError::new(
                    "has `=` before no word",
                    "write `=` right before the word whose exact form is wanted, with no space: `talk to a =rep`",
                ));
            }
        }
        // Without syntax, a phrase of no words is reported as empty where
        // every phrase is normalized.
        if words.is_empty() && (any_order || gaps.is_some()) {
            return Err(SyntaxError::new(
                "has no words",
                "write the words to look for after `any order:` and before `~N`",
            ));
        }
        if any_order && words.len() < 2 {
            return Err(SyntaxError::new(
                "asks for one word in any order",
                "`any order:` is for two words or more; write a single word without it",
            ));
        }
        Ok(WordPhrase {
            words,
            gaps,
            any_order,
        })
    }

    /// Whether the phrase needs the word matcher whatever its list says.
    pub(crate) fn needs_words(&self) -> bool {
        self.any_order || self.gaps.is_some_and(|g| g > 0)
    }

    /// The phrase's words joined by spaces: its literal form.
    pub(crate) fn literal(&self) -> String {
        let words: Vec<&str> = self.words.iter().map(|(w, _)| w.as_str()).collect();
        words.join(" ")
    }
}

/// What is wrong with a phrase's matching syntax, and how to write it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub(crate) problem: String,
    pub(crate) help: &'static str,
}

impl SyntaxError {
    fn new(problem: impl Into<String>, help: &'static str) -> SyntaxError {
        SyntaxError {
            problem: problem.into(),
            help,
        }
    }
}

/// The Snowball stemmer for a primary language, if there is one.
fn algorithm(language: &str) -> Option<Algorithm> {
    Some(match language {
        "ar" => Algorithm::Arabic,
        "da" => Algorithm::Danish,
        "nl" => Algorithm::Dutch,
        "en" => Algorithm::English,
        "fi" => Algorithm::Finnish,
        "fr" => Algorithm::French,
        "de" => Algorithm::German,
        "el" => Algorithm::Greek,
        "hu" => Algorithm::Hungarian,
        "it" => Algorithm::Italian,
        "no" | "nb" | "nn" => Algorithm::Norwegian,
        "pt" => Algorithm::Portuguese,
        "ro" => Algorithm::Romanian,
        "ru" => Algorithm::Russian,
        "es" => Algorithm::Spanish,
        "sv" => Algorithm::Swedish,
        "ta" => Algorithm::Tamil,
        "tr" => Algorithm::Turkish,
        _ => return None,
    })
}

/// One word of a compiled phrase.
#[derive(Clone, Copy, Debug)]
struct Slot {
    term: u32,
    /// The word's stem, when word forms apply to it.
    stem: Option<u32>,
    typos: bool,
}

impl Slot {
    fn mode(&self) -> u32 {
        (if self.typos { TYPOS } else { 0 }) | (if self.stem.is_some() { FORMS } else { 0 })
    }

    /// The reading keys that reach this slot: its stem for word forms (an
    /// exact word reads as its own stem too), its term for typos or exact.
    fn keys(&self) -> impl Iterator<Item = u32> {
        let stem = self.stem.map(|s| STEM | s);
        let term = (self.stem.is_none() || self.typos).then_some(self.term);
        stem.into_iter().chain(term)
    }

    fn accepts(&self, reading: &Reading) -> bool {
        (!reading.is_typo() || self.typos)
            && (reading.key == self.term || self.stem.is_some_and(|s| reading.key == STEM | s))
    }
}

/// Where a word phrase's match goes: the phrase set and phrase it stands for.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WordEnd {
    pub(crate) set: SetId,
    pub(crate) phrase: u32,
    pub(crate) locale: Option<LocaleId>,
    pub(crate) gaps: u8,
}

/// A match of a word phrase, in word indices of the text.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WordMatch {
    pub(crate) end: WordEnd,
    pub(crate) first: u32,
    pub(crate) last: u32,
    /// Whether a word was read through a typo (not exactly, nor as a word form).
    pub(crate) fuzzy: bool,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum ReadKind {
    #[default]
    Exact,
    Form,
    Typo,
    /// One text word is two phrase words.
    Joined,
    /// Two text words are one phrase word.
    Split,
}

/// One way of reading text words `from..=to` as phrase words.
#[derive(Clone, Copy, Debug, Default)]
struct Reading {
    key: u32,
    /// A second key, for a text word that is two phrase words run together.
    second: Option<u32>,
    from: u32,
    to: u32,
    edits: u8,
    kind: ReadKind,
}

impl Reading {
    /// Whether only a slot that tolerates typos may take it.
    fn is_typo(&self) -> bool {
        self.edits > 0 || matches!(self.kind, ReadKind::Joined | ReadKind::Split)
    }
}

#[derive(Clone, Copy, Debug)]
struct Partial {
    node: u32,
    first: u32,
    gaps: u8,
    fuzzy: bool,
}

/// A word of the normalized text.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Word {
    pub(crate) start: u32,
    pub(crate) end: u32,
    pub(crate) clause: u32,
    pub(crate) sentence: u32,
}

/// A phrase whose words may come in any order.
#[derive(Debug)]
struct Unordered {
    slots: Vec<Slot>,
    end: WordEnd,
}

/// What one word phrase is, for explaining a match.
#[derive(Debug)]
struct Explained {
    words: Vec<(u32, Option<u32>)>,
    /// The phrase's words joined by single spaces: a match whose text is
    /// exactly this was read as written, with nothing to explain.
    literal: Box<str>,
}

/// How a word of the user's text was read, for the evidence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Read {
    /// The normalized text range of the user's word(s).
    pub(crate) start: u32,
    pub(crate) end: u32,
    /// The phrase word(s) it was read as.
    pub(crate) read_as: String,
    pub(crate) how: &'static str,
}

/// Per-thread buffers of the word matcher.
#[derive(Debug, Default)]
pub(crate) struct WordScratch {
    pub(crate) words: Vec<Word>,
    readings: Vec<Reading>,
    first_reading: Vec<u32>,
    partials: [Vec<Partial>; 3],
    pub(crate) matches: Vec<WordMatch>,
    stems: StemCache,
    seen: SeenWords,
}

impl WordScratch {
    /// Whether a buffer has grown past `limit` entries.
    pub(crate) fn oversized(&self, limit: usize) -> bool {
        self.words.capacity() > limit
            || self.readings.capacity() > limit
            || self.matches.capacity() > limit
    }
}

thread_local! {
    /// The stems `explain` looks up: evidence is built after the scan,
    /// away from its scratch buffers.
    static EXPLAIN_STEMS: std::cell::RefCell<StemCache> = std::cell::RefCell::default();
}

/// Stems of words seen before, per thread: the stemmer allocates.
#[derive(Debug, Default)]
struct StemCache {
    map: FxHashMap<String, Box<str>>,
    key: String,
}

impl StemCache {
    fn stem(&mut self, stemmers: &[(Algorithm, Stemmer)], algorithm: u8, word: &str) -> &str {
        self.key.clear();
        // Keyed by the algorithm itself, not its place in this engine's
        // list: the cache is the thread's, shared by every engine on it.
        let (which, stemmer) = &stemmers[algorithm as usize];
        self.key.push(char::from(b'a' + *which as u8));
        self.key.push_str(word);
        if !self.map.contains_key(self.key.as_str()) {
            if self.map.len() >= STEM_CACHE {
                self.map.clear();
            }
            let stem = stemmer.stem(word);
            self.map.insert(self.key.clone(), Box::from(stem.as_ref()));
        }
        &self.map[self.key.as_str()]
    }
}

/// The readings of text words seen before, per thread: a word's own
/// readings (exact, word forms, typos) depend only on its bytes and the
/// index, and chat vocabulary repeats, so most words are looked up once.
/// Direct-mapped by the word's hash and verified by its bytes themselves
/// (a crafted collision of hashes gets nothing) and the index's id; a
/// word with more readings than a slot holds, or longer than one, is read
/// afresh each time.
#[derive(Debug)]
struct SeenWords {
    /// What each slot holds, apart from its readings: most words have
    /// none, and their lookup touches only this table (32 bytes a slot).
    tags: Box<[SeenTag]>,
    readings: Box<[SeenReadings]>,
}

impl Default for SeenWords {
    fn default() -> Self {
        SeenWords {
            tags: vec![SeenTag::default(); SEEN_WORDS].into_boxed_slice(),
            readings: vec![SeenReadings::default(); SEEN_WORDS].into_boxed_slice(),
        }
    }
}

/// Words the per-thread cache of readings holds (a power of two).
const SEEN_WORDS: usize = 1024;
const SEEN_READINGS: usize = 3;

#[derive(Clone, Copy, Debug, Default)]
struct SeenTag {
    /// The word's bytes, zero-padded (see [`word_key`]).
    key: u128,
    /// The index that read it; 0 for an empty slot.
    index: u64,
    count: u8,
    /// Whether the word may be the first half of a phrase word split in two.
    splits: bool,
}

#[derive(Clone, Copy, Debug, Default)]
struct SeenReadings {
    /// The word's [`hash`], kept when it `splits`.
    hash: u64,
    /// The word's readings, as read at word 0.
    readings: [Reading; SEEN_READINGS],
}

impl SeenWords {
    /// The slot of the word whose [`word_key`] is `key`.
    fn slot(key: u128) -> usize {
        let folded = key as u64 ^ ((key >> 64) as u64).rotate_left(32);
        // The mask only spares a bounds check: the shift leaves as many bits.
        fibonacci(folded, 64 - SEEN_WORDS.trailing_zeros()) & (SEEN_WORDS - 1)
    }

    /// Pushes the readings the word had when `index` last read it, as
    /// readings of word `i`, and gives its hash if it may begin a split
    /// word; `None` when it is not in the cache. The key alone is the word:
    /// normalized text holds no zero byte.
    fn replay(
        &self,
        index: u64,
        key: u128,
        i: u32,
        readings: &mut Vec<Reading>,
    ) -> Option<Option<u64>> {
        let slot = Self::slot(key);
        let tag = &self.tags[slot];
        if tag.key != key || tag.index != index {
            return None;
        }
        if tag.count == 0 && !tag.splits {
            return Some(None);
        }
        let seen = &self.readings[slot];
        for reading in &seen.readings[..tag.count as usize] {
            readings.push(Reading {
                from: i,
                to: i,
                ..*reading
            });
        }
        Some(tag.splits.then_some(seen.hash))
    }

    /// Keeps what `index` read in the word, if it fits a slot.
    fn keep(&mut self, index: u64, key: u128, read: &[Reading], splits: Option<u64>) {
        if read.len() > SEEN_READINGS {
            return;
        }
        let slot = Self::slot(key);
        self.tags[slot] = SeenTag {
            key,
            index,
            count: read.len() as u8,
            splits: splits.is_some(),
        };
        let seen = &mut self.readings[slot];
        seen.hash = splits.unwrap_or(0);
        seen.readings[..read.len()].copy_from_slice(read);
    }
}

/// The bytes `start..end` of `text` as one number, zero-padded, if they
/// are at most 16: compared in one go, where a slice would call `memcmp`.
/// Normalized text holds no zero byte, so with the length it is the word.
fn word_key(text: &[u8], start: usize, end: usize) -> Option<u128> {
    let len = end - start;
    if len > 16 {
        return None;
    }
    // The low `len` bytes of each mask are set: a load, not a 128-bit shift.
    const MASKS: [u128; 17] = {
        let mut masks = [u128::MAX; 17];
        let mut len = 0;
        while len < 16 {
            masks[len] = (1u128 << (len * 8)) - 1;
            len += 1;
        }
        masks
    };
    let key = match text.get(start..start + 16) {
        Some(chunk) => u128::from_le_bytes(chunk.try_into().expect("16 bytes")) & MASKS[len],
        None => text[start..end]
            .iter()
            .rev()
            .fold(0u128, |key, &b| (key << 8) | b as u128),
    };
    Some(key)
}

/// Collects word phrases while a policy compiles.
#[derive(Default)]
pub(crate) struct WordIndexBuilder {
    terms: Vec<String>,
    term_of: HashMap<String, u32>,
    typo_terms: HashSet<u32>,
    joined: HashMap<String, (u32, u32)>,
    stemmers: Vec<(Algorithm, Stemmer)>,
    /// Each stem with its stemmer.
    stems: Vec<(u8, String)>,
    stem_of: HashMap<(u8, String), u32>,
    /// Each stem's root: the bytes a word must begin with to be its form.
    roots: HashSet<(String, u32)>,
    term_stems: HashMap<(u8, u32), Option<u32>>,
    phrases: Vec<(Vec<Slot>, WordEnd, bool)>,
    cue_words: HashSet<String>,
    explained: Vec<(u32, Explained)>,
}

impl std::fmt::Debug for WordIndexBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WordIndexBuilder")
            .field("phrases", &self.phrases.len())
            .finish()
    }
}

impl WordIndexBuilder {
    /// Whether any phrase was added.
    pub(crate) fn is_empty(&self) -> bool {
        self.phrases.is_empty()
    }

    /// Notes the words of a negation cue: no typo is ever read as one, nor
    /// one as another word.
    pub(crate) fn add_cue(&mut self, normalized: &str) {
        for word in normalized.split(' ') {
            self.cue_words.insert(word.to_string());
        }
    }

    fn term(&mut self, word: &str) -> u32 {
        if let Some(&id) = self.term_of.get(word) {
            return id;
        }
        let id = self.terms.len() as u32;
        self.terms.push(word.to_string());
        self.term_of.insert(word.to_string(), id);
        id
    }

    fn stemmer(&mut self, language: &str) -> Option<u8> {
        let algorithm = algorithm(language)?;
        let at = match self.stemmers.iter().position(|(a, _)| *a == algorithm) {
            Some(at) => at,
            None => {
                self.stemmers.push((algorithm, Stemmer::create(algorithm)));
                self.stemmers.len() - 1
            }
        };
        Some(at as u8)
    }

    /// The stem of a term in a language, when word forms can apply to it;
    /// each (language, term) is stemmed once, however many phrases use it.
    fn stem_id(&mut self, algorithm: u8, term: u32) -> Option<u32> {
        if let Some(&known) = self.term_stems.get(&(algorithm, term)) {
            return known;
        }
        let word = &self.terms[term as usize];
        let stemmed = self.stemmers[algorithm as usize].1.stem(word).into_owned();
        let root_len = word
            .bytes()
            .zip(stemmed.bytes())
            .take_while(|(a, b)| a == b)
            .count();
        // A stem shorter than three letters would read too much as this
        // word ("a", "to"): such words match exactly.
        let id = (root_len >= 3).then(|| {
            let root = word[..root_len].to_string();
            let next = self.stems.len() as u32;
            let id = *self
                .stem_of
                .entry((algorithm, stemmed.clone()))
                .or_insert(next);
            if id == next {
                self.stems.push((algorithm, stemmed));
            }
            self.roots.insert((root, id));
            id
        });
        self.term_stems.insert((algorithm, term), id);
        id
    }

    /// Adds a phrase of `language` (the list's, or the policy's default).
    pub(crate) fn add(
        &mut self,
        phrase: &WordPhrase,
        matching: ListMatching,
        language: &str,
        end: WordEnd,
    ) {
        let algorithm = if matching.word_forms {
            self.stemmer(language)
        } else {
            None
        };
        let mut slots = Vec::with_capacity(phrase.words.len());
        let mut explained = Vec::with_capacity(phrase.words.len());
        for (word, exact) in &phrase.words {
            let term = self.term(word);
            let cue = self.cue_words.contains(word.as_str());
            let typos = matching.typos && !exact && !cue;
            if typos {
                self.typo_terms.insert(term);
            }
            let stem = match (algorithm, *exact) {
                (Some(algorithm), false) => self.stem_id(algorithm, term),
                _ => None,
            };
            slots.push(Slot { term, stem, typos });
            explained.push((term, stem));
        }
        if matching.typos {
            for pair in phrase.words.windows(2) {
                if !pair[0].1 && !pair[1].1 {
                    let joined = format!("{}{}", pair[0].0, pair[1].0);
                    let (a, b) = (self.term(&pair[0].0), self.term(&pair[1].0));
                    self.joined.entry(joined).or_insert((a, b));
                }
            }
        }
        let gaps = phrase.gaps.unwrap_or(matching.gaps);
        let literal = phrase.literal().into_boxed_str();
        self.explained.push((
            end.phrase,
            Explained {
                words: explained,
                literal,
            },
        ));
        self.phrases
            .push((slots, WordEnd { gaps, ..end }, phrase.any_order));
    }

    /// Builds the matcher.
    pub(crate) fn build(mut self, typos: Typos) -> WordIndex {
        // Words run together are terms of their own, read as two.
        // Sorted wherever a hash set or map is walked, so that the same
        // policy always compiles to the same tables and decides the same.
        let mut joined: Vec<(String, (u32, u32))> = self.joined.drain().collect();
        joined.sort();
        let phrase_terms = self.terms.len() as u32;
        let mut joined_of = FxHashMap::default();
        for (word, pair) in joined {
            // Read exactly: with typos too, every pair's deletions would
            // swell the index (and a typo inside a run-together pair is rare).
            let term = self.term(&word);
            joined_of.insert(term, pair);
        }
        let mut exact = FxHashMap::default();
        for (id, word) in self.terms.iter().enumerate() {
            exact.insert(hash(word.as_bytes()), id as u32);
        }
        let mut fuzzy = FuzzyIndex::default();
        let mut typo_terms: Vec<u32> = self.typo_terms.iter().copied().collect();
        typo_terms.sort_unstable();
        for &term in &typo_terms {
            let word = &self.terms[term as usize];
            let edits = typos.allowed(word.len());
            if edits > 0 && word.len() <= MAX_TYPO_WORD {
                fuzzy.add(word.as_bytes(), edits, term);
            }
        }
        fuzzy.finish();
        let mut roots: FxHashMap<u32, Vec<(Box<str>, u32)>> = FxHashMap::default();
        let mut sorted_roots: Vec<(String, u32)> = self.roots.into_iter().collect();
        sorted_roots.sort();
        for (root, stem) in sorted_roots {
            roots
                .entry(prefix3(root.as_bytes()))
                .or_default()
                .push((root.into_boxed_str(), stem));
        }
        let mut trie = Trie::default();
        let mut trie_ends = Vec::new();
        let mut unordered: Vec<Unordered> = Vec::new();
        let mut unordered_by_key: FxHashMap<u32, Vec<u32>> = FxHashMap::default();
        let mut modes = HashSet::new();
        let mut max_span = 0;
        for (slots, end, any_order) in self.phrases {
            // Each phrase word may be two text words (`some body`).
            max_span = max_span.max(2 * slots.len() + end.gaps as usize);
            for slot in &slots {
                modes.insert(slot.mode());
            }
            if any_order && slots.len() > 1 {
                let id = unordered.len() as u32;
                for key in slots[0].keys() {
                    unordered_by_key.entry(key).or_default().push(id);
                }
                unordered.push(Unordered { slots, end });
            } else {
                trie.insert(&slots, end, &mut trie_ends);
            }
        }
        trie.finish(trie_ends);
        let mut modes: Vec<u32> = modes.into_iter().collect();
        modes.sort_unstable();
        let explained = self.explained.into_iter().collect();
        let known = BitFilter::new(exact.keys().copied(), exact.len());
        let prefixes: Vec<u64> = self
            .terms
            .iter()
            .flat_map(|term| (1..term.len()).map(|end| hash(&term.as_bytes()[..end])))
            .collect();
        let split_prefixes = BitFilter::new(prefixes.iter().copied(), prefixes.len());
        let root_filter = BitFilter::new(roots.keys().map(|&k| k as u64), roots.len());
        static BUILT: AtomicU64 = AtomicU64::new(1);
        WordIndex {
            id: BUILT.fetch_add(1, Ordering::Relaxed),
            known,
            split_prefixes,
            root_filter,
            terms: self.terms.into_iter().map(String::into_boxed_str).collect(),
            exact,
            joined: joined_of,
            phrase_terms,
            fuzzy,
            typos,
            roots,
            stems: self
                .stems
                .into_iter()
                .map(|(algorithm, stem)| (algorithm, stem.into_boxed_str()))
                .collect(),
            stemmers: self.stemmers,
            cue_hashes: self.cue_words.iter().map(|w| hash(w.as_bytes())).collect(),
            trie,
            unordered,
            unordered_by_key,
            modes,
            explained,
            max_span,
        }
    }
}

/// The compiled word matcher.
pub(crate) struct WordIndex {
    /// This index among those built in the process, for the per-thread
    /// cache of readings (never 0).
    id: u64,
    terms: Vec<Box<str>>,
    exact: FxHashMap<u64, u32>,
    /// The hashes of `exact`, as a filter in front of it.
    known: BitFilter,
    /// The hashes of the terms' beginnings: what the first half of a term
    /// split in two may be.
    split_prefixes: BitFilter,
    joined: FxHashMap<u32, (u32, u32)>,
    /// Terms below this are phrase words (or cue words) themselves; the
    /// rest only stand for two phrase words run together.
    phrase_terms: u32,
    fuzzy: FuzzyIndex,
    typos: Typos,
    roots: FxHashMap<u32, Vec<(Box<str>, u32)>>,
    /// The first three bytes of the roots, as a filter in front of `roots`.
    root_filter: BitFilter,
    /// Each stem with its stemmer.
    stems: Vec<(u8, Box<str>)>,
    stemmers: Vec<(Algorithm, Stemmer)>,
    /// The hashes of the negation cues' words.
    cue_hashes: FxHashSet<u64>,
    trie: Trie,
    unordered: Vec<Unordered>,
    unordered_by_key: FxHashMap<u32, Vec<u32>>,
    /// The slot modes (typos, word forms) some phrase uses.
    modes: Vec<u32>,
    explained: FxHashMap<u32, Explained>,
    /// The most text words one match spans, gaps included (and so the
    /// farthest an any-order phrase looks from its first word).
    max_span: usize,
}

/// One window of a text's words and their readings, with the words of
/// its own (the rest is context): matches begin, or are anchored, there.
struct Window<'a> {
    words: &'a [Word],
    readings: &'a [Reading],
    first_reading: &'a [u32],
    own: std::ops::Range<u32>,
}

impl std::fmt::Debug for WordIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WordIndex")
            .field("terms", &self.terms.len())
            .field("nodes", &self.trie.nodes.len())
            .field("unordered", &self.unordered.len())
            .finish()
    }
}

impl WordIndex {
    /// Heap memory of the tables, roughly, in bytes.
    pub(crate) fn memory_usage(&self) -> usize {
        self.terms.iter().map(|t| t.len() + 16).sum::<usize>()
            + self.exact.capacity() * 16
            + self.fuzzy.memory_usage()
            + self.trie.edges.capacity() * 16
            + self.trie.nodes.len() * 8
    }

    /// Finds the word phrases in `text`: fills `scratch.words` and
    /// `scratch.matches`. A text longer than a window is read window by
    /// window, each with `max_span` words of context on either side; a
    /// window keeps the ordered matches that begin in it and the any-order
    /// ones anchored in it, so each is found once, as in one pass.
    pub(crate) fn scan(&self, text: &Normalized, scratch: &mut WordScratch) {
        let WordScratch {
            words,
            readings,
            first_reading,
            partials,
            matches,
            stems,
            seen,
        } = scratch;
        matches.clear();
        split_words(text, words);
        let match_limit = reading_limit(words.len());
        let mut start = 0;
        while start < words.len() {
            let end = (start + WINDOW_WORDS).min(words.len());
            let lo = start.saturating_sub(self.max_span);
            let window = &words[lo..(end + self.max_span).min(words.len())];
            let own = (start - lo) as u32..(end - lo) as u32;
            self.read(&text.bytes, window, readings, first_reading, stems, seen);
            if !readings.is_empty() {
                let before = matches.len();
                let window = Window {
                    words: window,
                    readings,
                    first_reading,
                    own,
                };
                self.walk(&window, partials, matches, match_limit);
                if !self.unordered.is_empty() {
                    self.unordered(&window, matches, match_limit);
                }
                for m in &mut matches[before..] {
                    m.first += lo as u32;
                    m.last += lo as u32;
                }
            }
            start = end;
        }
    }

    /// Every reading of every word, in order of the first word each reads
    /// (then the last, key, second key and edits), and where each word's
    /// readings begin: `first_reading[i]..first_reading[i + 1]`. Written
    /// in that order, so nothing is sorted: a word's own readings are
    /// sorted once, when it is first read, and a split reading of words
    /// `i - 1` and `i` goes after word `i - 1`'s own.
    fn read(
        &self,
        text: &[u8],
        words: &[Word],
        readings: &mut Vec<Reading>,
        first_reading: &mut Vec<u32>,
        stems: &mut StemCache,
        seen: &mut SeenWords,
    ) {
        readings.clear();
        first_reading.clear();
        let limit = reading_limit(words.len());
        // The previous word's hash, if it may be the first half of a split word.
        let mut splits = None;
        for (i, word) in words.iter().enumerate() {
            if readings.len() >= limit {
                break;
            }
            let i = i as u32;
            if let Some(previous_hash) = splits {
                self.read_split(
                    text,
                    previous_hash,
                    &words[i as usize - 1],
                    word,
                    i,
                    readings,
                );
            }
            first_reading.push(readings.len() as u32);
            let bytes = &text[word.start as usize..word.end as usize];
            // Words longer than a key are never cached.
            let key = word_key(text, word.start as usize, word.end as usize);
            let replayed = key.and_then(|key| seen.replay(self.id, key, i, readings));
            splits = match replayed {
                Some(splits) => splits,
                None => {
                    let before = readings.len();
                    let word_hash = hash(bytes);
                    self.read_word(bytes, word_hash, i, readings, stems);
                    readings[before..].sort_unstable_by_key(|r| (r.key, r.second, r.edits));
                    let splits = self.split_prefixes.contains(word_hash).then_some(word_hash);
                    if let Some(key) = key {
                        seen.keep(self.id, key, &readings[before..], splits);
                    }
                    splits
                }
            };
        }
        first_reading.resize(words.len() + 1, readings.len() as u32);
    }

    /// The readings of text word `i` alone: what it is exactly, the word
    /// forms it shares a stem with, and the typos it may be.
    fn read_word(
        &self,
        bytes: &[u8],
        word_hash: u64,
        i: u32,
        readings: &mut Vec<Reading>,
        stems: &mut StemCache,
    ) {
        let before = readings.len();
        if let Some(term) = self.exact_term(word_hash, bytes) {
            self.push_term(readings, term, i, i, 0, ReadKind::Exact);
        }
        if bytes.len() >= 3
            && self.root_filter.contains(prefix3(bytes) as u64)
            && let Some(roots) = self.roots.get(&prefix3(bytes))
        {
            for &(ref root, stem) in roots {
                let (algorithm, ref stem_text) = self.stems[stem as usize];
                // Only whole UTF-8 encodings are in the normalized text.
                if bytes.starts_with(root.as_bytes())
                    && let Ok(word_str) = std::str::from_utf8(bytes)
                    && stems.stem(&self.stemmers, algorithm, word_str) == &**stem_text
                {
                    readings.push(Reading {
                        key: STEM | stem,
                        second: None,
                        from: i,
                        to: i,
                        edits: 0,
                        kind: ReadKind::Form,
                    });
                }
            }
        }
        // Words too short for an edit, words already understood, and
        // negation cues are never read as typos.
        if readings.len() == before
            && !self.fuzzy.is_empty()
            && bytes.len() <= MAX_TYPO_WORD
            && self.typos.allowed(bytes.len()) > 0
            && !self.cue_hashes.contains(&word_hash)
        {
            self.read_typos(bytes, word_hash, i, readings);
        }
    }

    /// Text words `i - 1` and `i` read as one phrase word (`some body`).
    fn read_split(
        &self,
        text: &[u8],
        previous_hash: u64,
        previous: &Word,
        word: &Word,
        i: u32,
        readings: &mut Vec<Reading>,
    ) {
        if previous.sentence != word.sentence {
            return;
        }
        let first = &text[previous.start as usize..previous.end as usize];
        let second = &text[word.start as usize..word.end as usize];
        let joined = hash_on(previous_hash, second);
        if self.known.contains(joined)
            && let Some(&term) = self.exact.get(&joined)
        {
            let term_text = self.terms[term as usize].as_bytes();
            if term_text.len() == first.len() + second.len()
                && term_text.starts_with(first)
                && term_text.ends_with(second)
            {
                self.push_term(readings, term, i - 1, i, 0, ReadKind::Split);
            }
        }
    }

    fn exact_term(&self, hash: u64, bytes: &[u8]) -> Option<u32> {
        if !self.known.contains(hash) {
            return None;
        }
        let &term = self.exact.get(&hash)?;
        (self.terms[term as usize].as_bytes() == bytes).then_some(term)
    }

    fn push_term(
        &self,
        readings: &mut Vec<Reading>,
        term: u32,
        from: u32,
        to: u32,
        edits: u8,
        kind: ReadKind,
    ) {
        let joined = self.joined.get(&term);
        // "ya" is a phrase word, and "y" and "a" run together: both.
        if joined.is_none() || term < self.phrase_terms {
            readings.push(Reading {
                key: term,
                second: None,
                from,
                to,
                edits,
                kind,
            });
        }
        if let Some(&(a, b)) = joined {
            readings.push(Reading {
                key: a,
                second: Some(b),
                from,
                to,
                edits,
                kind: if kind == ReadKind::Exact {
                    ReadKind::Joined
                } else {
                    kind
                },
            });
        }
    }

    /// The phrase words `bytes` is within their allowed edits of.
    fn read_typos(&self, bytes: &[u8], word_hash: u64, i: u32, readings: &mut Vec<Reading>) {
        let before = readings.len();
        self.fuzzy.candidates(bytes, word_hash, |term| {
            if readings[before..].iter().any(|r| r.key == term) {
                return;
            }
            let target = self.terms[term as usize].as_bytes();
            // The budget of the shorter word: "esta" is not two edits from "estafa".
            let allowed = self.typos.allowed(target.len().min(bytes.len()));
            if let Some(edits) = bounded_osa(bytes, target, allowed)
                && edits > 0
            {
                self.push_term(readings, term, i, i, edits, ReadKind::Typo);
            }
        });
    }

    /// Walks the trie of ordered phrases from every word of the window's own.
    fn walk(
        &self,
        window: &Window<'_>,
        partials: &mut [Vec<Partial>; 3],
        matches: &mut Vec<WordMatch>,
        match_limit: usize,
    ) {
        let Window {
            words,
            readings,
            first_reading,
            own: ref starts,
        } = *window;
        for buffer in partials.iter_mut() {
            buffer.clear();
        }
        let n = words.len() as u32;
        let mut i = starts.start;
        while i < n {
            if partials.iter().all(Vec::is_empty) {
                // Nothing under way: on to the next word with a reading
                // where a match may begin.
                match readings.get(first_reading[i as usize] as usize) {
                    Some(reading) if reading.from < starts.end => i = reading.from,
                    _ => break,
                }
            }
            let (this, next) = (i as usize % 3, (i as usize + 1) % 3);
            let here = &readings
                [first_reading[i as usize] as usize..first_reading[i as usize + 1] as usize];
            let mut current = std::mem::take(&mut partials[this]);
            if i > 0 && words[i as usize - 1].sentence != words[i as usize].sentence {
                current.clear();
            }
            let root = Partial {
                node: ROOT,
                first: i,
                gaps: 0,
                fuzzy: false,
            };
            let begins = (i < starts.end).then_some(&root);
            for from in begins.into_iter().chain(current.iter()) {
                for reading in here {
                    let fuzzy = from.fuzzy || reading.is_typo();
                    self.follow(from.node, reading, |child| {
                        let next = Partial {
                            node: child,
                            first: from.first,
                            gaps: from.gaps,
                            fuzzy,
                        };
                        self.ended(&next, reading.to, words, matches, match_limit);
                        let at = reading.to + 1;
                        if at < n && self.trie.nodes[child as usize].has_children {
                            push_partial(&mut partials[at as usize % 3], next);
                        }
                    });
                }
            }
            // Skip this word: a gap, within the phrases' budget.
            if i + 1 < n {
                for from in &current {
                    if from.gaps < self.trie.nodes[from.node as usize].max_gaps {
                        let skipped = Partial {
                            gaps: from.gaps + 1,
                            ..*from
                        };
                        push_partial(&mut partials[next], skipped);
                    }
                }
            }
            current.clear();
            partials[this] = current;
            i += 1;
        }
    }

    /// Calls `found` with each node a reading leads to from `node`.
    fn follow(&self, node: u32, reading: &Reading, mut found: impl FnMut(u32)) {
        let typo = reading.is_typo();
        match reading.second {
            None => self
                .trie
                .each_child(node, reading.key, typo, &self.modes, &mut found),
            Some(second) => self
                .trie
                .each_child(node, reading.key, typo, &self.modes, &mut |c| {
                    self.trie
                        .each_child(c, second, typo, &self.modes, &mut found)
                }),
        }
    }

    fn ended(
        &self,
        partial: &Partial,
        last: u32,
        words: &[Word],
        matches: &mut Vec<WordMatch>,
        match_limit: usize,
    ) {
        let node = &self.trie.nodes[partial.node as usize];
        for end in &self.trie.ends[node.ends.0 as usize..node.ends.1 as usize] {
            if partial.gaps > end.gaps
                || (partial.gaps > 0
                    && words[partial.first as usize].clause != words[last as usize].clause)
            {
                continue;
            }
            if matches.len() < match_limit {
                matches.push(WordMatch {
                    end: *end,
                    first: partial.first,
                    last,
                    fuzzy: partial.fuzzy,
                });
            }
        }
    }

    /// Phrases in any order: anchored at a reading of their first word on
    /// a word of `anchors`, the others looked for nearby in the same clause,
    /// each on its own word.
    fn unordered(&self, window: &Window<'_>, matches: &mut Vec<WordMatch>, match_limit: usize) {
        let Window {
            words,
            readings,
            first_reading,
            own: ref anchors,
        } = *window;
        let own = first_reading[anchors.start as usize] as usize
            ..first_reading[anchors.end as usize] as usize;
        for anchor in &readings[own] {
            if anchor.second.is_some() {
                continue;
            }
            let Some(ids) = self.unordered_by_key.get(&anchor.key) else {
                continue;
            };
            for &id in ids {
                let phrase = &self.unordered[id as usize];
                if phrase.slots[0].accepts(anchor)
                    && let Some(m) =
                        self.find_unordered(phrase, anchor, words, readings, first_reading)
                    && matches.len() < match_limit
                {
                    matches.push(m);
                }
            }
        }
    }

    fn find_unordered(
        &self,
        phrase: &Unordered,
        anchor: &Reading,
        words: &[Word],
        readings: &[Reading],
        first_reading: &[u32],
    ) -> Option<WordMatch> {
        let reach = (phrase.slots.len() as u32 - 1) + phrase.end.gaps as u32;
        let clause = words[anchor.from as usize].clause;
        let lo = anchor.from.saturating_sub(reach);
        let hi = (anchor.to + reach).min(words.len() as u32 - 1);
        // Words taken, as bits from `lo` (a window is at most 2 * (7 + 8) + 2 words).
        let mut taken: u64 = 0;
        for w in anchor.from..=anchor.to {
            taken |= 1 << (w - lo);
        }
        let (mut first, mut last, mut fuzzy) = (anchor.from, anchor.to, anchor.is_typo());
        for slot in &phrase.slots[1..] {
            let range =
                first_reading[lo as usize] as usize..first_reading[hi as usize + 1] as usize;
            let found = readings[range].iter().find(|r| {
                r.second.is_none()
                    && r.to <= hi
                    && (r.from..=r.to)
                        .all(|w| taken & (1 << (w - lo)) == 0 && words[w as usize].clause == clause)
                    && slot.accepts(r)
            })?;
            for w in found.from..=found.to {
                taken |= 1 << (w - lo);
            }
            first = first.min(found.from);
            last = last.max(found.to);
            fuzzy |= found.is_typo();
        }
        let used = taken.count_ones();
        let gaps = (last - first + 1).saturating_sub(used);
        (gaps <= phrase.end.gaps as u32).then_some(WordMatch {
            end: phrase.end,
            first,
            last,
            fuzzy,
        })
    }

    /// How the words of a match were read, where not exactly as written:
    /// for the evidence of a rule that fired.
    pub(crate) fn explain(
        &self,
        phrase: u32,
        text: &Normalized,
        start: u32,
        end: u32,
    ) -> Vec<Read> {
        let Some(explained) = self.explained.get(&phrase) else {
            return Vec::new();
        };
        let bytes = text.bytes.as_slice();
        let matched = bytes.get(start as usize..end as usize).unwrap_or_default();
        if matched == explained.literal.as_bytes() {
            return Vec::new();
        }
        // The words of the match, as (start, end) in the normalized text.
        let mut words = matched
            .split(|&b| b == b' ')
            .scan(start, |at, word| {
                let span = (*at, *at + word.len() as u32);
                *at = span.1 + 1;
                Some(span)
            })
            .filter(|(from, to)| from < to)
            .peekable();
        let mut out = Vec::new();
        let span = |w: &(u32, u32)| &bytes[w.0 as usize..w.1 as usize];
        let phrase_words = || {
            explained
                .words
                .iter()
                .map(|(t, _)| &*self.terms[*t as usize])
        };
        while let Some(this) = words.next() {
            let word = span(&this);
            if phrase_words().any(|p| p.as_bytes() == word) {
                continue;
            }
            // A word form: same stem as a phrase word.
            let text_word = std::str::from_utf8(word).unwrap_or_default();
            let form = explained.words.iter().find_map(|&(term, stem)| {
                let (algorithm, stem) = &self.stems[stem? as usize];
                let same = EXPLAIN_STEMS.with_borrow_mut(|stems| {
                    stems.stem(&self.stemmers, *algorithm, text_word) == &**stem
                });
                same.then_some(term)
            });
            if let Some(term) = form {
                out.push(read(this, this, &self.terms[term as usize], "word form"));
                continue;
            }
            // Two phrase words run together, or one split in two.
            let mut pairs = phrase_words().zip(phrase_words().skip(1));
            if let Some((a, b)) = pairs.find(|(a, b)| {
                word.len() == a.len() + b.len()
                    && word.starts_with(a.as_bytes())
                    && word.ends_with(b.as_bytes())
            }) {
                out.push(read(this, this, &[a, " ", b].concat(), "joined"));
                continue;
            }
            if let Some(&next) = words.peek() {
                let second = span(&next);
                if let Some(p) = phrase_words().find(|p| {
                    p.len() == word.len() + second.len()
                        && p.as_bytes().starts_with(word)
                        && p.as_bytes().ends_with(second)
                }) {
                    out.push(read(this, next, p, "split"));
                    words.next();
                    continue;
                }
            }
            let typo = phrase_words().find(|p| {
                bounded_osa(
                    word,
                    p.as_bytes(),
                    self.typos.allowed(p.len().min(word.len())),
                )
                .is_some_and(|e| e > 0)
            });
            if let Some(p) = typo {
                out.push(read(this, this, p, "typo"));
            }
        }
        out
    }
}

/// Keeps a partial match, unless one at the same node from the same word
/// is as good (no more gaps, no typo where it has none).
fn push_partial(buffer: &mut Vec<Partial>, partial: Partial) {
    for kept in buffer.iter_mut() {
        if kept.node == partial.node && kept.first == partial.first {
            if (partial.gaps, partial.fuzzy) < (kept.gaps, kept.fuzzy) {
                *kept = partial;
            }
            return;
        }
    }
    if buffer.len() < MAX_PARTIALS {
        buffer.push(partial);
    }
}

fn read(first: (u32, u32), last: (u32, u32), read_as: &str, how: &'static str) -> Read {
    Read {
        start: first.0,
        end: last.1,
        read_as: read_as.to_string(),
        how,
    }
}

/// The words of a normalized text, with the clause and sentence each is
/// in: one pass over the bytes.
pub(crate) fn split_words(text: &Normalized, words: &mut Vec<Word>) {
    words.clear();
    let (clauses, sentences) = (&text.clause_breaks, &text.sentence_breaks);
    let (mut clause, mut sentence) = (0usize, 0usize);
    let bytes = text.bytes.as_slice();
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b' ' {
            at += 1;
            continue;
        }
        let start = at;
        at = word_end(bytes, start);
        // Breaks lie at the space before a word, or at 0 before the
        // first (which all words then share).
        while clauses.get(clause).is_some_and(|&b| (b as usize) <= start) {
            clause += 1;
        }
        while sentences
            .get(sentence)
            .is_some_and(|&b| (b as usize) <= start)
        {
            sentence += 1;
        }
        words.push(Word {
            start: start as u32,
            end: at as u32,
            clause: clause as u32,
            sentence: sentence as u32,
        });
    }
}

/// Where the word at `start` ends: at the next space, or the end. Eight
/// bytes at a time, as words are short and a byte at a time is most of
/// the cost of splitting.
fn word_end(bytes: &[u8], start: usize) -> usize {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    const SPACES: u64 = u64::from_le_bytes([b' '; 8]);
    let mut at = start;
    while let Some(chunk) = bytes.get(at..at + 8) {
        // A zero byte where `chunk` has a space; the lowest flag is exact.
        let x = u64::from_le_bytes(chunk.try_into().expect("8 bytes")) ^ SPACES;
        let spaces = x.wrapping_sub(ONES) & !x & HIGHS;
        if spaces != 0 {
            return at + (spaces.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    bytes[at..]
        .iter()
        .position(|&b| b == b' ')
        .map_or(bytes.len(), |len| at + len)
}

/// `BASE` to the `n`: from a table for the lengths words have.
fn power(n: usize) -> u64 {
    const POWERS: [u64; 64] = {
        let mut table = [1u64; 64];
        let mut i = 1;
        while i < 64 {
            table[i] = table[i - 1].wrapping_mul(BASE);
            i += 1;
        }
        table
    };
    match POWERS.get(n) {
        Some(&p) => p,
        None => (63..n).fold(POWERS[63], |p, _| p.wrapping_mul(BASE)),
    }
}

/// The ordered phrases' trie: edges keyed by node and reading key (with
/// the slot's mode), phrase ends at the nodes their last word reaches.
#[derive(Default)]
struct Trie {
    edges: FxHashMap<u64, u32>,
    /// Whether some key leads to slots of different modes from one node.
    tagged: bool,
    nodes: Vec<Node>,
    ends: Vec<WordEnd>,
}

#[derive(Clone, Copy, Debug, Default)]
struct Node {
    /// The most gaps any phrase through this node allows.
    max_gaps: u8,
    has_children: bool,
    ends: (u32, u32),
    /// How the slot that leads here may be read (typos, word forms).
    mode: u32,
}

impl Trie {
    fn child(&self, node: u32, key: u32) -> Option<u32> {
        self.edges
            .get(&(((node as u64) << 32) | key as u64))
            .copied()
    }

    /// Calls `found` with each node `key` leads to from `node` whose slot
    /// takes a typo when `typo`: the untagged edge, and where slots of
    /// different modes share the key, the tagged ones.
    fn each_child(
        &self,
        node: u32,
        key: u32,
        typo: bool,
        modes: &[u32],
        found: &mut dyn FnMut(u32),
    ) {
        let takes = |child: u32| !typo || self.nodes[child as usize].mode & TYPOS != 0;
        if let Some(child) = self.child(node, key)
            && takes(child)
        {
            found(child);
        }
        if self.tagged {
            for &mode in modes {
                if let Some(child) = self.child(node, key | TAGGED | mode)
                    && takes(child)
                {
                    found(child);
                }
            }
        }
    }

    fn insert(&mut self, slots: &[Slot], end: WordEnd, ends: &mut Vec<Vec<WordEnd>>) {
        if self.nodes.is_empty() {
            self.nodes.push(Node::default());
            ends.push(Vec::new());
        }
        let mut node = ROOT;
        for slot in slots {
            let max = &mut self.nodes[node as usize].max_gaps;
            *max = (*max).max(end.gaps);
            self.nodes[node as usize].has_children = true;
            let mode = slot.mode();
            let existing = slot.keys().find_map(|k| {
                self.child(node, k)
                    .filter(|&c| self.nodes[c as usize].mode == mode)
                    .or_else(|| self.child(node, k | TAGGED | mode))
            });
            let child = existing.unwrap_or_else(|| {
                self.nodes.push(Node {
                    mode,
                    ..Node::default()
                });
                ends.push(Vec::new());
                (self.nodes.len() - 1) as u32
            });
            for k in slot.keys() {
                let plain = ((node as u64) << 32) | k as u64;
                match self.edges.get(&plain) {
                    None => {
                        self.edges.insert(plain, child);
                    }
                    Some(&other) if other != child => {
                        self.edges.insert(plain | (TAGGED | mode) as u64, child);
                        self.tagged = true;
                    }
                    Some(_) => {}
                }
            }
            node = child;
        }
        ends[node as usize].push(end);
    }

    /// Lays the ends of every node out in one table.
    fn finish(&mut self, ends: Vec<Vec<WordEnd>>) {
        for (node, list) in self.nodes.iter_mut().zip(ends) {
            let from = self.ends.len() as u32;
            self.ends.extend(list);
            node.ends = (from, self.ends.len() as u32);
        }
    }
}

/// Symmetric-deletion index of the words that may be read through typos:
/// each word and its deletions of up to its allowed edits, hashed; a text
/// word probes itself and its single deletions (a bit filter first, so
/// most probes touch one cache line), and candidates are verified.
#[derive(Default)]
struct FuzzyIndex {
    table: FxHashMap<u64, Vec<u32>>,
    filter: BitFilter,
}

impl FuzzyIndex {
    fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    fn memory_usage(&self) -> usize {
        self.table.capacity() * 40 + self.filter.memory_usage()
    }

    fn add(&mut self, word: &[u8], edits: u8, term: u32) {
        let mut insert = |h: u64| {
            let terms = self.table.entry(h).or_default();
            if !terms.contains(&term) {
                terms.push(term);
            }
        };
        insert(hash(word));
        let mut shorter = Vec::with_capacity(word.len());
        for i in 0..word.len() {
            for j in i..word.len() {
                if j > i && edits < 2 {
                    break;
                }
                // Deleting byte i (j == i), or bytes i and j.
                shorter.clear();
                shorter.extend(
                    word.iter()
                        .enumerate()
                        .filter(|&(k, _)| k != i && k != j)
                        .map(|(_, &b)| b),
                );
                insert(hash(&shorter));
            }
        }
    }

    /// The terms behind a probe the filter let through: out of line, as
    /// most probes stop at the filter.
    #[inline(never)]
    fn look_up(&self, h: u64, found: &mut impl FnMut(u32)) {
        if let Some(terms) = self.table.get(&h) {
            terms.iter().for_each(|&t| found(t));
        }
    }

    fn finish(&mut self) {
        self.filter = BitFilter::new(self.table.keys().copied(), self.table.len());
    }

    /// Calls `found` with every term a probe of `word` reaches (unverified).
    fn candidates(&self, word: &[u8], word_hash: u64, mut found: impl FnMut(u32)) {
        let n = word.len();
        let mut probe = |h: u64| {
            if self.filter.contains(h) {
                self.look_up(h, &mut found);
            }
        };
        probe(word_hash);
        // Deleting byte i of a word hashed `h`: with `p` the hash of the
        // bytes before it and `c` the byte, `h + B^(n-1-i) * (p - p*B - c)`.
        let mut scale = power(n.saturating_sub(1));
        let mut before = 0u64;
        for &b in word {
            let c = b as u64 + 1;
            let delta = before.wrapping_mul(1u64.wrapping_sub(BASE)).wrapping_sub(c);
            probe(word_hash.wrapping_add(scale.wrapping_mul(delta)));
            before = before.wrapping_mul(BASE).wrapping_add(c);
            scale = scale.wrapping_mul(BASE_INVERSE);
        }
    }
}

/// A set of hashes that may answer "maybe" for one that is not in it: a
/// bit per hash, 32 to 64 bits per member (a non-member gets through about
/// once in forty), so it stays in cache where the table behind it would not
/// and a probe is a multiply, a shift and a load.
#[derive(Debug, Default)]
struct BitFilter {
    bits: Vec<u64>,
    shift: u32,
}

impl BitFilter {
    fn new(hashes: impl Iterator<Item = u64>, count: usize) -> BitFilter {
        let bits = (count * 32).next_power_of_two().clamp(1 << 12, 1 << 26);
        let mut filter = BitFilter {
            bits: vec![0; bits / 64],
            shift: 64 - bits.trailing_zeros(),
        };
        for h in hashes {
            let bit = filter.bit(h);
            filter.bits[bit / 64] |= 1 << (bit % 64);
        }
        filter
    }

    fn bit(&self, h: u64) -> usize {
        fibonacci(h, self.shift)
    }

    fn contains(&self, h: u64) -> bool {
        let bit = self.bit(h);
        self.bits
            .get(bit / 64)
            .is_some_and(|word| word & (1 << (bit % 64)) != 0)
    }

    fn memory_usage(&self) -> usize {
        self.bits.len() * 8
    }
}

/// The top `64 - shift` bits of `h` times 2^64 / phi: Fibonacci hashing,
/// as the polynomial hash's low bits are weak.
fn fibonacci(h: u64, shift: u32) -> usize {
    (h.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> shift) as usize
}

const BASE: u64 = 0x100000001b3;
/// `BASE`'s inverse modulo 2^64 (it is odd): Newton's iteration doubles
/// the correct low bits each step.
const BASE_INVERSE: u64 = {
    let mut x = BASE;
    let mut step = 0;
    while step < 6 {
        x = x.wrapping_mul(2u64.wrapping_sub(BASE.wrapping_mul(x)));
        step += 1;
    }
    x
};

/// A word's polynomial hash, so that a deletion's or a concatenation's
/// hash follows from its parts'.
fn hash(bytes: &[u8]) -> u64 {
    hash_on(0, bytes)
}

/// The hash of the bytes hashed to `h` followed by `bytes`.
fn hash_on(h: u64, bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(h, |h, &b| h.wrapping_mul(BASE).wrapping_add(b as u64 + 1))
}

fn prefix3(bytes: &[u8]) -> u32 {
    u32::from_le_bytes([bytes[0], bytes[1], bytes[2], 0])
}

/// The optimal string alignment distance between `a` and `b` (insertions,
/// deletions, substitutions and adjacent transpositions), if it is at most
/// `limit`. Written out rather than taken from `strsim` because it runs on
/// the hot path, where it must not allocate: rows live on the stack.
pub(crate) fn bounded_osa(a: &[u8], b: &[u8], limit: u8) -> Option<u8> {
    let limit = limit as usize;
    if a.len().abs_diff(b.len()) > limit || a.len() > MAX_TYPO_WORD || b.len() > MAX_TYPO_WORD {
        return None;
    }
    const W: usize = MAX_TYPO_WORD + 1;
    // Distances stay under `W`, so a byte holds each cell.
    let (mut two_back, mut back, mut row) = ([0u8; W], [0u8; W], [0u8; W]);
    for (j, cell) in back.iter_mut().enumerate().take(b.len() + 1) {
        *cell = j as u8;
    }
    for i in 1..=a.len() {
        row[0] = i as u8;
        let mut best = row[0];
        for j in 1..=b.len() {
            let cost = u8::from(a[i - 1] != b[j - 1]);
            let mut d = (back[j] + 1).min(row[j - 1] + 1).min(back[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(two_back[j - 2] + 1);
            }
            row[j] = d;
            best = best.min(d);
        }
        if best as usize > limit {
            return None;
        }
        two_back = back;
        back = row;
    }
    let d = back[b.len()];
    (d as usize <= limit).then_some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn osa_distance_counts_each_edit_kind() {
        let cases: &[(&str, &str, u8, Option<u8>)] = &[
            ("talk", "talk", 2, Some(0)),
            ("talkk", "talk", 1, Some(1)),  // insertion
            ("tak", "talk", 1, Some(1)),    // deletion
            ("humam", "human", 1, Some(1)), // substitution
            ("tlak", "talk", 1, Some(1)),   // transposition
            ("wth", "with", 1, Some(1)),
            ("cat", "chat", 1, Some(1)),
            ("somone", "someone", 2, Some(1)),
            ("reprensentative", "representative", 2, Some(1)),
            ("hmuan", "human", 1, Some(1)),
            ("talk", "walk", 0, None),
            ("person", "prison", 1, None),
            ("person", "prison", 2, Some(2)),
            ("agent", "urgent", 2, Some(2)),
            ("a", "abcd", 2, None),
            ("", "ab", 2, Some(2)),
        ];
        for &(a, b, limit, want) in cases {
            assert_eq!(
                bounded_osa(a.as_bytes(), b.as_bytes(), limit),
                want,
                "{a} {b} {limit}"
            );
            assert_eq!(
                bounded_osa(b.as_bytes(), a.as_bytes(), limit),
                want,
                "{b} {a} {limit}"
            );
        }
    }

    #[test]
    fn typo_budget_grows_with_length_as_lucene_auto() {
        let typos = Typos::default();
        let allowed: Vec<u8> = (0..9).map(|len| typos.allowed(len)).collect();
        assert_eq!(allowed, [0, 0, 0, 1, 1, 1, 2, 2, 2]);
        let capped = Typos {
            max_edits: 1,
            ..typos
        };
        assert_eq!(capped.allowed(10), 1);
        let off = Typos {
            max_edits: 0,
            ..typos
        };
        assert_eq!(off.allowed(10), 0);
    }

    #[test]
    fn word_ends_and_keys_agree_with_a_byte_at_a_time() {
        let text = "a bb ccc dddddddd eeeeeeeeeeeeeeeee ffffffffffffffff ñandú über x";
        let bytes = text.as_bytes();
        let mut start = 0;
        for word in text.split(' ') {
            let end = start + word.len();
            assert_eq!(word_end(bytes, start), end, "`{word}`");
            let key = word_key(bytes, start, end);
            // The key read in one go is the key built byte by byte, which
            // is what a word near the end of the text gets.
            assert_eq!(key, word_key(&bytes[..end], start, end), "`{word}`");
            let expected = word.bytes().rev().fold(0u128, |k, b| (k << 8) | b as u128);
            assert_eq!(key, (word.len() <= 16).then_some(expected), "`{word}`");
            start = end + 1;
        }
    }

    #[test]
    fn hashes_of_joins_and_deletions_follow_from_their_parts() {
        let mut normalized = Normalized::default();
        normalized.fill("some body", Folding::default());
        let mut words = Vec::new();
        split_words(&normalized, &mut words);
        let [some, body] =
            [&words[0], &words[1]].map(|w| &normalized.bytes[w.start as usize..w.end as usize]);
        assert_eq!(hash_on(hash(some), body), hash(b"somebody"));
        let mut index = FuzzyIndex::default();
        index.add(b"human", 1, 7);
        index.finish();
        for text in ["human", "humn", "huuman", "humam", "hmuan"] {
            let mut found = Vec::new();
            index.candidates(text.as_bytes(), hash(text.as_bytes()), |t| found.push(t));
            assert!(found.contains(&7), "{text}");
        }
        let mut found = Vec::new();
        index.candidates(b"table", hash(b"table"), |t| found.push(t));
        assert!(found.is_empty());
    }

    #[test]
    fn phrase_syntax() {
        let parse = |p| WordPhrase::parse(p, Folding::default());
        let p = parse("any order: Menschen sprechen ~3").unwrap();
        assert!(p.any_order);
        assert_eq!(p.gaps, Some(3));
        assert_eq!(p.literal(), "menschen sprechen");
        let p = parse("talk to a =rep").unwrap();
        assert_eq!(p.words.last(), Some(&("rep".to_string(), true)));
        assert!(!p.needs_words());
        let p = parse("don't leave").unwrap();
        assert_eq!(p.literal(), "don t leave");
        for bad in [
            "close my account ~9",
            "close my account ~",
            "chat with agent ~-1",
            "chat with agent ~2.5",
            "chat ~2 with agent",
            "any-order: mensch sprechen ~3",
            "any order:",
            "any order: mensch",
            "speak to a =",
            "speak to a = rep",
            "~2",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(parse("ünïcödé wörds hère").unwrap().words.len(), 3);
    }
}
