//! `escalate-check run`: dry-run a policy over JSONL transcripts.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use escalate::{Action, ConversationState, Decision, Engine, Role, Turn};

use crate::{Format, Outcome, display_path, io_message, write_reasons, write_verdict};

pub(crate) const AFTER_HELP: &str = "\
Input: JSON Lines, one turn per line, such as
  {\"conversation_id\": \"c-17\", \"text\": \"I want a real person\", \"outcome\": \"no_match\"}
Every field is optional. A file may interleave conversations: turns are
grouped by conversation_id in file order, and each conversation starts from
a fresh state. Bot turns (\"role\": \"bot\") are read but not evaluated.

Output: `text` lists each user turn with its decision and reasons, then a
summary; `json` prints one decision per user turn as JSON Lines.

Long runs show progress and throughput on stderr when stderr is a terminal
and stdout is redirected. Memory is bounded by the conversations seen in the
last --forget-after lines, not by the size of the input.

Exit codes: 0 success, 2 invalid policy or a turn that could not be read
(reported on stderr as file:line:column; the other turns still run).";

#[derive(Args)]
pub(crate) struct RunArgs {
    /// Policy file (default: the built-in policy)
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// JSONL transcripts; `-` reads standard input
    #[arg(value_name = "FILE", default_value = "-")]
    files: Vec<PathBuf>,
    /// Forget a conversation after this many lines without a turn of it,
    /// which bounds memory on long logs; a later turn starts it afresh
    #[arg(long, value_name = "LINES", default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..))]
    forget_after: u64,
}

#[derive(Default)]
struct Tally {
    conversations: usize,
    turns: usize,
    offers: usize,
    escalations: usize,
    bad_lines: usize,
}

pub(crate) fn run(args: &RunArgs, out: &mut impl Write) -> io::Result<Outcome> {
    let engine = match &args.policy {
        Some(path) => match Engine::from_path(path) {
            Ok(engine) => engine,
            Err(error) => {
                eprintln!("{}\n", error.render());
                eprintln!("escalate-check: the policy {} is invalid", path.display());
                return Ok(Outcome::Invalid);
            }
        },
        None => Engine::builtin(),
    };
    let mut tally = Tally::default();
    let total_bytes = args
        .files
        .iter()
        .map(|p| {
            std::fs::metadata(p)
                .ok()
                .filter(|m| m.is_file())
                .map(|m| m.len())
        })
        .sum::<Option<u64>>();
    let progress = Progress::new(total_bytes);
    for path in &args.files {
        let name = display_path(path);
        let reader: Box<dyn BufRead> = if path.as_os_str() == "-" {
            Box::new(io::stdin().lock())
        } else {
            match File::open(path) {
                Ok(file) => Box::new(BufReader::new(file)),
                Err(e) => {
                    eprintln!("escalate-check: cannot read `{name}`: {}", io_message(&e));
                    tally.bad_lines += 1;
                    continue;
                }
            }
        };
        run_file(&engine, &name, reader, args, &progress, out, &mut tally)?;
    }
    progress.finish(tally.turns);
    if args.format == Format::Text {
        writeln!(
            out,
            "{} conversation{}, {} user turn{}: {} escalated, {} offered",
            tally.conversations,
            if tally.conversations == 1 { "" } else { "s" },
            tally.turns,
            if tally.turns == 1 { "" } else { "s" },
            tally.escalations,
            tally.offers
        )?;
    }
    Ok(if tally.bad_lines == 0 {
        Outcome::Success
    } else {
        Outcome::Invalid
    })
}

/// Conversations open at once, keyed by id: the state and the line that
/// last touched it.
type Conversations = HashMap<Option<Arc<str>>, (ConversationState, u64)>;

fn run_file(
    engine: &Engine,
    name: &str,
    mut reader: Box<dyn BufRead + '_>,
    args: &RunArgs,
    progress: &Progress,
    out: &mut impl Write,
    tally: &mut Tally,
) -> io::Result<()> {
    let mut conversations = Conversations::new();
    let mut line = Vec::new();
    let mut number: u64 = 0;
    loop {
        line.clear();
        let read = match reader.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(read) => read,
            Err(e) => {
                eprintln!(
                    "{name}:{}: cannot read the line: {}",
                    number + 1,
                    io_message(&e)
                );
                tally.bad_lines += 1;
                break;
            }
        };
        number += 1;
        progress.advance(read as u64);
        if number.is_multiple_of(args.forget_after) {
            conversations.retain(|_, (_, last)| number - *last <= args.forget_after);
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let turn = match Turn::from_json(&line) {
            Ok(turn) => turn,
            Err(e) => {
                eprintln!("{name}:{number}:{}: invalid turn: {e}", e.column());
                if let Some(help) = e.help() {
                    eprintln!("  = help: {help}");
                }
                tally.bad_lines += 1;
                continue;
            }
        };
        let (state, last) = conversations
            .entry(turn.conversation_id.clone())
            .or_insert_with(|| {
                tally.conversations += 1;
                (ConversationState::new(), number)
            });
        *last = number;
        if turn.role == Role::Bot {
            continue;
        }
        let decision = engine.evaluate(state, &turn);
        tally.turns += 1;
        match decision.action {
            Action::Escalate => tally.escalations += 1,
            Action::Offer => tally.offers += 1,
            Action::None => {}
        }
        match args.format {
            Format::Json => {
                serde_json::to_writer(&mut *out, &decision)?;
                writeln!(out)?;
            }
            Format::Text => write_text(out, &turn, &decision)?,
        }
    }
    Ok(())
}

/// A progress bar on stderr, shown only when stderr is a terminal and
/// stdout is not (decisions go to a file or a pipe): progress never mixes
/// with the data, nor with text a person is reading on the same screen.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    started: std::time::Instant,
}

impl Progress {
    fn new(total_bytes: Option<u64>) -> Progress {
        let shown = io::stderr().is_terminal() && !io::stdout().is_terminal();
        let bar = shown.then(|| {
            let bar = match total_bytes {
                Some(total) => indicatif::ProgressBar::new(total).with_style(
                    indicatif::ProgressStyle::with_template(
                        "{spinner} {bar:30} {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left)",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                ),
                None => indicatif::ProgressBar::new_spinner(),
            };
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr_with_hz(4));
            bar
        });
        Progress {
            bar,
            started: std::time::Instant::now(),
        }
    }

    fn advance(&self, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
        }
    }

    /// Clears the bar and reports the throughput, when the bar was shown.
    fn finish(&self, turns: usize) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
            let seconds = self.started.elapsed().as_secs_f64();
            eprintln!(
                "escalate-check: {turns} user turns in {seconds:.2} s ({:.0} turns/s)",
                turns as f64 / seconds.max(1e-9)
            );
        }
    }
}

/// One decision for people: the verdict and route, the user's words, the reasons.
fn write_text(out: &mut impl Write, turn: &Turn, d: &Decision) -> io::Result<()> {
    let id = d.conversation_id.as_deref().unwrap_or("-");
    write!(out, "{id} #{} ", d.turn)?;
    write_verdict(out, d)?;
    if let Some(route) = &d.route {
        write!(out, " -> {}", route.queue)?;
        if let Some(skill) = &route.skill {
            write!(out, "/{skill}")?;
        }
        write!(out, " [{}]", route.priority)?;
    }
    writeln!(out)?;
    match &turn.menu {
        Some(menu) => writeln!(out, "    user: [menu {menu}] {}", turn.text)?,
        None => writeln!(out, "    user: {}", turn.text)?,
    }
    write_reasons(out, d)?;
    if let Some(message) = &d.message {
        writeln!(out, "    message: {message}")?;
    }
    if let Some(note) = &d.agent_note {
        writeln!(out, "    agent note: {note}")?;
    }
    for error in &d.errors {
        writeln!(out, "    error in {}: {}", error.rule, error.message)?;
    }
    Ok(())
}
