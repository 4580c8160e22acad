//! Warnings: things in a policy that load but are probably mistakes.
//!
//! They run on a policy that compiled, share the diagnostics' format (code,
//! place, snippet, help) with severity `warning`, and never stop a policy
//! from loading; `escalate-check check --deny-warnings` makes them fail.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_saphyr::Spanned;

use crate::condition::LeafSpec;
use crate::decision::{Action, Kind, Priority};
use crate::error::{Diagnostic, Severity, Source};
use crate::handoff::route;
use crate::policy::{PhraseList, PolicySpec, RouteSpec, RuleSpec, span_of};

/// Every warning for a policy that compiled, in file order.
pub(crate) fn lint(spec: &PolicySpec, source: &Source) -> Vec<Diagnostic> {
    let warn = |at: (usize, usize), code, message: String, help: String| {
        let mut d = source.error_at(at.0, at.1, code, message);
        d.set_severity(Severity::Warning);
        d.set_help(help);
        d
    };
    let rules: Vec<&Spanned<RuleSpec>> = spec.rules.iter().filter(|r| r.value.enabled).collect();
    // A map's keys carry no span: the key is the last `name:` before its
    // value (on the same line, or above a block value).
    let name_of = |name: &str, value: (usize, usize)| {
        let before = source.text.get(..value.0).unwrap_or_default();
        match before.rfind(&format!("{name}:")) {
            Some(at) => (at, name.len()),
            None => value,
        }
    };
    let mut warnings = Vec::new();

    // Topics no rule refers to.
    let mut used = BTreeSet::new();
    for rule in &spec.rules {
        rule.value.when.value.visit(&mut |leaf| {
            if let LeafSpec::Topic(name) = leaf {
                used.insert(name.value.as_str());
            }
        });
    }
    for (name, topic) in &spec.topics {
        if !used.contains(name.as_str()) {
            warnings.push(warn(
                name_of(name, span_of(topic)),
                "unused-topic",
                format!("no rule uses topic `{name}`"),
                format!("refer to it with `when: {{ topic: {name} }}`, or remove it"),
            ));
        }
    }

    // Queue settings no route reaches (a misspelt name would leave its
    // hours silently unused).
    let unrouted = RouteSpec::default();
    let routed: BTreeSet<Arc<str>> = std::iter::once(&unrouted)
        .chain(rules.iter().map(|r| &r.value.route))
        .flat_map(|route| route::queues_of(route, spec.route()))
        .collect();
    for (name, queue) in &spec.queues {
        if !routed.iter().any(|template| route::reaches(template, name)) {
            let help = crate::error::did_you_mean(name, routed.iter().map(|q| &**q))
                .unwrap_or_else(|| {
                    format!("route a rule to it with `route: {{ queue: {name} }}`, or remove it")
                });
            warnings.push(warn(
                name_of(name, span_of(queue)),
                "unused-queue",
                format!("no rule routes to queue `{name}`, so its settings never apply"),
                help,
            ));
        }
    }

    // Thresholds that can never be crossed.
    for rule in &rules {
        rule.value.when.value.visit(&mut |leaf| {
            fn never(value: &Option<Spanned<f64>>, floor: f64) -> Option<&Spanned<f64>> {
                value.as_ref().filter(|v| v.value <= floor)
            }
            let (threshold, what, floor) = match &leaf {
                LeafSpec::Confidence(c) => (never(&c.value.below, 0.0), "a confidence", 0.0),
                LeafSpec::Sentiment(s) => (
                    never(&s.value.below, -1.0).or(never(&s.value.mean_below, -1.0)),
                    "a sentiment",
                    -1.0,
                ),
                _ => (None, "", 0.0),
            };
            if let Some(threshold) = threshold {
                warnings.push(warn(
                    span_of(threshold),
                    "never-fires",
                    format!(
                        "{what} is never below {}, so rule `{}` never fires on it",
                        threshold.value, rule.value.id.value
                    ),
                    format!("a threshold above {floor} can be crossed"),
                ));
            }
        });
    }

    // Intent names that can never fire.
    for rule in &rules {
        let id = rule.value.id.value.as_str();
        rule.value.when.value.visit(&mut |leaf| {
            if let LeafSpec::Intent(spec) = leaf {
                warnings.extend(
                    crate::trigger::intent::never_matching(&spec.value, id)
                        .into_iter()
                        .map(|(at, message, help)| warn(span_of(at), "never-fires", message, help)),
                );
            }
        });
    }

    // The built-in sentiment scorer has no lexicon for the default locale.
    let default_locale = &spec.matching.default_locale;
    if crate::sentiment::Language::from_subtag(crate::policy::primary_language(default_locale))
        .is_none()
    {
        let mut first = None;
        for rule in &rules {
            rule.value.when.value.visit(&mut |leaf| {
                if let LeafSpec::Sentiment(s) = leaf
                    && first.is_none()
                    && s.value.source.as_ref().is_none_or(|source| {
                        source.value != crate::trigger::sentiment::SentimentSource::Turn
                    })
                {
                    first = Some(span_of(s));
                }
            });
        }
        if let Some(at) = first {
            warnings.push(warn(
                at,
                "unscored-language",
                format!(
                    "the built-in sentiment scorer has no lexicon for `{default_locale}`, so turns without a locale get no built-in score"
                ),
                "it scores `en`, `es`, `fr`, `de`, `pt` and `it`; write `source: turn` to use only the bot's scores".to_string(),
            ));
        }
    }

    // The same phrase in rules of different kinds.
    let mut kinds: BTreeMap<String, (Kind, &str)> = BTreeMap::new();
    for rule in &rules {
        let (id, kind) = (rule.value.id.value.as_str(), rule.value.kind);
        rule.value.when.value.visit(&mut |leaf| {
            let (LeafSpec::Keywords(list)
            | LeafSpec::WholeMessage(list)
            | LeafSpec::WholeSentence(list)
            | LeafSpec::LastClause(list)) = leaf
            else {
                return;
            };
            for phrase in phrases(&list.value) {
                let key = phrase.value.to_lowercase();
                match kinds.get(&key) {
                    Some(&(other_kind, other)) if other_kind != kind => warnings.push(warn(
                        span_of(phrase),
                        "phrase-kinds-differ",
                        format!(
                            "phrase `{}` is {kind} in rule `{id}` but {other_kind} in rule `{other}`",
                            phrase.value
                        ),
                        "a phrase means one thing: keep it in one rule, or give both the same kind"
                            .into(),
                    )),
                    Some(_) => {}
                    None => {
                        kinds.insert(key, (kind, id));
                    }
                }
            }
        });
    }

    // Rules that another rule always outranks when they fire.
    for (index, rule) in rules.iter().enumerate() {
        if let Some(winner) = rules
            .iter()
            .enumerate()
            .find(|&(other, r)| other != index && shadows(&r.value, other, &rule.value, index))
        {
            warnings.push(warn(
                span_of(&rule.value.id),
                "shadowed-rule",
                format!(
                    "rule `{}` can never decide: whenever it fires, `{}` fires too and outranks it",
                    rule.value.id.value, winner.1.value.id.value
                ),
                "give it a higher `priority`, or narrow the other rule".into(),
            ));
        }
    }

    // Triage questions that are never asked.
    let max_questions = spec
        .handoff
        .as_ref()
        .and_then(|h| h.value.triage.max_questions.as_ref())
        .map_or(2, |m| m.value) as usize;
    for rule in &rules {
        let Some(first) = rule.value.collect.as_deref().and_then(<[_]>::first) else {
            continue;
        };
        let id = &rule.value.id.value;
        if rule.value.route.priority == Some(Priority::Urgent) {
            warnings.push(warn(
                span_of(&first.attribute),
                "collect-never-asked",
                format!("rule `{id}` routes with priority `urgent`, which never waits for triage"),
                "an urgent rule hands over at once: remove its `collect`, or lower its priority"
                    .into(),
            ));
        }
    }
    // An urgent matter that waits for an agent's approval first.
    for rule in &rules {
        let spec = &rule.value;
        if spec.action.value == Action::Consult && spec.route.priority == Some(Priority::Urgent) {
            warnings.push(warn(
                span_of(&spec.action),
                "consult-urgent",
                format!(
                    "rule `{}` routes with priority `urgent` but consults an agent first",
                    spec.id.value
                ),
                "an urgent matter goes to a person at once: use `action: escalate`, or lower its priority"
                    .into(),
            ));
        }
    }
    let lists = rules
        .iter()
        .filter_map(|r| {
            Some((
                format!("rule `{}`", r.value.id.value),
                r.value.collect.as_deref()?,
            ))
        })
        .chain(spec.queues.iter().filter_map(|(name, q)| {
            Some((format!("queue `{name}`"), q.value.collect.as_deref()?))
        }));
    for (owner, list) in lists {
        if let Some(first_unasked) = list.get(max_questions) {
            warnings.push(warn(
                span_of(&first_unasked.attribute),
                "collect-never-asked",
                format!(
                    "{owner} collects {} values, but the triage asks at most {max_questions} questions",
                    list.len()
                ),
                "raise `handoff.triage.max_questions`, or collect less: one or two questions, not a form"
                    .into(),
            ));
        }
    }

    warnings.sort_by_key(|d| (d.line(), d.column()));
    warnings
}

