//! Opening hours per queue: weekly hours in a named time zone, holidays and
//! one-off closures. All calendar arithmetic is jiff's, with its bundled
//! time-zone database (the host's is never read).
//!
//! ```yaml
//! queues:
//!   general:
//!     hours:
//!       time_zone: Europe/London
//!       open: { mon-fri: "09:00-17:30", sat: "10:00-13:00" }
//!       holidays: [2026-12-25, 2026-12-26]
//!       closures:
//!         - { from: 2026-12-24T13:00, to: 2026-12-24T23:59, reason: Christmas Eve }
//! ```

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::tz::TimeZone;
use serde_saphyr::Spanned;

use crate::compile::Compiler;
use crate::error::did_you_mean;
use crate::policy::HoursSpec;

/// A queue's compiled hours.
#[derive(Debug)]
pub(crate) struct Hours {
    zone: TimeZone,
    /// Open intervals per weekday, Monday first; `None` as the end is midnight.
    week: [Vec<(Time, Option<Time>)>; 7],
    holidays: Vec<Date>,
    closures: Vec<(Timestamp, Timestamp, Option<String>)>,
}

/// Why a queue is closed at some moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Closed {
    OutsideHours,
    Holiday,
    Closure(Option<String>),
}

impl Closed {
    /// The word for the decision's evidence.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Closed::OutsideHours => "outside hours",
            Closed::Holiday => "holiday",
            Closed::Closure(_) => "closure",
        }
    }
}

/// How far ahead [`Hours::next_open`] looks: a year of holidays and closures.
pub(crate) const LOOK_AHEAD_DAYS: u32 = 370;

/// Each weekday's short and full name, Monday first.
const DAYS: [(&str, &str, Weekday); 7] = [
    ("mon", "monday", Weekday::Monday),
    ("tue", "tuesday", Weekday::Tuesday),
    ("wed", "wednesday", Weekday::Wednesday),
    ("thu", "thursday", Weekday::Thursday),
    ("fri", "friday", Weekday::Friday),
    ("sat", "saturday", Weekday::Saturday),
    ("sun", "sunday", Weekday::Sunday),
];

impl Hours {
    pub(crate) fn compile(queue: &str, spec: &HoursSpec, cx: &mut Compiler) -> Option<Hours> {
        let zone = TimeZone::get(&spec.time_zone.value).ok();
        if zone.is_none() {
            let names: Vec<String> = jiff::tz::db()
                .available()
                .map(|name| name.as_str().to_string())
                .collect();
            let help = did_you_mean(&spec.time_zone.value, names.iter().map(String::as_str))
                .unwrap_or_else(|| {
                    "use an IANA time zone name, such as `Europe/London` or `America/New_York`"
                        .to_string()
                });
            cx.error_at(
                &spec.time_zone,
                "invalid-time-zone",
                format!("unknown time zone `{}`", spec.time_zone.value),
            )
            .set_help(help);
        }
        let mut week: [Vec<(Time, Option<Time>)>; 7] = Default::default();
        let mut given_by: [Option<&str>; 7] = [None; 7];
        let mut ok = true;
        for (days, hours) in &spec.open {
            let Some(day_list) = parse_days(days) else {
                cx.error_at(hours, "invalid-hours", format!("`{days}` is not a day or a range of days"))
                    .set_help("write `mon`...`sun`, a range such as `mon-fri`, `daily`, `weekdays` or `weekends`");
                ok = false;
                continue;
            };
            let intervals = match parse_intervals(&hours.value) {
                Ok(intervals) => intervals,
                Err(problem) => {
                    cx.error_at(
                        hours,
                        "invalid-hours",
                        format!("hours `{}` for `{days}` {problem}", hours.value),
                    )
                    .set_help(
                        "write `09:00-17:30`, several as `09:00-12:00, 13:00-17:00`, or `closed`",
                    );
                    ok = false;
                    continue;
                }
            };
            for day in day_list {
                let slot = day.to_monday_zero_offset() as usize;
                if let Some(first) = given_by[slot] {
                    cx.error_at(
                        hours,
                        "invalid-hours",
                        format!("`{days}` gives hours for `{}` again", DAYS[slot].0),
                    )
                    .set_help(format!("`{first}` already gives them; list each day once"));
                    ok = false;
                }
                given_by[slot] = Some(days);
                week[slot] = intervals.clone();
            }
        }
        let mut holidays = Vec::new();
        for holiday in &spec.holidays {
            match holiday.value.trim().parse::<Date>() {
                Ok(date) => holidays.push(date),
                Err(_) => {
                    cx.error_at(
                        holiday,
                        "invalid-date",
                        format!("holiday `{}` is not a date", holiday.value),
                    )
                    .set_help("write dates as `2026-12-25`");
                    ok = false;
                }
            }
        }
        let mut closures = Vec::new();
        let checking_zone = zone.clone().unwrap_or(TimeZone::UTC);
        for closure in &spec.closures {
            let from = local_instant(&closure.from, &checking_zone, cx);
            let to = local_instant(&closure.to, &checking_zone, cx);
            match (from, to) {
                (Some(from), Some(to)) if from < to => {
                    closures.push((from, to, closure.reason.clone()));
                }
                (Some(_), Some(_)) => {
                    cx.error_at(
                        &closure.to,
                        "invalid-closure",
                        format!(
                            "closure ends at `{}`, not after it starts",
                            closure.to.value
                        ),
                    )
                    .set_help("`to` is the local date-time the queue opens again");
                    ok = false;
                }
                _ => ok = false,
            }
        }
        if ok && week.iter().all(Vec::is_empty) && !spec.open.is_empty() {
            cx.error_at(
                &spec.time_zone,
                "invalid-hours",
                format!("queue `{queue}` is never open"),
            )
            .set_help(
                "give at least one day hours, or remove the queue's `hours` to be always open",
            );
        }
        Some(Hours {
            zone: zone?,
            week,
            holidays,
            closures,
        })
    }

