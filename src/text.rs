//! Text normalization, and the way back to the original text.
//!
//! Phrases and user text go through the same normalization, so matching is a
//! plain byte comparison afterwards. The normalized text holds only lowercase,
//! accent-free letters and digits, with every run of anything else (space,
//! punctuation, symbols, emoji) turned into one ASCII space and no space at
//! either end.
//!
//! One walker does the work and hands its output to a sink. On the hot path
//! the sink keeps only the text and the punctuation positions; the map from
//! each normalized byte back to the original is rebuilt by a second walk only
//! when a rule fired and its evidence needs a span.

use unicode_normalization::char::{decompose_canonical, is_combining_mark};

/// How text is folded before matching; set by the policy's `matching` section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Folding {
    pub(crate) case: bool,
    pub(crate) accents: bool,
}

impl Default for Folding {
    fn default() -> Self {
        Folding {
            case: true,
            accents: true,
        }
    }
}

/// A normalized copy of a text. Buffers are reused between turns, so
/// normalizing allocates nothing once they have grown to the size of the
/// longest message seen.
#[derive(Debug, Default)]
pub(crate) struct Normalized {
    /// The normalized text, as UTF-8 bytes: folded letters and digits,
    /// single spaces. Bytes rather than a `String` so that the per-byte
    /// loop is a table look-up and a push; [`Normalized::as_str`] views it.
    pub(crate) bytes: Vec<u8>,
    /// Offsets in `text` where the original had clause punctuation
    /// (`,` `.` `;` `!` `?` ...); negation never reaches across them.
    pub(crate) clause_breaks: Vec<u32>,
    /// Offsets in `text` where the original ended a sentence (`.` `!` `?`
    /// `;` a newline ...); no phrase matches across them.
    pub(crate) sentence_breaks: Vec<u32>,
    folding: Folding,
    /// How many bytes at the start of `bytes` stand at the same offsets in
    /// the original: up to the first byte normalization dropped, in an
    /// all-ASCII text; 0 otherwise.
    same_offsets: usize,
}

/// Receives what the walker produces, in order.
trait Sink {
    /// A normalized letter or digit from the original character at `from`.
    fn letter(&mut self, c: char, from: usize);
    /// An ASCII letter or digit (already folded) from the byte at `from`.
    fn letter_byte(&mut self, b: u8, from: usize);
    /// A separating character `c` at `from`: runs of them become one space.
    fn separator(&mut self, c: char, from: usize);
    /// Whether the output so far ends with a letter or digit.
    fn ends_with_letter(&self) -> bool;
    /// The end of the text: no space is left at the end.
    fn finish(&mut self);
    /// A run of ASCII bytes from `from`, mapped through `map` (a space
    /// for a separator).
    fn ascii_run(&mut self, run: &[u8], from: usize, map: &[u8; 256]) {
        for (i, &b) in run.iter().enumerate() {
            match map[b as usize] {
                b' ' => self.separator(b as char, from + i),
                out => self.letter_byte(out, from + i),
            }
        }
    }
}

/// Writes normalized text into a [`Normalized`] and hands each byte it
/// keeps to `feed` as `(byte, length)`, `length` being the text's length
/// with it. The phrase scan rides on it, so a turn's text is walked once.
struct Writer<'n, F> {
    text: &'n mut Normalized,
    feed: F,
}

impl<F: FnMut(u8, usize)> Writer<'_, F> {
    fn push(&mut self, b: u8) {
        self.text.bytes.push(b);
        (self.feed)(b, self.text.bytes.len());
    }

    fn note_break(&mut self, c: char) {
        let bytes = &self.text.bytes;
        let position = break_position(bytes.len(), bytes.last() == Some(&b' '));
        record_break(
            &mut self.text.clause_breaks,
            &mut self.text.sentence_breaks,
            position,
            is_clause_break(c),
            is_sentence_break(c),
        );
    }
}

