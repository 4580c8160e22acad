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
}

/// Receives what the walker produces, in order.
trait Sink {
    /// A normalized character, from the original character at byte `from`.
    fn push(&mut self, c: char, from: usize);
    /// An ASCII letter, digit or space from the original byte at `from`.
    fn push_byte(&mut self, b: u8, from: usize);
    /// How many bytes of normalized text there are so far.
    fn len(&self) -> usize;
    /// Punctuation or other separating character `c` was skipped.
    fn separator(&mut self, _c: char) {}
}

impl Sink for Normalized {
    fn push(&mut self, c: char, _from: usize) {
        self.bytes
            .extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
    }

    fn push_byte(&mut self, b: u8, _from: usize) {
        self.bytes.push(b);
    }

    fn len(&self) -> usize {
        self.bytes.len()
    }

    fn separator(&mut self, c: char) {
        let at = self.bytes.len() as u32;
        if is_clause_break(c) && self.clause_breaks.last() != Some(&at) {
            self.clause_breaks.push(at);
        }
        if is_sentence_break(c) && self.sentence_breaks.last() != Some(&at) {
            self.sentence_breaks.push(at);
        }
    }
}

/// For each normalized byte, the original byte offset it came from.
struct Origins(Vec<u32>);

impl Sink for Origins {
    fn push(&mut self, c: char, from: usize) {
        for _ in 0..c.len_utf8() {
            self.0.push(from as u32);
        }
    }

    fn push_byte(&mut self, _b: u8, from: usize) {
        self.0.push(from as u32);
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

/// What an ASCII byte is: a letter or digit, a separator, and which breaks.
const ALNUM: u8 = 1;
const CLAUSE: u8 = 2;
const SENTENCE: u8 = 4;

const ASCII_CLASS: [u8; 128] = {
    let mut table = [0u8; 128];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        table[b] = if c.is_ascii_alphanumeric() {
            ALNUM
        } else {
            match c {
                b'.' | b';' | b'!' | b'?' | b'\n' => CLAUSE | SENTENCE,
                b',' | b':' | b'(' | b')' => CLAUSE,
                _ => 0,
            }
        };
        b += 1;
    }
    table
};

/// Normalizes `original` into `sink`.
fn walk(original: &str, folding: Folding, sink: &mut impl Sink) {
    let bytes = original.as_bytes();
    let mut pending_space = false;
    let mut at = 0;
    while at < bytes.len() {
        let b = bytes[at];
        if b.is_ascii() {
            let class = ASCII_CLASS[b as usize];
            if class & ALNUM != 0 {
                if pending_space && sink.len() > 0 {
                    sink.push_byte(b' ', at);
                }
                pending_space = false;
                sink.push_byte(
                    if folding.case {
                        b.to_ascii_lowercase()
                    } else {
                        b
                    },
                    at,
                );
            } else {
                pending_space = true;
                if class != 0 {
                    sink.separator(b as char);
                }
            }
            at += 1;
            continue;
        }
        let c = original[at..].chars().next().unwrap_or(' ');
        if c.is_alphanumeric() {
            if pending_space && sink.len() > 0 {
                sink.push_byte(b' ', at);
            }
            pending_space = false;
            push_folded(sink, c, at, folding);
        } else if is_combining_mark(c) {
            // A mark belongs to the letter before it: dropped when folding
            // accents, kept otherwise.
            if !folding.accents && sink.len() > 0 && !pending_space {
                sink.push(c, at);
            }
        } else {
            pending_space = true;
            sink.separator(c);
        }
        at += c.len_utf8();
    }
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
        return sink.push(c, at);
    }
    for lower in c.to_lowercase() {
        match (folding.accents, special_fold(lower)) {
            (true, Some(folded)) => folded.chars().for_each(|f| sink.push(f, at)),
            _ => sink.push(lower, at),
        }
    }
}

impl Normalized {
    /// Normalizes `original` into these buffers, replacing what they held.
    pub(crate) fn fill(&mut self, original: &str, folding: Folding) {
        self.bytes.clear();
        self.clause_breaks.clear();
        self.sentence_breaks.clear();
        self.folding = folding;
        walk(original, folding, self);
    }

    /// Maps a byte range of the normalized text back to a byte range of
    /// `original`, which must be the text this was filled from. The range
    /// covers whole characters, and any combining marks after the last one.
    /// Walks the text again: call it for evidence, not on every turn.
    pub(crate) fn original_span(&self, original: &str, start: usize, end: usize) -> (usize, usize) {
        let mut origins = Origins(Vec::with_capacity(self.bytes.len()));
        walk(original, self.folding, &mut origins);
        let origin = origins.0;
        let from = origin[start] as usize;
        let last = origin[end - 1] as usize;
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

    /// Whether the normalized range `start..end` is a whole word or words:
    /// nothing but a space or an end of text on either side.
    pub(crate) fn is_word_bounded(&self, start: usize, end: usize) -> bool {
        let bytes = &self.bytes;
        (start == 0 || bytes[start - 1] == b' ') && (end == bytes.len() || bytes[end] == b' ')
    }

    /// Whether a clause break lies between the normalized offsets `from` and `to`.
    pub(crate) fn has_clause_break_between(&self, from: usize, to: usize) -> bool {
        any_between(&self.clause_breaks, from, to)
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
    fn word_bounds_and_clause_breaks() {
        let mut n = Normalized::default();
        n.fill("No, not you. A reagent!", Folding::default());
        assert_eq!(n.as_str(), "no not you a reagent");
        let agent = n.as_str().find("agent").unwrap();
        assert!(!n.is_word_bounded(agent, agent + 5));
        assert!(n.is_word_bounded(0, 2));
        assert_eq!(n.clause_breaks, vec![2, 10, 20]);
        assert!(n.has_clause_break_between(2, 3));
        assert!(!n.has_clause_break_between(3, 9));
        assert_eq!(n.sentence_breaks, vec![10, 20]);
        assert!(n.spans_sentences(7, 12));
        assert!(!n.spans_sentences(0, 6));
    }
}
