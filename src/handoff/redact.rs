//! Redaction: what the agent hub must not receive, masked so that the text
//! stays readable ("my card is **** **** **** 4242").
//!
//! ```yaml
//! handoff:
//!   redact:
//!     card_numbers: true     # 13-19 digits passing the Luhn check: all but the last 4
//!     emails: true           # j***@example.com
//!     phone_numbers: true    # 7-15 digits: all but the last 2
//!     patterns: ['\bACC-\d{6}\b']   # every letter and digit of a match
//! ```

use std::borrow::Cow;
use std::sync::OnceLock;

use regex_automata::meta::Regex;

use crate::compile::Compiler;
use crate::policy::RedactSpec;

/// A compiled redaction setting.
#[derive(Debug)]
pub(crate) struct Redactor {
    cards: bool,
    emails: bool,
    phones: bool,
    patterns: Vec<Regex>,
}

/// What a masked span was, which decides what of it stays visible.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mask {
    Email,
    Card,
    Phone,
    Pattern,
}

/// The built-in detectors, compiled once per process.
struct Detectors {
    email: Regex,
    card: Regex,
    phone: Regex,
    date: Regex,
}

fn detectors() -> &'static Detectors {
    static DETECTORS: OnceLock<Detectors> = OnceLock::new();
    DETECTORS.get_or_init(|| {
        let build = |pattern: &str| Regex::new(pattern).expect("built-in patterns compile");
        Detectors {
            email: build(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"),
            card: build(r"\b\d(?:[ \-]?\d){12,18}\b"),
            phone: build(r"(?:\+|\()?\d(?:[ \-.()]{0,2}\d){6,14}\b"),
            date: build(r"^(?:\d{4}[\-.]\d{1,2}[\-.]\d{1,2}|\d{1,2}[\-.]\d{1,2}[\-.]\d{4})$"),
        }
    })
}

impl Default for Redactor {
    fn default() -> Self {
        Redactor {
            cards: true,
            emails: true,
            phones: true,
            patterns: Vec::new(),
        }
    }
}

impl Redactor {
    pub(crate) fn compile(spec: &RedactSpec, cx: &mut Compiler) -> Redactor {
        let patterns = spec
            .patterns
            .iter()
            .filter_map(|pattern| {
                cx.compile_pattern(
                    pattern,
                    "redaction patterns match the user's text as written (add `(?i)` to ignore case)",
                )
            })
            .collect();
        Redactor {
            cards: spec.card_numbers,
            emails: spec.emails,
            phones: spec.phone_numbers,
            patterns,
        }
    }

    /// The text with what must not leave the bot masked; borrowed when
    /// nothing was.
    ///
    /// One linear pass per detector, each over the previous one's output:
    /// masked digits are `*`, so a later detector never finds them again,
    /// and a text of a million numbers costs a million matches, not a
    /// million squared.
    pub(crate) fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let d = detectors();
        let mut text = Cow::Borrowed(text);
        if self.emails {
            text = mask_matches(text, &d.email, |_, _| Some(Mask::Email));
        }
        if self.cards {
            text = mask_matches(text, &d.card, |found, _| luhn(found).then_some(Mask::Card));
        }
        if self.phones {
            text = mask_matches(text, &d.phone, |found, before| {
                let preceded_by_word = before
                    .chars()
                    .next_back()
                    .is_some_and(char::is_alphanumeric);
                let digits = found.bytes().filter(u8::is_ascii_digit).count();
                let shaped = found.starts_with(['+', '('])
                    || found.contains([' ', '-', '.', ')'])
                    || digits >= 10;
                (!preceded_by_word && shaped && !d.date.is_match(found)).then_some(Mask::Phone)
            });
        }
        for pattern in &self.patterns {
            text = mask_matches(text, pattern, |found, _| {
                (!found.is_empty()).then_some(Mask::Pattern)
            });
        }
        text
    }
}

