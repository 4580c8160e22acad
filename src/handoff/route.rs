//! Routes that depend on the turn's language: `{lang}` in a queue or skill
//! name (`skill: "support-{lang}"`), and a per-language table
//! (`by_locale: { pt: { skill: support-pt } }`), so that a Portuguese
//! speaker reaches a Portuguese-speaking agent.
//!
//! A rule's route is settled at compile time for every language its table
//! or the policy's names; a turn only picks one (and fills `{lang}`, the one
//! case that allocates, and only when a rule fires).

use std::borrow::Cow;
use std::sync::Arc;

use serde_saphyr::Spanned;

use crate::compile::Compiler;
use crate::decision::{Priority, Route};
use crate::policy::{RouteSpec, is_locale_tag, primary_language};

/// The queue of a rule and a policy that name none.
pub(crate) const DEFAULT_QUEUE: &str = "general";

/// The one placeholder a queue or skill name may use.
const LANG: &str = "{lang}";

/// A rule's route: the one for turns in a language no table names, and one
/// per language that a table names.
#[derive(Debug)]
pub(crate) struct RuleRoute {
    base: Route,
    by_language: Vec<(Box<str>, Route)>,
    /// Whether some queue or skill name holds `{lang}`.
    templated: bool,
}

/// One `route` as written (a rule's or the policy's), checked.
#[derive(Debug, Default)]
pub(crate) struct RouteLayer {
    queue: Option<Arc<str>>,
    skill: Option<Arc<str>>,
    priority: Option<Priority>,
    by_language: Vec<LanguageParts>,
}

/// What a table entry sets for one language.
#[derive(Debug)]
struct LanguageParts {
    language: Box<str>,
    queue: Option<Arc<str>>,
    skill: Option<Arc<str>>,
}

impl RouteLayer {
    /// Checks `spec` (the route of `owner`, reported at `at`): language
    /// codes as the table's keys, no placeholder but `{lang}`, no empty name.
    pub(crate) fn compile<T>(
        spec: &RouteSpec,
        owner: &str,
        at: &Spanned<T>,
        cx: &mut Compiler,
    ) -> RouteLayer {
        check_name(cx, owner, "queue", spec.queue.as_ref(), at);
        check_name(cx, owner, "skill", spec.skill.as_ref(), at);
        for (key, parts) in &spec.by_locale {
            let Some(language) = language_code(key) else {
                let help = match is_locale_tag(key) {
                    true => format!(
                        "routes are chosen by the turn's language: write `{}`",
                        primary_language(key).to_ascii_lowercase()
                    ),
                    false => "write language codes such as `en` or `pt`".to_string(),
                };
                cx.error_at(
                    parts,
                    "invalid-locale",
                    format!("{owner}: `by_locale` lists `{key}`, which is not a language code"),
                )
                .set_help(help);
                continue;
            };
            if parts.value.queue.is_none() && parts.value.skill.is_none() {
                cx.error_at(
                    parts,
                    "empty-route",
                    format!("{owner}: `by_locale.{language}` changes nothing"),
                )
                .set_help("give it a `queue` or a `skill`, or remove it");
            }
            check_name(cx, owner, "queue", parts.value.queue.as_ref(), parts);
            check_name(cx, owner, "skill", parts.value.skill.as_ref(), parts);
        }
        RouteLayer::from(spec)
    }

    fn entry(&self, language: &str) -> Option<&LanguageParts> {
        self.by_language.iter().find(|e| &*e.language == language)
    }
}

impl From<&RouteSpec> for RouteLayer {
    /// `spec` as written, unchecked (a table entry whose key is no language
    /// code is left out).
    fn from(spec: &RouteSpec) -> RouteLayer {
        let name = |value: &Option<String>| value.as_deref().map(Arc::from);
        RouteLayer {
            queue: name(&spec.queue),
            skill: name(&spec.skill),
            priority: spec.priority,
            by_language: spec
                .by_locale
                .iter()
                .filter_map(|(key, parts)| {
                    let language = language_code(key)?;
                    Some(LanguageParts {
                        language: language.into(),
                        queue: name(&parts.value.queue),
                        skill: name(&parts.value.skill),
                    })
                })
                .collect(),
        }
    }
}

