//! The built-in sentiment scorer, for bots whose NLU service sends no
//! sentiment (most LLM bots): VADER's method on the turn's normalized words.
//!
//! Each word found in the language's valence lexicon (-4..4) counts; a
//! booster before it ("very", "muy", "sehr") strengthens it, a dampener
//! ("slightly") weakens it, a negation up to three words before it ("not",
//! "no", "pas", "nicht") in its clause flips and damps it (×-0.74), a word in capitals
//! among words that are not adds emphasis; after "but" ("pero", "mais",
//! "aber", "mas", "ma") words count 1.5 times and those before it half;
//! `!` (up to four) and repeated `?` add emphasis. The sum `s` becomes
//! `s / sqrt(s² + 15)`, in -1..1, as in VADER.
//!
//! The lexicons are embedded (see `src/sentiment/README.md` for where each
//! comes from and its licence) and parsed once per process, on first use of
//! a language. The scorer reads the text the phrase scan already normalized
//! and allocates nothing.

use std::sync::OnceLock;

use rustc_hash::FxHashMap;

use crate::text::{Folding, Normalized};

/// VADER's booster step, its capitals step and its negation scalar.
const BOOST: f32 = 0.293;
const CAPS: f32 = 0.733;
const NEGATE: f32 = -0.74;
/// VADER's normalization constant.
const ALPHA: f64 = 15.0;

/// How many of a turn's first words [`Language::guess`] reads.
const GUESS_WORDS: usize = 64;

/// A language the scorer has a lexicon for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Language {
    En,
    Es,
    Fr,
    De,
    Pt,
    It,
}

impl Language {
    /// Every language, in the order of the built-in policy.
    pub(crate) const ALL: [Language; 6] = [
        Language::En,
        Language::Es,
        Language::Fr,
        Language::De,
        Language::Pt,
        Language::It,
    ];

