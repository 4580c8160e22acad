//! `escalate-check stats`: what a policy does to a corpus of conversations,
//! beside a baseline, or across a sweep of one threshold.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use escalate::{Action, Corpus, CorpusStats as Stats, Course, Engine};

type Counts = std::collections::BTreeMap<String, usize>;
use rayon::prelude::*;
use serde::Serialize;

use crate::{Format, Outcome, io_message};

pub(crate) const AFTER_HELP: &str = "\
Input: JSONL transcripts (one turn per line, conversations grouped by
conversation_id) and Bot Framework transcripts (a JSON array of activities,
as the Bot Framework Emulator saves them; message activities from the user
are turns, from the bot are bot turns). Conversations run on every core.

--baseline shows a second policy side by side with the deltas, and lists the
conversations whose outcome (none, offer or escalate) flips, with the
deciding reasons. --sweep RULE.FIELD=FROM:TO:STEP reruns the corpus with one
threshold of one rule set to each value, for example
  --sweep low-confidence.confidence.below=0.2:0.6:0.05

Exit codes: 0 success, 2 invalid policy, unreadable file, a line that is not
a turn (reported on stderr as file:line:column; the other lines still count)
or bad arguments.";

#[derive(Args)]
pub(crate) struct StatsArgs {
    /// Policy file (default: the built-in policy)
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// A second policy to compare with
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Rerun with one threshold at each value: RULE.FIELD=FROM:TO:STEP
    #[arg(long, value_name = "RULE.FIELD=FROM:TO:STEP")]
    sweep: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Transcripts: JSONL or Bot Framework JSON
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
}

#[derive(Serialize)]
struct Flip<'c> {
    id: &'c str,
    old: String,
    new: String,
    reasons: &'c [String],
}

#[derive(Serialize)]
struct SweepPoint {
    value: f64,
    escalation_rate: f64,
    offer_rate: f64,
}

pub(crate) fn stats(args: &StatsArgs, out: &mut impl Write) -> io::Result<Outcome> {
    let Some(text) = policy_text(args.policy.as_deref()) else {
        return Ok(Outcome::Invalid);
    };
    let Some(engine) = compile(&text, args.policy.as_deref()) else {
        return Ok(Outcome::Invalid);
    };
    let baseline = match &args.baseline {
        Some(path) => match policy_text(Some(path)).and_then(|t| compile(&t, Some(path))) {
            Some(engine) => Some(engine),
            None => return Ok(Outcome::Invalid),
        },
        None => None,
    };
    let mut corpus = Corpus::default();
    let mut bad_lines = 0;
    for file in &args.files {
        match read_corpus(file, &mut corpus) {
            Ok(bad) => bad_lines += bad,
            Err(message) => {
                eprintln!("escalate-check: {message}");
                return Ok(Outcome::Invalid);
            }
        }
    }

    let courses = run(&engine, &corpus);
    let current = Stats::of(&engine, &courses);
    let compared = baseline.as_ref().map(|b| {
        let old = run(b, &corpus);
        let stats = Stats::of(b, &old);
        (stats, old)
    });
    let flips: Vec<Flip> = compared
        .as_ref()
        .map(|(_, old)| {
            old.iter()
                .zip(&courses)
                .filter(|(o, n)| o.action != n.action)
                .map(|(o, n)| Flip {
                    id: &n.id,
                    old: describe(o),
                    new: describe(n),
                    reasons: if n.action == Action::None {
                        &o.reasons
                    } else {
                        &n.reasons
                    },
                })
                .collect()
        })
        .unwrap_or_default();
    let sweep = match &args.sweep {
        Some(spec) => match sweep(&text, spec, &corpus) {
            Ok(points) => Some(points),
            Err(message) => {
                eprintln!("escalate-check: --sweep: {message}");
                return Ok(Outcome::Invalid);
            }
        },
        None => None,
    };

    match args.format {
        Format::Json => {
            #[derive(Serialize)]
            struct Output<'a> {
                policy: &'a Stats,
                #[serde(skip_serializing_if = "Option::is_none")]
                baseline: Option<&'a Stats>,
                #[serde(skip_serializing_if = "Option::is_none")]
                flips: Option<&'a [Flip<'a>]>,
                #[serde(skip_serializing_if = "Option::is_none")]
                sweep: Option<&'a [SweepPoint]>,
            }
            let output = Output {
                policy: &current,
                baseline: compared.as_ref().map(|(s, _)| s),
                flips: compared.as_ref().map(|_| flips.as_slice()),
                sweep: sweep.as_deref(),
            };
            serde_json::to_writer_pretty(&mut *out, &output)?;
            writeln!(out)?;
        }
        Format::Text => {
            write_stats(out, &current, compared.as_ref().map(|(s, _)| s))?;
            if compared.is_some() {
                writeln!(out, "\nflips ({}):", flips.len())?;
                for flip in &flips {
                    writeln!(out, "  {}: {} -> {}", flip.id, flip.old, flip.new)?;
                    for reason in flip.reasons {
                        writeln!(out, "      {reason}")?;
                    }
                }
            }
            if let (Some(points), Some(spec)) = (&sweep, &args.sweep) {
                let field = spec.split('=').next().unwrap_or(spec);
                writeln!(out, "\nsweep of {field}:")?;
                writeln!(
                    out,
                    "  {:>8}  {:>10}  {:>8}",
                    "value", "escalated", "offered"
                )?;
                for p in points {
                    writeln!(
                        out,
                        "  {:>8.3}  {:>9.1}%  {:>7.1}%",
                        p.value,
                        p.escalation_rate * 100.0,
                        p.offer_rate * 100.0
                    )?;
                }
            }
        }
    }
    Ok(if bad_lines == 0 {
        Outcome::Success
    } else {
        Outcome::Invalid
    })
}

