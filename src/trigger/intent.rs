//! `intent`: the user asked for something, by the bot's NLU.
//!
//! ```yaml
//! when: { intent: [pay_bill, "billing.*"] }                         # a planned escalation
//! when: { intent: { in: ["billing.*"], min_confidence: 0.6 } }      # ... when the NLU is sure
//! when: { intent: { not_in: [track_order, "faq.*"] } }              # the bot's capability list
//! when: { intent: { in: ["billing.*"], not_in: [billing.balance] } } # both must hold
//! ```
//!
//! The top intent is the turn's `intent`, or else the highest of its
//! `intents` (as for `confidence`). Names match letter for letter, ASCII
//! case ignored; `*` in a name stands for any characters (`billing.*`,
//! `*_complaint`), and no other character is special.
//!
//! A turn without an intent, or whose top intent is under `min_confidence`,
//! fires neither form: the NLU has not said what the user wants, which the
//! `confidence` and `failures` triggers are for. So a capability list
//! (`not_in`) fires only on an intent the NLU is sure of and the bot cannot
//! serve.

use std::fmt;
use std::sync::Arc;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use super::{Ctx, Explanation, num};
use crate::compile::Compiler;
use crate::decision::{Evidence, Trigger};
use crate::policy::{span_of, unlocated};

/// Characters other glob dialects give a meaning, refused so that no one
/// writes `pay_bil?` thinking it matches `pay_bill`.
const UNSUPPORTED_GLOB: [char; 5] = ['?', '[', ']', '{', '}'];

/// What an author writes under `intent`: a list (the names that fire), or a
/// map with `in`, `not_in` and `min_confidence`.
#[derive(Debug)]
pub(crate) struct IntentSpec {
    /// Names that fire (the list form, or `in`).
    pub(crate) listed: Option<Spanned<Vec<Spanned<String>>>>,
    /// Names that do not: the bot's capabilities.
    pub(crate) not_in: Option<Spanned<Vec<Spanned<String>>>>,
    /// The least confidence at which the top intent counts.
    pub(crate) min_confidence: Option<Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IntentMap {
    #[serde(rename = "in")]
    listed: Option<Spanned<Vec<Spanned<String>>>>,
    not_in: Option<Spanned<Vec<Spanned<String>>>>,
    min_confidence: Option<Spanned<f64>>,
}

impl<'de> Deserialize<'de> for IntentSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IntentVisitor;

        impl<'de> Visitor<'de> for IntentVisitor {
            type Value = IntentSpec;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a list of intent names, or a map with `in`, `not_in`, `min_confidence`",
                )
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<IntentSpec, A::Error> {
                let mut names = Vec::new();
                while let Some(name) = seq.next_element()? {
                    names.push(name);
                }
                Ok(IntentSpec {
                    listed: Some(unlocated(names)),
                    not_in: None,
                    min_confidence: None,
                })
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<IntentSpec, A::Error> {
                let m = IntentMap::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(IntentSpec {
                    listed: m.listed,
                    not_in: m.not_in,
                    min_confidence: m.min_confidence,
                })
            }
        }

        deserializer.deserialize_any(IntentVisitor)
    }
}

impl schemars::JsonSchema for IntentSpec {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "IntentSpec".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "The turn's top intent: a list of names that fire (`*` stands for any characters), or a map where `in` lists names that fire, `not_in` the bot's capabilities (fires on any other intent), and `min_confidence` the least confidence at which the intent counts. A turn with no intent, or under `min_confidence`, does not fire.",
            "oneOf": [
                { "type": "array", "items": { "type": "string" } },
                {
                    "type": "object",
                    "additionalProperties": false,
                    "properties": {
                        "in": { "type": "array", "items": { "type": "string" } },
                        "not_in": { "type": "array", "items": { "type": "string" } },
                        "min_confidence": { "type": "number", "minimum": 0, "maximum": 1 }
                    }
                }
            ]
        })
    }
}

