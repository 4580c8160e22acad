//! `escalate-check check`: validate policies.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use escalate::{CheckReport, Diagnostic, Engine, PolicyError, PolicySummary, TestSuite};
use serde::Serialize;

use crate::{Format, Outcome};

pub(crate) const AFTER_HELP: &str = "\
Without POLICY, checks the built-in default policy. A file named
`NAME.tests.yaml` is checked as a test file (its syntax and expectations;
`escalate-check test` runs it).

Every error is reported at once, each as file:line:column with the offending
line and a hint. `--format json` prints one JSON object:
  {\"policies\": [{\"file\", \"valid\", \"summary\", \"diagnostics\": [{\"code\",
   \"severity\", \"file\", \"line\", \"column\", \"end\", \"message\", \"help\"}]}]}

Warnings (severity `warning`, same format) point at what loads but is
probably a mistake:
  unused-topic         a topic no rule uses
  unused-queue         queue settings no rule routes to (often a misspelt name)
  shadowed-rule        a rule that another always outranks when it fires
  phrase-kinds-differ  a phrase in rules of different kinds
  never-fires          a threshold that can never be crossed
  unscored-language    built-in sentiment, but no lexicon for the default locale
  collect-never-asked  a triage question that is never asked (an urgent rule,
                       or more questions than `max_questions`)
  consult-urgent       an urgent rule that waits for an agent's approval
They do not fail the check unless --deny-warnings.

Exit codes: 0 every policy is valid, 1 warnings with --deny-warnings,
2 any policy is invalid.";

#[derive(Args)]
pub(crate) struct CheckArgs {
    /// Policy files (and `NAME.tests.yaml` test files) to check (default: the built-in policy)
    policies: Vec<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Fail (exit 1) when a policy has warnings
    #[arg(long)]
    deny_warnings: bool,
}

/// What a file given to `check` turned out to be.
enum Checked {
    Policy(Result<Box<Engine>, PolicyError>),
    /// A `NAME.tests.yaml` file, checked as a test file.
    Tests(Result<TestSuite, PolicyError>),
}

impl Checked {
    fn of(path: &Path) -> Checked {
        if path.to_string_lossy().ends_with(".tests.yaml") {
            Checked::Tests(TestSuite::from_test_file(path).map(|(suite, _)| suite))
        } else {
            Checked::Policy(Engine::from_path(path).map(Box::new))
        }
    }

    fn error(&self) -> Option<&PolicyError> {
        match self {
            Checked::Policy(Err(e)) | Checked::Tests(Err(e)) => Some(e),
            _ => None,
        }
    }

    fn warnings(&self) -> Vec<&Diagnostic> {
        match self {
            Checked::Policy(Ok(engine)) => engine.warnings().collect(),
            _ => Vec::new(),
        }
    }
}

pub(crate) fn check(args: &CheckArgs, out: &mut impl Write) -> io::Result<Outcome> {
    let loaded: Vec<(String, Checked)> = if args.policies.is_empty() {
        vec![(
            "<built-in>".to_string(),
            Checked::Policy(Ok(Box::new(Engine::builtin()))),
        )]
    } else {
        args.policies
            .iter()
            .map(|p| (p.display().to_string(), Checked::of(p)))
            .collect()
    };
    let reports: Vec<CheckReport> = loaded
        .iter()
        .map(|(file, checked)| match checked {
            Checked::Policy(loaded) => CheckReport::policy(file.clone(), loaded),
            Checked::Tests(loaded) => CheckReport::tests(file.clone(), loaded),
        })
        .collect();
    match args.format {
        Format::Json => {
            #[derive(Serialize)]
            struct Output<'r> {
                policies: &'r [CheckReport],
            }
            serde_json::to_writer_pretty(&mut *out, &Output { policies: &reports })?;
            writeln!(out)?;
        }
        Format::Text => {
            for (report, (_, checked)) in reports.iter().zip(&loaded) {
                if let Some(error) = checked.error() {
                    writeln!(out, "{}\n", error.render())?;
                    let n = error.diagnostics().len();
                    writeln!(
                        out,
                        "{}: invalid: {n} error{}",
                        report.file,
                        if n == 1 { "" } else { "s" }
                    )?;
                    continue;
                }
                let warnings = checked.warnings();
                for warning in &warnings {
                    writeln!(out, "{}\n", warning.render())?;
                }
                let warned = match warnings.len() {
                    0 => String::new(),
                    1 => " (1 warning)".to_string(),
                    n => format!(" ({n} warnings)"),
                };
                let summary = match checked {
                    Checked::Policy(Ok(engine)) => describe(engine.summary()),
                    Checked::Tests(Ok(suite)) => format!(
                        "test file, {} test{} (run them with `escalate-check test`)",
                        suite.len(),
                        if suite.len() == 1 { "" } else { "s" }
                    ),
                    _ => unreachable!("errors are reported above"),
                };
                writeln!(out, "{}: ok{warned}: {summary}", report.file)?
            }
        }
    }
    let warned = loaded
        .iter()
        .any(|(_, checked)| !checked.warnings().is_empty());
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
