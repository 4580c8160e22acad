//! `{opens}`: when a queue opens next, said in the user's language.
//!
//! The six languages of the built-in policy have their own words; any other
//! locale reads English. The time is the queue's local time, 24-hour:
//! "today at 17:00", "tomorrow at 09:00", "Monday at 09:00" within a week,
//! "Monday 4 January at 09:00" beyond it.

use std::sync::Arc;

use jiff::{Timestamp, Zoned};
use serde_saphyr::Spanned;

use crate::compile::Compiler;
use crate::policy::PolicySpec;

use super::route;

/// A language `{opens}` is written in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Language {
    #[default]
    En,
    Fr,
    Es,
    De,
    Pt,
    It,
}

/// The words of one language: weekdays (Monday first), months, today,
/// tomorrow, and what comes before the time.
struct Words {
    days: [&'static str; 7],
    months: [&'static str; 12],
    today: &'static str,
    tomorrow: &'static str,
    /// Before the time: "at", "à", "a las"...
    at: &'static str,
    /// Before 01:00, where the language says it in the singular ("a la").
    at_one: &'static str,
    /// When the queue does not open within the look-ahead.
    unknown: &'static str,
}

const EN: Words = Words {
    days: [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ],
    months: [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    today: "today",
    tomorrow: "tomorrow",
    at: "at",
    at_one: "at",
    unknown: "as soon as we can",
};

const FR: Words = Words {
    days: [
        "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
    ],
    months: [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ],
    today: "aujourd'hui",
    tomorrow: "demain",
    at: "à",
    at_one: "à",
    unknown: "dès que possible",
};

const ES: Words = Words {
    days: [
        "lunes",
        "martes",
        "miércoles",
        "jueves",
        "viernes",
        "sábado",
        "domingo",
    ],
    months: [
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ],
    today: "hoy",
    tomorrow: "mañana",
    at: "a las",
    at_one: "a la",
    unknown: "lo antes posible",
};

const DE: Words = Words {
    days: [
        "Montag",
        "Dienstag",
        "Mittwoch",
        "Donnerstag",
        "Freitag",
        "Samstag",
        "Sonntag",
    ],
    months: [
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ],
    today: "heute",
    tomorrow: "morgen",
    at: "um",
    at_one: "um",
    unknown: "so bald wie möglich",
};

const PT: Words = Words {
    days: [
        "segunda-feira",
        "terça-feira",
        "quarta-feira",
        "quinta-feira",
        "sexta-feira",
        "sábado",
        "domingo",
    ],
    months: [
        "janeiro",
        "fevereiro",
        "março",
        "abril",
        "maio",
        "junho",
        "julho",
        "agosto",
        "setembro",
        "outubro",
        "novembro",
        "dezembro",
    ],
    today: "hoje",
    tomorrow: "amanhã",
    at: "às",
    at_one: "à",
    unknown: "assim que possível",
};

const IT: Words = Words {
    days: [
        "lunedì",
        "martedì",
        "mercoledì",
        "giovedì",
        "venerdì",
        "sabato",
        "domenica",
    ],
    months: [
        "gennaio",
        "febbraio",
        "marzo",
        "aprile",
        "maggio",
        "giugno",
        "luglio",
        "agosto",
        "settembre",
        "ottobre",
        "novembre",
        "dicembre",
    ],
    today: "oggi",
    tomorrow: "domani",
    at: "alle",
    at_one: "all'",
    unknown: "appena possibile",
};

impl Language {
    /// The language of a locale tag (`pt-BR` is Portuguese); English for
    /// any language without its own words.
    pub(crate) fn of(locale: &str) -> Language {
        match crate::policy::primary_language(locale)
            .to_ascii_lowercase()
            .as_str()
        {
            "fr" => Language::Fr,
            "es" => Language::Es,
            "de" => Language::De,
            "pt" => Language::Pt,
            "it" => Language::It,
            _ => Language::En,
        }
    }

    fn words(self) -> &'static Words {
        match self {
            Language::En => &EN,
            Language::Fr => &FR,
            Language::Es => &ES,
            Language::De => &DE,
            Language::Pt => &PT,
            Language::It => &IT,
        }
    }

    /// What `{opens}` says at `now` for an opening `at` (in the queue's
    /// zone, whose date `now` is there decides "today"); `None` means the
    /// queue does not open within the look-ahead.
    pub(crate) fn say(self, at: Option<&Zoned>, now: Timestamp) -> String {
        let w = self.words();
        let Some(at) = at else {
            return w.unknown.to_string();
        };
        let today = now.to_zoned(at.time_zone().clone()).date();
        let date = at.date();
        let weekday = w.days[date.weekday().to_monday_zero_offset() as usize];
        let ahead = today.until(date).map_or(i32::MAX, |span| span.get_days());
        let day = match ahead {
            0 => w.today.to_string(),
            1 => w.tomorrow.to_string(),
            2..=6 => weekday.to_string(),
            _ => {
                let month = w.months[date.month() as usize - 1];
                let d = date.day();
                match self {
                    Language::En | Language::Fr | Language::It => {
                        format!("{weekday} {d} {month}")
                    }
                    Language::Es | Language::Pt => format!("{weekday}, {d} de {month}"),
                    Language::De => format!("{weekday}, {d}. {month}"),
                }
            }
        };
        let time = at.strftime("%H:%M");
        let at_word = if at.hour() == 1 { w.at_one } else { w.at };
        if at_word.ends_with('\'') {
            format!("{day} {at_word}{time}")
        } else {
            format!("{day} {at_word} {time}")
        }
    }
}

/// Reports each message that uses `{opens}` where it can go to a queue
/// without `hours`, which has no opening to tell: a rule's own message
/// (or the policy's, which the rule falls back on), or a handoff message
/// any rule's queue may send.
pub(crate) fn check_hours(spec: &PolicySpec, cx: &mut Compiler) {
    let has_hours = |queue: &str| {
        spec.queues
            .get(queue)
            .is_some_and(|q| q.value.hours.is_some())
    };
    let uses =
        |m: &Option<Spanned<String>>| m.as_ref().filter(|m| m.value.contains("{opens}")).is_some();
    // A queue name with `{lang}` has hours when every queue it names does.
    let staffed = |queue: &str| match queue.contains("{lang}") {
        false => has_hours(queue),
        true => {
            let mut named = spec
                .queues
                .keys()
                .filter(|name| route::reaches(queue, name));
            named.clone().next().is_some() && named.all(|name| has_hours(name))
        }
    };
    let mut reported: Vec<&str> = Vec::new();
    let mut unstaffed: Option<(&str, Arc<str>)> = None;
    for rule in spec.rules.iter().filter(|r| r.value.enabled) {
        let rule = &rule.value;
        let queues = route::queues_of(&rule.route, spec.route());
        let Some(queue) = queues.into_iter().find(|queue| !staffed(queue)) else {
            continue;
        };
        unstaffed.get_or_insert((rule.id.value.as_str(), queue.clone()));
        let (own, policy) = (&rule.messages, &spec.messages);
        for (name, own, policy) in [
            ("online", &own.online, &policy.online),
            ("offline", &own.offline, &policy.offline),
            ("offer", &own.offer, &policy.offer),
        ] {
            let (message, whose) = match (own, uses(own), uses(policy)) {
                (Some(message), true, _) => (message, format!("rule `{}`'s", rule.id.value)),
                (None, _, true) if !reported.contains(&name) => {
                    reported.push(name);
                    let message = policy.as_ref().expect("uses it");
                    (
                        message,
                        format!("the policy's (used by rule `{}`)", rule.id.value),
                    )
                }
                _ => continue,
            };
            cx.error_at(
                message,
                "opens-without-hours",
                format!("{whose} `{name}` message says `{{opens}}`, but queue `{queue}` has no `hours`"),
            )
            .set_help(format!(
                "give queue `{queue}` its `hours` under `queues:`, or give rule `{}` its own `{name}` message without `{{opens}}`",
                rule.id.value
            ));
        }
    }
    let (Some(handoff), Some((rule, queue))) = (&spec.handoff, unstaffed) else {
        return;
    };
    for (name, message) in handoff.value.messages.named() {
        if let Some(message) = message.as_ref().filter(|_| uses(message)) {
            cx.error_at(
                message,
                "opens-without-hours",
                format!("the handoff's `{name}` message says `{{opens}}`, but queue `{queue}` (of rule `{rule}`) has no `hours`"),
            )
            .set_help(format!("give queue `{queue}` its `hours` under `queues:`, or leave `{{opens}}` out of this message"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Language;
    use jiff::Zoned;
    use jiff::civil::date;

    #[test]
    fn each_language_says_when() {
        let zone = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
        let at = |d: jiff::civil::Date, h: i8| -> Zoned {
            d.at(h, 0, 0, 0).to_zoned(zone.clone()).unwrap()
        };
        // Friday 2026-12-04, 08:00 in Paris.
        let today = date(2026, 12, 4);
        let now = at(today, 8).timestamp();
        let monday = at(date(2026, 12, 7), 9);
        let cases = [
            ("en", at(today, 17), "today at 17:00"),
            ("en-GB", at(date(2026, 12, 5), 9), "tomorrow at 09:00"),
            ("en", monday.clone(), "Monday at 09:00"),
            ("fr", monday.clone(), "lundi à 09:00"),
            ("es-MX", monday.clone(), "lunes a las 09:00"),
            ("es", at(date(2026, 12, 7), 1), "lunes a la 01:00"),
            ("de", monday.clone(), "Montag um 09:00"),
            ("pt-BR", monday.clone(), "segunda-feira às 09:00"),
            ("pt", at(today, 1), "hoje à 01:00"),
            ("it", monday.clone(), "lunedì alle 09:00"),
            ("it", at(date(2026, 12, 5), 1), "domani all'01:00"),
            ("ja", monday.clone(), "Monday at 09:00"),
            ("en", at(date(2027, 1, 4), 9), "Monday 4 January at 09:00"),
            ("fr", at(date(2027, 1, 4), 9), "lundi 4 janvier à 09:00"),
            (
                "es",
                at(date(2027, 1, 4), 9),
                "lunes, 4 de enero a las 09:00",
            ),
            ("de", at(date(2027, 1, 4), 9), "Montag, 4. Januar um 09:00"),
            (
                "pt",
                at(date(2027, 1, 4), 9),
                "segunda-feira, 4 de janeiro às 09:00",
            ),
            ("it", at(date(2027, 1, 4), 9), "lunedì 4 gennaio alle 09:00"),
            // A week ahead is no longer "Friday": that would read as today's.
            (
                "en",
                at(date(2026, 12, 11), 9),
                "Friday 11 December at 09:00",
            ),
        ];
        for (locale, opening, want) in cases {
            assert_eq!(
                Language::of(locale).say(Some(&opening), now),
                want,
                "{locale}"
            );
        }
        assert_eq!(Language::Fr.say(None, now), "dès que possible");
    }

    const POLICY: &str = r#"
version: 1
route: { queue: support }
messages:
  offline: "We're back {opens}."
queues:
  support:
    hours:
      time_zone: America/New_York
      open: { mon-fri: "09:00-17:00", sat: "10:00-12:00, 13:00-14:00" }
      holidays: [2026-11-26]
      closures:
        - { from: 2026-11-20T12:00, to: 2026-11-20T13:30, reason: team training }
rules:
  - { id: human, when: { keywords: [agent] }, kind: fallback, action: escalate }
"#;

    #[test]
    fn the_offline_path_says_when_the_queue_opens() {
        let engine = crate::tests::engine(POLICY);
        // (UTC instant, locale, agents available, `{opens}`, `opens_at`)
        let cases = [
            // Fri 08:59 in New York.
            (
                "2026-11-20T13:59:00Z",
                None,
                true,
                "today at 09:00",
                "2026-11-20T09:00:00-05:00",
            ),
            // In the training closure: open again when it ends.
            (
                "2026-11-20T17:15:00Z",
                Some("en-US"),
                true,
                "today at 13:30",
                "2026-11-20T13:30:00-05:00",
            ),
            // Fri 17:00, closed: Saturday's hours.
            (
                "2026-11-20T22:00:00Z",
                Some("fr-CA"),
                true,
                "demain à 10:00",
                "2026-11-21T10:00:00-05:00",
            ),
            // Sat 12:30, between Saturday's two openings.
            (
                "2026-11-21T17:30:00Z",
                Some("it"),
                true,
                "oggi alle 13:00",
                "2026-11-21T13:00:00-05:00",
            ),
            // Sat 14:30: Monday.
            (
                "2026-11-21T19:30:00Z",
                Some("de"),
                true,
                "Montag um 09:00",
                "2026-11-23T09:00:00-05:00",
            ),
            // Wed 17:30, and Thursday is a holiday: Friday.
            (
                "2026-11-25T22:30:00Z",
                Some("es"),
                true,
                "viernes a las 09:00",
                "2026-11-27T09:00:00-05:00",
            ),
            // Open, but the turn says no agent is free: the next opening
            // after this one, which the closure ends at 12:00.
            (
                "2026-11-20T14:30:00Z",
                Some("pt-BR"),
                false,
                "hoje às 13:30",
                "2026-11-20T13:30:00-05:00",
            ),
            // Across the end of daylight saving time (1 November).
            (
                "2026-10-31T19:00:00Z",
                Some("ja"),
                true,
                "Monday at 09:00",
                "2026-11-02T09:00:00-05:00",
            ),
        ];
        for (at, locale, available, opens, opens_at) in cases {
            let turn = crate::Turn {
                timestamp: Some(at.into()),
                locale: locale.map(String::from),
                agents_available: Some(available),
                ..crate::Turn::user("agent")
            };
            let d = engine.evaluate(&mut crate::ConversationState::new(), &turn);
            assert_eq!(
                d.message.as_deref(),
                Some(format!("We're back {opens}.").as_str()),
                "{at}"
            );
            assert_eq!(d.opens_at.as_deref(), Some(opens_at), "{at}");
        }
        // Open and staffed: no offline path, no `opens_at`.
        let open = crate::Turn {
            timestamp: Some("2026-11-20T14:30:00Z".into()),
            ..crate::Turn::user("agent")
        };
        let d = engine.evaluate(&mut crate::ConversationState::new(), &open);
        assert_eq!((d.fallback_channel, d.opens_at), (None, None));
        // Hours that never open within a year: no time is promised.
        let never = crate::tests::engine(&POLICY.replace(
            r#"open: { mon-fri: "09:00-17:00", sat: "10:00-12:00, 13:00-14:00" }"#,
            "open: {}",
        ));
        let d = never.evaluate(&mut crate::ConversationState::new(), &open);
        assert_eq!(d.message.as_deref(), Some("We're back as soon as we can."));
        assert_eq!(d.opens_at, None);
    }

    #[test]
    fn opens_on_a_queue_without_hours_is_a_located_error() {
        let policy = |messages: &str, rule: &str, handoff: &str| {
            format!(
                "version: 1\n{messages}queues:\n  staffed: {{ hours: {{ time_zone: UTC, open: {{ daily: \"09:00-17:00\" }} }} }}\n{handoff}rules:\n  - {{ id: r, when: {{ keywords: [agent] }}, kind: fallback, action: escalate{rule} }}\n"
            )
        };
        let offline = "messages:\n  offline: \"Back {opens}\"\n";
        let cases = [
            // The policy's message, for a rule on a queue without hours.
            (policy(offline, "", ""), Some((3, 12))),
            // ... is fine when the rule's queue has hours,
            (policy(offline, ", route: { queue: staffed }", ""), None),
            // ... or the rule says its own.
            (policy(offline, ", messages: { offline: Later }", ""), None),
            // The rule's own message.
            (
                policy("", ", messages: { online: \"{opens}\" }", ""),
                Some((5, 97)),
            ),
            // A handoff message.
            (
                policy(
                    "",
                    "",
                    "handoff:\n  messages: { timeout: \"back {opens}\" }\n",
                ),
                Some((5, 24)),
            ),
        ];
        for (yaml, want) in cases {
            match want {
                None => {
                    crate::tests::engine(&yaml);
                }
                Some((line, column)) => {
                    let errors = crate::tests::policy_errors(&yaml);
                    assert_eq!(errors.len(), 1, "{yaml}: {errors:?}");
                    assert_eq!(
                        (errors[0].0.as_str(), errors[0].1, errors[0].2),
                        ("opens-without-hours", line, column),
                        "{yaml}"
                    );
                    assert!(errors[0].3.as_deref().unwrap().contains("`hours`"));
                }
            }
        }
    }
}