/// A compiled `intent` trigger.
#[derive(Debug)]
pub(crate) struct IntentMatch {
    listed: Option<Vec<Glob>>,
    not_in: Vec<Glob>,
    min_confidence: Option<f64>,
}

/// An intent name, with `*` standing for any characters.
#[derive(Debug)]
pub(crate) struct Glob {
    source: Arc<str>,
    /// The literal runs between the stars.
    pieces: Vec<Box<str>>,
    starts_with_star: bool,
    ends_with_star: bool,
}

impl Glob {
    /// Reads a name; the problem and its help when it is not one.
    pub(crate) fn parse(source: &str) -> Result<Glob, (String, String)> {
        if source.trim().is_empty() {
            return Err((
                "an empty intent name".to_string(),
                "name an intent, such as `pay_bill`, or `billing.*` for a family".to_string(),
            ));
        }
        if let Some(c) = source.chars().find(|c| UNSUPPORTED_GLOB.contains(c)) {
            return Err((
                format!("intent name `{source}` uses `{c}`, which is not glob syntax here"),
                "only `*` is special: it stands for any characters, as in `billing.*`".to_string(),
            ));
        }
        Ok(Glob {
            source: Arc::from(source),
            pieces: source
                .split('*')
                .filter(|p| !p.is_empty())
                .map(Box::from)
                .collect(),
            starts_with_star: source.starts_with('*'),
            ends_with_star: source.ends_with('*'),
        })
    }

    /// Whether `name` matches, ASCII case ignored. Allocates nothing.
    pub(crate) fn matches(&self, name: &str) -> bool {
        let mut rest = name.as_bytes();
        let last = self.pieces.len().wrapping_sub(1);
        for (i, piece) in self.pieces.iter().enumerate() {
            let piece = piece.as_bytes();
            let anchored_start = i == 0 && !self.starts_with_star;
            let anchored_end = i == last && !self.ends_with_star;
            let at = if anchored_start {
                (rest.len() >= piece.len() && rest[..piece.len()].eq_ignore_ascii_case(piece))
                    .then_some(0)
            } else if anchored_end {
                (rest.len() >= piece.len()
                    && rest[rest.len() - piece.len()..].eq_ignore_ascii_case(piece))
                .then(|| rest.len() - piece.len())
            } else {
                rest.windows(piece.len())
                    .position(|w| w.eq_ignore_ascii_case(piece))
            };
            let Some(at) = at else { return false };
            rest = &rest[at + piece.len()..];
            if anchored_start && anchored_end && !rest.is_empty() {
                return false;
            }
        }
        // A name without stars was matched whole above; stars alone match anything.
        true
    }

    /// Whether every name this glob matches, `other` matches too (judged
    /// on the glob's shape: a literal name, or a prefix or suffix family).
    pub(crate) fn within(&self, other: &Glob) -> bool {
        if other.pieces.is_empty() {
            return true;
        }
        if self.pieces.is_empty() {
            return false;
        }
        if !self.source.contains('*') {
            return other.matches(&self.source);
        }
        // `billing.card.*` is within `billing.*`, `*_late_fee` within `*_fee`.
        let (a, b) = (&self.source, &other.source);
        match (
            other.pieces.len(),
            other.starts_with_star,
            other.ends_with_star,
        ) {
            (1, false, true) => {
                !self.starts_with_star
                    && a.to_ascii_lowercase()
                        .starts_with(&b[..b.len() - 1].to_ascii_lowercase())
            }
            (1, true, false) => {
                !self.ends_with_star
                    && a.to_ascii_lowercase()
                        .ends_with(&b[1..].to_ascii_lowercase())
            }
            _ => a.eq_ignore_ascii_case(b),
        }
    }
}