/// Every queue name (`{lang}` unfilled) that a rule routed by `rule`, in a
/// policy routed by `policy`, can send a conversation to.
pub(crate) fn queues_of(rule: &RouteSpec, policy: &RouteSpec) -> Vec<Arc<str>> {
    let route = RuleRoute::merge(&RouteLayer::from(rule), &RouteLayer::from(policy));
    let mut queues: Vec<Arc<str>> = std::iter::once(&route.base)
        .chain(route.by_language.iter().map(|(_, r)| r))
        .map(|r| r.queue.clone())
        .collect();
    queues.sort_unstable();
    queues.dedup();
    queues
}

impl RuleRoute {
    /// A rule's route: each part from, in order, the rule's table for the
    /// language, the rule's route, the policy's table, the policy's route.
    pub(crate) fn merge(rule: &RouteLayer, policy: &RouteLayer) -> RuleRoute {
        let settle = |language: Option<&str>| {
            let rule_entry = language.and_then(|l| rule.entry(l));
            let policy_entry = language.and_then(|l| policy.entry(l));
            let pick = |of: fn(&LanguageParts) -> &Option<Arc<str>>,
                        own: &Option<Arc<str>>,
                        policy_own: &Option<Arc<str>>| {
                rule_entry
                    .and_then(|e| of(e).clone())
                    .or_else(|| own.clone())
                    .or_else(|| policy_entry.and_then(|e| of(e).clone()))
                    .or_else(|| policy_own.clone())
            };
            Route {
                queue: pick(|e| &e.queue, &rule.queue, &policy.queue)
                    .unwrap_or_else(|| Arc::from(DEFAULT_QUEUE)),
                skill: pick(|e| &e.skill, &rule.skill, &policy.skill),
                priority: rule.priority.or(policy.priority).unwrap_or_default(),
            }
        };
        let mut languages: Vec<&str> = rule
            .by_language
            .iter()
            .chain(&policy.by_language)
            .map(|e| &*e.language)
            .collect();
        languages.sort_unstable();
        languages.dedup();
        let base = settle(None);
        let by_language: Vec<(Box<str>, Route)> = languages
            .into_iter()
            .map(|l| (Box::from(l), settle(Some(l))))
            .collect();
        let templated = std::iter::once(&base)
            .chain(by_language.iter().map(|(_, r)| r))
            .any(|r| {
                r.queue.contains(LANG) || r.skill.as_deref().is_some_and(|s| s.contains(LANG))
            });
        RuleRoute {
            base,
            by_language,
            templated,
        }
    }

    /// The route for a turn in `language` (a locale tag or a language code,
    /// any case: `pt-BR`, `PT`).
    pub(crate) fn resolve(&self, language: &str) -> Cow<'_, Route> {
        let language = primary_language(language);
        let route = self
            .by_language
            .iter()
            .find(|(l, _)| l.eq_ignore_ascii_case(language))
            .map_or(&self.base, |(_, route)| route);
        if !self.templated {
            return Cow::Borrowed(route);
        }
        let language = language.to_ascii_lowercase();
        let fill = |name: &Arc<str>| match name.contains(LANG) {
            true => Arc::from(name.replace(LANG, &language)),
            false => name.clone(),
        };
        Cow::Owned(Route {
            queue: fill(&route.queue),
            skill: route.skill.as_ref().map(fill),
            priority: route.priority,
        })
    }

    /// The route that sent a conversation to `queue`, for a decision made
    /// after the handoff began (a timeout, the agent hub's status) when the
    /// turn that chose the queue is gone: the language is the one the queue's
    /// name or table entry gives, else `fallback`.
    pub(crate) fn for_queue(&self, queue: &str, fallback: &str) -> Cow<'_, Route> {
        let entries = self
            .by_language
            .iter()
            .map(|(l, route)| (Some(&**l), route));
        let chosen =
            entries
                .chain(std::iter::once((None, &self.base)))
                .find_map(|(entry, route)| {
                    let named = match route.queue.contains(LANG) {
                        true => Some(language_in(&route.queue, queue)?),
                        false => (&*route.queue == queue).then_some(None)?,
                    };
                    Some(named.or(entry))
                });
        match chosen {
            Some(Some(language)) => self.resolve(language),
            _ => self.resolve(fallback),
        }
    }

    /// The route's urgency, the same in every language.
    pub(crate) fn priority(&self) -> Priority {
        self.base.priority
    }
}

