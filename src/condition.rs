//! Conditions: triggers combined with `all`, `any` and `not`.
//!
//! A `when` map holds one or more keys; several keys must all hold, as if
//! listed under `all`. Combinators nest.
//!
//! ```yaml
//! when:
//!   any:
//!     - { sentiment: { below: -0.7 } }
//!     - all: [ { script: 'attributes.tier == "gold"' }, { failures: { total: 2 } } ]
//!     - { confidence: { below: 0.3 }, not: { menu: [help] } }
//! ```

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::compile::Compiler;
use crate::decision::{Evidence, Reason};
use crate::phrases::{SetId, Whole};
use crate::policy::PhraseList;
use crate::trigger::confidence::{Confidence, ConfidenceSpec};
use crate::trigger::failures::{Failures, FailuresSpec};
use crate::trigger::intent::{IntentMatch, IntentSpec};
use crate::trigger::keyword::Keyword;
use crate::trigger::menu::Menu;
use crate::trigger::repeats::{Repeats, RepeatsSpec};
use crate::trigger::script::Script;
use crate::trigger::sentiment::{Sentiment, SentimentSpec};
use crate::trigger::topic::{Topic, TopicRef};
use crate::trigger::{Ctx, EvidenceUsed, Explanation, Leaf};

/// What an author writes under `when` (and inside `all`, `any`, `not`).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConditionSpec {
    #[schemars(with = "Option<Vec<String>>")]
    menu: Option<Spanned<Vec<Spanned<String>>>>,
    #[schemars(with = "Option<PhraseList>")]
    keywords: Option<Spanned<PhraseList>>,
    #[schemars(with = "Option<PhraseList>")]
    whole_message: Option<Spanned<PhraseList>>,
    #[schemars(with = "Option<PhraseList>")]
    whole_sentence: Option<Spanned<PhraseList>>,
    #[schemars(with = "Option<PhraseList>")]
    last_clause: Option<Spanned<PhraseList>>,
    #[schemars(with = "Option<String>")]
    topic: Option<Spanned<String>>,
    #[schemars(with = "Option<ConfidenceSpec>")]
    confidence: Option<Spanned<ConfidenceSpec>>,
    #[schemars(with = "Option<IntentSpec>")]
    intent: Option<Spanned<IntentSpec>>,
    #[schemars(with = "Option<SentimentSpec>")]
    sentiment: Option<Spanned<SentimentSpec>>,
    #[schemars(with = "Option<FailuresSpec>")]
    failures: Option<Spanned<FailuresSpec>>,
    #[schemars(with = "Option<RepeatsSpec>")]
    repeats: Option<Spanned<RepeatsSpec>>,
    #[schemars(with = "Option<String>")]
    script: Option<Spanned<String>>,
    #[schemars(with = "Option<Vec<ConditionSpec>>")]
    all: Option<Spanned<Vec<Spanned<ConditionSpec>>>>,
    #[schemars(with = "Option<Vec<ConditionSpec>>")]
    any: Option<Spanned<Vec<Spanned<ConditionSpec>>>>,
    #[schemars(with = "Option<Box<ConditionSpec>>")]
    not: Option<Box<Spanned<ConditionSpec>>>,
}

