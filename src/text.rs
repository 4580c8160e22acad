//! Text normalization with a map back to the original text.
//!
//! Phrases and user text go through the same [`Normalizer`], so matching is a
//! plain byte comparison afterwards. The normalized text holds only lowercase,
//! accent-free letters and digits, with every run of anything else (space,
//! punctuation, symbols, emoji) turned into one ASCII space and no space at
//! either end. Each normalized byte remembers the byte offset in the original
//! text it came from, so evidence spans always point into what the user typed.

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

/// A normalized copy of a text and the way back to the original offsets.
///
/// Buffers are reused between turns, so normalizing allocates nothing once
/// they have grown to the size of the longest message seen.
#[derive(Debug, Default)]
pub(crate) struct Normalized {
    /// The normalized text: folded letters and digits, single spaces.
    pub(crate) text: String,
    /// For each byte of `text`, the offset in the original text of the
    /// character it came from.
    origin: Vec<u32>,
    /// Offsets in `text` where the original had clause punctuation
    /// (`,` `.` `;` `!` `?` ...); negation never reaches across them.
    pub(crate) clause_breaks: Vec<u32>,
    /// Offsets in `text` where the original ended a sentence (`.` `!` `?`
    /// `;` a newline ...); no phrase matches across them.
    pub(crate) sentence_breaks: Vec<u32>,
}

impl Normalized {
    /// Normalizes `original` into these buffers, replacing what they held.
    pub(crate) fn fill(&mut self, original: &str, folding: Folding) {
        self.text.clear();
        self.origin.clear();
        self.clause_breaks.clear();
        self.sentence_breaks.clear();
        let mut pending_space = false;
        for (at, c) in original.char_indices() {
            let at = at as u32;
            if c.is_ascii() {
                if c.is_ascii_alphanumeric() {
                    self.push_space_if(pending_space, at);
                    pending_space = false;
                    let c = if folding.case {
                        c.to_ascii_lowercase()
                    } else {
                        c
                    };
                    self.push(c, at);
                } else {
                    pending_space = true;
                    self.note_break(c);
                }
            } else if c.is_alphanumeric() {
                self.push_space_if(pending_space, at);
                pending_space = false;
                self.push_folded(c, at, folding);
            } else if is_combining_mark(c) {
                // A mark belongs to the letter before it: dropped when
                // folding accents, kept otherwise.
                if !folding.accents && !self.text.is_empty() && !pending_space {
                    self.push(c, at);
                }
            } else {
                pending_space = true;
                self.note_break(c);
            }
        }
    }

    fn push_space_if(&mut self, pending: bool, at: u32) {
        if pending && !self.text.is_empty() {
            self.push(' ', at);
        }
    }

    fn note_break(&mut self, c: char) {
        let at = self.text.len() as u32;
        if is_clause_break(c) && self.clause_breaks.last() != Some(&at) {
            self.clause_breaks.push(at);
        }
        if is_sentence_break(c) && self.sentence_breaks.last() != Some(&at) {
            self.sentence_breaks.push(at);
        }
    }

    fn push(&mut self, c: char, at: u32) {
        for _ in 0..c.len_utf8() {
            self.origin.push(at);
        }
        self.text.push(c);
    }

    fn push_folded(&mut self, c: char, at: u32, folding: Folding) {
        if folding.accents {
            decompose_canonical(c, |d| {
                if !is_combining_mark(d) {
                    self.push_cased(d, at, folding);
                }
            });
        } else {
            self.push_cased(c, at, folding);
        }
    }

    fn push_cased(&mut self, c: char, at: u32, folding: Folding) {
        if !folding.case {
            return self.push(c, at);
        }
        for lower in c.to_lowercase() {
            match (folding.accents, special_fold(lower)) {
                (true, Some(folded)) => folded.chars().for_each(|f| self.push(f, at)),
                _ => self.push(lower, at),
            }
        }
    }

    /// Maps a byte range of the normalized text back to a byte range of
    /// `original`, which must be the text this was filled from. The range
    /// covers whole characters, and any combining marks after the last one.
    pub(crate) fn original_span(&self, original: &str, start: usize, end: usize) -> (usize, usize) {
        let from = self.origin[start] as usize;
        let last = self.origin[end - 1] as usize;
        let mut to = last + original[last..].chars().next().map_or(0, char::len_utf8);
        for c in original[to..].chars() {
            if !is_combining_mark(c) {
                break;
            }
            to += c.len_utf8();
        }
        (from, to)
    }

    /// Whether the normalized range `start..end` is a whole word or words:
    /// nothing but a space or an end of text on either side.
    pub(crate) fn is_word_bounded(&self, start: usize, end: usize) -> bool {
        let bytes = self.text.as_bytes();
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
    n.text
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
    matches!(c, '.' | ';' | '!' | '?' | '\n' | '¿' | '¡' | '…' | '。')
}

fn is_clause_break(c: char) -> bool {
    matches!(
        c,
        ',' | '.'
            | ';'
            | ':'
            | '!'
            | '?'
            | '\n'
            | '¿'
            | '¡'
            | '…'
            | '—'
            | '–'
            | '('
            | ')'
            | '、'
            | '。'
            | '，'
    )
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
            let start = n.text.find(needle).expect(needle);
            let (from, to) = n.original_span(input, start, start + needle.len());
            assert_eq!(&input[from..to], want, "input {input:?}");
        }
    }

    #[test]
    fn word_bounds_and_clause_breaks() {
        let mut n = Normalized::default();
        n.fill("No, not you. A reagent!", Folding::default());
        assert_eq!(n.text, "no not you a reagent");
        let agent = n.text.find("agent").unwrap();
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