impl<F: FnMut(u8, usize)> Sink for Writer<'_, F> {
    fn letter(&mut self, c: char, _from: usize) {
        for &b in c.encode_utf8(&mut [0; 4]).as_bytes() {
            self.push(b);
        }
    }

    fn letter_byte(&mut self, b: u8, _from: usize) {
        self.push(b);
    }

    fn separator(&mut self, c: char, _from: usize) {
        if is_clause_break(c) || is_sentence_break(c) {
            self.note_break(c);
        }
        if self.ends_with_letter() {
            self.push(b' ');
        }
    }

    fn ends_with_letter(&self) -> bool {
        self.text.bytes.last().is_some_and(|&b| b != b' ')
    }

    /// [`Normalized::fill_feeding`] trims the end, and says so.
    fn finish(&mut self) {}

    fn ascii_run(&mut self, run: &[u8], _from: usize, _map: &[u8; 256]) {
        let feed = &mut self.feed;
        let entries = plain_entries(self.text.folding);
        self.text
            .push_ascii(run, entries, &mut |entry, length| feed(entry as u8, length));
    }
}

/// Where a break belongs: at the single space of its run of separators,
/// which is the last byte if the output ends with a space, else the next.
fn break_position(len: usize, ends_with_space: bool) -> u32 {
    (len - usize::from(ends_with_space && len > 0)) as u32
}

/// Notes the break the ASCII byte of table `entry` makes, out of the
/// normalizing loop, given the output's length and whether it ends with a
/// space.
#[cold]
#[inline(never)]
fn note_ascii_break(
    clauses: &mut Vec<u32>,
    sentences: &mut Vec<u32>,
    (len, last_space): (usize, u32),
    entry: u32,
) {
    let class = (entry >> 16) as u8;
    record_break(
        clauses,
        sentences,
        break_position(len, last_space != 0),
        class & CLAUSE != 0,
        class & SENTENCE != 0,
    );
}

/// Notes that the all-ASCII loop dropped a byte at output offset `at`,
/// out of the loop, so that the first such offset needs no register there.
#[cold]
#[inline(never)]
fn note_drop(first_dropped: &mut usize, at: usize) {
    *first_dropped = (*first_dropped).min(at);
}

/// Notes a clause and/or sentence break at `at`, once.
fn record_break(
    clauses: &mut Vec<u32>,
    sentences: &mut Vec<u32>,
    at: u32,
    clause: bool,
    sentence: bool,
) {
    if clause && clauses.last() != Some(&at) {
        clauses.push(at);
    }
    if sentence && sentences.last() != Some(&at) {
        sentences.push(at);
    }
}

/// Finds the original offsets of two normalized positions: where the
/// normalized byte `start` came from, and where byte `end - 1` did.
struct SpanFinder {
    start: usize,
    last: usize,
    len: usize,
    last_space: bool,
    from: usize,
    to: usize,
}

impl SpanFinder {
    fn record(&mut self, bytes: usize, from: usize) {
        if (self.len..self.len + bytes).contains(&self.start) {
            self.from = from;
        }
        if (self.len..self.len + bytes).contains(&self.last) {
            self.to = from;
        }
        self.len += bytes;
    }
}

impl Sink for SpanFinder {
    fn letter(&mut self, c: char, from: usize) {
        self.record(c.len_utf8(), from);
        self.last_space = false;
    }

    fn letter_byte(&mut self, _b: u8, from: usize) {
        self.record(1, from);
        self.last_space = false;
    }

    fn separator(&mut self, _c: char, from: usize) {
        if self.ends_with_letter() {
            self.record(1, from);
            self.last_space = true;
        }
    }

    fn ends_with_letter(&self) -> bool {
        self.len > 0 && !self.last_space
    }

    fn finish(&mut self) {}

    /// Each ASCII byte is one normalized byte or none (a separator after
    /// a separator, or at the start); stops once both positions are found.
    /// Counts in locals: this loop is most of what an explained turn costs.
    fn ascii_run(&mut self, run: &[u8], from: usize, map: &[u8; 256]) {
        if self.len > self.last {
            return;
        }
        let (start, last) = (self.start, self.last);
        let mut len = self.len;
        let mut after_space = len == 0 || self.last_space;
        for (i, &b) in run.iter().enumerate() {
            let space = map[b as usize] == b' ';
            if space & after_space {
                continue;
            }
            after_space = space;
            if len == start {
                self.from = from + i;
            }
            if len == last {
                self.to = from + i;
                len += 1;
                break;
            }
            len += 1;
        }
        if len > self.len {
            self.len = len;
            self.last_space = after_space;
        }
    }
}

/// For each normalized byte, the original byte offset it came from.
#[cfg(test)]
#[derive(Default)]
struct Origins {
    origin: Vec<u32>,
    last_space: bool,
}

