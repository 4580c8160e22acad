//! `sentiment`: the user is upset, on this turn or over recent turns.
//!
//! ```yaml
//! when: { sentiment: { below: -0.7 } }                  # this turn
//! when: { sentiment: { mean_below: -0.4, window: 3 } }  # mean of the last 3 scored turns
//! ```
//!
//! Scores run from -1 to 1 (out-of-range scores are clamped). Only turns that
//! have a score count, and this turn must have one.
//!
//! `source` says where a turn's score comes from: `auto` (the default) takes
//! the turn's `sentiment` when the bot sends one and otherwise the built-in
//! scorer's (see `crate::sentiment`), `turn` only the turn's, `builtin` only
//! the scorer's. Every sentiment trigger of a policy names the same source.
//!
//! ```yaml
//! when: { sentiment: { below: -0.5, source: builtin } }
//! ```

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{Ctx, Explanation, num};
use crate::compile::Compiler;
use crate::decision::{Evidence, SentimentWord, Trigger};

/// What an author writes under `sentiment`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SentimentSpec {
    #[schemars(with = "Option<f64>")]
    pub(crate) below: Option<Spanned<f64>>,
    #[schemars(with = "Option<f64>")]
    pub(crate) mean_below: Option<Spanned<f64>>,
    #[schemars(with = "Option<u32>")]
    window: Option<Spanned<u32>>,
    #[schemars(with = "Option<SentimentSource>")]
    pub(crate) source: Option<Spanned<SentimentSource>>,
}

/// Where a turn's sentiment score comes from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum SentimentSource {
    /// The turn's `sentiment` when it has one, else the built-in scorer's.
    #[default]
    Auto,
    /// Only the turn's `sentiment`.
    Turn,
    /// Only the built-in scorer's.
    Builtin,
}

impl SentimentSource {
    /// The name an author writes.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SentimentSource::Auto => "auto",
            SentimentSource::Turn => "turn",
            SentimentSource::Builtin => "builtin",
        }
    }
}

/// A compiled `sentiment` trigger.
#[derive(Debug)]
pub(crate) struct Sentiment {
    below: Option<f64>,
    mean_below: Option<(f64, u32)>,
}

impl Sentiment {
    pub(crate) fn compile(spec: &Spanned<SentimentSpec>, cx: &mut Compiler) -> Option<Sentiment> {
        let s = &spec.value;
        if s.below.is_none() && s.mean_below.is_none() {
            cx.error_at(spec, "empty-trigger", "`sentiment` needs `below` or `mean_below`")
                .set_help("write `sentiment: { below: -0.7 }` or `sentiment: { mean_below: -0.4, window: 3 }`");
            return None;
        }
        if s.window.is_some() != s.mean_below.is_some() {
            cx.error_at(
                spec,
                "missing-field",
                "`mean_below` and `window` go together",
            )
            .set_help("write both, such as `{ mean_below: -0.4, window: 3 }`");
            return None;
        }
        let below = s
            .below
            .as_ref()
            .and_then(|b| cx.signed_unit_interval(b, "below"));
        let mean_below = match (&s.mean_below, &s.window) {
            (Some(mean), Some(window)) => Some((
                cx.signed_unit_interval(mean, "mean_below")?,
                cx.history_count(window, "window")?,
            )),
            _ => None,
        };
        let source = s.source.as_ref().map_or(SentimentSource::Auto, |s| s.value);
        match cx.sentiment_source {
            None => cx.sentiment_source = Some((source, s.source.is_some())),
            Some((first, _)) if first == source => {}
            Some((first, _)) => {
                let message = format!(
                    "this sentiment trigger's source is `{}`, an earlier one's is `{}`",
                    source.as_str(),
                    first.as_str()
                );
                let d = match &s.source {
                    Some(at) => cx.error_at(at, "mixed-sentiment-sources", message),
                    None => cx.error_at(spec, "mixed-sentiment-sources", message),
                };
                d.set_help("every sentiment trigger of a policy reads the same score: give them all the same `source` (`auto` when left out)");
                return None;
            }
        }
        Some(Sentiment { below, mean_below })
    }

    fn mean(&self, ctx: &Ctx, window: u32) -> Option<f64> {
        let recent = ctx.state.recent_sentiment();
        let n = window as usize;
        (recent.len() >= n).then(|| recent[recent.len() - n..].iter().sum::<f64>() / n as f64)
    }

