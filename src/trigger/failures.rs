//! `failures`: the bot keeps failing the user.
//!
//! ```yaml
//! when: { failures: { consecutive: 3 } }   # three failed turns in a row
//! when: { failures: { total: 4 } }         # four failed turns in all
//! when: { failures: { consecutive: 2, outcomes: [no_match] } }
//! ```
//!
//! A failed turn is one whose `outcome` is `no_match`, `invalid_input` or
//! `no_input`; `outcomes` narrows which count. An `ok` turn ends a run of
//! consecutive failures. Counts start again after a decision that offers
//! or escalates (see `ConversationState`). Every threshold given must hold.

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{Ctx, Explanation};
use crate::compile::Compiler;
use crate::decision::{Evidence, Trigger};
use crate::turn::Outcome;

/// What an author writes under `failures`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FailuresSpec {
    #[schemars(with = "Option<u32>")]
    consecutive: Option<Spanned<u32>>,
    #[schemars(with = "Option<u32>")]
    total: Option<Spanned<u32>>,
    #[schemars(with = "Option<Vec<Outcome>>")]
    outcomes: Option<Spanned<Vec<Outcome>>>,
}

/// A compiled `failures` trigger.
#[derive(Debug)]
pub(crate) struct Failures {
    consecutive: Option<u32>,
    total: Option<u32>,
    outcomes: Vec<Outcome>,
}

impl Failures {
    pub(crate) fn compile(spec: &Spanned<FailuresSpec>, cx: &mut Compiler) -> Option<Failures> {
        let s = &spec.value;
        if s.consecutive.is_none() && s.total.is_none() {
            cx.error_at(
                spec,
                "empty-trigger",
                "`failures` needs `consecutive` or `total`",
            )
            .set_help("write `failures: { consecutive: 3 }` or `failures: { total: 4 }`");
            return None;
        }
        let consecutive = match &s.consecutive {
            Some(c) => Some(cx.history_count(c, "consecutive")?),
            None => None,
        };
        let total = match &s.total {
            Some(t) if t.value == 0 => {
                cx.error_at(t, "out-of-range", "`total` must be at least 1");
                return None;
            }
            Some(t) => Some(t.value),
            None => None,
        };
        let outcomes = match &s.outcomes {
            None => Outcome::FAILURES.to_vec(),
            Some(list) if list.value.is_empty() || list.value.contains(&Outcome::Ok) => {
                cx.error_at(list, "invalid-outcomes", "`outcomes` must list failures")
                    .set_help("use any of `no_match`, `invalid_input`, `no_input`");
                return None;
            }
            Some(list) => list.value.clone(),
        };
        Some(Failures {
            consecutive,
            total,
            outcomes,
        })
    }

    pub(crate) fn check(&self, ctx: &Ctx) -> bool {
        self.consecutive
            .is_none_or(|n| ctx.state.consecutive(&self.outcomes) >= n)
            && self
                .total
                .is_none_or(|n| ctx.state.total(&self.outcomes) >= n)
    }

    pub(crate) fn explain(&self, ctx: &Ctx) -> Explanation {
        let (counted, count, threshold) = match (self.consecutive, self.total) {
            (Some(n), _) => ("consecutive", ctx.state.consecutive(&self.outcomes), n),
            (None, Some(n)) => ("total", ctx.state.total(&self.outcomes), n),
            (None, None) => unreachable!("compile requires consecutive or total"),
        };
        let detail = match counted {
            "consecutive" => format!("{count} failed turns in a row (threshold {threshold})"),
            _ => format!("{count} failed turns in all (threshold {threshold})"),
        };
        Explanation {
            trigger: Trigger::Failures,
            detail,
            evidence: Evidence::Count {
                counted: counted.to_string(),
                count,
                threshold,
            },
        }
    }

    pub(crate) fn summary(&self) -> String {
        match (self.consecutive, self.total) {
            (Some(n), _) => format!("{n} failures in a row"),
            (None, Some(n)) => format!("{n} failures in all"),
            (None, None) => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::tests::{decide, rule_policy};
    use crate::{Action, Outcome, Turn};

    fn turns(outcomes: &[Outcome]) -> Vec<Turn> {
        outcomes
            .iter()
            .map(|&outcome| Turn {
                outcome,
                ..Turn::user("?")
            })
            .collect()
    }

    #[test]
    fn consecutive_total_and_outcome_filters() {
        use Outcome::{InvalidInput as Bad, NoInput as Silent, NoMatch as Miss, Ok};
        let consecutive = rule_policy("{ failures: { consecutive: 3 } }");
        let total = rule_policy("{ failures: { total: 3 } }");
        let misses = rule_policy("{ failures: { consecutive: 2, outcomes: [no_match] } }");
        let cases: &[(&[Outcome], [Action; 3])] = &[
            (
                &[Miss, Miss],
                [Action::None, Action::None, Action::Escalate],
            ),
            (
                &[Miss, Bad, Silent],
                [Action::Escalate, Action::Escalate, Action::None],
            ),
            (
                &[Miss, Ok, Miss, Miss],
                [Action::None, Action::Escalate, Action::Escalate],
            ),
            (
                &[Miss, Miss, Ok],
                [Action::None, Action::None, Action::None],
            ),
            (
                &[Bad, Bad, Miss],
                [Action::Escalate, Action::Escalate, Action::None],
            ),
        ];
        for (outcomes, [want_consecutive, want_total, want_misses]) in cases {
            let turns = turns(outcomes);
            assert_eq!(
                decide(&consecutive, &turns).action,
                *want_consecutive,
                "consecutive {outcomes:?}"
            );
            assert_eq!(
                decide(&total, &turns).action,
                *want_total,
                "total {outcomes:?}"
            );
            assert_eq!(
                decide(&misses, &turns).action,
                *want_misses,
                "misses {outcomes:?}"
            );
        }
    }
}
