//! `escalate-check eval`: measure a policy on labelled utterances.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use escalate::{EvalCase, EvalReport, Floor, FloorCheck, IntentMap, LabelledSet, UtteranceError};
use serde::Serialize;

use crate::{Format, Outcome, display_path, io_message, load_policy, write_reasons};

pub(crate) const AFTER_HELP: &str = "\
Input: labelled utterances, JSON Lines (`.jsonl`, or `-` for stdin), one a line:
  {\"text\": \"I want a real person\", \"expect\": \"escalate\", \"locale\": \"en\"}
(`expect`: escalate, offer, none or a rule id; optional `locale`, the tag the
bot would send; `language`, what the text is really in; `note`), or Rasa NLU
YAML (`.yml`, `.yaml`): each `- intent: NAME` with `examples: |`. Entity
annotations are stripped; --intent NAME=LABEL says what an intent should get,
and intents not mapped count as `none`.

Each utterance is one user turn on a fresh conversation. `none` is right when
nothing is offered or escalated, `offer`/`escalate` when that is the action, a
rule id when that rule decides. Prints recall, precision and false alarms,
per label, language and deciding rule, then the misses and false alarms with
the evidence that fired.

Floors (repeatable): --min-recall 0.9 (every positive), crisis=0.9 (a label),
escalate@de=0.9 (a label in one language), @de=0.9 (a language);
--min-precision 0.95 (every decision), fraud=0.9 (a deciding rule).

`--format json` prints one JSON object:
  {\"policy\", \"overall\", \"labels\", \"label_languages\", \"languages\", \"rules\",
   \"unmapped_examples\", \"unmapped_intents\", \"misses\", \"false_alarms\", \"floors\"}

Exit codes: 0 every floor met, 1 a floor not met (named on stderr for text),
2 invalid policy, an utterance or file that could not be read (reported on
stderr as file:line:column; the other utterances are still measured) or bad
arguments.";

#[derive(Args)]
pub(crate) struct EvalArgs {
    /// Policy file (default: the built-in policy)
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// What a Rasa intent should get: an action or a rule id
    #[arg(long = "intent", value_name = "NAME=LABEL")]
    intents: Vec<String>,
    /// A recall the policy must reach: overall, for a label, or a label in one language
    #[arg(long = "min-recall", value_name = "[LABEL[@LANG]=]FLOOR")]
    min_recall: Vec<String>,
    /// A precision the policy must reach: overall, or for a deciding rule
    #[arg(long = "min-precision", value_name = "[RULE=]FLOOR")]
    min_precision: Vec<String>,
    /// Labelled utterances: JSONL (`.jsonl`, `-` for stdin) or Rasa NLU YAML (`.yml`, `.yaml`)
    #[arg(value_name = "LABELLED", required = true)]
    files: Vec<PathBuf>,
}

pub(crate) fn eval(args: &EvalArgs, out: &mut impl Write) -> io::Result<Outcome> {
    let Some(engine) = load_policy(args.policy.as_deref()) else {
        return Ok(Outcome::Invalid);
    };
    let mut intents = IntentMap::new();
    let mut floors = Vec::new();
    let mut bad_arguments = false;
    for spec in &args.intents {
        if let Err(e) = intents.add_spec(spec, &engine) {
            report_error(&format!("--intent `{spec}`"), &e);
            bad_arguments = true;
        }
    }
    let specs = args
        .min_recall
        .iter()
        .map(|s| ("--min-recall", s, Floor::recall(s, &engine)))
        .chain(
            args.min_precision
                .iter()
                .map(|s| ("--min-precision", s, Floor::precision(s, &engine))),
        );
    for (option, spec, floor) in specs {
        match floor {
            Ok(floor) => floors.push(floor),
            Err(e) => {
                report_error(&format!("{option} `{spec}`"), &e);
                bad_arguments = true;
            }
        }
    }
    if bad_arguments {
        return Ok(Outcome::Invalid);
    }

    let mut set = LabelledSet::new();
    let mut bad_input = false;
    for path in &args.files {
        let name = display_path(path);
        let format = match InputFormat::of(path) {
            Some(format) => format,
            None => {
                eprintln!("escalate-check: cannot tell what `{name}` holds");
                eprintln!(
                    "  = help: name labelled JSONL `.jsonl` and Rasa NLU data `.yml` or `.yaml`"
                );
                bad_input = true;
                continue;
            }
        };
        let bytes = match read(path) {
            Ok(bytes) => bytes,
            Err(e) => {
                eprintln!("escalate-check: cannot read `{name}`: {}", io_message(&e));
                bad_input = true;
                continue;
            }
        };
        let errors = match format {
            InputFormat::Jsonl => set.read_jsonl(&engine, &name, &bytes),
            InputFormat::Rasa => match String::from_utf8(bytes) {
                Ok(text) => set.read_rasa(&name, &text, &intents),
                Err(_) => {
                    eprintln!("escalate-check: `{name}` is not valid UTF-8");
                    eprintln!("  = help: save the file as UTF-8");
                    bad_input = true;
                    continue;
                }
            },
        };
        for error in &errors {
            report_error("", error);
        }
        bad_input |= !errors.is_empty();
    }
    // A misspelt intent would silently count its examples as `none`.
    let unread = set.unread_intents(&intents);
    for error in &unread {
        report_error("--intent", error);
    }
    // That is a bad argument, and nothing is measured (docs/eval.md).
    if !unread.is_empty() {
        return Ok(Outcome::Invalid);
    }

    let report = set.evaluate(&engine);
    let checks: Vec<FloorCheck> = floors.iter().map(|f| report.check(f)).collect();
    match args.format {
        Format::Json => {
            #[derive(Serialize)]
            struct Output<'r> {
                #[serde(flatten)]
                report: &'r EvalReport,
                floors: &'r [FloorCheck],
            }
            let output = Output {
                report: &report,
                floors: &checks,
            };
            serde_json::to_writer_pretty(&mut *out, &output)?;
            writeln!(out)?;
        }
        Format::Text => {
            write_report(out, &report)?;
            if !checks.is_empty() {
                let met = checks.iter().filter(|c| c.met).count();
                writeln!(out, "\nfloors: {met} met, {} not met", checks.len() - met)?;
            }
            for check in checks.iter().filter(|c| !c.met) {
                eprintln!("escalate-check: floor not met: {check}");
            }
        }
    }
    Ok(if bad_input {
        Outcome::Invalid
    } else if checks.iter().any(|c| !c.met) {
        Outcome::Failed
    } else {
        Outcome::Success
    })
}

/// What a labelled file holds, by its name.
enum InputFormat {
    Jsonl,
    Rasa,
}

impl InputFormat {
    fn of(path: &Path) -> Option<InputFormat> {
        if path.as_os_str() == "-" {
            return Some(InputFormat::Jsonl);
        }
        let extension = path.extension()?.to_string_lossy().to_ascii_lowercase();
        match extension.as_str() {
            "jsonl" => Some(InputFormat::Jsonl),
            "yml" | "yaml" => Some(InputFormat::Rasa),
            _ => None,
        }
    }
}

fn read(path: &Path) -> io::Result<Vec<u8>> {
    if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        io::stdin().lock().read_to_end(&mut bytes)?;
        Ok(bytes)
    } else {
        std::fs::read(path)
    }
}