    pub(crate) fn check(&self, ctx: &Ctx) -> bool {
        let Some(score) = ctx.sentiment.score else {
            return false;
        };
        self.below.is_none_or(|below| score < below)
            && self.mean_below.is_none_or(|(threshold, window)| {
                self.mean(ctx, window).is_some_and(|m| m < threshold)
            })
    }

    pub(crate) fn explain(&self, ctx: &Ctx) -> Explanation {
        let score = ctx.sentiment.score.unwrap_or_default();
        let (mut detail, evidence) = match (self.below, self.mean_below) {
            (Some(below), _) => (
                format!("sentiment {} below {}", num(score), num(below)),
                Evidence::Threshold {
                    observed: score,
                    threshold: below,
                    turns: None,
                },
            ),
            (None, Some((threshold, window))) => {
                let mean = self.mean(ctx, window).unwrap_or_default();
                (
                    format!(
                        "mean sentiment {} over the last {window} turns below {}",
                        num(mean),
                        num(threshold)
                    ),
                    Evidence::Threshold {
                        observed: mean,
                        threshold,
                        turns: Some(window),
                    },
                )
            }
            (None, None) => unreachable!("compile requires below or mean_below"),
        };
        let evidence = match (ctx.sentiment.language, evidence) {
            (
                Some(language),
                Evidence::Threshold {
                    observed,
                    threshold,
                    turns,
                },
            ) => {
                let words = builtin_words(ctx, language);
                detail.push_str(&format!(" (built-in scorer, {}", language.as_str()));
                for (i, w) in words.iter().enumerate() {
                    detail.push_str(if i == 0 { ": " } else { ", " });
                    detail.push_str(&format!("\"{}\" {}", w.word, num(w.valence)));
                }
                detail.push(')');
                Evidence::Sentiment {
                    observed,
                    threshold,
                    turns,
                    scorer: "builtin".to_string(),
                    language: language.as_str().to_string(),
                    score,
                    words,
                }
            }
            (_, evidence) => evidence,
        };
        Explanation {
            trigger: Trigger::Sentiment,
            detail,
            evidence,
        }
    }

    pub(crate) fn summary(&self) -> String {
        match (self.below, self.mean_below) {
            (Some(below), _) => format!("sentiment below {}", num(below)),
            (None, Some((mean, window))) => {
                format!("mean sentiment below {} over {window} turns", num(mean))
            }
            (None, None) => String::new(),
        }
    }
}