    /// The language of a primary subtag (`en`, `pt` ...), if scored.
    pub(crate) fn from_subtag(subtag: &str) -> Option<Language> {
        Language::ALL
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(subtag))
    }

    /// The language's code.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Es => "es",
            Language::Fr => "fr",
            Language::De => "de",
            Language::Pt => "pt",
            Language::It => "it",
        }
    }

    /// The language a turn without a `locale` is written in, as the
    /// function words of its normalized `text` say ("ich", "und", "die" for
    /// German; "the", "and", "i" for English): the language with the most,
    /// or `fallback` (the policy's default) on a tie or when none is there
    /// among its first [`GUESS_WORDS`] words.
    /// So "ich hab die schlüssel" is not scored as English, where "die" is a
    /// verb.
    pub(crate) fn guess(text: &Normalized, fallback: Option<Language>) -> Option<Language> {
        // One byte lane per language: a word adds 1 to the lanes of its
        // languages, and no lane passes 255 in GUESS_WORDS words.
        let mut lanes = 0u64;
        let bytes = &text.bytes;
        let mut at = 0;
        for _ in 0..GUESS_WORDS {
            if at >= bytes.len() {
                break;
            }
            let end = memchr_space(bytes, at);
            let word = &bytes[at..end];
            at = end + 1;
            // Every function word is at most six letters.
            if word.len() <= 6 {
                lanes += LANES[usize::from(function_word_languages(word))];
            }
        }
        let count = |language: Language| (lanes >> (8 * language as u32)) as u8;
        let best = Language::ALL.into_iter().map(count).max().unwrap_or(0);
        let mut leaders = Language::ALL.into_iter().filter(|&l| count(l) == best);
        match (best, leaders.next(), leaders.next()) {
            (1.., Some(language), None) => Some(language),
            _ => fallback,
        }
    }

    fn data(self) -> LanguageData {
        match self {
            Language::En => LanguageData {
                lexicon: include_str!("sentiment/en.lex"),
                boosters: "absolutely amazingly awfully completely considerable considerably decidedly deeply effing enormous enormously entirely especially exceptional exceptionally extreme extremely fabulously flippin flipping frackin fracking frickin fricking friggin frigging fuckin fucking fuggin fugging fully greatly hella highly hugely incredible incredibly intensely major majorly more most particularly purely quite really remarkably so substantially thoroughly total totally tremendous tremendously uber unbelievably unusually utter utterly very",
                dampeners: "almost barely hardly kinda kindof less little marginal marginally occasional occasionally partly scarce scarcely slight slightly somewhat sorta sortof",
                // `t` is what is left of "n't" ("don't" reads `don t`).
                negations: "aint arent cannot cant couldnt darent despite didnt doesnt dont hadnt hasnt havent isnt mightnt mustnt neednt neither never no none nope nor not nothing nowhere oughtnt rarely seldom shant shouldnt t uhuh wasnt werent without wont wouldnt",
                but: "but",
            },
            Language::Fr => LanguageData {
                lexicon: include_str!("sentiment/fr.lex"),
                boosters: "absolument ainsi archi beaucoup bigrement bougrement carrement completement considerablement davantage delicieusement diablement diantrement divinement drolement enormement entierement exceptionnel exceptionnelle exceptionnellement exceptionnelles exceptionnels excessivement extra extreme extremement fabuleusement fichtrement fort forte fortes forts grandement hyper impeccablement incroyablement infiniment joliment merveilleusement prodigieusement profondement rudement sacrement specialement sublimement super superbement tant tellement terriblement totalement tres trop ultra vachement vraiment",
                dampeners: "approximativement assez difficilement environ guere insuffisament insuffisamment juste leger legere legerement legeres legers moins peu plutot presque quasi quasiment quelque rare rarement",
                negations: "aucunement aucun aucune jamais ni nullement pas plus rien sans",
                but: "mais",
            },
            Language::Pt => LanguageData {
                lexicon: include_str!("sentiment/pt.lex"),
                boosters: "absolutamente agitadamente altamente completamente consideravelmente decididamente demais enormemente especialmente excecivamente excepcionalmente extremamente fabulosamente fortemente fudidamente grandemente grandiosamente incrivelmente inteiramente intensamente majoritariamente muito particularmente predominantemente profundamente puramente realmente substancialmente surpreendentemente tao terrivelmente tremendamente",
                dampeners: "algo dificilmente escassamente fracamente levemente ocasionalmente parcialmente pouco pouqinho quase superficialmente tantinho",
                negations: "nao nem nunca jamais nada nenhum nenhuma nope raramente sem",
                but: "mas",
            },
            Language::Es => LanguageData {
                lexicon: include_str!("sentiment/es.lex"),
                boosters: "muy mucho muchisimo demasiado tan tanto super realmente totalmente completamente absolutamente extremadamente increiblemente bastante sumamente enormemente especialmente",
                dampeners: "poco apenas algo casi ligeramente medio",
                negations: "no ni nunca jamais nada ningun ninguna ninguno sin tampoco",
                but: "pero",
            },
            Language::De => LanguageData {
                lexicon: include_str!("sentiment/de.lex"),
                boosters: "sehr so total voll echt wirklich extrem absolut vollig ganz zu super besonders unglaublich richtig ausserst",
                dampeners: "etwas bisschen kaum wenig fast ziemlich eher",
                negations: "nicht kein keine keinen keiner keinem keines nie niemals nichts ohne weder",
                but: "aber",
            },
            Language::It => LanguageData {
                lexicon: include_str!("sentiment/it.lex"),
                boosters: "molto tanto troppo cosi davvero veramente proprio totalmente completamente assolutamente estremamente incredibilmente super particolarmente",
                dampeners: "poco appena quasi leggermente abbastanza alquanto",
                negations: "non ne mai niente nulla nessun nessuno nessuna senza neanche nemmeno",
                but: "ma",
            },
        }
    }

    /// The language's words, parsed on first use.
    pub(crate) fn words(self) -> &'static Words {
        static WORDS: [OnceLock<Words>; 6] = [const { OnceLock::new() }; 6];
        WORDS[self as usize].get_or_init(|| Words::parse(self.data()))
    }
}

/// A language's embedded word lists.
struct LanguageData {
    /// `valence<TAB>word word ...` lines; `#` starts a comment line.
    lexicon: &'static str,
    boosters: &'static str,
    dampeners: &'static str,
    negations: &'static str,
    but: &'static str,
}

