//! `escalate-check test`: run policies' tests, like `cargo test`.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use escalate::{CaseReport, Diagnostic, Engine, PolicyError, TestReport, TestSuite};
use serde::Serialize;

use crate::{Format, Outcome, write_reasons, write_verdict};

/// The built-in policy's tests, run when no path is given.
const BUILTIN_TESTS: &str = escalate::DEFAULT_TESTS;

pub(crate) const AFTER_HELP: &str = "\
Each PATH is a policy (its own `tests:` section and NAME.tests.yaml beside
it), a test file (NAME.tests.yaml, testing the policy it names with
`policy:` or else NAME.yaml), or a folder of policies, searched throughout.
Without PATH, tests the built-in policy.

A test is a named conversation with the decision expected after the last
turn (`expect:`) or after any turn (an `expect:` inside the turn): action,
kind, rule, reasons (rules that must have fired), route, message. After the
results, each policy lists the rules no test made fire.

`--format json` prints one JSON object:
  {\"suites\": [{\"policy\", \"valid\", \"passed\", \"failed\", \"cases\": [{\"name\",
   \"passed\", \"failures\": [{\"turn\", \"field\", \"expected\", \"actual\",
   \"decision\"}]}], \"uncovered_rules\", \"diagnostics\"}], \"passed\", \"failed\"}

Exit codes: 0 every test passed, 1 a test failed or a policy has no tests,
2 a policy or test file is invalid.";

#[derive(Args)]
pub(crate) struct TestArgs {
    /// Policies, test files or folders (default: the built-in policy)
    paths: Vec<PathBuf>,
    /// Run only the tests whose name contains this text
    #[arg(long, value_name = "TEXT")]
    filter: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// One policy's tests, run or not.
#[derive(Serialize)]
struct Suite {
    policy: String,
    valid: bool,
    passed: usize,
    failed: usize,
    cases: Vec<CaseReport>,
    uncovered_rules: Vec<String>,
    diagnostics: Vec<Diagnostic>,
    #[serde(skip)]
    rendered_errors: Option<String>,
}

pub(crate) fn test(args: &TestArgs, out: &mut impl Write) -> io::Result<Outcome> {
    let mut suites = Vec::new();
    if args.paths.is_empty() {
        let loaded = TestSuite::from_test_file_yaml(BUILTIN_TESTS, "policies/default.tests.yaml")
            .map(|(suite, _)| (Engine::builtin(), suite));
        suites.push(run_suite("<built-in>".to_string(), loaded, args));
    }
    for target in args.paths.iter().flat_map(|path| targets(path)) {
        let (policy, loaded) = load(&target);
        suites.push(run_suite(policy, loaded, args));
    }
    let passed: usize = suites.iter().map(|s| s.passed).sum();
    let failed: usize = suites.iter().map(|s| s.failed).sum();
    match args.format {
        Format::Json => {
            #[derive(Serialize)]
            struct Output<'s> {
                suites: &'s [Suite],
                passed: usize,
                failed: usize,
            }
            let output = Output {
                suites: &suites,
                passed,
                failed,
            };
            serde_json::to_writer_pretty(&mut *out, &output)?;
            writeln!(out)?;
        }
        Format::Text => {
            for suite in &suites {
                write_suite(out, suite)?;
            }
            if suites.len() > 1 {
                writeln!(out, "all policies: {passed} passed; {failed} failed")?;
            }
        }
    }
    Ok(if suites.iter().any(|s| !s.valid) {
        Outcome::Invalid
    } else if failed > 0 || suites.iter().any(|s| s.cases.is_empty()) {
        Outcome::Failed
    } else {
        Outcome::Success
    })
}

/// What a path stands for: policies, each with its own tests, or a test
/// file that names its policy.
enum Target {
    Policy(PathBuf),
    Tests(PathBuf),
}

fn targets(path: &Path) -> Vec<Target> {
    if path.is_dir() {
        let mut policies = Vec::new();
        collect_policies(path, &mut policies);
        policies.sort();
        return policies.into_iter().map(Target::Policy).collect();
    }
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    if name.ends_with(".tests.yaml") {
        vec![Target::Tests(path.to_path_buf())]
    } else {
        vec![Target::Policy(path.to_path_buf())]
    }
}

fn collect_policies(dir: &Path, into: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if path.is_dir() {
            collect_policies(&path, into);
        } else if name.ends_with(".yaml") && !name.ends_with(".tests.yaml") {
            into.push(path);
        }
    }
}