/// The words that drove the built-in score of this turn, as the user wrote them.
fn builtin_words(ctx: &Ctx, language: crate::sentiment::Language) -> Vec<SentimentWord> {
    let text = ctx.sentiment.text(ctx);
    let mut words = Vec::new();
    crate::sentiment::score(text, &ctx.turn.text, language, |w| words.push(w));
    crate::sentiment::halve_before_but(&mut words, text, language);
    words
        .into_iter()
        .map(|w| {
            let (start, end) = text.original_span(&ctx.turn.text, w.start as usize, w.end as usize);
            SentimentWord {
                word: ctx.turn.text[start..end].to_string(),
                // f32 arithmetic: three decimals are what it holds.
                valence: (f64::from(w.valence) * 1000.0).round() / 1000.0,
                start,
                end,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::tests::{decide, rule_policy};
    use crate::{Action, Evidence, Turn};

    fn turns(scores: &[Option<f64>]) -> Vec<Turn> {
        scores
            .iter()
            .map(|s| Turn {
                sentiment: *s,
                ..Turn::user("x")
            })
            .collect()
    }

    #[test]
    fn single_turn_and_window() {
        let single = rule_policy("{ sentiment: { below: -0.7, source: turn } }");
        let window = rule_policy("{ sentiment: { mean_below: -0.4, window: 3, source: turn } }");
        let cases: &[(&[Option<f64>], Action, Action)] = &[
            (&[Some(-0.8)], Action::Escalate, Action::None),
            (&[Some(-0.7)], Action::None, Action::None),
            (&[Some(-3.0)], Action::Escalate, Action::None),
            (
                &[Some(-0.5), Some(-0.5), Some(-0.5)],
                Action::None,
                Action::Escalate,
            ),
            (&[Some(-0.5), Some(-0.5), None], Action::None, Action::None),
            (
                &[Some(-0.5), None, Some(-0.5), Some(-0.5)],
                Action::None,
                Action::Escalate,
            ),
            (
                &[Some(-0.2), Some(0.9), Some(-0.9)],
                Action::Escalate,
                Action::None,
            ),
        ];
        for (scores, want_single, want_window) in cases {
            let turns = turns(scores);
            assert_eq!(
                decide(&single, &turns).action,
                *want_single,
                "single {scores:?}"
            );
            assert_eq!(
                decide(&window, &turns).action,
                *want_window,
                "window {scores:?}"
            );
        }
        let d = decide(
            &window,
            &turns(&[Some(0.5), Some(-0.5), Some(-0.5), Some(-0.5)]),
        );
        assert_eq!(
            d.reasons[0].evidence,
            Evidence::Threshold {
                observed: -0.5,
                threshold: -0.4,
                turns: Some(3)
            }
        );
    }

    #[test]
    fn sources() {
        let text = |t: &str, sentiment: Option<f64>| Turn {
            sentiment,
            ..Turn::user(t)
        };
        let angry = "this is useless, I'm really angry";
        let auto = rule_policy("{ sentiment: { below: -0.5 } }");
        let builtin = rule_policy("{ sentiment: { below: -0.5, source: builtin } }");
        let given = rule_policy("{ sentiment: { below: -0.5, source: turn } }");
        // (turn, auto, builtin, turn)
        let cases = [
            (
                text(angry, None),
                Action::Escalate,
                Action::Escalate,
                Action::None,
            ),
            (
                text(angry, Some(0.2)),
                Action::None,
                Action::Escalate,
                Action::None,
            ),
            (
                text("thanks, great help", Some(-0.9)),
                Action::Escalate,
                Action::None,
                Action::Escalate,
            ),
            (
                text("where is my parcel", None),
                Action::None,
                Action::None,
                Action::None,
            ),
        ];
        for (turn, want_auto, want_builtin, want_turn) in cases {
            let turns = [turn];
            assert_eq!(
                decide(&auto, &turns).action,
                want_auto,
                "auto {:?}",
                turns[0].text
            );
            assert_eq!(
                decide(&builtin, &turns).action,
                want_builtin,
                "builtin {:?}",
                turns[0].text
            );
            assert_eq!(
                decide(&given, &turns).action,
                want_turn,
                "turn {:?}",
                turns[0].text
            );
        }
        let d = decide(&auto, &[text(angry, None)]);
        let Evidence::Sentiment {
            language,
            words,
            score,
            observed,
            ..
        } = &d.reasons[0].evidence
        else {
            panic!("{:?}", d.reasons[0].evidence)
        };
        assert_eq!(language, "en");
        assert_eq!(score, observed);
        let said: Vec<&str> = words.iter().map(|w| w.word.as_str()).collect();
        assert_eq!(said, ["useless", "angry"]);
        assert_eq!(&angry[words[1].start..words[1].end], "angry");
        assert!(
            d.reasons[0]
                .detail
                .contains("built-in scorer, en: \"useless\""),
            "{}",
            d.reasons[0].detail
        );
        // A locale without a lexicon gets no built-in score.
        let japanese = Turn {
            locale: Some("ja".into()),
            ..text(angry, None)
        };
        assert_eq!(decide(&builtin, &[japanese]).action, Action::None);
        let german = Turn {
            locale: Some("de-AT".into()),
            ..text("Das ist echt schrecklich", None)
        };
        assert_eq!(decide(&builtin, &[german]).action, Action::Escalate);
        // Without a locale, the words say the language: German "die" is
        // an article, not the English verb.
        let untagged = decide(&auto, &[text("Das ist echt schrecklich", None)]);
        let Evidence::Sentiment { language, .. } = &untagged.reasons[0].evidence else {
            panic!("{:?}", untagged.reasons[0].evidence)
        };
        assert_eq!(language, "de");
        let keys = text("ich hab die Schlüssel für die Lieferung verloren", None);
        assert_eq!(decide(&auto, &[keys]).action, Action::None);
    }

    #[test]
    fn sources_must_agree() {
        let yaml = "version: 1\nrules:\n  - { id: a, when: { sentiment: { below: -0.5, source: turn } }, kind: fallback, action: offer }\n  - { id: b, when: { sentiment: { below: -0.8 } }, kind: fallback, action: escalate }\n";
        let err = crate::Engine::from_yaml(yaml).unwrap_err().to_string();
        assert!(
            err.contains("mixed-sentiment-sources") || err.contains("source is `auto`"),
            "{err}"
        );
        assert!(err.contains("an earlier one's is `turn`"), "{err}");
    }
}
