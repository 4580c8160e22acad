//! `sentiment`: the user is upset, on this turn or over recent turns.
//!
//! ```yaml
//! when: { sentiment: { below: -0.7 } }                  # this turn
//! when: { sentiment: { mean_below: -0.4, window: 3 } }  # mean of the last 3 scored turns
//! ```
//!
//! Scores run from -1 to 1 (out-of-range scores are clamped). Only turns that
//! carry a sentiment count, and this turn must carry one.

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{Ctx, Explanation, num};
use crate::compile::Compiler;
use crate::decision::{Evidence, Trigger};

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
        Some(Sentiment { below, mean_below })
    }

    fn mean(&self, ctx: &Ctx, window: u32) -> Option<f64> {
        let recent = ctx.state.recent_sentiment();
        let n = window as usize;
        (recent.len() >= n).then(|| recent[recent.len() - n..].iter().sum::<f64>() / n as f64)
    }

    pub(crate) fn check(&self, ctx: &Ctx) -> bool {
        let Some(score) = ctx.turn.sentiment_score() else {
            return false;
        };
        self.below.is_none_or(|below| score < below)
            && self.mean_below.is_none_or(|(threshold, window)| {
                self.mean(ctx, window).is_some_and(|m| m < threshold)
            })
    }

    pub(crate) fn explain(&self, ctx: &Ctx) -> Explanation {
        let score = ctx.turn.sentiment_score().unwrap_or_default();
        let (detail, evidence) = match (self.below, self.mean_below) {
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
        let single = rule_policy("{ sentiment: { below: -0.7 } }");
        let window = rule_policy("{ sentiment: { mean_below: -0.4, window: 3 } }");
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
}
