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

Warnings (severity `warning`, same format) point at what loads but is
probably a mistake: a topic no rule uses, a rule that another always
outranks when it fires, a phrase in rules of different kinds, a threshold
that can never be crossed. They do not fail the check unless
--deny-warnings.

Exit codes: 0 every policy is valid, 1 warnings with --deny-warnings,
2 any policy is invalid.";

#[derive(Args)]
pub(crate) struct CheckArgs {
    /// Policy files to check (default: the built-in policy)
    policies: Vec<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Fail (exit 1) when a policy has warnings
    #[arg(long)]
    deny_warnings: bool,
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
            diagnostics: match result {
                Ok(engine) => engine.warnings().collect(),
                Err(e) => e.diagnostics().collect(),
            },
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
                        for warning in engine.warnings() {
                            writeln!(out, "{}\n", warning.render())?;
                        }
                        let n = engine.warnings().len();
                        let warnings = match n {
                            0 => String::new(),
                            1 => " (1 warning)".to_string(),
                            n => format!(" ({n} warnings)"),
                        };
                        let summary = describe(engine.summary());
                        writeln!(out, "{}: ok{warnings}: {summary}", report.file)?
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
    let warned = loaded
        .iter()
        .any(|(_, result)| result.as_ref().is_ok_and(|e| e.warnings().len() > 0));
    Ok(if !reports.iter().all(|r| r.valid) {
        Outcome::Invalid
    } else if warned && args.deny_warnings {
        Outcome::Failed
    } else {
        Outcome::Success
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