/// Whether queue `name` is reached by a route to `template` (a name that
/// may hold `{lang}`, standing for a language code).
pub(crate) fn reaches(template: &str, name: &str) -> bool {
    match template.contains(LANG) {
        true => language_in(template, name).is_some(),
        false => template == name,
    }
}

/// The language code that fills `{lang}` in `template` to give `name`.
fn language_in<'n>(template: &str, name: &'n str) -> Option<&'n str> {
    let (before, after) = template.split_once(LANG)?;
    let language = name.strip_prefix(before)?.strip_suffix(after)?;
    let code =
        (2..=3).contains(&language.len()) && language.bytes().all(|b| b.is_ascii_lowercase());
    code.then_some(language)
}

/// Reports `value`, the `part` (queue or skill) name of `owner`'s route,
/// at `at` when it is empty or uses a placeholder other than `{lang}`.
fn check_name<T>(
    cx: &mut Compiler,
    owner: &str,
    part: &str,
    value: Option<&String>,
    at: &Spanned<T>,
) {
    let Some(value) = value else {
        return;
    };
    if value.trim().is_empty() {
        let code = if part == "queue" {
            "empty-queue"
        } else {
            "empty-skill"
        };
        cx.error_at(at, code, format!("{owner} routes to an empty {part} name"))
            .set_help(format!(
                "name the {part}, or leave `{part}` out to use the policy's"
            ));
    } else if let Some(word) = unknown_placeholder(value) {
        cx.error_at(
            at,
            "unknown-placeholder",
            format!("{owner}: the {part} name `{value}` uses `{word}`, which is not a placeholder"),
        )
        .set_help(format!(
            "a {part} name may use `{LANG}`, the turn's language (`pt` for `pt-BR`)"
        ));
    }
}

/// `key` as a language code (`pt`), if it is one in any case.
fn language_code(key: &str) -> Option<String> {
    let language = primary_language(key);
    (is_locale_tag(key) && language.len() == key.len()).then(|| key.to_ascii_lowercase())
}

/// The first `{word}` in `name` that is not `{lang}`.
fn unknown_placeholder(name: &str) -> Option<&str> {
    let mut rest = name;
    while let Some(start) = rest.find('{') {
        let end = rest[start..]
            .find('}')
            .map_or(rest.len(), |e| start + e + 1);
        let word = &rest[start..end];
        if word != LANG {
            return Some(word);
        }
        rest = &rest[end..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_reaches_the_queues_of_each_language() {
        assert!(reaches("support-{lang}", "support-pt"));
        assert!(reaches("{lang}-desk", "es-desk"));
        assert!(!reaches("support-{lang}", "support-"));
        assert!(!reaches("support-{lang}", "support-portuguese"));
        assert!(!reaches("support-{lang}", "sales-pt"));
        assert!(reaches("support", "support"));
    }

    #[test]
    fn only_lang_is_a_placeholder() {
        assert_eq!(unknown_placeholder("support-{lang}"), None);
        assert_eq!(
            unknown_placeholder("support-{language}"),
            Some("{language}")
        );
        assert_eq!(unknown_placeholder("{lang}-{queue}"), Some("{queue}"));
        assert_eq!(unknown_placeholder("open {"), Some("{"));
    }
}