    /// Why the queue is closed at `now`, with the local time there, or
    /// `None` when it is open (the time is formatted only when closed).
    pub(crate) fn closed_at(&self, now: Timestamp) -> Option<(Closed, String)> {
        let local = now.to_zoned(self.zone.clone());
        let closed = self.closed_why(now, &local)?;
        Some((closed, local.strftime("%a %Y-%m-%d %H:%M %Z").to_string()))
    }

    /// The next time the queue opens after `now`: the first moment it is
    /// open that follows a moment it is closed. When it is open at `now`,
    /// that is the opening after this one ends. `None` when it does not
    /// open within [`LOOK_AHEAD_DAYS`].
    pub(crate) fn next_open(&self, now: Timestamp) -> Option<jiff::Zoned> {
        let today = now.to_zoned(self.zone.clone()).date();
        let mut day = today;
        for _ in 0..=LOOK_AHEAD_DAYS {
            // The day's openings: its intervals' starts, and closures ending that day.
            let mut candidates: Vec<Timestamp> = self.week
                [day.weekday().to_monday_zero_offset() as usize]
                .iter()
                .filter_map(|&(start, _)| day.to_datetime(start).to_zoned(self.zone.clone()).ok())
                .map(|zoned| zoned.timestamp())
                .chain(
                    self.closures
                        .iter()
                        .map(|&(_, to, _)| to)
                        .filter(|to| to.to_zoned(self.zone.clone()).date() == day),
                )
                .filter(|&at| at > now)
                .collect();
            candidates.sort_unstable();
            let opening = candidates.into_iter().find(|&at| {
                let just_before = at - jiff::SignedDuration::from_secs(1);
                self.is_open(at) && !self.is_open(just_before)
            });
            if let Some(at) = opening {
                return Some(at.to_zoned(self.zone.clone()));
            }
            day = day.tomorrow().ok()?;
        }
        None
    }

    fn is_open(&self, at: Timestamp) -> bool {
        self.closed_why(at, &at.to_zoned(self.zone.clone()))
            .is_none()
    }

    fn closed_why(&self, now: Timestamp, local: &jiff::Zoned) -> Option<Closed> {
        let time = local.time();
        let closed = if let Some((_, _, reason)) = self
            .closures
            .iter()
            .find(|(from, to, _)| (*from..*to).contains(&now))
        {
            Closed::Closure(reason.clone())
        } else if self.holidays.contains(&local.date()) {
            Closed::Holiday
        } else if self.week[local.weekday().to_monday_zero_offset() as usize]
            .iter()
            .any(|&(start, end)| time >= start && end.is_none_or(|end| time < end))
        {
            return None;
        } else {
            Closed::OutsideHours
        };
        Some(closed)
    }
}

fn local_instant(at: &Spanned<String>, zone: &TimeZone, cx: &mut Compiler) -> Option<Timestamp> {
    let parsed = at
        .value
        .trim()
        .parse::<DateTime>()
        .ok()
        .and_then(|dt| dt.to_zoned(zone.clone()).ok());
    match parsed {
        Some(zoned) => Some(zoned.timestamp()),
        None => {
            cx.error_at(
                at,
                "invalid-date",
                format!("`{}` is not a local date and time", at.value),
            )
            .set_help("write it as `2026-12-24T13:00`, in the queue's time zone");
            None
        }
    }
}

/// `mon`, `monday`, `mon-fri` (wrapping: `fri-mon`), `daily`, `weekdays`, `weekends`.
fn parse_days(days: &str) -> Option<Vec<Weekday>> {
    let days = days.trim().to_ascii_lowercase();
    let one = |name: &str| {
        DAYS.iter()
            .find(|(short, full, _)| name == *short || name == *full)
            .map(|&(_, _, day)| day)
    };
    match days.as_str() {
        "daily" => return Some(DAYS.iter().map(|&(_, _, day)| day).collect()),
        "weekdays" => return parse_days("mon-fri"),
        "weekends" => return parse_days("sat-sun"),
        _ => {}
    }
    match days.split_once('-') {
        Some((from, to)) => {
            let (from, to) = (one(from.trim())?, one(to.trim())?);
            let days = from.until(to).rem_euclid(7) as usize + 1;
            Some(from.cycle_forward().take(days).collect())
        }
        None => Some(vec![one(&days)?]),
    }
}