fn phrases(list: &PhraseList) -> impl Iterator<Item = &Spanned<String>> {
    list.groups.iter().flat_map(|(_, phrases)| phrases)
}

/// Whether rule `a` (at `a_index`) fires whenever `b` does and wins over it.
/// Only simple rules are compared: one `keywords` list, or one `menu`.
fn shadows(a: &RuleSpec, a_index: usize, b: &RuleSpec, b_index: usize) -> bool {
    let outranks = (a.priority, a.action.value, std::cmp::Reverse(a_index))
        > (b.priority, b.action.value, std::cmp::Reverse(b_index));
    if !outranks || a.locales != b.locales {
        return false;
    }
    let words = |list: &PhraseList| -> BTreeSet<(Option<String>, String)> {
        list.groups
            .iter()
            .flat_map(|(locale, phrases)| {
                phrases
                    .iter()
                    .map(move |p| (locale.clone(), p.value.to_lowercase()))
            })
            .collect()
    };
    match (a.when.value.single_leaf(), b.when.value.single_leaf()) {
        (Some(LeafSpec::Keywords(a)), Some(LeafSpec::Keywords(b))) => {
            words(&b.value).is_subset(&words(&a.value))
        }
        (Some(LeafSpec::Menu(a)), Some(LeafSpec::Menu(b))) => {
            let options = |m: &Spanned<Vec<Spanned<String>>>| -> BTreeSet<String> {
                m.value.iter().map(|o| o.value.clone()).collect()
            };
            options(b).is_subset(&options(a))
        }
        _ => false,
    }
}