/// What a word does to the score.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Role {
    Valence(f32),
    /// A booster (positive) or dampener (negative) of the words after it.
    Booster(f32),
    Negation,
    But,
}

/// A language's words, keyed by their normalized form.
#[derive(Debug)]
pub(crate) struct Words {
    roles: FxHashMap<&'static [u8], Role>,
}

impl Words {
    fn parse(data: LanguageData) -> Words {
        let mut roles = FxHashMap::default();
        // Negations, "but" and boosters take precedence over a valence.
        let lists = [
            (data.negations, Role::Negation),
            (data.but, Role::But),
            (data.boosters, Role::Booster(BOOST)),
            (data.dampeners, Role::Booster(-BOOST)),
        ];
        for (list, role) in lists {
            for word in list.split_ascii_whitespace() {
                roles.entry(word.as_bytes()).or_insert(role);
            }
        }
        for line in data.lexicon.lines() {
            let Some((valence, words)) = line.split_once('\t') else {
                continue;
            };
            let Ok(valence) = valence.parse::<f32>() else {
                continue;
            };
            for word in words.split_ascii_whitespace() {
                roles
                    .entry(word.as_bytes())
                    .or_insert(Role::Valence(valence));
            }
        }
        Words { roles }
    }

    /// How many words carry a valence.
    #[cfg(test)]
    pub(crate) fn valence_count(&self) -> usize {
        self.roles
            .values()
            .filter(|r| matches!(r, Role::Valence(_)))
            .count()
    }

    /// The lexicon's words, for checking that they are normalized.
    #[cfg(test)]
    pub(crate) fn keys(&self) -> impl Iterator<Item = &'static [u8]> + '_ {
        self.roles.keys().copied()
    }
}

/// For each set of languages (a bit per [`Language`]), a 1 in the byte lane
/// of each: what [`Language::guess`] adds for a word of those languages.
const LANES: [u64; 64] = {
    let mut lanes = [0u64; 64];
    let mut set = 0;
    while set < 64 {
        let mut language = 0;
        while language < 6 {
            if set & (1 << language) != 0 {
                lanes[set] |= 1 << (8 * language);
            }
            language += 1;
        }
        set += 1;
    }
    lanes
};

/// The languages (bit `1 << language as u8` for each) of which
/// `word` (normalized: lowercase, no accents) is one of the most common
/// function words. A word common to several ("de", "la") counts for each;
/// a word that is a content word elsewhere is listed only where it is a
/// function word (German "die", not the English verb).
fn function_word_languages(word: &[u8]) -> u8 {
    const EN: u8 = 1 << Language::En as u8;
    const ES: u8 = 1 << Language::Es as u8;
    const FR: u8 = 1 << Language::Fr as u8;
    const DE: u8 = 1 << Language::De as u8;
    const PT: u8 = 1 << Language::Pt as u8;
    const IT: u8 = 1 << Language::It as u8;
    match word {
        b"and" | b"are" | b"at" | b"be" | b"can" | b"dont" | b"for" | b"have" | b"i" | b"im"
        | b"is" | b"it" | b"just" | b"my" | b"not" | b"of" | b"on" | b"that" | b"the" | b"this"
        | b"to" | b"was" | b"what" | b"with" | b"you" | b"your" => EN,
        b"al" | b"del" | b"el" | b"esta" | b"estoy" | b"las" | b"los" | b"muy" | b"pero"
        | b"por" | b"tengo" | b"usted" | b"y" | b"yo" => ES,
        b"ai" | b"au" | b"avec" | b"c" | b"dans" | b"des" | b"est" | b"et" | b"j" | b"je"
        | b"le" | b"les" | b"mon" | b"ne" | b"pas" | b"pour" | b"suis" | b"sur" | b"tu"
        | b"une" | b"vous" => FR,
        b"aber" | b"auch" | b"auf" | b"bin" | b"das" | b"dem" | b"den" | b"der" | b"die"
        | b"ein" | b"eine" | b"fur" | b"hab" | b"habe" | b"ich" | b"ist" | b"mein" | b"meine"
        | b"mit" | b"nicht" | b"sie" | b"und" | b"zu" => DE,
        b"as" | b"com" | b"da" | b"em" | b"estou" | b"eu" | b"mas" | b"meu" | b"minha" | b"nao"
        | b"o" | b"os" | b"tenho" | b"um" | b"uma" | b"voce" => PT,
        b"anche" | b"che" | b"della" | b"di" | b"gli" | b"ho" | b"io" | b"mia" | b"mio"
        | b"nel" | b"per" | b"questo" | b"sei" | b"sono" => IT,
        b"do" => EN | PT,
        b"en" => ES | FR,
        b"es" => ES | DE,
        b"para" => ES | PT,
        b"con" | b"lo" | b"mi" | b"una" => ES | IT,
        b"il" | b"ma" | b"non" => FR | IT,
        b"e" => PT | IT,
        b"de" | b"que" | b"se" | b"te" => ES | FR | PT,
        b"la" | b"un" => ES | FR | IT,
        b"no" => ES | PT | IT,
        b"me" => EN | ES | FR | PT,
        b"a" => EN | ES | FR | PT | IT,
        _ => 0,
    }
}

