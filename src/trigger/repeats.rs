//! `repeats`: the user keeps writing nearly the same thing, a loop no
//! outcome flag reports (the bot answered, but not what was asked).
//!
//! ```yaml
//! when: { repeats: { times: 3, similarity: 0.8 } }            # in the last 10 turns
//! when: { repeats: { times: 2, similarity: 0.9, within: 4 } }
//! ```
//!
//! Fires when this turn and at least `times - 1` of the user's earlier turns
//! among the last `within` (this one included; default and at most
//! [`KEPT`]) are each at least `similarity` (0..1, default 0.8) alike.
//!
//! **Similarity** is the Jaccard index of the two messages' sets of
//! character trigrams, taken from the normalized text with a space at each
//! end (so "where is my order" and "wher is my ordr" share most of theirs:
//! a typo changes three trigrams, not a whole word). Word sets were the
//! other choice; they score a one-letter typo in a four-word message as
//! 0.6 alike, which a threshold cannot tell from another message. Each
//! message is kept as a 256-bit signature of its trigrams (32 bytes in the
//! state, not the text): the similarity is `|a & b| / |a | b|` on the bits,
//! which reads a little high for long messages, whose bits collide more.
//! Messages of fewer than [`MIN_BYTES`] normalized characters ("yes", "ok",
//! "no") never count: they repeat for good reasons.

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{Ctx, Explanation, num};
use crate::compile::Compiler;
use crate::decision::{Evidence, Trigger};
use crate::state::Signature;

/// How many recent user turns' signatures the state keeps.
pub(crate) const KEPT: usize = 10;

/// The shortest normalized message that counts.
pub(crate) const MIN_BYTES: usize = 6;

/// What an author writes under `repeats`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RepeatsSpec {
    #[schemars(with = "u32")]
    times: Spanned<u32>,
    #[schemars(with = "Option<f64>")]
    similarity: Option<Spanned<f64>>,
    #[schemars(with = "Option<u32>")]
    within: Option<Spanned<u32>>,
}

/// A compiled `repeats` trigger.
#[derive(Debug)]
pub(crate) struct Repeats {
    times: u32,
    similarity: f64,
    within: u32,
}

impl Repeats {
    pub(crate) fn compile(spec: &Spanned<RepeatsSpec>, cx: &mut Compiler) -> Option<Repeats> {
        let s = &spec.value;
        let within = s.within.as_ref().map_or(KEPT as u32, |w| w.value);
        if !(2..=KEPT as u32).contains(&within) {
            let at = s.within.as_ref().expect("the default is in range");
            cx.error_at(
                at,
                "out-of-range",
                format!("`within` is {within}, outside 2..={KEPT}"),
            )
            .set_help(format!(
                "the state keeps the last {KEPT} messages; `within: 5` looks at this one and the 4 before"
            ));
            return None;
        }
        if s.times.value < 2 || s.times.value > within {
            cx.error_at(
                &s.times,
                "out-of-range",
                format!(
                    "`times` is {}, outside 2..={within} (`within`)",
                    s.times.value
                ),
            )
            .set_help("a repeat needs at least 2 messages, all within the last `within` turns");
            return None;
        }
        let similarity = match &s.similarity {
            Some(v) if !(v.value > 0.0 && v.value <= 1.0) => {
                cx.error_at(
                    v,
                    "out-of-range",
                    format!("`similarity` is {}, outside 0..1", v.value),
                )
                .set_help("0.8 is usual: 1 is the same words, 0.5 half the letters in common");
                return None;
            }
            Some(v) => v.value,
            None => 0.8,
        };
        cx.repeats = true;
        Some(Repeats {
            times: s.times.value,
            similarity,
            within,
        })
    }

    /// The earlier turns alike enough to this one, with their similarity,
    /// newest first; `each` returns false to stop.
    fn alike(&self, ctx: &Ctx, mut each: impl FnMut(u32, f64) -> bool) {
        let kept = ctx.state.recent_messages();
        let Some((&(turn, now), earlier)) = kept.split_last() else {
            return;
        };
        if turn != ctx.state.turns() {
            return; // this turn was too short to count
        }
        let oldest = turn.saturating_sub(self.within - 1);
        for &(then, signature) in earlier.iter().rev() {
            if then < oldest {
                break;
            }
            let similarity = now.similarity(&signature);
            if similarity >= self.similarity && !each(then, similarity) {
                break;
            }
        }
    }

    pub(crate) fn check(&self, ctx: &Ctx) -> bool {
        let mut found = 1;
        self.alike(ctx, |_, _| {
            found += 1;
            found < self.times
        });
        found >= self.times
    }

    pub(crate) fn explain(&self, ctx: &Ctx) -> Explanation {
        let mut earlier = Vec::new();
        self.alike(ctx, |turn, similarity| {
            earlier.push((turn, similarity));
            true
        });
        earlier.reverse();
        let least = earlier.iter().map(|&(_, s)| s).fold(1.0, f64::min);
        let turns: Vec<String> = earlier.iter().map(|(t, _)| format!("#{t}")).collect();
        let detail = format!(
            "{} messages alike (at least {} similar) in the last {} turns: this one and {}",
            earlier.len() + 1,
            num(least),
            self.within,
            turns.join(", ")
        );
        Explanation {
            trigger: Trigger::Repeats,
            detail,
            evidence: Evidence::Repeats {
                count: earlier.len() as u32 + 1,
                times: self.times,
                threshold: self.similarity,
                earlier: earlier
                    .into_iter()
                    .map(|(turn, similarity)| crate::decision::Repeat {
                        turn,
                        similarity: (similarity * 1000.0).round() / 1000.0,
                    })
                    .collect(),
            },
        }
    }