/// The policy a target tests (for display), its engine and its tests.
fn load(target: &Target) -> (String, Result<(Engine, TestSuite), PolicyError>) {
    match target {
        Target::Policy(policy) => {
            let loaded = Engine::from_path(policy)
                .and_then(|engine| Ok((engine, TestSuite::for_policy_file(policy)?)));
            (policy.display().to_string(), loaded)
        }
        Target::Tests(tests) => match TestSuite::from_test_file(tests) {
            Ok((suite, named)) => {
                let name = tests.file_name().unwrap_or_default().to_string_lossy();
                let stem = name.trim_end_matches(".tests.yaml");
                let policy = tests.with_file_name(named.unwrap_or_else(|| format!("{stem}.yaml")));
                let loaded = Engine::from_path(&policy).map(|engine| (engine, suite));
                (policy.display().to_string(), loaded)
            }
            Err(e) => (tests.display().to_string(), Err(e)),
        },
    }
}

fn run_suite(
    policy: String,
    loaded: Result<(Engine, TestSuite), PolicyError>,
    args: &TestArgs,
) -> Suite {
    match loaded {
        Ok((engine, mut suite)) => {
            if let Some(filter) = &args.filter {
                suite.filter(filter);
            }
            let TestReport {
                cases,
                uncovered_rules,
                ..
            } = suite.run(&engine);
            let passed = cases.iter().filter(|c| c.passed).count();
            Suite {
                policy,
                valid: true,
                passed,
                failed: cases.len() - passed,
                cases,
                uncovered_rules,
                diagnostics: Vec::new(),
                rendered_errors: None,
            }
        }
        Err(e) => Suite {
            policy,
            valid: false,
            passed: 0,
            failed: 0,
            cases: Vec::new(),
            uncovered_rules: Vec::new(),
            diagnostics: e.diagnostics().cloned().collect(),
            rendered_errors: Some(e.render()),
        },
    }
}

fn write_suite(out: &mut impl Write, suite: &Suite) -> io::Result<()> {
    if let Some(errors) = &suite.rendered_errors {
        writeln!(out, "{errors}\n")?;
        return writeln!(out, "{}: invalid, no tests run\n", suite.policy);
    }
    let plural = if suite.cases.len() == 1 { "" } else { "s" };
    writeln!(
        out,
        "running {} test{plural} for {}",
        suite.cases.len(),
        suite.policy
    )?;
    for case in &suite.cases {
        let status = if case.passed { "ok" } else { "FAILED" };
        writeln!(out, "test {} ... {status}", case.name)?;
    }
    let failures: Vec<&CaseReport> = suite.cases.iter().filter(|c| !c.passed).collect();
    if !failures.is_empty() {
        writeln!(out, "\nfailures:")?;
    }
    for case in failures {
        writeln!(out, "\n---- {} ----", case.name)?;
        for mismatch in &case.failures {
            writeln!(
                out,
                "turn {}: {}\n  expected: {}\n  actual:   {}",
                mismatch.turn, mismatch.field, mismatch.expected, mismatch.actual
            )?;
        }
        if let Some(last) = case.failures.last() {
            write!(out, "  decision on turn {}: ", last.turn)?;
            write_verdict(out, &last.decision)?;
            writeln!(out)?;
            write_reasons(out, &last.decision.reasons)?;
        }
    }
    if suite.cases.is_empty() {
        writeln!(
            out,
            "no tests: add a `tests:` section or a .tests.yaml file beside the policy"
        )?;
    }
    if !suite.uncovered_rules.is_empty() {
        writeln!(
            out,
            "\nrules no test made fire: {}",
            suite.uncovered_rules.join(", ")
        )?;
    }
    let result = if suite.failed == 0 && !suite.cases.is_empty() {
        "ok"
    } else {
        "FAILED"
    };
    writeln!(
        out,
        "\ntest result: {result}. {} passed; {} failed\n",
        suite.passed, suite.failed
    )
}