/// A trigger as written, for the checks that look at a policy as a whole
/// (`crate::lint`).
pub(crate) enum LeafSpec<'s> {
    Menu(&'s Spanned<Vec<Spanned<String>>>),
    Keywords(&'s Spanned<PhraseList>),
    WholeMessage(&'s Spanned<PhraseList>),
    WholeSentence(&'s Spanned<PhraseList>),
    LastClause(&'s Spanned<PhraseList>),
    Topic(&'s Spanned<String>),
    Confidence(&'s Spanned<ConfidenceSpec>),
    Intent(&'s Spanned<IntentSpec>),
    Sentiment(&'s Spanned<SentimentSpec>),
    Other,
}

impl ConditionSpec {
    /// Calls `f` with every trigger, however deeply nested.
    pub(crate) fn visit<'s>(&'s self, f: &mut impl FnMut(LeafSpec<'s>)) {
        for leaf in self.leaves() {
            f(leaf);
        }
        for list in [&self.all, &self.any].into_iter().flatten() {
            list.value.iter().for_each(|c| c.value.visit(f));
        }
        if let Some(inner) = &self.not {
            inner.value.visit(f);
        }
    }

    /// The one trigger of a condition that is nothing else, if it is.
    pub(crate) fn single_leaf(&self) -> Option<LeafSpec<'_>> {
        let nested = self.all.is_some() || self.any.is_some() || self.not.is_some();
        let mut leaves = self.leaves();
        match (leaves.next(), leaves.next(), nested) {
            (Some(leaf), None, false) => Some(leaf),
            _ => None,
        }
    }

    fn leaves(&self) -> impl Iterator<Item = LeafSpec<'_>> {
        [
            self.menu.as_ref().map(LeafSpec::Menu),
            self.keywords.as_ref().map(LeafSpec::Keywords),
            self.whole_message.as_ref().map(LeafSpec::WholeMessage),
            self.whole_sentence.as_ref().map(LeafSpec::WholeSentence),
            self.last_clause.as_ref().map(LeafSpec::LastClause),
            self.topic.as_ref().map(LeafSpec::Topic),
            self.confidence.as_ref().map(LeafSpec::Confidence),
            self.intent.as_ref().map(LeafSpec::Intent),
            self.sentiment.as_ref().map(LeafSpec::Sentiment),
            self.failures.as_ref().map(|_| LeafSpec::Other),
            self.repeats.as_ref().map(|_| LeafSpec::Other),
            self.script.as_ref().map(|_| LeafSpec::Other),
        ]
        .into_iter()
        .flatten()
    }
}

/// A compiled condition.
#[derive(Debug)]
pub(crate) enum Condition {
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Not(Box<Condition>),
    Leaf(Leaf),
}

impl Condition {
    /// Compiles a `when` map; `None` when it had errors (already reported).
    pub(crate) fn compile(spec: &Spanned<ConditionSpec>, cx: &mut Compiler) -> Option<Condition> {
        let s = &spec.value;
        let mut parts: Vec<Option<Condition>> = Vec::new();
        let leaf = |l: Option<Leaf>| l.map(Condition::Leaf);
        if let Some(menu) = &s.menu {
            parts.push(leaf(Menu::compile(menu, cx).map(Leaf::Menu)));
        }
        for (list, whole) in [
            (&s.keywords, Whole::Anywhere),
            (&s.whole_message, Whole::Message),
            (&s.whole_sentence, Whole::Sentence),
            (&s.last_clause, Whole::LastClause),
        ] {
            if let Some(list) = list {
                parts.push(leaf(Keyword::compile(list, whole, cx).map(Leaf::Keyword)));
            }
        }
        if let Some(name) = &s.topic {
            parts.push(leaf(TopicRef::compile(name, cx).map(Leaf::Topic)));
        }
        if let Some(c) = &s.confidence {
            parts.push(leaf(Confidence::compile(c, cx).map(Leaf::Confidence)));
        }
        if let Some(c) = &s.intent {
            parts.push(leaf(IntentMatch::compile(c, cx).map(Leaf::Intent)));
        }
        if let Some(c) = &s.sentiment {
            parts.push(leaf(Sentiment::compile(c, cx).map(Leaf::Sentiment)));
        }
        if let Some(c) = &s.failures {
            parts.push(leaf(Failures::compile(c, cx).map(Leaf::Failures)));
        }
        if let Some(c) = &s.repeats {
            parts.push(leaf(Repeats::compile(c, cx).map(Leaf::Repeats)));
        }
        if let Some(c) = &s.script {
            parts.push(leaf(Script::compile(c, cx).map(Leaf::Script)));
        }
        if let Some(list) = &s.all {
            parts
                .push(Self::compile_list(list, "all", cx).map(|p| Condition::All(scripts_last(p))));
        }
        if let Some(list) = &s.any {
            parts
                .push(Self::compile_list(list, "any", cx).map(|p| Condition::Any(scripts_last(p))));
        }
        if let Some(inner) = &s.not {
            parts.push(Self::compile(inner, cx).map(|c| Condition::Not(Box::new(c))));
        }
        if parts.is_empty() {
            cx.error_at(spec, "empty-condition", "this condition is empty")
                .set_help("give a trigger such as `keywords: [...]`, or combine conditions with `all`, `any` or `not`");
            return None;
        }
        let mut parts: Vec<Condition> = parts.into_iter().collect::<Option<_>>()?;
        Some(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Condition::All(scripts_last(parts))
        })
    }

    fn compile_list(
        list: &Spanned<Vec<Spanned<ConditionSpec>>>,
        name: &str,
        cx: &mut Compiler,
    ) -> Option<Vec<Condition>> {
        if list.value.is_empty() {
            cx.error_at(list, "empty-list", format!("`{name}` lists no conditions"))
                .set_help(format!(
                    "write `{name}: [ {{ ... }}, {{ ... }} ]` with at least one condition"
                ));
            return None;
        }
        let compiled: Vec<Option<Condition>> =
            list.value.iter().map(|c| Self::compile(c, cx)).collect();
        compiled.into_iter().collect()
    }

    /// Whether the condition holds; allocates nothing unless a script fails.
    /// Inlined: most rules are one trigger, checked without a call.
    #[inline(always)]
    pub(crate) fn check(&self, ctx: &Ctx, errors: &mut Vec<String>) -> bool {
        match self {
            Condition::Leaf(leaf) => leaf.check(ctx, errors),
            composite => composite.check_parts(ctx, errors),
        }
    }

    #[inline(never)]
    fn check_parts(&self, ctx: &Ctx, errors: &mut Vec<String>) -> bool {
        match self {
            Condition::All(parts) => parts.iter().all(|c| c.check(ctx, errors)),
            Condition::Any(parts) => parts.iter().any(|c| c.check(ctx, errors)),
            Condition::Not(inner) => !inner.check(ctx, errors),
            Condition::Leaf(leaf) => leaf.check(ctx, errors),
        }
    }

    /// The triggers that made a holding condition hold, in order, each
    /// made a reason by `reason` and pushed onto `out`: every part of an
    /// `all` and the first holding part of an `any`. A `not` is reported (as
    /// what did not happen) only when nothing else is.
    pub(crate) fn explain(
        &self,
        ctx: &Ctx,
        out: &mut Vec<Reason>,
        reason: &impl Fn(Explanation) -> Reason,
    ) {
        let before = out.len();
        let mut negations = Vec::new();
        self.explain_parts(ctx, out, &mut negations, reason);
        if out.len() == before {
            out.extend(negations.into_iter().map(reason));
        }
    }

    fn explain_parts(
        &self,
        ctx: &Ctx,
        out: &mut Vec<Reason>,
        negations: &mut Vec<Explanation>,
        reason: &impl Fn(Explanation) -> Reason,
    ) {
        match self {
            Condition::All(parts) => parts
                .iter()
                .for_each(|c| c.explain_parts(ctx, out, negations, reason)),
            Condition::Any(parts) => {
                if let Some(first) = parts.iter().find(|c| c.check(ctx, &mut Vec::new())) {
                    first.explain_parts(ctx, out, negations, reason);
                }
            }
            Condition::Not(inner) => {
                let summary = inner.summary();
                negations.push(Explanation {
                    trigger: inner.first_leaf().trigger(),
                    detail: format!("not ({summary})"),
                    evidence: Evidence::Not { not: summary },
                });
            }
            Condition::Leaf(leaf) => out.extend(leaf.explain(ctx).map(reason)),
        }
    }

    fn summary(&self) -> String {
        let join = |parts: &[Condition], sep: &str| {
            parts
                .iter()
                .map(Condition::summary)
                .collect::<Vec<_>>()
                .join(sep)
        };
        match self {
            Condition::All(parts) => join(parts, " and "),
            Condition::Any(parts) => join(parts, " or "),
            Condition::Not(inner) => format!("not ({})", inner.summary()),
            Condition::Leaf(leaf) => leaf.summary(),
        }
    }

    fn first_leaf(&self) -> &Leaf {
        match self {
            Condition::All(parts) | Condition::Any(parts) => parts[0].first_leaf(),
            Condition::Not(inner) => inner.first_leaf(),
            Condition::Leaf(leaf) => leaf,
        }
    }

    /// A phrase set that must have a hit for the condition to hold, if there
    /// is one: a `keywords`, `whole_message` or `topic` trigger, alone or in
    /// a top-level `all`. Lets a rule be skipped without walking its tree.
    pub(crate) fn required_set(&self, topics: &[Topic]) -> Option<SetId> {
        match self {
            Condition::Leaf(Leaf::Keyword(k)) => Some(k.set()),
            Condition::Leaf(Leaf::Topic(t)) => Some(t.set(topics)),
            Condition::All(parts) => parts.iter().find_map(|p| p.required_set(topics)),
            _ => None,
        }
    }

    /// The counted evidence any trigger of the condition relies on.
    pub(crate) fn evidence_used(&self) -> EvidenceUsed {
        match self {
            Condition::All(parts) | Condition::Any(parts) => {
                parts.iter().fold(EvidenceUsed::default(), |acc, c| {
                    acc.union(c.evidence_used())
                })
            }
            Condition::Not(inner) => inner.evidence_used(),
            Condition::Leaf(leaf) => leaf.evidence_used(),
        }
    }

    /// Whether any trigger in the condition is a script.
    pub(crate) fn uses_scripts(&self) -> bool {
        match self {
            Condition::All(parts) | Condition::Any(parts) => {
                parts.iter().any(Condition::uses_scripts)
            }
            Condition::Not(inner) => inner.uses_scripts(),
            Condition::Leaf(leaf) => matches!(leaf, Leaf::Script(_)),
        }
    }
}

/// Orders the branches of an `all` or `any` so that branches with scripts
/// come last: the answer is the same, and cheap comparisons short-circuit
/// before a script runs.
fn scripts_last(mut parts: Vec<Condition>) -> Vec<Condition> {
    parts.sort_by_key(Condition::uses_scripts);
    parts
}

#[cfg(test)]
mod tests {
    use crate::tests::{decide, policy_errors, rule_policy, rule_yaml};
    use crate::{Action, Outcome, Trigger, Turn};

    #[test]
    fn combinators_table() {
        let human = Turn::user("a real person please");
        let failing = Turn {
            outcome: Outcome::NoMatch,
            ..Turn::user("blah")
        };
        let failing_human = Turn {
            outcome: Outcome::NoMatch,
            ..Turn::user("real person")
        };
        let kw = r#"{ keywords: ["real person"] }"#;
        let fail = "{ failures: { total: 1 } }";
        let cases = [
            (format!("{{ all: [{kw}, {fail}] }}"), &human, Action::None),
            (
                format!("{{ all: [{kw}, {fail}] }}"),
                &failing_human,
                Action::Escalate,
            ),
            (
                format!("{{ any: [{kw}, {fail}] }}"),
                &human,
                Action::Escalate,
            ),
            (
                format!("{{ any: [{kw}, {fail}] }}"),
                &failing,
                Action::Escalate,
            ),
            (format!("{{ not: {kw} }}"), &human, Action::None),
            (format!("{{ not: {kw} }}"), &failing, Action::Escalate),
            (
                "{ keywords: [\"real person\"], failures: { total: 1 } }".to_string(),
                &human,
                Action::None,
            ),
            (
                "{ keywords: [\"real person\"], failures: { total: 1 } }".to_string(),
                &failing_human,
                Action::Escalate,
            ),
            (
                format!("{{ any: [ {{ all: [{kw}, {{ not: {fail} }}] }}, {{ menu: [x] }} ] }}"),
                &human,
                Action::Escalate,
            ),
            (
                format!("{{ any: [ {{ all: [{kw}, {{ not: {fail} }}] }}, {{ menu: [x] }} ] }}"),
                &failing_human,
                Action::None,
            ),
        ];
        for (when, turn, want) in cases {
            let d = decide(&rule_policy(&when), std::slice::from_ref(turn));
            assert_eq!(d.action, want, "{when} on {:?}", turn.text);
        }
    }

    #[test]
    fn each_contributing_trigger_is_a_reason() {
        let turn = Turn {
            outcome: Outcome::NoMatch,
            ..Turn::user("real person")
        };
        let d = decide(
            &rule_policy(
                r#"{ all: [ { keywords: ["real person"] }, { failures: { total: 1 } }, { not: { menu: [x] } } ] }"#,
            ),
            &[turn],
        );
        let triggers: Vec<Trigger> = d.reasons.iter().map(|r| r.trigger).collect();
        assert_eq!(triggers, [Trigger::Keyword, Trigger::Failures]);
        assert!(d.reasons.iter().all(|r| &*r.rule == "r"));
    }

    #[test]
    fn a_not_is_a_reason_only_when_nothing_else_is() {
        let turn = Turn::user("real person");
        let d = decide(
            &rule_policy(r#"{ keywords: ["real person"], not: { menu: [x] } }"#),
            &[turn],
        );
        let triggers: Vec<Trigger> = d.reasons.iter().map(|r| r.trigger).collect();
        assert_eq!(triggers, [Trigger::Keyword]);
        let d = decide(
            &rule_policy(r#"{ not: { menu: [x] } }"#),
            &[Turn::user("hi")],
        );
        assert_eq!(d.reasons.len(), 1);
        assert_eq!(d.reasons[0].detail, "not (menu option in [x])");
    }

    #[test]
    fn empty_conditions_are_refused() {
        for when in ["{}", "{ all: [] }", "{ any: [ {} ] }", "{ not: {} }"] {
            let errors = policy_errors(&rule_yaml(when));
            assert!(!errors.is_empty(), "{when}");
            assert!(errors[0].0.starts_with("empty-"), "{when}: {errors:?}");
        }
    }
}