impl IntentMatch {
    pub(crate) fn compile(spec: &Spanned<IntentSpec>, cx: &mut Compiler) -> Option<IntentMatch> {
        let s = &spec.value;
        if s.listed.is_none() && s.not_in.is_none() {
            cx.error_at(spec, "empty-trigger", "`intent` needs `in` or `not_in`")
                .set_help(
                    "write `intent: [pay_bill]` or `intent: { not_in: [track_order, \"faq.*\"] }`",
                );
            return None;
        }
        let listed = s.listed.as_ref().map(|l| globs(spec, l, "in", cx));
        let not_in = s.not_in.as_ref().map(|l| globs(spec, l, "not_in", cx));
        let min_confidence = match &s.min_confidence {
            Some(min) => Some(cx.unit_interval(min, "min_confidence")?),
            None => None,
        };
        Some(IntentMatch {
            listed: match listed {
                Some(globs) => Some(globs?),
                None => None,
            },
            not_in: match not_in {
                Some(globs) => globs?,
                None => Vec::new(),
            },
            min_confidence,
        })
    }

    /// The top intent, when it counts: named, and at `min_confidence` or more.
    fn top<'t>(&self, ctx: &Ctx<'t>) -> Option<&'t crate::Intent> {
        let intent = ctx.turn.top_intent().filter(|i| !i.name.is_empty())?;
        match self.min_confidence {
            Some(min) => ctx
                .turn
                .top_confidence()
                .filter(|&c| c >= min)
                .map(|_| intent),
            None => Some(intent),
        }
    }

    fn listed_by(&self, name: &str) -> Option<&Glob> {
        self.listed.as_ref()?.iter().find(|g| g.matches(name))
    }

    pub(crate) fn check(&self, ctx: &Ctx) -> bool {
        let Some(intent) = self.top(ctx) else {
            return false;
        };
        (self.listed.is_none() || self.listed_by(&intent.name).is_some())
            && !self.not_in.iter().any(|g| g.matches(&intent.name))
    }

    pub(crate) fn explain(&self, ctx: &Ctx) -> Explanation {
        let intent = self.top(ctx).map_or("", |i| i.name.as_str());
        let confidence = ctx.turn.top_confidence();
        let matched = self.listed_by(intent).map(|g| g.source.clone());
        let mut detail = format!("top intent \"{intent}\"");
        if let Some(c) = confidence {
            detail.push_str(&format!(" ({})", num(c)));
        }
        match &matched {
            Some(glob) if **glob == *intent => detail.push_str(" is listed"),
            Some(glob) => detail.push_str(&format!(" matches \"{glob}\"")),
            None => {}
        }
        if !self.not_in.is_empty() {
            detail.push_str(if matched.is_some() { " and" } else { "" });
            detail.push_str(" is not one the bot handles");
        }
        Explanation {
            trigger: Trigger::Intent,
            detail,
            evidence: Evidence::Intent {
                intent: intent.to_string(),
                confidence,
                matched,
            },
        }
    }

    pub(crate) fn summary(&self) -> String {
        let names = |globs: &[Glob]| {
            globs
                .iter()
                .map(|g| &*g.source)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut parts = Vec::new();
        if let Some(listed) = &self.listed {
            parts.push(format!("intent in [{}]", names(listed)));
        }
        if !self.not_in.is_empty() {
            parts.push(format!("intent not in [{}]", names(&self.not_in)));
        }
        let mut summary = parts.join(" and ");
        if let Some(min) = self.min_confidence {
            summary.push_str(&format!(" at confidence {} or more", num(min)));
        }
        summary
    }
}