/// `09:00-17:30`, `09:00-12:00, 13:00-17:00`, `closed`; `24:00` ends at midnight.
fn parse_intervals(text: &str) -> Result<Vec<(Time, Option<Time>)>, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("closed") {
        return Ok(Vec::new());
    }
    let mut intervals = Vec::new();
    for part in text.split(',') {
        let (start, end) = part
            .split_once('-')
            .ok_or("is not a range such as `09:00-17:30`")?;
        let start = parse_time(start).ok_or("has a start that is not a time of day")?;
        let end = match end.trim() {
            "24:00" => None,
            end => Some(parse_time(end).ok_or("has an end that is not a time of day")?),
        };
        if end.is_some_and(|end| end <= start) {
            return Err("ends before it starts (split a night shift across two days)".into());
        }
        intervals.push((start, end));
    }
    Ok(intervals)
}

fn parse_time(text: &str) -> Option<Time> {
    text.trim().parse::<Time>().ok()
}

#[cfg(test)]
mod tests {
    use crate::tests::policy_errors;

    use super::*;

    #[test]
    fn days_and_ranges() {
        use Weekday::*;
        assert_eq!(parse_days("mon-fri").unwrap().len(), 5);
        assert_eq!(
            parse_days("Fri-Mon").unwrap(),
            vec![Friday, Saturday, Sunday, Monday]
        );
        assert_eq!(parse_days("wednesday").unwrap(), vec![Wednesday]);
        assert_eq!(parse_days("weekends").unwrap(), vec![Saturday, Sunday]);
        assert_eq!(parse_days("daily").unwrap().len(), 7);
        assert_eq!(parse_days("mo"), None);
        assert_eq!(parse_days("monkey"), None);
        assert_eq!(parse_days("mon-xyz"), None);
    }

    #[test]
    fn a_misspelt_zone_gets_a_suggestion_and_the_other_errors_still_come() {
        let errors = policy_errors(&queue_policy(
            "      time_zone: Europe/Londn\n      open: { mon-fri: 9-17 }",
        ));
        let found: Vec<(&str, Option<&str>)> = errors
            .iter()
            .map(|e| (e.0.as_str(), e.3.as_deref()))
            .collect();
        assert_eq!(
            found[0],
            ("invalid-time-zone", Some("did you mean `Europe/London`?"))
        );
        assert_eq!(found[1].0, "invalid-hours");
    }

    #[test]
    fn intervals() {
        let t = |s: &str| s.parse::<Time>().unwrap();
        assert_eq!(parse_intervals("closed").unwrap(), vec![]);
        assert_eq!(
            parse_intervals("09:00-12:00, 13:00-24:00").unwrap(),
            vec![(t("09:00"), Some(t("12:00"))), (t("13:00"), None)]
        );
        assert!(parse_intervals("17:00-09:00").is_err());
        assert!(parse_intervals("9am-5pm").is_err());
        assert!(parse_intervals("09:00").is_err());
    }

    fn queue_policy(hours: &str) -> String {
        format!(
            "version: 1\nqueues:\n  general:\n    hours:\n{hours}\nrules:\n  - {{ id: r, when: {{ keywords: [agent] }}, kind: fallback, action: escalate }}\n"
        )
    }

    #[test]
    fn bad_hours_are_located_errors() {
        let cases = [
            (
                "      time_zone: Mars/Olympus\n      open: { mon: 09:00-17:00 }",
                "invalid-time-zone",
                5,
            ),
            (
                "      time_zone: UTC\n      open: { mon: 9-5 }",
                "invalid-hours",
                6,
            ),
            (
                "      time_zone: UTC\n      open: { funday: 09:00-17:00 }",
                "invalid-hours",
                6,
            ),
            (
                "      time_zone: UTC\n      open: { mon-fri: 09:00-17:00, fri: 10:00-12:00 }",
                "invalid-hours",
                6,
            ),
            (
                "      time_zone: UTC\n      open: { mon: 09:00-17:00 }\n      holidays: [25/12/2026]",
                "invalid-date",
                7,
            ),
            (
                "      time_zone: UTC\n      open: { mon: 09:00-17:00 }\n      closures: [{ from: 2026-12-24T13:00, to: 2026-12-24T12:00 }]",
                "invalid-closure",
                7,
            ),
            (
                "      time_zone: UTC\n      open: { daily: closed }",
                "invalid-hours",
                5,
            ),
        ];
        for (hours, code, line) in cases {
            let errors = policy_errors(&queue_policy(hours));
            assert_eq!(errors.len(), 1, "{hours}: {errors:?}");
            assert_eq!((errors[0].0.as_str(), errors[0].1), (code, line), "{hours}");
            assert!(errors[0].3.is_some(), "{hours} has no help");
        }
    }
}