#[cfg(test)]
impl Sink for Origins {
    fn letter(&mut self, c: char, from: usize) {
        for _ in 0..c.len_utf8() {
            self.origin.push(from as u32);
        }
        self.last_space = false;
    }

    fn letter_byte(&mut self, _b: u8, from: usize) {
        self.origin.push(from as u32);
        self.last_space = false;
    }

    fn separator(&mut self, _c: char, from: usize) {
        if self.ends_with_letter() {
            self.origin.push(from as u32);
            self.last_space = true;
        }
    }

    fn ends_with_letter(&self) -> bool {
        !self.origin.is_empty() && !self.last_space
    }

    fn finish(&mut self) {
        if self.last_space {
            self.origin.pop();
        }
    }
}

/// What an ASCII byte is for breaks: a clause break, also a sentence break.
const CLAUSE: u8 = 2;
const SENTENCE: u8 = 4;

const ASCII_CLASS: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 128 {
        table[b] = match b as u8 {
            b'.' | b';' | b'!' | b'?' | b'\n' => CLAUSE | SENTENCE,
            b',' | b':' | b'(' | b')' => CLAUSE,
            _ => 0,
        };
        b += 1;
    }
    table
};

/// For each ASCII byte, what it becomes in normalized text: the byte, or
/// its lowercase (`FOLDED`), for letters and digits; a space for anything
/// else. 256 entries so that indexing by a byte needs no bounds check.
const KEPT: [u8; 256] = ascii_table(false);
const FOLDED: [u8; 256] = ascii_table(true);

fn ascii_map(folding: Folding) -> &'static [u8; 256] {
    if folding.case { &FOLDED } else { &KEPT }
}

/// What the all-ASCII loop needs to know of each byte, in one look-up: the
/// byte it becomes (bits 0-7), a tag the scan gives the byte it becomes
/// (bits 8-15: the phrase automaton's class of that byte, where one
/// instruction can read it), the break it makes (bits 16-23, see
/// [`ASCII_CLASS`]) and whether it becomes a space (bit 24).
#[derive(Clone, Debug)]
pub(crate) struct AsciiTable {
    entries: [u32; 256],
    folding: Folding,
}

impl AsciiTable {
    /// The table for `folding`, each byte tagged with `tag` of the byte it
    /// becomes.
    pub(crate) fn new(folding: Folding, tag: impl Fn(u8) -> u8) -> AsciiTable {
        let mut entries = *plain_entries(folding);
        for entry in &mut entries {
            *entry |= u32::from(tag(*entry as u8)) << 8;
        }
        AsciiTable { entries, folding }
    }

    /// The folding the table normalizes with.
    pub(crate) fn folding(&self) -> Folding {
        self.folding
    }

    /// The tag of the byte an entry stands for.
    #[inline(always)]
    pub(crate) fn tag(entry: u32) -> u8 {
        (entry >> 8) as u8
    }
}

/// The bits of an [`AsciiTable`] entry that hold its break class.
const BREAKS: u32 = 0xff_0000;
/// The bit of an [`AsciiTable`] entry set when the byte becomes a space.
const SPACE: u32 = 1 << 24;

const KEPT_ENTRIES: [u32; 256] = ascii_entries(&KEPT);
const FOLDED_ENTRIES: [u32; 256] = ascii_entries(&FOLDED);

/// The entries of an [`AsciiTable`] without tags.
fn plain_entries(folding: Folding) -> &'static [u32; 256] {
    if folding.case {
        &FOLDED_ENTRIES
    } else {
        &KEPT_ENTRIES
    }
}

const fn ascii_entries(map: &[u8; 256]) -> [u32; 256] {
    let mut entries = [0u32; 256];
    let mut b = 0;
    while b < 256 {
        let space = if map[b] == b' ' { SPACE } else { 0 };
        entries[b] = map[b] as u32 | (ASCII_CLASS[b] as u32) << 16 | space;
        b += 1;
    }
    entries
}

const fn ascii_table(fold_case: bool) -> [u8; 256] {
    let mut table = [b' '; 256];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        if c.is_ascii_alphanumeric() {
            table[b] = if fold_case { c.to_ascii_lowercase() } else { c };
        }
        b += 1;
    }
    table
}