/// A word that moved the score: its span in the normalized text and what
/// it added (after boosters, negation, capitals and "but").
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Scored {
    pub(crate) start: u32,
    pub(crate) end: u32,
    pub(crate) valence: f32,
}

/// The folding the lexicons are written in.
pub(crate) const LEXICON_FOLDING: Folding = Folding {
    case: true,
    accents: true,
};

/// Scores a turn: `text` is `original` normalized with [`LEXICON_FOLDING`].
/// Hands each word that counted to `each` (for evidence; the hot path
/// passes a closure that does nothing). Returns a score in -1..1.
pub(crate) fn score(
    text: &Normalized,
    original: &str,
    language: Language,
    mut each: impl FnMut(Scored),
) -> f64 {
    let words = language.words();
    let bytes = &text.bytes;
    // Looked for once a word with a valence turns up: most turns have none.
    let mut shouted: Option<Option<bool>> = None;
    // The last three words' roles and spans, newest first.
    let mut recent: [Option<(Role, u32, u32)>; 3] = [None; 3];
    let (mut before, mut after, mut seen_but) = (0f32, 0f32, false);
    let mut breaks = text.clause_breaks.iter().peekable();
    let mut at = 0usize;
    while at < bytes.len() {
        // Boosters and negations stay in their clause ("it doesn't work,
        // a disaster"), as the engine's negation cues do.
        let mut crossed = false;
        while breaks.next_if(|&&b| (b as usize) < at).is_some() {
            crossed = true;
        }
        if crossed {
            recent = [None; 3];
        }
        let end = memchr_space(bytes, at);
        let word = &bytes[at..end];
        let (start, stop) = (at as u32, end as u32);
        at = end + 1;
        let role = words.roles.get(word).copied();
        if let Some(Role::Valence(mut valence)) = role {
            let shouting = *shouted.get_or_insert_with(|| shouting(original));
            let sign = valence.signum();
            if shouting.is_some_and(|mixed| mixed && is_capitals(text, original, start, stop)) {
                valence += sign * CAPS;
            }
            for (distance, slot) in recent.iter().enumerate() {
                let Some((role, s, e)) = *slot else { continue };
                match role {
                    Role::Booster(step) => {
                        let mut step = step * sign;
                        if shouting.is_some_and(|mixed| mixed && is_capitals(text, original, s, e))
                        {
                            step += sign * CAPS;
                        }
                        valence += step * [1.0, 0.95, 0.9][distance];
                    }
                    Role::Negation => valence *= NEGATE,
                    _ => {}
                }
            }
            if seen_but {
                after += valence;
            } else {
                before += valence;
            }
            each(Scored {
                start,
                end: stop,
                valence: if seen_but { valence * 1.5 } else { valence },
            });
        } else if role == Some(Role::But) {
            seen_but = true;
        }
        recent = [role.map(|r| (r, start, stop)), recent[0], recent[1]];
    }
    let mut sum = if seen_but {
        before * 0.5 + after * 1.5
    } else {
        before
    };
    if sum != 0.0 {
        sum += sum.signum() * punctuation_emphasis(original);
    }
    let sum = f64::from(sum);
    (sum / (sum * sum + ALPHA).sqrt()).clamp(-1.0, 1.0)
}