/// The names of an `intent` trigger (in rule `rule`) that can never fire,
/// each with where it is, what is wrong and the help: a name with spaces
/// at its ends, an `in` name the same trigger's `not_in` excludes, a `not_in`
/// of `*`. For `crate::lint`.
pub(crate) fn never_matching<'s>(
    spec: &'s IntentSpec,
    rule: &str,
) -> Vec<(&'s Spanned<String>, String, String)> {
    let parsed =
        |list: &'s Option<Spanned<Vec<Spanned<String>>>>| -> Vec<(&'s Spanned<String>, Glob)> {
            list.iter()
                .flat_map(|l| &l.value)
                .filter_map(|entry| Glob::parse(&entry.value).ok().map(|glob| (entry, glob)))
                .collect()
        };
    let (listed, not_in) = (parsed(&spec.listed), parsed(&spec.not_in));
    let mut found = Vec::new();
    for (entry, _) in listed.iter().chain(&not_in) {
        if entry.value.trim() != entry.value {
            found.push((
                *entry,
                format!(
                    "intent name `{}` has spaces at its ends, so rule `{rule}` never matches it",
                    entry.value
                ),
                "intent names are compared letter for letter: remove the spaces".to_string(),
            ));
        }
    }
    for (entry, glob) in &listed {
        if let Some((excluded_by, _)) = not_in.iter().find(|(_, n)| glob.within(n)) {
            let what = if entry.value.contains('*') {
                format!("every intent `{}` matches is in `not_in`", entry.value)
            } else {
                format!("intent `{}` is in `not_in` too", entry.value)
            };
            found.push((
                *entry,
                format!(
                    "{what} (`{}`), so rule `{rule}` never fires on it",
                    excluded_by.value
                ),
                "`not_in` removes names from `in`: narrow it, or remove the name from `in`"
                    .to_string(),
            ));
        }
    }
    if let Some((entry, _)) = not_in.iter().find(|(_, g)| g.pieces.is_empty()) {
        found.push((
            *entry,
            format!("`not_in` lists `*`, every intent, so rule `{rule}` never fires"),
            "list the intents the bot handles, such as `[track_order, \"faq.*\"]`".to_string(),
        ));
    }
    found
}