/// Normalizes `original` into `sink`.
fn walk(original: &str, folding: Folding, sink: &mut impl Sink) {
    let bytes = original.as_bytes();
    let map = ascii_map(folding);
    if original.is_ascii() {
        // The common case, checked a word at a time.
        sink.ascii_run(bytes, 0, map);
        sink.finish();
        return;
    }
    let mut at = 0;
    while at < bytes.len() {
        // A run of ASCII.
        let run = &bytes[at..];
        let ascii = run.iter().position(|b| !b.is_ascii()).unwrap_or(run.len());
        sink.ascii_run(&run[..ascii], at, map);
        at += ascii;
        let Some(c) = original[at..].chars().next() else {
            break;
        };
        if c.is_alphanumeric() {
            push_folded(sink, c, at, folding);
        } else if is_combining_mark(c) {
            // A mark belongs to the letter before it: dropped when folding
            // accents, kept otherwise.
            if !folding.accents && sink.ends_with_letter() {
                sink.letter(c, at);
            }
        } else {
            sink.separator(c, at);
        }
        at += c.len_utf8();
    }
    sink.finish();
}

fn push_folded(sink: &mut impl Sink, c: char, at: usize, folding: Folding) {
    if folding.accents {
        decompose_canonical(c, |d| {
            if !is_combining_mark(d) {
                push_cased(sink, d, at, folding);
            }
        });
    } else {
        push_cased(sink, c, at, folding);
    }
}

fn push_cased(sink: &mut impl Sink, c: char, at: usize, folding: Folding) {
    if !folding.case {
        return sink.letter(c, at);
    }
    for lower in c.to_lowercase() {
        match (folding.accents, special_fold(lower)) {
            (true, Some(folded)) => folded.chars().for_each(|f| sink.letter(f, at)),
            _ => sink.letter(lower, at),
        }
    }
}

impl Normalized {
    /// Normalizes `original` into these buffers, replacing what they held.
    pub(crate) fn fill(&mut self, original: &str, folding: Folding) {
        self.fill_feeding(original, folding, |_, _| {});
    }

    /// Normalizes `original` like [`Normalized::fill`], handing each byte
    /// it keeps to `feed` as `(byte, length)`, `length` being the text's
    /// length with it. Returns whether a space was fed at the end and then
    /// trimmed (normalized text never ends with one).
    pub(crate) fn fill_feeding(
        &mut self,
        original: &str,
        folding: Folding,
        feed: impl FnMut(u8, usize),
    ) -> bool {
        self.reset(original.len(), folding);
        walk(original, folding, &mut Writer { text: self, feed });
        self.trim_end()
    }

    /// [`Normalized::fill_feeding`] for an all-ASCII `original`, the common
    /// case: inlined, so that normalization and `feed` are one loop whose
    /// state the compiler can keep in registers. `feed` gets each byte's
    /// entry in `table` (which also gives the folding).
    #[inline(always)]
    pub(crate) fn fill_ascii_feeding(
        &mut self,
        original: &str,
        table: &AsciiTable,
        mut feed: impl FnMut(u32, usize),
    ) -> bool {
        debug_assert!(original.is_ascii());
        self.reset(original.len(), table.folding);
        let first_dropped = self.push_ascii(original.as_bytes(), &table.entries, &mut feed);
        let trimmed = self.trim_end();
        self.same_offsets = first_dropped.min(self.bytes.len());
        trimmed
    }

    fn reset(&mut self, capacity: usize, folding: Folding) {
        self.bytes.clear();
        self.bytes.reserve(capacity);
        self.clause_breaks.clear();
        self.sentence_breaks.clear();
        self.folding = folding;
        self.same_offsets = 0;
    }

    /// Appends a run of ASCII bytes, mapped through the [`AsciiTable`]
    /// `entries`, handing each byte it keeps to `feed` as its entry.
    ///
    /// Every byte is written, a separator as a space, and the length
    /// advances unless it is a second space in a row (the one branch, taken
    /// rarely). Clause punctuation, which is rare too, is noted out of line.
    /// Returns the output offset of the first byte dropped (`usize::MAX` if
    /// none was).
    #[inline(always)]
    fn push_ascii(
        &mut self,
        run: &[u8],
        entries: &[u32; 256],
        feed: &mut impl FnMut(u32, usize),
    ) -> usize {
        let Normalized {
            bytes,
            clause_breaks,
            sentence_breaks,
            ..
        } = self;
        let start = bytes.len();
        // `SPACE` if the output ends with a space (or is empty), else 0.
        let mut last_space = match bytes.last() {
            None | Some(b' ') => SPACE,
            Some(_) => 0,
        };
        bytes.resize(start + run.len(), 0);
        let out = &mut bytes[..];
        let mut len = start;
        let mut first_dropped = usize::MAX;
        for &b in run {
            let entry = entries[b as usize];
            if entry & BREAKS != 0 {
                // The break's position is worked out in there: given here,
                // the compiler would work it out before the test.
                note_ascii_break(clause_breaks, sentence_breaks, (len, last_space), entry);
            }
            out[len] = entry as u8;
            if entry & last_space != 0 {
                note_drop(&mut first_dropped, len);
                continue;
            }
            last_space = entry & SPACE;
            len += 1;
            feed(entry, len);
        }
        bytes.truncate(len);
        first_dropped
    }