fn policy_text(path: Option<&Path>) -> Option<String> {
    match path {
        None => Some(escalate::DEFAULT_POLICY.to_string()),
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => Some(text),
            Err(e) => {
                eprintln!(
                    "escalate-check: cannot read `{}`: {}",
                    path.display(),
                    io_message(&e)
                );
                None
            }
        },
    }
}

fn compile(text: &str, path: Option<&Path>) -> Option<Engine> {
    let origin = path.map_or("<built-in>".to_string(), |p| p.display().to_string());
    match Engine::builder().origin(origin).build(text) {
        Ok(engine) => Some(engine),
        Err(e) => {
            eprintln!("{}\n", e.render());
            None
        }
    }
}

/// Reads a JSONL or Bot Framework transcript into the corpus; a line that
/// is not a turn is reported on stderr and skipped, as `run` does. Returns
/// how many were.
fn read_corpus(path: &Path, corpus: &mut Corpus) -> Result<usize, String> {
    let name = path.display().to_string();
    let bytes =
        std::fs::read(path).map_err(|e| format!("cannot read `{name}`: {}", io_message(&e)))?;
    let bad = corpus.read(&name, &bytes)?;
    for line in &bad {
        crate::report_bad_line(&name, line.line as u64, &line.error);
    }
    Ok(bad.len())
}

/// Every conversation through the engine, on every core.
fn run(engine: &Engine, corpus: &Corpus) -> Vec<Course> {
    let bar = io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(corpus.conversations.len() as u64);
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr_with_hz(4));
        bar
    });
    let courses = corpus
        .conversations
        .par_iter()
        .map(|conversation| {
            let course = engine.course(conversation);
            if let Some(bar) = &bar {
                bar.inc(1);
            }
            course
        })
        .collect();
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    courses
}

fn describe(course: &Course) -> String {
    match (&course.rule, course.turn) {
        (Some(rule), Some(turn)) => format!("{} at turn {turn} by {rule}", course.action),
        _ => course.action.to_string(),
    }
}

fn write_stats(out: &mut impl Write, now: &Stats, old: Option<&Stats>) -> io::Result<()> {
    let line = |out: &mut dyn Write, label: &str, new: usize, old: Option<usize>| match old {
        Some(old) => writeln!(
            out,
            "  {label:<28} {new:>8} {old:>8} {:>+8}",
            new as i64 - old as i64
        ),
        None => writeln!(out, "  {label:<28} {new:>8}"),
    };
    write!(out, "policy {} ({})", now.policy, now.hash)?;
    match old {
        Some(old) => writeln!(
            out,
            ", baseline {} ({})\n  {:<28} {:>8} {:>8} {:>8}",
            old.policy, old.hash, "", "policy", "baseline", "change"
        )?,
        None => writeln!(out)?,
    }
    line(
        out,
        "conversations",
        now.conversations,
        old.map(|o| o.conversations),
    )?;
    line(out, "user turns", now.turns, old.map(|o| o.turns))?;
    line(
        out,
        "conversations escalated",
        now.escalated,
        old.map(|o| o.escalated),
    )?;
    line(
        out,
        "conversations only offered",
        now.offered,
        old.map(|o| o.offered),
    )?;
    write!(
        out,
        "  escalation rate              {:>7.1}%",
        now.escalation_rate * 100.0
    )?;
    match old {
        Some(old) => writeln!(
            out,
            " {:>7.1}% {:>+7.1}%",
            old.escalation_rate * 100.0,
            (now.escalation_rate - old.escalation_rate) * 100.0
        )?,
        None => writeln!(out)?,
    }
    let tables: [(&str, &Counts, Option<&Counts>); 4] = [
        ("decisions by action", &now.actions, old.map(|o| &o.actions)),
        (
            "decisions by deciding rule",
            &now.rules,
            old.map(|o| &o.rules),
        ),
        ("decisions by kind", &now.kinds, old.map(|o| &o.kinds)),
        (
            "reasons by trigger",
            &now.triggers,
            old.map(|o| &o.triggers),
        ),
    ];
    for (title, counts, old_counts) in tables {
        writeln!(out, "{title}:")?;
        let mut keys: Vec<&String> = counts.keys().collect();
        keys.extend(old_counts.into_iter().flat_map(|c| c.keys()));
        keys.sort();
        keys.dedup();
        for key in keys {
            let value = counts.get(key).copied().unwrap_or(0);
            line(
                out,
                key,
                value,
                old_counts.map(|c| c.get(key).copied().unwrap_or(0)),
            )?;
        }
    }
    writeln!(out, "first escalation at turn:")?;
    for (turn, count) in &now.first_escalation_turn {
        writeln!(out, "  {turn:<28} {count:>8}")?;
    }
    Ok(())
}