/// Compiles a list of intent names; `None` when it had errors (reported).
fn globs(
    spec: &Spanned<IntentSpec>,
    list: &Spanned<Vec<Spanned<String>>>,
    name: &str,
    cx: &mut Compiler,
) -> Option<Vec<Glob>> {
    if list.value.is_empty() {
        // The list form has no span of its own: it is the whole trigger.
        let located = span_of(list).1 > 0;
        let name = if located { name } else { "intent" };
        let message = format!("`{name}` lists no intent names");
        let diagnostic = if located {
            cx.error_at(list, "empty-list", message)
        } else {
            cx.error_at(spec, "empty-list", message)
        };
        diagnostic.set_help("list intent names, such as `[pay_bill, \"billing.*\"]`");
        return None;
    }
    let mut out = Vec::new();
    let mut ok = true;
    for entry in &list.value {
        match Glob::parse(&entry.value) {
            Ok(glob) => out.push(glob),
            Err((message, help)) => {
                cx.error_at(entry, "invalid-intent", message).set_help(help);
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::Glob;
    use crate::tests::{decide, policy_errors, rule_policy, rule_yaml};
    use crate::{Action, Evidence, Intent, Trigger, Turn};

    fn asked(intent: Option<(&str, f64)>) -> Turn {
        Turn {
            intent: intent.map(|(name, confidence)| Intent {
                name: name.into(),
                confidence,
            }),
            ..Turn::user("hm")
        }
    }

    #[test]
    fn globs_match_names() {
        let cases: &[(&str, &str, bool)] = &[
            ("pay_bill", "pay_bill", true),
            ("pay_bill", "PAY_BILL", true),
            ("pay_bill", "pay_bills", false),
            ("pay_bill", "xpay_bill", false),
            ("billing.*", "billing.dispute", true),
            ("billing.*", "billing.", true),
            ("billing.*", "billing", false),
            ("billing.*", "re.billing.x", false),
            ("*_complaint", "fee_complaint", true),
            ("*_complaint", "fee_complaint.x", false),
            ("*", "anything", true),
            ("a*b*c", "abc", true),
            ("a*b*c", "a-b-b-c", true),
            ("a*b*c", "a-c-b", false),
            ("a*a", "a", false),
            ("a*a", "aa", true),
            ("*refund*", "partial_refund_request", true),
            ("faq.*.hours", "faq.store.hours", true),
            ("faq.*.hours", "faq.hours", false),
        ];
        for (glob, name, want) in cases {
            assert_eq!(
                Glob::parse(glob).unwrap().matches(name),
                *want,
                "{glob} ~ {name}"
            );
        }
    }

    #[test]
    fn within_judges_literal_and_family_globs() {
        let within = |a: &str, b: &str| Glob::parse(a).unwrap().within(&Glob::parse(b).unwrap());
        assert!(within("billing.balance", "billing.*"));
        assert!(within("billing.card.*", "billing.*"));
        assert!(within("late_fee", "*_fee"));
        assert!(within("anything", "*"));
        assert!(!within("billing.*", "billing.balance"));
        assert!(!within("*.card", "billing.*"));
        assert!(!within("refund", "billing.*"));
    }

    #[test]
    fn listed_and_capability_lists() {
        let listed = rule_policy(r#"{ intent: [pay_bill, "billing.*"] }"#);
        let sure = rule_policy(r#"{ intent: { in: [pay_bill], min_confidence: 0.6 } }"#);
        let capabilities = rule_policy(r#"{ intent: { not_in: [track_order, "faq.*"] } }"#);
        let sure_capabilities =
            rule_policy(r#"{ intent: { not_in: [track_order], min_confidence: 0.5 } }"#);
        let both = rule_policy(r#"{ intent: { in: ["billing.*"], not_in: [billing.balance] } }"#);
        use Action::{Escalate as E, None as N};
        type Case<'a> = (Option<(&'a str, f64)>, [Action; 5]);
        let cases: &[Case] = &[
            (Some(("pay_bill", 0.9)), [E, E, E, E, N]),
            (Some(("pay_bill", 0.3)), [E, N, E, N, N]),
            (Some(("billing.dispute", 0.9)), [E, N, E, E, E]),
            (Some(("billing.balance", 0.9)), [E, N, E, E, N]),
            (Some(("track_order", 0.9)), [N, N, N, N, N]),
            (Some(("faq.hours", 0.9)), [N, N, N, E, N]),
            (Some(("track_order", 0.2)), [N, N, N, N, N]),
            (Some(("cancel_contract", 0.2)), [N, N, E, N, N]),
            (Some(("", 0.9)), [N, N, N, N, N]),
            (Some(("pay_bill", f64::NAN)), [E, N, E, N, N]),
            (None, [N, N, N, N, N]),
        ];
        for (intent, want) in cases {
            let turn = asked(*intent);
            let got = [&listed, &sure, &capabilities, &sure_capabilities, &both]
                .map(|engine| decide(engine, std::slice::from_ref(&turn)).action);
            assert_eq!(got, *want, "{intent:?}");
        }
    }

    #[test]
    fn the_top_of_intents_counts_when_intent_is_absent() {
        let policy = rule_policy(r#"{ intent: { not_in: [track_order] } }"#);
        let ranked = |first: &str| Turn {
            intents: vec![
                Intent {
                    name: "track_order".into(),
                    confidence: 0.4,
                },
                Intent {
                    name: first.into(),
                    confidence: 0.5,
                },
            ],
            ..Turn::user("hm")
        };
        assert_eq!(
            decide(&policy, &[ranked("refund")]).action,
            Action::Escalate
        );
        assert_eq!(
            decide(&policy, &[ranked("track_order")]).action,
            Action::None
        );
    }

    #[test]
    fn evidence_gives_the_intent_and_its_confidence() {
        let cases = [
            (
                r#"{ intent: [pay_bill] }"#,
                "pay_bill",
                "top intent \"pay_bill\" (0.92) is listed",
                Some("pay_bill"),
            ),
            (
                r#"{ intent: ["billing.*"] }"#,
                "billing.pay",
                "top intent \"billing.pay\" (0.92) matches \"billing.*\"",
                Some("billing.*"),
            ),
            (
                r#"{ intent: { not_in: [track_order] } }"#,
                "refund",
                "top intent \"refund\" (0.92) is not one the bot handles",
                None,
            ),
        ];
        for (when, name, detail, matched) in cases {
            let d = decide(&rule_policy(when), &[asked(Some((name, 0.92)))]);
            let reason = &d.reasons[0];
            assert_eq!(reason.trigger, Trigger::Intent);
            assert_eq!(reason.detail, detail);
            assert_eq!(
                reason.evidence,
                Evidence::Intent {
                    intent: name.to_string(),
                    confidence: Some(0.92),
                    matched: matched.map(Into::into),
                }
            );
        }
        let d = decide(
            &rule_policy(r#"{ not: { intent: { not_in: [a, "b.*"], min_confidence: 0.5 } } }"#),
            &[asked(None)],
        );
        assert_eq!(
            d.reasons[0].detail,
            "not (intent not in [a, b.*] at confidence 0.5 or more)"
        );
    }

    #[test]
    fn bad_intent_lists_are_located_errors() {
        let cases = [
            ("{ intent: [] }", "empty-list", 3, 30),
            ("{ intent: { not_in: [] } }", "empty-list", 3, 40),
            (
                "{ intent: { min_confidence: 0.5 } }",
                "empty-trigger",
                3,
                30,
            ),
            ("{ intent: [pay_bil?] }", "invalid-intent", 3, 31),
            ("{ intent: [\"billing.{a,b}\"] }", "invalid-intent", 3, 31),
            ("{ intent: [\" \"] }", "invalid-intent", 3, 31),
            (
                "{ intent: { in: [a], min_confidence: 1.5 } }",
                "out-of-range",
                3,
                57,
            ),
        ];
        for (when, code, line, column) in cases {
            let errors = policy_errors(&rule_yaml(when));
            assert_eq!(errors.len(), 1, "{when}: {errors:?}");
            assert_eq!(
                (errors[0].0.as_str(), errors[0].1, errors[0].2),
                (code, line, column),
                "{when}"
            );
            assert!(errors[0].3.is_some(), "{when} has no help");
        }
    }

    #[test]
    fn names_that_never_fire_are_warned_about() {
        let cases: &[(&str, &[(usize, &str)])] = &[
            (r#"{ intent: [pay_bill, "billing.*"] }"#, &[]),
            (
                r#"{ intent: { in: ["billing.*"], not_in: [billing.balance] } }"#,
                &[],
            ),
            (
                r#"{ intent: { in: [billing.balance, "billing.card.*", refund], not_in: ["billing.*"] } }"#,
                &[(37, "`billing.balance`"), (54, "`billing.card.*`")],
            ),
            (
                r#"{ intent: { not_in: [track_order, "*"] } }"#,
                &[(54, "lists `*`")],
            ),
            (
                r#"{ intent: ["pay_bill "] }"#,
                &[(31, "spaces at its ends")],
            ),
        ];
        for (when, want) in cases {
            let engine = crate::tests::engine(&rule_yaml(when));
            let got: Vec<(usize, String)> = engine
                .warnings()
                .map(|w| (w.column(), w.message().to_string()))
                .collect();
            assert_eq!(got.len(), want.len(), "{when}: {got:?}");
            for ((column, message), (want_column, want_part)) in got.iter().zip(want.iter()) {
                assert_eq!(column, want_column, "{when}: {message}");
                assert!(message.contains(want_part), "{when}: {message}");
            }
            assert!(engine.warnings().all(|w| w.code() == "never-fires"));
        }
    }
}
