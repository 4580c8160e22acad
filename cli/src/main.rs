//! `escalate-check`: dry-run, validate and summarize escalation policies.
//!
//! A thin layer over the `escalate` library: argument parsing, files and
//! output formats live here; every decision is the library's.

mod check;
mod eval;
mod run;
mod stats;
mod test;

use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Buffer for reading transcripts and writing decisions: a million turns
/// are about 200 MB in and 500 MB out, so fewer, larger system calls.
pub(crate) const IO_BUFFER: usize = 256 << 10;

const AFTER_HELP: &str = "\
Examples:
  escalate-check run examples/transcripts/*.jsonl
  escalate-check run --policy my-policy.yaml --format json chats.jsonl > decisions.jsonl
  cat chats.jsonl | escalate-check run -
  escalate-check check policies/default.yaml my-policy.yaml
  escalate-check test policies/
  escalate-check stats --policy new.yaml --baseline old.yaml chats.jsonl
  escalate-check eval --policy my-policy.yaml --min-recall 0.9 labelled.jsonl
  escalate-check eval --intent human_handoff=escalate --min-precision 0.95 data/nlu.yml
  escalate-check schema > policy.schema.json

Exit codes:
  0  success
  1  a policy test failed or a policy has no tests (`test`), warnings
     with `check --deny-warnings`, or a floor not met (`eval`)
  2  invalid policy, invalid input or bad arguments";

/// Dry-run, validate and summarize escalation policies for chatbots.
#[derive(Parser)]
#[command(name = "escalate-check", version, after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a policy over JSONL transcripts and print one decision per user turn
    #[command(after_help = run::AFTER_HELP)]
    Run(run::RunArgs),
    /// Validate policies: a summary line each, or every error with its place
    #[command(after_help = check::AFTER_HELP)]
    Check(check::CheckArgs),
    /// Run policies' tests: one line per test, failures with the decision, rules never exercised
    #[command(after_help = test::AFTER_HELP)]
    Test(test::TestArgs),
    /// What a policy does to a corpus: rates and counts, beside a baseline, or across a threshold sweep
    #[command(after_help = stats::AFTER_HELP)]
    Stats(stats::StatsArgs),
    /// Measure a policy on labelled utterances: recall, precision, false alarms, misses
    #[command(after_help = eval::AFTER_HELP)]
    Eval(eval::EvalArgs),
    /// Print the JSON Schema of a policy, turn, decision, state or test file
    #[command(after_help = SCHEMA_HELP)]
    Schema(SchemaArgs),
}

#[derive(clap::Args)]
struct SchemaArgs {
    /// The document whose schema to print
    #[arg(long = "for", value_enum, default_value_t = SchemaFor::Policy)]
    document: SchemaFor,
}

/// The documents `schema --for` knows, as [`escalate::Document`] names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum SchemaFor {
    /// A policy file (the default)
    Policy,
    /// A turn: one transcript line
    Turn,
    /// A decision, as `run --format json` prints it
    Decision,
    /// A conversation's saved state
    State,
    /// A policy test file (`*.tests.yaml`)
    Tests,
}

impl From<SchemaFor> for escalate::Document {
    fn from(document: SchemaFor) -> escalate::Document {
        match document {
            SchemaFor::Policy => escalate::Document::Policy,
            SchemaFor::Turn => escalate::Document::Turn,
            SchemaFor::Decision => escalate::Document::Decision,
            SchemaFor::State => escalate::Document::State,
            SchemaFor::Tests => escalate::Document::Tests,
        }
    }
}

const SCHEMA_HELP: &str = "\
Generated from the types that read and write each document, so it never
drifts from them. Save the policy's and point your editor's YAML extension
at it, for instance with a first line in the policy:
  # yaml-language-server: $schema=./policy.schema.json
The others let bots in any language validate what they send and receive:
  escalate-check schema --for turn > turn.schema.json
Committed copies: policies/*.schema.json.";

/// Output for people (`text`) or for machines (`json`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    /// A readable listing
    Text,
    /// JSON: stable field names, for scripts and other tools
    Json,
}

/// What a command ended with.
enum Outcome {
    Success,
    Failed,
    Invalid,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(IO_BUFFER, stdout.lock());
    let result = match cli.command {
        Command::Run(args) => run::run(&args, &mut out),
        Command::Check(args) => check::check(&args, &mut out),
        Command::Test(args) => test::test(&args, &mut out),
        Command::Stats(args) => stats::stats(&args, &mut out),
        Command::Eval(args) => eval::eval(&args, &mut out),
        Command::Schema(args) => {
            serde_json::to_writer_pretty(&mut out, &escalate::schema(args.document.into()))
                .map_err(io::Error::from)
                .and_then(|()| writeln!(out))
                .map(|()| Outcome::Success)
        }
    };
    let result = result.and_then(|outcome| out.flush().map(|()| outcome));
    match result {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::Failed) => ExitCode::from(1),
        Ok(Outcome::Invalid) => ExitCode::from(2),
        // The reader went away (`| head`): nothing left to say.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("escalate-check: error: {e}");
            ExitCode::from(2)
        }
    }
}

/// An I/O error as the style guide wants it: lowercase, no "(os error N)".
fn io_message(e: &io::Error) -> String {
    let text = e.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text);
    let mut chars = text.chars();
    chars
        .next()
        .map_or(String::new(), |c| c.to_lowercase().chain(chars).collect())
}

/// The byte-order mark .NET and Windows tools write at the start of UTF-8
/// files; a transcript may begin with it.
pub(crate) const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Reports a transcript line that is not a turn, as `file:line:column`.
fn report_bad_line(file: &str, line: u64, error: &escalate::TurnError) {
    eprintln!("{file}:{line}:{}: invalid turn: {error}", error.column());
    if let Some(help) = error.help() {
        eprintln!("  = help: {help}");
    }
}

/// How standard input is named in messages.
pub(crate) const STDIN: &str = "<stdin>";

/// A file argument: `-` is standard input.
fn display_path(path: &Path) -> String {
    if path.as_os_str() == "-" {
        STDIN.to_string()
    } else {
        path.display().to_string()
    }
}

/// `escalate (fallback) by asks-for-human`, or just `none`.
fn write_verdict(out: &mut impl Write, d: &escalate::Decision) -> io::Result<()> {
    write!(out, "{}", d.action)?;
    if let (Some(kind), Some(rule)) = (d.kind, &d.rule) {
        write!(out, " ({kind}) by {rule}")?;
    }
    Ok(())
}

/// The policy at `path`, or the built-in one; `None` after reporting on
/// stderr why the file does not load.
fn load_policy(path: Option<&Path>) -> Option<escalate::Engine> {
    let Some(path) = path else {
        return Some(escalate::Engine::builtin());
    };
    match escalate::Engine::from_path(path) {
        Ok(engine) => Some(engine),
        Err(error) => {
            eprintln!("{}\n", error.render());
            eprintln!("escalate-check: the policy {} is invalid", path.display());
            None
        }
    }
}

/// One line per reason: rule, trigger, detail.
fn write_reasons(out: &mut impl Write, reasons: &[escalate::Reason]) -> io::Result<()> {
    for reason in reasons {
        writeln!(
            out,
            "    - {} [{}] {}",
            reason.rule, reason.trigger, reason.detail
        )?;
    }
    Ok(())
}