/// Whether the words before "but" count half (so the evidence can show
/// what each word added): call after [`score`] with the words it gave.
pub(crate) fn halve_before_but(words: &mut [Scored], text: &Normalized, language: Language) {
    let lexicon = language.words();
    let but = text
        .as_str()
        .split(' ')
        .scan(0u32, |at, w| {
            let start = *at;
            *at += w.len() as u32 + 1;
            Some((start, w))
        })
        .find(|(_, w)| lexicon.roles.get(w.as_bytes()) == Some(&Role::But));
    if let Some((at, _)) = but {
        for word in words.iter_mut().filter(|w| w.start < at) {
            word.valence *= 0.5;
        }
    }
}

/// The end of the word starting at `from`.
#[inline]
fn memchr_space(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|&b| b == b' ')
        .map_or(bytes.len(), |i| from + i)
}

/// `None` when the text has no two capitals in a row (nothing is shouted);
/// otherwise whether it also has lowercase letters, since VADER counts
/// capitals as emphasis only among words that are not.
fn shouting(original: &str) -> Option<bool> {
    let bytes = original.as_bytes();
    let upper = |b: u8| u8::from(b.wrapping_sub(b'A') < 26);
    // No early exit, so that the loop runs on vectors.
    let ascii_pair = bytes
        .iter()
        .zip(bytes.iter().skip(1))
        .fold(0u8, |pair, (&a, &b)| pair | (upper(a) & upper(b)))
        != 0;
    let pair = ascii_pair
        || (!original.is_ascii() && {
            let mut previous = false;
            original.chars().any(|c| {
                let upper = c.is_uppercase();
                let both = upper && previous;
                previous = upper;
                both
            })
        });
    pair.then(|| original.chars().any(char::is_lowercase))
}

/// Whether the original of normalized `start..end` is written in capitals.
#[cold]
fn is_capitals(text: &Normalized, original: &str, start: u32, end: u32) -> bool {
    let (from, to) = text.original_span(original, start as usize, end as usize);
    let word = &original[from..to];
    word.chars().filter(|c| c.is_alphabetic()).count() > 1
        && word.chars().all(|c| !c.is_alphabetic() || c.is_uppercase())
}

/// VADER's emphasis for `!` (0.292 each, up to four) and repeated `?`
/// (0.18 each up to three, 0.96 past that).
fn punctuation_emphasis(original: &str) -> f32 {
    let (mut bangs, mut questions) = (0u32, 0u32);
    for &b in original.as_bytes() {
        bangs += u32::from(b == b'!');
        questions += u32::from(b == b'?');
    }
    let bangs = bangs.min(4) as f32 * 0.292;
    let questions = match questions {
        0 | 1 => 0.0,
        2 | 3 => questions as f32 * 0.18,
        _ => 0.96,
    };
    bangs + questions
}