/// The escalation and offer rates with one rule's threshold at each value.
fn sweep(policy: &str, spec: &str, corpus: &Corpus) -> Result<Vec<SweepPoint>, String> {
    let (path, range) = spec
        .split_once('=')
        .ok_or("expected RULE.FIELD=FROM:TO:STEP")?;
    let (rule, field) = path
        .split_once('.')
        .ok_or("expected RULE.FIELD, such as `low-confidence.confidence.below`")?;
    let numbers: Vec<f64> = range
        .split(':')
        .map(|n| {
            n.trim()
                .parse::<f64>()
                .map_err(|_| format!("`{n}` is not a number"))
        })
        .collect::<Result<_, _>>()?;
    let [from, to, step] = numbers[..] else {
        return Err("expected FROM:TO:STEP, such as 0.2:0.6:0.05".into());
    };
    if to < from {
        return Err(format!(
            "the range runs backwards: TO `{to}` is below FROM `{from}`; write FROM:TO:STEP with FROM first"
        ));
    }
    if step.is_nan() || step <= 0.0 {
        return Err(format!("STEP `{step}` must be positive"));
    }
    if (to - from) / step > 1000.0 {
        return Err(format!(
            "{from}:{to}:{step} gives more than 1,000 values; use a larger STEP"
        ));
    }
    let document: serde_json::Value =
        serde_saphyr::from_str(policy).map_err(|e| format!("cannot read the policy: {e}"))?;
    let rules = document["rules"]
        .as_array()
        .ok_or("the policy has no rules")?;
    let index = rules
        .iter()
        .position(|r| r["id"] == rule)
        .ok_or_else(|| format!("no rule `{rule}`"))?;
    let keys: Vec<&str> = field.split('.').collect();
    let mut points = Vec::new();
    let steps = ((to - from) / step + 1e-9).floor() as usize;
    let mut probe = document.clone();
    let whole = find_field(&mut probe["rules"][index]["when"], &keys)
        .ok_or_else(|| format!("rule `{rule}` has no `{field}` under `when`"))?
        .is_u64();
    if whole && [from, step].iter().any(|n| n.fract() != 0.0) {
        return Err(format!(
            "`{path}` is a whole number: sweep it with whole numbers, such as 1:5:1"
        ));
    }
    for i in 0..=steps {
        // Rounded, so that 0.8 + 2 * 0.2 is 1.2 and not 1.2000000000000002.
        let value = ((from + step * i as f64) * 1e9).round() / 1e9;
        let mut edited = document.clone();
        let when = &mut edited["rules"][index]["when"];
        let slot = find_field(when, &keys).expect("the field was found above");
        *slot = if whole {
            serde_json::json!(value as u64)
        } else {
            serde_json::json!(value)
        };
        // JSON is YAML, so the edited policy loads as it is. Its errors are
        // about the value swept, so they are told by the field, not by a
        // position in this re-written text.
        let engine = Engine::from_yaml(&edited.to_string()).map_err(|e| {
            let problems: Vec<&str> = e.diagnostics().map(|d| d.message()).collect();
            format!("`{path}` = {value}: {}", problems.join("; "))
        })?;
        let courses = run(&engine, corpus);
        let stats = Stats::of(&engine, &courses);
        points.push(SweepPoint {
            value,
            escalation_rate: stats.escalation_rate,
            offer_rate: stats.offer_rate(),
        });
    }
    Ok(points)
}

/// The first place under `value`, however deep in `all`/`any`/`not`, where
/// the keys lead to an existing number.
fn find_field<'v>(
    value: &'v mut serde_json::Value,
    keys: &[&str],
) -> Option<&'v mut serde_json::Value> {
    let found = keys
        .iter()
        .try_fold(&*value, |v, k| v.get(k))
        .is_some_and(|v| v.is_number());
    if found {
        return keys.iter().try_fold(value, |v, k| v.get_mut(k));
    }
    match value {
        serde_json::Value::Object(map) => map.values_mut().find_map(|v| find_field(v, keys)),
        serde_json::Value::Array(items) => items.iter_mut().find_map(|v| find_field(v, keys)),
        _ => None,
    }
}