/// Masks each match of `regex` that `kind` (given the match and the text
/// before it) says is sensitive.
fn mask_matches<'a>(
    text: Cow<'a, str>,
    regex: &Regex,
    kind: impl Fn(&str, &str) -> Option<Mask>,
) -> Cow<'a, str> {
    let mut out = String::new();
    let mut at = 0;
    let mut masked = false;
    for m in regex.find_iter(text.as_ref()) {
        let found = &text[m.range()];
        if let Some(mask) = kind(found, &text[..m.start()]) {
            out.push_str(&text[at..m.start()]);
            mask_into(&mut out, found, mask);
            at = m.end();
            masked = true;
        }
    }
    if !masked {
        return text;
    }
    out.push_str(&text[at..]);
    Cow::Owned(out)
}

fn mask_into(out: &mut String, found: &str, mask: Mask) {
    let digits = found.bytes().filter(u8::is_ascii_digit).count();
    let mut seen_digits = 0;
    match mask {
        Mask::Email => {
            let (name, domain) = found.split_once('@').unwrap_or((found, ""));
            let mut chars = name.chars();
            out.extend(chars.next());
            out.extend(chars.map(|_| '*'));
            out.push('@');
            out.push_str(domain);
        }
        Mask::Card | Mask::Phone => {
            let keep = if mask == Mask::Card { 4 } else { 2 };
            for c in found.chars() {
                if c.is_ascii_digit() {
                    seen_digits += 1;
                    out.push(if seen_digits > digits - keep { c } else { '*' });
                } else {
                    out.push(c);
                }
            }
        }
        Mask::Pattern => out.extend(
            found
                .chars()
                .map(|c| if c.is_alphanumeric() { '*' } else { c }),
        ),
    }
}

/// Whether the digits of `number` pass the Luhn check that card numbers carry.
fn luhn(number: &str) -> bool {
    let sum: u32 = number
        .bytes()
        .rev()
        .filter(u8::is_ascii_digit)
        .map(|b| u32::from(b - b'0'))
        .enumerate()
        .map(|(i, d)| match (i % 2 == 1, d * 2) {
            (true, doubled) if doubled > 9 => doubled - 9,
            (true, doubled) => doubled,
            (false, _) => d,
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_table() {
        let redactor = Redactor::default();
        let cases = [
            (
                "my card is 4242 4242 4242 4242",
                "my card is **** **** **** 4242",
            ),
            (
                "card 4242-4242-4242-4242 exp 12/27",
                "card ****-****-****-4242 exp 12/27",
            ),
            ("amex 378282246310005", "amex ***********0005"),
            // Fails the Luhn check and is too long for a phone: an order number.
            ("order 4242424242424241", "order 4242424242424241"),
            (
                "write to jane.doe@example.com please",
                "write to j*******@example.com please",
            ),
            ("call me on +44 7700 900123", "call me on +** **** ****23"),
            ("or (555) 123-4567", "or (***) ***-**67"),
            ("ref 12345678", "ref 12345678"),
            (
                "born 1990-04-12, order 2026.11.20",
                "born 1990-04-12, order 2026.11.20",
            ),
            ("see ticket ABC1234567", "see ticket ABC1234567"),
            ("no numbers here", "no numbers here"),
            ("", ""),
        ];
        for (text, expected) in cases {
            assert_eq!(redactor.redact(text), expected, "{text}");
        }
    }

    #[test]
    fn switched_off_detectors_leave_text_alone() {
        let redactor = Redactor {
            cards: false,
            emails: false,
            phones: false,
            patterns: Vec::new(),
        };
        let text = "4242 4242 4242 4242 jane@example.com +44 7700 900123";
        assert!(matches!(redactor.redact(text), Cow::Borrowed(_)));
    }

    #[test]
    fn policy_patterns_mask_letters_and_digits() {
        let redactor = Redactor {
            patterns: vec![Regex::new(r"\bACC-\d{6}\b").unwrap()],
            ..Redactor::default()
        };
        assert_eq!(
            redactor.redact("account ACC-123456 is locked"),
            "account ***-****** is locked"
        );
    }

    #[test]
    fn luhn_check() {
        assert!(luhn("4242 4242 4242 4242"));
        assert!(luhn("79927398713"));
        assert!(!luhn("79927398710"));
    }
}
