//! `confidence`: the bot's NLU is unsure.
//!
//! ```yaml
//! when: { confidence: { below: 0.4 } }          # this turn's top intent under 0.4
//! when: { confidence: { below: 0.4, for: 2 } }  # ... on each of the last 2 scored turns
//! when: { confidence: { margin: 0.1 } }         # the top two intents closer than 0.1
//! ```
//!
//! Every test given must hold. Only turns that carry a confidence count:
//! a turn without one neither fires nor breaks a streak.

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{Ctx, Explanation, num};
use crate::compile::Compiler;
use crate::decision::{Evidence, Trigger};

/// What an author writes under `confidence`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfidenceSpec {
    #[schemars(with = "Option<f64>")]
    pub(crate) below: Option<Spanned<f64>>,
    #[serde(rename = "for")]
    #[schemars(with = "Option<u32>")]
    turns: Option<Spanned<u32>>,
    #[schemars(with = "Option<f64>")]
    margin: Option<Spanned<f64>>,
}

/// A compiled `confidence` trigger.
#[derive(Debug)]
pub(crate) struct Confidence {
    below: Option<f64>,
    turns: u32,
    margin: Option<f64>,
}

impl Confidence {
    pub(crate) fn compile(spec: &Spanned<ConfidenceSpec>, cx: &mut Compiler) -> Option<Confidence> {
        let s = &spec.value;
        if s.below.is_none() && s.margin.is_none() {
            cx.error_at(
                spec,
                "empty-trigger",
                "`confidence` needs `below` or `margin`",
            )
            .set_help("write `confidence: { below: 0.4 }` or `confidence: { margin: 0.1 }`");
            return None;
        }
        if s.turns.is_some() && s.below.is_none() {
            cx.error_at(
                spec,
                "missing-field",
                "`for` counts turns below a threshold, but `below` is missing",
            )
            .set_help("add `below: 0.4` (or another threshold)");
        }
        let below = s.below.as_ref().and_then(|b| cx.unit_interval(b, "below"));
        let margin = s
            .margin
            .as_ref()
            .and_then(|m| cx.unit_interval(m, "margin"));
        let turns = s
            .turns
            .as_ref()
            .map_or(Some(1), |t| cx.history_count(t, "for"))?;
        Some(Confidence {
            below,
            turns,
            margin,
        })
    }

    pub(crate) fn check(&self, ctx: &Ctx) -> bool {
        if ctx.turn.top_confidence().is_none() && self.below.is_some() {
            return false;
        }
        let below_holds = self.below.is_none_or(|below| {
            let recent = ctx.state.recent_confidence();
            let n = self.turns as usize;
            recent.len() >= n && recent[recent.len() - n..].iter().all(|&c| c < below)
        });
        below_holds
            && self
                .margin
                .is_none_or(|margin| self.observed_margin(ctx).is_some_and(|m| m < margin))
    }

    fn observed_margin(&self, ctx: &Ctx) -> Option<f64> {
        match ctx.turn.top_two_intents() {
            (Some(first), Some(second)) => Some((first.confidence - second.confidence).abs()),
            _ => None,
        }
    }