    /// Drops a space at the end, and says whether there was one.
    fn trim_end(&mut self) -> bool {
        let space = self.bytes.last() == Some(&b' ');
        if space {
            self.bytes.pop();
        }
        space
    }

    /// Maps a byte range of the normalized text back to a byte range of
    /// `original`, which must be the text this was filled from. The range
    /// covers whole characters, and any combining marks after the last one.
    /// Walks the text again: call it for evidence, not on every turn.
    pub(crate) fn original_span(&self, original: &str, start: usize, end: usize) -> (usize, usize) {
        if end <= self.same_offsets {
            return (start, end);
        }
        let mut finder = SpanFinder {
            start,
            last: end - 1,
            len: 0,
            last_space: false,
            from: 0,
            to: 0,
        };
        walk(original, self.folding, &mut finder);
        let (from, last) = (finder.from, finder.to);
        let mut to = last + original[last..].chars().next().map_or(0, char::len_utf8);
        for c in original[to..].chars() {
            if !is_combining_mark(c) {
                break;
            }
            to += c.len_utf8();
        }
        (from, to)
    }

    /// The normalized text as a string.
    pub(crate) fn as_str(&self) -> &str {
        // Only whole UTF-8 encodings are ever pushed.
        std::str::from_utf8(&self.bytes).unwrap_or_default()
    }

    /// How many words lie in the normalized range `from..to`, counting at
    /// most `limit + 1` of them.
    pub(crate) fn words_between(&self, from: usize, to: usize, limit: usize) -> usize {
        self.bytes[from..to]
            .split(|&b| b == b' ')
            .filter(|word| !word.is_empty())
            .take(limit + 1)
            .count()
    }

    /// Whether a clause break lies between the normalized offsets `from` and `to`.
    pub(crate) fn has_clause_break_between(&self, from: usize, to: usize) -> bool {
        any_between(&self.clause_breaks, from, to)
    }

    /// Whether the normalized range `start..end` is a whole sentence: it
    /// begins the text or follows a sentence's end, ends one, and holds no
    /// other end.
    pub(crate) fn is_sentence(&self, start: usize, end: usize) -> bool {
        let sentences = &self.sentence_breaks;
        self.is_bounded(start, end, sentences, sentences, sentences)
    }

    /// Whether the normalized range `start..end` is the last clause of a
    /// sentence: it begins the text or follows a clause break, ends a
    /// sentence, and holds no clause break ("it's broken, agent!": "agent");
    /// or it is a whole sentence.
    pub(crate) fn is_last_clause(&self, start: usize, end: usize) -> bool {
        self.is_sentence(start, end)
            || self.is_bounded(
                start,
                end,
                &self.clause_breaks,
                &self.sentence_breaks,
                &self.clause_breaks,
            )
    }

    /// Whether `start..end` begins the text or right after one of `opens`,
    /// ends the text or right at one of `closes`, and holds none of `inner`.
    fn is_bounded(
        &self,
        start: usize,
        end: usize,
        opens: &[u32],
        closes: &[u32],
        inner: &[u32],
    ) -> bool {
        let at = |breaks: &[u32], at: usize| breaks.binary_search(&(at as u32)).is_ok();
        (start == 0 || at(opens, start - 1))
            && (end == self.bytes.len() || at(closes, end))
            && !(end > start + 1 && any_between(inner, start + 1, end - 1))
    }

    /// Whether a sentence ends strictly inside the normalized range `start..end`.
    pub(crate) fn spans_sentences(&self, start: usize, end: usize) -> bool {
        end > start + 1 && any_between(&self.sentence_breaks, start + 1, end - 1)
    }
}