/// Scores `text` with the built-in sentiment scorer, as `sentiment: { source:
/// builtin }` does: a VADER-style score from -1 (upset) to 1 (pleased), or
/// `None` when `language` (a locale such as `en` or `pt-BR`) has no lexicon.
/// The scorer knows `en`, `es`, `fr`, `de`, `pt` and `it`.
///
/// ```
/// let upset = escalate::builtin_sentiment("this is useless, I'm really angry", "en").unwrap();
/// assert!(upset < -0.5);
/// let pleased = escalate::builtin_sentiment("merci beaucoup, c'est parfait", "fr-CA").unwrap();
/// assert!(pleased > 0.3, "{pleased}");
/// assert_eq!(escalate::builtin_sentiment("where is my parcel", "en"), Some(0.0));
/// assert_eq!(escalate::builtin_sentiment("hello", "ja"), None);
/// ```
pub fn builtin_sentiment(text: &str, language: &str) -> Option<f64> {
    let language = Language::from_subtag(crate::policy::primary_language(language))?;
    let mut normalized = Normalized::default();
    normalized.fill(text, LEXICON_FOLDING);
    Some(score(&normalized, text, language, |_| {}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scored(text: &str, language: Language) -> (f64, Vec<(String, f32)>) {
        let mut n = Normalized::default();
        n.fill(text, LEXICON_FOLDING);
        let mut words = Vec::new();
        let score = score(&n, text, language, |w| words.push(w));
        halve_before_but(&mut words, &n, language);
        let words = words
            .iter()
            .map(|w| {
                let (from, to) = n.original_span(text, w.start as usize, w.end as usize);
                (text[from..to].to_string(), w.valence)
            })
            .collect();
        (score, words)
    }

    #[test]
    fn a_turn_without_a_locale_is_scored_in_the_language_of_its_function_words() {
        use Language::*;
        let cases: &[(&str, Option<Language>)] = &[
            ("ich hab die Schlüssel für die Lieferung verloren", Some(De)),
            ("das ist eine Katastrophe", Some(De)),
            ("i hate waiting i could die", Some(En)),
            ("this is useless", Some(En)),
            ("esto es horrible, estoy harto", Some(Es)),
            ("je suis vraiment déçu, c'est nul", Some(Fr)),
            ("não aguento mais esse app, estou cansada", Some(Pt)),
            ("sono stufo, non funziona niente", Some(It)),
            // No function word, or a tie: the policy's default.
            ("horrible", Some(Fr)),
            ("la la", Some(Fr)),
        ];
        for &(text, want) in cases {
            let mut n = Normalized::default();
            n.fill(text, LEXICON_FOLDING);
            assert_eq!(Language::guess(&n, Some(Fr)), want, "{text:?}");
        }
        let mut n = Normalized::default();
        n.fill("ok", LEXICON_FOLDING);
        assert_eq!(Language::guess(&n, None), None);
    }

    #[test]
    fn every_lexicon_word_is_normalized() {
        for language in Language::ALL {
            let words = language.words();
            assert!(words.valence_count() > 100, "{language:?}");
            for key in words.keys() {
                let key = std::str::from_utf8(key).unwrap();
                assert_eq!(
                    crate::text::normalize(key, LEXICON_FOLDING),
                    key,
                    "{language:?}"
                );
            }
        }
    }

    #[test]
    fn vader_rules() {
        use Language::En;
        let base = scored("the service is good", En).0;
        assert!(base > 0.0);
        // Boosters and dampeners.
        assert!(scored("the service is very good", En).0 > base);
        assert!(scored("the service is slightly good", En).0 < base);
        // Negation flips and damps.
        let negated = scored("the service is not good", En).0;
        assert!(negated < 0.0 && negated > -base, "{negated}");
        assert!(scored("the service isn't good", En).0 < 0.0);
        // Capitals among lowercase words, and exclamation marks.
        assert!(scored("the service is GOOD", En).0 > base);
        assert_eq!(scored("THE SERVICE IS GOOD", En).0, base);
        assert!(scored("the service is good!!", En).0 > base);
        // "but" shifts the weight to what follows.
        let (mixed, words) = scored("the app is great but the delivery was terrible", En);
        assert!(mixed < 0.0, "{mixed}");
        assert_eq!(words.len(), 2);
        assert_eq!(words[0].0, "great");
        assert!((words[0].1 - 3.1 * 0.5).abs() < 1e-6, "{words:?}");
        assert!((words[1].1 - -2.1 * 1.5).abs() < 1e-6, "{words:?}");
        // No sentiment words, no score.
        assert_eq!(scored("where is my parcel", En), (0.0, vec![]));
    }

    #[test]
    fn other_languages() {
        let cases = [
            ("el servicio es muy malo", Language::Es, -1.0),
            ("no estoy contento", Language::Es, -1.0),
            ("merci beaucoup, c'est parfait", Language::Fr, 1.0),
            ("ce n'est pas bon du tout", Language::Fr, -1.0),
            ("das ist wirklich schrecklich", Language::De, -1.0),
            ("vielen Dank, sehr hilfreich", Language::De, 1.0),
            ("o atendimento foi ótimo, obrigado", Language::Pt, 1.0),
            ("não gostei nada", Language::Pt, -1.0),
            ("grazie mille, perfetto", Language::It, 1.0),
            ("non è utile", Language::It, -1.0),
        ];
        for (text, language, sign) in cases {
            let (score, words) = scored(text, language);
            assert_eq!(score.signum(), sign, "{text}: {score} {words:?}");
        }
    }
}