    pub(crate) fn explain(&self, ctx: &Ctx) -> Explanation {
        let margin = self.margin.map(|margin| {
            let observed = self.observed_margin(ctx).unwrap_or_default();
            let (first, second) = ctx.turn.top_two_intents();
            let name = |i: Option<&crate::Intent>| i.map_or(String::new(), |i| i.name.clone());
            let detail = format!(
                "top intents \"{}\" and \"{}\" only {} apart (margin {})",
                name(first),
                name(second),
                num(observed),
                num(margin)
            );
            (detail, observed, margin)
        });
        let (detail, evidence) = match (self.below, margin) {
            (Some(below), margin) => {
                let observed = ctx.turn.top_confidence().unwrap_or_default();
                let turns = self.turns;
                let mut detail = format!("confidence {} below {}", num(observed), num(below));
                if turns > 1 {
                    detail.push_str(&format!(" on each of the last {turns} scored turns"));
                }
                if let Some((margin_detail, ..)) = margin {
                    detail.push_str(&format!(", and {margin_detail}"));
                }
                let evidence = Evidence::Threshold {
                    observed,
                    threshold: below,
                    turns: (turns > 1).then_some(turns),
                };
                (detail, evidence)
            }
            (None, Some((detail, observed, threshold))) => (
                detail,
                Evidence::Threshold {
                    observed,
                    threshold,
                    turns: None,
                },
            ),
            (None, None) => unreachable!("compile requires below or margin"),
        };
        Explanation {
            trigger: Trigger::Confidence,
            detail,
            evidence,
        }
    }

    pub(crate) fn summary(&self) -> String {
        let mut parts = Vec::new();
        if let Some(below) = self.below {
            parts.push(format!(
                "confidence below {} for {} turns",
                num(below),
                self.turns
            ));
        }
        if let Some(margin) = self.margin {
            parts.push(format!("intent margin below {}", num(margin)));
        }
        parts.join(" and ")
    }
}

#[cfg(test)]
mod tests {
    use crate::tests::{decide, policy_errors, rule_policy};
    use crate::{Action, Intent, Turn};

    fn scored(confidence: Option<f64>) -> Turn {
        Turn {
            intent: confidence.map(|confidence| Intent {
                name: "x".into(),
                confidence,
            }),
            ..Turn::user("hm")
        }
    }

    #[test]
    fn below_for_n_turns() {
        let policy = rule_policy("{ confidence: { below: 0.4, for: 2 } }");
        let cases: &[(&[Option<f64>], Action)] = &[
            (&[Some(0.3)], Action::None),
            (&[Some(0.3), Some(0.2)], Action::Escalate),
            (&[Some(0.3), Some(0.5), Some(0.2)], Action::None),
            (&[Some(0.3), None, Some(0.2)], Action::Escalate),
            (&[Some(0.3), Some(0.2), None], Action::None),
            (&[Some(0.4), Some(0.4)], Action::None),
            (&[Some(-5.0), Some(f64::NAN), Some(0.1)], Action::Escalate),
        ];
        for (confidences, want) in cases {
            let turns: Vec<Turn> = confidences.iter().map(|c| scored(*c)).collect();
            assert_eq!(decide(&policy, &turns).action, *want, "{confidences:?}");
        }
    }

    #[test]
    fn margin_between_top_two() {
        let policy = rule_policy("{ confidence: { margin: 0.1 } }");
        let intents = |a: f64, b: f64| Turn {
            intents: vec![
                Intent {
                    name: "refund".into(),
                    confidence: b,
                },
                Intent {
                    name: "billing".into(),
                    confidence: a,
                },
                Intent {
                    name: "other".into(),
                    confidence: 0.01,
                },
            ],
            ..Turn::user("hm")
        };
        let d = decide(&policy, &[intents(0.31, 0.29)]);
        assert_eq!(d.action, Action::Escalate);
        assert!(
            d.reasons[0].detail.contains("\"billing\" and \"refund\""),
            "{}",
            d.reasons[0].detail
        );
        assert_eq!(decide(&policy, &[intents(0.8, 0.1)]).action, Action::None);
        assert_eq!(decide(&policy, &[scored(Some(0.5))]).action, Action::None);
    }

    #[test]
    fn thresholds_are_checked_at_load() {
        let errors = policy_errors(&crate::tests::rule_yaml(
            "{ confidence: { below: 1.5, for: 0 } }",
        ));
        let codes: Vec<_> = errors.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(codes, ["out-of-range", "out-of-range"]);
        let errors = policy_errors(&crate::tests::rule_yaml("{ confidence: { for: 2 } }"));
        assert_eq!(errors[0].0, "empty-trigger");
    }
}