fn any_between(breaks: &[u32], from: usize, to: usize) -> bool {
    breaks.iter().any(|&b| (from..=to).contains(&(b as usize)))
}

/// Normalizes a policy phrase the way user text is normalized.
pub(crate) fn normalize(phrase: &str, folding: Folding) -> String {
    let mut n = Normalized::default();
    n.fill(phrase, folding);
    n.as_str().to_string()
}

/// Letters that Unicode does not decompose but that readers treat as a base
/// letter plus decoration, or as two letters.
fn special_fold(c: char) -> Option<&'static str> {
    Some(match c {
        'ß' => "ss",
        'æ' => "ae",
        'œ' => "oe",
        'ø' => "o",
        'ł' => "l",
        'đ' => "d",
        'ð' => "d",
        'þ' => "th",
        'ı' => "i",
        _ => return None,
    })
}

fn is_sentence_break(c: char) -> bool {
    c.is_ascii() && ASCII_CLASS[c as usize] & SENTENCE != 0 || matches!(c, '¿' | '¡' | '…' | '。')
}

fn is_clause_break(c: char) -> bool {
    c.is_ascii() && ASCII_CLASS[c as usize] & CLAUSE != 0
        || matches!(c, '¿' | '¡' | '…' | '—' | '–' | '、' | '。' | '，')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        normalize(s, Folding::default())
    }

    #[test]
    fn folds_case_accents_and_punctuation() {
        let cases = [
            ("Hello, World!", "hello world"),
            ("  I  want\ta   HUMAN!!! ", "i want a human"),
            (
                "Ich möchte mit einem Menschen sprechen",
                "ich mochte mit einem menschen sprechen",
            ),
            ("¿Puedo hablar con un agente?", "puedo hablar con un agente"),
            ("Je veux parler à quelqu'un", "je veux parler a quelqu un"),
            (
                "Falar com um atendente, não com robô",
                "falar com um atendente nao com robo",
            ),
            ("STRASSE Straße", "strasse strasse"),
            ("I don’t need an agent 🙂", "i don t need an agent"),
            ("cafe\u{301} noir", "cafe noir"),
            ("ÉCOLE", "ecole"),
            ("🙂🙂", ""),
            ("\u{301}\u{301}", ""),
            ("", ""),
            ("İstanbul", "istanbul"),
        ];
        for (input, want) in cases {
            assert_eq!(norm(input), want, "input {input:?}");
        }
    }

    #[test]
    fn folding_can_be_turned_off() {
        let keep_case = Folding {
            case: false,
            accents: true,
        };
        assert_eq!(normalize("Crème BRÛLÉE", keep_case), "Creme BRULEE");
        let keep_accents = Folding {
            case: true,
            accents: false,
        };
        assert_eq!(normalize("Crème BRÛLÉE", keep_accents), "crème brûlée");
    }

    #[test]
    fn spans_map_back_to_original_text() {
        let cases = [
            (
                "I want a “real person”, please",
                "real person",
                "real person",
            ),
            ("¿Puedo hablar con un AGENTE?", "agente", "AGENTE"),
            (
                "Je veux parler à quelqu’un",
                "parler a quelqu un",
                "parler à quelqu’un",
            ),
            ("🙂 Möchte einen Menschen", "mochte", "Möchte"),
            ("cafe\u{301}!", "cafe", "cafe\u{301}"),
            ("Straße", "strasse", "Straße"),
        ];
        for (input, needle, want) in cases {
            let mut n = Normalized::default();
            n.fill(input, Folding::default());
            let start = n.as_str().find(needle).expect(needle);
            let (from, to) = n.original_span(input, start, start + needle.len());
            assert_eq!(&input[from..to], want, "input {input:?}");
        }
    }

    #[test]
    fn the_matching_and_mapping_walks_agree() {
        let samples = [
            "",
            " ",
            "!!",
            "a",
            " a ",
            "Hello, World!",
            "a  b\t\nc",
            "é",
            " é ",
            "ÉCOLE, d'été…",
            "cafe\u{301}!",
            "\u{301}a",
            "🙂 x 🙂",
            "x🙂y",
            "STRASSE Straße",
            "¿Qué? ¡No!",
            "a,,b..c",
            "İstanbul",
            "ǅ",
            "ﬁne",
            "abc\u{301}\u{302} d",
            "1,000.50 €",
            "I want a REAL person",
            "Call me  now, ok",
            "  leading and trailing  ",
        ];
        for folding in [
            Folding::default(),
            Folding {
                case: false,
                accents: true,
            },
            Folding {
                case: true,
                accents: false,
            },
        ] {
            // The all-ASCII loop knows where offsets start to differ, so it
            // maps some spans without a walk: both fills are checked.
            let fills = samples
                .iter()
                .map(|&s| (s, false))
                .chain(samples.iter().filter(|s| s.is_ascii()).map(|&s| (s, true)));
            for (sample, ascii) in fills {
                let mut n = Normalized::default();
                if ascii {
                    n.fill_ascii_feeding(sample, &AsciiTable::new(folding, |_| 0), |_, _| {});
                } else {
                    n.fill(sample, folding);
                }
                let mut origins = Origins::default();
                walk(sample, folding, &mut origins);
                assert_eq!(
                    n.bytes.len(),
                    origins.origin.len(),
                    "{sample:?} {folding:?}"
                );
                assert!(
                    !n.as_str().starts_with(' ') && !n.as_str().ends_with(' '),
                    "{sample:?}"
                );
                assert!(!n.as_str().contains("  "), "{sample:?}");
                // Every span, against the offsets the byte-by-byte walk gives.
                let text = n.as_str();
                for start in (0..text.len()).filter(|&i| text.is_char_boundary(i)) {
                    for end in (start + 1..=text.len()).filter(|&i| text.is_char_boundary(i)) {
                        let (from, to) = n.original_span(sample, start, end);
                        let last = origins.origin[end - 1] as usize;
                        assert_eq!(
                            from, origins.origin[start] as usize,
                            "{sample:?} {start}..{end}"
                        );
                        let char_end =
                            last + sample[last..].chars().next().map_or(0, char::len_utf8);
                        assert!(to >= char_end, "{sample:?} {start}..{end}");
                        assert!(
                            sample[char_end..to].chars().all(is_combining_mark),
                            "{sample:?} {start}..{end}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn clause_breaks() {
        let mut n = Normalized::default();
        n.fill("No, not you. A reagent!", Folding::default());
        assert_eq!(n.as_str(), "no not you a reagent");
        assert_eq!(n.clause_breaks, vec![2, 10, 20]);
        assert!(n.has_clause_break_between(2, 3));
        assert!(!n.has_clause_break_between(3, 9));
        assert_eq!(n.sentence_breaks, vec![10, 20]);
        assert!(n.spans_sentences(7, 12));
        assert!(!n.spans_sentences(0, 6));
        // "no not you" and "a reagent" are sentences; "not you" and
        // "reagent" are not.
        assert!(n.is_sentence(0, 10) && n.is_sentence(11, 20));
        assert!(!n.is_sentence(3, 10) && !n.is_sentence(13, 20) && !n.is_sentence(0, 20));
        // "not you" ends a sentence after a comma; "no" ends no sentence.
        assert!(n.is_last_clause(3, 10) && n.is_last_clause(11, 20) && n.is_last_clause(0, 10));
        assert!(!n.is_last_clause(0, 2) && !n.is_last_clause(13, 20) && !n.is_last_clause(7, 10));
    }
}

#[cfg(test)]
mod expansion {
    use super::*;

    /// Offsets into the normalized text are `u32`: a text of at most
    /// [`crate::MAX_TEXT_BYTES`] must normalize to less than 4 GiB. Every
    /// character, in every folding, grows by at most a factor of 3 (plus
    /// the space around a word).
    #[test]
    fn no_character_grows_more_than_threefold() {
        let foldings = [(true, true), (true, false), (false, true), (false, false)];
        let mut n = Normalized::default();
        let mut worst = (0usize, 'a');
        for (case, accents) in foldings {
            let folding = Folding { case, accents };
            for c in (0..=0x10ffff).filter_map(char::from_u32) {
                let mut buf = [0; 4];
                let s: &str = c.encode_utf8(&mut buf);
                n.fill(s, folding);
                let grown = n.as_str().len().div_ceil(s.len());
                if grown > worst.0 {
                    worst = (grown, c);
                }
            }
        }
        assert!(worst.0 <= 3, "{:?} grows {}-fold", worst.1, worst.0);
        assert!((crate::MAX_TEXT_BYTES as u64) * 3 + 2 < u64::from(u32::MAX));
    }
}