    pub(crate) fn summary(&self) -> String {
        format!(
            "the same message {} times (similarity {})",
            self.times,
            num(self.similarity)
        )
    }
}

/// The signature of a normalized message, if long enough to count.
pub(crate) fn signature(text: &str) -> Option<Signature> {
    (text.len() >= MIN_BYTES).then(|| Signature::of(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::signature;
    use crate::tests::{decide, rule_policy};
    use crate::text::{Folding, normalize};
    use crate::{Action, Evidence, Turn};

    fn similarity(a: &str, b: &str) -> f64 {
        let (a, b) = (
            normalize(a, Folding::default()),
            normalize(b, Folding::default()),
        );
        signature(&a).unwrap().similarity(&signature(&b).unwrap())
    }

    #[test]
    fn similarity_of_typos_near_misses_and_others() {
        // (a, b, at least, below)
        let cases = [
            ("where is my order", "where is my order", 1.0, 1.01),
            ("where is my order", "Where is my order??", 1.0, 1.01),
            ("where is my order", "where is my ordr", 0.7, 1.0),
            ("where is my order", "wher is my order", 0.75, 1.0),
            ("where is my order", "where's my order", 0.6, 1.0),
            (
                "I want to cancel my subscription",
                "i want to cancel my subscripton",
                0.8,
                1.0,
            ),
            ("where is my order", "where is my refund", 0.3, 0.7),
            ("where is my order", "how do I change my address", 0.0, 0.3),
            ("cancel my order", "don't cancel my order", 0.5, 0.85),
        ];
        for (a, b, low, high) in cases {
            let s = similarity(a, b);
            assert!(s >= low && s < high, "{a:?} ~ {b:?}: {s}");
        }
    }

    #[test]
    fn fires_on_the_third_alike_message() {
        let policy = rule_policy("{ repeats: { times: 3, similarity: 0.75 } }");
        let within = rule_policy("{ repeats: { times: 3, similarity: 0.75, within: 3 } }");
        let turns =
            |texts: &[&str]| -> Vec<Turn> { texts.iter().map(|t| Turn::user(*t)).collect() };
        let order = "where is my order";
        let cases: &[(&[&str], Action, Action)] = &[
            (&[order, order], Action::None, Action::None),
            (&[order, order, order], Action::Escalate, Action::Escalate),
            (
                &["where is my ordr", order, "Where is my order?"],
                Action::Escalate,
                Action::Escalate,
            ),
            (
                &[
                    "wher is my order",
                    "I want a refund",
                    order,
                    "where is my ordr",
                ],
                Action::None,
                Action::None,
            ),
            // Each is alike to the last, but two different typos are not
            // alike to each other (0.63): every earlier message is compared
            // with this one.
            (
                &[order, "wher is my order", "where is my ordr"],
                Action::None,
                Action::None,
            ),
            (
                &[
                    "cancel my order",
                    "cancel my order",
                    "don't cancel my order",
                ],
                Action::None,
                Action::None,
            ),
            (
                &[order, "hello", order, "ok", order],
                Action::Escalate,
                Action::None,
            ),
            (
                &[order, order, "how do I change my address"],
                Action::None,
                Action::None,
            ),
            (
                &[order, "where is my refund", "where is my invoice"],
                Action::None,
                Action::None,
            ),
            (&["yes", "yes", "yes"], Action::None, Action::None),
        ];
        for (texts, want, want_within) in cases {
            let t = turns(texts);
            assert_eq!(decide(&policy, &t).action, *want, "{texts:?}");
            assert_eq!(decide(&within, &t).action, *want_within, "within {texts:?}");
        }
        let d = decide(
            &policy,
            &turns(&[order, "hello", "where is my ordr", order]),
        );
        let Evidence::Repeats { count, earlier, .. } = &d.reasons[0].evidence else {
            panic!("{:?}", d.reasons[0].evidence)
        };
        assert_eq!(*count, 3);
        assert_eq!(earlier.iter().map(|r| r.turn).collect::<Vec<_>>(), [1, 3]);
        assert_eq!(earlier[0].similarity, 1.0);
        assert!(earlier[1].similarity < 1.0);
    }

    #[test]
    fn a_decision_starts_the_count_again() {
        let policy = rule_policy("{ repeats: { times: 2, similarity: 0.8 } }");
        let mut state = crate::ConversationState::new();
        let engine = policy;
        let turn = Turn::user("where is my order");
        assert_eq!(engine.evaluate(&mut state, &turn).action, Action::None);
        assert_eq!(engine.evaluate(&mut state, &turn).action, Action::Escalate);
        assert_eq!(engine.evaluate(&mut state, &turn).action, Action::None);
        assert_eq!(engine.evaluate(&mut state, &turn).action, Action::Escalate);
    }

    #[test]
    fn bad_values_are_located_errors() {
        for (when, says) in [
            ("{ repeats: { times: 1 } }", "`times` is 1"),
            ("{ repeats: { times: 3, within: 11 } }", "`within` is 11"),
            (
                "{ repeats: { times: 4, within: 3 } }",
                "`times` is 4, outside 2..=3",
            ),
            (
                "{ repeats: { times: 3, similarity: 1.5 } }",
                "`similarity` is 1.5",
            ),
        ] {
            let err = crate::Engine::from_yaml(&crate::tests::rule_yaml(when))
                .unwrap_err()
                .to_string();
            assert!(err.contains(says), "{when}: {err}");
        }
    }
}
