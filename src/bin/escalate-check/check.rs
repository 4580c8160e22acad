//! `escalate-check check`: validate policies.

use std::io::{self, Write};
use std::path::PathBuf;

use clap::Args;
use escalate::{Diagnostic, Engine, PolicySummary};
use serde::Serialize;

use crate::{Format, Outcome};

pub(crate) const AFTER_HELP: &str = "\
Without POLICY, checks the built-in default policy.

Every error is reported at once, each as file:line:column with the offending
line and a hint. `--format json` prints one JSON object:
  {\"policies\": [{\"file\", \"valid\", \"summary\", \"diagnostics\": [{\"code\",
   \"severity\", \"file\", \"line\", \"column\", \"message\", \"help\"}]}]}

Exit codes: 0 every policy is valid, 2 any is invalid.";

#[derive(Args)]
pub(crate) struct CheckArgs {
    /// Policy files to check (default: the built-in policy)
    policies: Vec<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Serialize)]
struct Report<'a> {
    file: String,
    valid: bool,
    summary: Option<&'a PolicySummary>,
    diagnostics: Vec<&'a Diagnostic>,
}

pub(crate) fn check(args: &CheckArgs, out: &mut impl Write) -> io::Result<Outcome> {
    let loaded: Vec<(String, Result<Engine, escalate::PolicyError>)> = if args.policies.is_empty() {
        vec![("<built-in>".to_string(), Ok(Engine::builtin()))]
    } else {
        args.policies
            .iter()
            .map(|p| (p.display().to_string(), Engine::from_path(p)))
            .collect()
    };
    let reports: Vec<Report> = loaded
        .iter()
        .map(|(file, result)| Report {
            file: file.clone(),
            valid: result.is_ok(),
            summary: result.as_ref().ok().map(Engine::summary),
            diagnostics: result
                .as_ref()
                .err()
                .map(|e| e.diagnostics().collect())
                .unwrap_or_default(),
        })
        .collect();
    match args.format {
        Format::Json => {
            #[derive(Serialize)]
            struct Output<'r, 'a> {
                policies: &'r [Report<'a>],
            }
            serde_json::to_writer_pretty(&mut *out, &Output { policies: &reports })?;
            writeln!(out)?;
        }
        Format::Text => {
            for (report, (_, result)) in reports.iter().zip(&loaded) {
                match result {
                    Ok(engine) => {
                        writeln!(out, "{}: ok: {}", report.file, describe(engine.summary()))?
                    }
                    Err(error) => {
                        writeln!(out, "{}\n", error.render())?;
                        let n = error.diagnostics().len();
                        writeln!(
                            out,
                            "{}: invalid: {n} error{}",
                            report.file,
                            if n == 1 { "" } else { "s" }
                        )?;
                    }
                }
            }
        }
    }
    Ok(if reports.iter().all(|r| r.valid) {
        Outcome::Success
    } else {
        Outcome::Invalid
    })
}

fn describe(s: &PolicySummary) -> String {
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let disabled = s.rules - s.enabled_rules;
    let disabled = if disabled > 0 {
        format!(" ({disabled} disabled)")
    } else {
        String::new()
    };
    format!(
        "policy `{}` ({}), {}{disabled}, {}, {}, {}",
        s.name,
        s.hash,
        plural(s.rules, "rule"),
        plural(s.phrases, "phrase"),
        plural(s.topics, "topic"),
        plural(s.scripts, "script"),
    )
}