/// `file:line:column: message`, or `escalate-check: CONTEXT: message` for
/// an argument, then its help.
fn report_error(context: &str, error: &UtteranceError) {
    if error.line() > 0 {
        eprintln!("{error}");
    } else if context.is_empty() {
        eprintln!("escalate-check: {error}");
    } else {
        eprintln!("escalate-check: {context}: {error}");
    }
    if let Some(help) = error.help() {
        eprintln!("  = help: {help}");
    }
}

/// A rate as a percentage, `-` when there is nothing to count it over.
fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "-".to_string(), |r| format!("{:.1}%", r * 100.0))
}

/// Rows under a header: the first column left-aligned, the others right.
fn write_table(out: &mut impl Write, header: &[&str], rows: &[Vec<String>]) -> io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::from(" ");
        for (i, (cell, width)) in row.iter().zip(&widths).enumerate() {
            let pad = width - cell.chars().count();
            line.push(' ');
            if i == 0 {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            } else {
                line.push_str(&" ".repeat(pad + 1));
                line.push_str(cell);
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

fn write_report(out: &mut impl Write, r: &EvalReport) -> io::Result<()> {
    let o = &r.overall;
    writeln!(
        out,
        "policy {} ({}): {} utterance{}, {} positive, {} negative",
        r.policy.name,
        r.policy.hash,
        o.utterances,
        if o.utterances == 1 { "" } else { "s" },
        o.positives,
        o.negatives
    )?;
    write_table(
        out,
        &["", "count", "of", "rate"],
        &[
            vec![
                "recall".into(),
                o.recalled.to_string(),
                o.positives.to_string(),
                percent(o.recall),
            ],
            vec![
                "precision".into(),
                o.correct_decisions.to_string(),
                o.decisions.to_string(),
                percent(o.precision),
            ],
            vec![
                "false alarms".into(),
                o.false_alarms.to_string(),
                o.negatives.to_string(),
                percent(o.false_alarm_rate),
            ],
        ],
    )?;
    if r.unmapped_examples > 0 {
        let examples = r.unmapped_examples;
        writeln!(
            out,
            "{examples} example{} of intents no --intent maps counted as none (hard negatives): {}",
            if examples == 1 { "" } else { "s" },
            r.unmapped_intents.join(", ")
        )?;
    }

    writeln!(out, "\nby label:")?;
    let rows: Vec<Vec<String>> = r
        .labels
        .iter()
        .map(|l| {
            vec![
                l.label.to_string(),
                l.count.to_string(),
                l.correct.to_string(),
                percent(l.recall),
            ]
        })
        .collect();
    write_table(out, &["label", "count", "correct", "recall"], &rows)?;

    writeln!(out, "\nby label and language:")?;
    let rows: Vec<Vec<String>> = r
        .label_languages
        .iter()
        .map(|l| {
            vec![
                format!("{}@{}", l.label, l.language.as_deref().unwrap_or("-")),
                l.count.to_string(),
                l.correct.to_string(),
                percent(l.recall),
            ]
        })
        .collect();
    write_table(
        out,
        &["label@language", "count", "correct", "recall"],
        &rows,
    )?;

    writeln!(out, "\nby language:")?;
    let rows: Vec<Vec<String>> = r
        .languages
        .iter()
        .map(|l| {
            vec![
                l.language.clone(),
                l.positives.to_string(),
                percent(l.recall),
                l.negatives.to_string(),
                l.false_alarms.to_string(),
                percent(l.false_alarm_rate),
            ]
        })
        .collect();
    write_table(
        out,
        &[
            "language",
            "positives",
            "recall",
            "negatives",
            "false alarms",
            "rate",
        ],
        &rows,
    )?;

    writeln!(out, "\nby deciding rule:")?;
    let rows: Vec<Vec<String>> = r
        .rules
        .iter()
        .map(|f| {
            let labelled = f.labelled > 0;
            vec![
                f.rule.clone(),
                f.decided.to_string(),
                f.correct.to_string(),
                percent(f.precision),
                if labelled {
                    f.labelled.to_string()
                } else {
                    "-".into()
                },
                percent(f.recall),
            ]
        })
        .collect();
    write_table(
        out,
        &[
            "rule",
            "decided",
            "correct",
            "precision",
            "labelled",
            "recall",
        ],
        &rows,
    )?;

    writeln!(out, "\nmisses ({}):", r.misses.len())?;
    for case in &r.misses {
        write_case(out, case)?;
    }
    writeln!(out, "\nfalse alarms ({}):", r.false_alarms.len())?;
    for case in &r.false_alarms {
        write_case(out, case)?;
    }
    Ok(())
}

/// One miss or false alarm: where, the text, expected against decided, the evidence.
fn write_case(out: &mut impl Write, case: &EvalCase) -> io::Result<()> {
    writeln!(out, "  {}:{}: {}", case.file, case.line, case.text)?;
    write!(
        out,
        "    expected {}, decided {}",
        case.expected, case.action
    )?;
    if let Some(rule) = &case.rule {
        write!(out, " by {rule}")?;
    }
    writeln!(out)?;
    write_reasons(out, &case.reasons)?;
    if let Some(note) = &case.note {
        writeln!(out, "    note: {note}")?;
    }
    Ok(())
}
