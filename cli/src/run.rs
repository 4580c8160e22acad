//! `escalate-check run`: dry-run a policy over JSONL transcripts.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{self, BufRead, BufReader, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use escalate::{
    Action, ConversationReference, ConversationState, Decision, Engine, HandoffStatus, Role,
    TranscriptLine, Turn,
};

use crate::{
    Format, IO_BUFFER, Outcome, STDIN, display_path, io_message, load_policy, write_reasons,
    write_verdict,
};

pub(crate) const AFTER_HELP: &str = "\
Input: JSON Lines, one turn per line, such as
  {\"conversation_id\": \"c-17\", \"text\": \"I want a real person\", \"outcome\": \"no_match\"}
Every field is optional. A file may interleave conversations: turns are
grouped by conversation_id in file order, and each conversation starts from
a fresh state. Bot turns (\"role\": \"bot\") are read but not evaluated.
An agent hub's Bot Framework status events may stand between turns:
  {\"type\": \"event\", \"name\": \"handoff.status\", \"value\": {\"state\": \"accepted\"},
   \"conversation\": {\"id\": \"c-17\"}}
so that a whole handoff round trip can be dry-run (policies with a
`handoff` section track the conversation's phase).

Output: `text` lists each user turn and status with its decision and
reasons, then a summary; `json` prints one decision per user turn and status
as JSON Lines. With --handoff, each decision that hands over is followed by
the `handoff.initiate` event the bot would send (in `json`, a line of its
own whose `type` is `event`).

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
    /// Also print the `handoff.initiate` event (with its redacted
    /// transcript) for each decision that hands over, and the
    /// `handoff.consult` event for each that consults an agent
    #[arg(long)]
    handoff: bool,
}

#[derive(Default)]
struct Tally {
    conversations: usize,
    turns: usize,
    offers: usize,
    escalations: usize,
    questions: usize,
    consultations: usize,
    bad_lines: usize,
}

pub(crate) fn run(args: &RunArgs, out: &mut impl Write) -> io::Result<Outcome> {
    let Some(engine) = load_policy(args.policy.as_deref()) else {
        return Ok(Outcome::Invalid);
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
            if io::stdin().is_terminal() {
                eprintln!(
                    "escalate-check: reading turns from standard input, one JSON object a line, such as {{\"text\": \"I want a person\"}} (end with Ctrl-D)"
                );
            }
            Box::new(BufReader::with_capacity(IO_BUFFER, io::stdin().lock()))
        } else {
            match File::open(path) {
                Ok(file) => Box::new(BufReader::with_capacity(IO_BUFFER, file)),
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
        write!(
            out,
            "{} conversation{}, {} user turn{}, of which {} escalated and {} offered",
            tally.conversations,
            if tally.conversations == 1 { "" } else { "s" },
            tally.turns,
            if tally.turns == 1 { "" } else { "s" },
            tally.escalations,
            tally.offers
        )?;
        if tally.questions > 0 {
            write!(out, ", {} asked a triage question", tally.questions)?;
        }
        if tally.consultations > 0 {
            write!(out, ", {} consulted an agent", tally.consultations)?;
        }
        writeln!(out)?;
    }
    Ok(if tally.bad_lines == 0 {
        Outcome::Success
    } else {
        Outcome::Invalid
    })
}

/// A conversation open in a run.
struct Conversation {
    state: ConversationState,
    /// The line that last touched it.
    last: u64,
    /// Its last turns, for `handoff.initiate` (kept only with --handoff).
    transcript: VecDeque<Turn>,
}

/// Conversations open at once, keyed by id.
type Conversations = HashMap<Option<Arc<str>>, Conversation>;

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
    // Piped in from another process, each decision goes out before the
    // next turn is awaited, so the process can read it back line by line.
    let interactive = name == STDIN;
    loop {
        if interactive {
            out.flush()?;
        }
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
        if number == 1 && line.starts_with(crate::UTF8_BOM) {
            line.drain(..crate::UTF8_BOM.len());
        }
        if number.is_multiple_of(args.forget_after) {
            conversations.retain(|_, c| number - c.last <= args.forget_after);
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let line = match TranscriptLine::from_json(&line) {
            Ok(line) => line,
            Err(e) => {
                crate::report_bad_line(name, number, &e);
                tally.bad_lines += 1;
                continue;
            }
        };
        let id = match &line {
            TranscriptLine::Turn(turn) => turn.conversation_id.clone(),
            TranscriptLine::Status(status) => status.conversation_id.clone(),
        };
        let conversation = conversations.entry(id).or_insert_with(|| {
            tally.conversations += 1;
            Conversation {
                state: ConversationState::new(),
                last: number,
                transcript: VecDeque::new(),
            }
        });
        conversation.last = number;
        let turn = match line {
            TranscriptLine::Turn(turn) => turn,
            TranscriptLine::Status(status) => {
                let decision = engine.apply_status(&mut conversation.state, &status);
                write_status(out, args.format, &status, &decision)?;
                continue;
            }
        };
        if args.handoff {
            if conversation.transcript.len() == engine.transcript_turns() {
                conversation.transcript.pop_front();
            }
            conversation.transcript.push_back(turn.clone());
        }
        if turn.role == Role::Bot {
            continue;
        }
        let decision = engine.evaluate(&mut conversation.state, &turn);
        tally.turns += 1;
        match decision.action {
            Action::Escalate => tally.escalations += 1,
            Action::Offer => tally.offers += 1,
            Action::Collect => tally.questions += 1,
            Action::Consult => tally.consultations += 1,
            Action::None => {}
        }
        match args.format {
            Format::Json => {
                serde_json::to_writer(&mut *out, &decision)?;
                writeln!(out)?;
            }
            Format::Text => write_text(out, &turn, &decision)?,
        }
        if args.handoff && decision.starts_handoff() {
            let reference =
                ConversationReference::placeholder(turn.conversation_id.as_deref().unwrap_or("-"));
            let transcript = conversation.transcript.make_contiguous();
            let event = engine.handoff_initiate(&decision, &reference, transcript);
            write_event(out, args.format, &event)?;
        } else if args.handoff && decision.starts_consult() {
            let reference =
                ConversationReference::placeholder(turn.conversation_id.as_deref().unwrap_or("-"));
            let transcript = conversation.transcript.make_contiguous();
            let event = engine.handoff_consult(&decision, &reference, transcript);
            write_event(out, args.format, &event)?;
        }
    }
    Ok(())
}

/// The event the bot would send: one JSON line; for people, its `value`
/// (the reasons shown above) and its redacted transcript.
fn write_event(out: &mut impl Write, format: Format, event: &serde_json::Value) -> io::Result<()> {
    if format == Format::Json {
        serde_json::to_writer(&mut *out, event)?;
        return writeln!(out);
    }
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("-").to_string();
    writeln!(
        out,
        "    sends {} {}",
        text(&event["name"]),
        text(&event["id"])
    )?;
    let mut value = event["value"].clone();
    if let Some(reasons) = value.get_mut("reasons") {
        let count = reasons.as_array().map_or(0, Vec::len);
        *reasons = format!("({count}, as above)").into();
    }
    writeln!(out, "      value: {value}")?;
    let activities = event["attachments"][0]["content"]["activities"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    let turns = activities.len();
    let plural = if turns == 1 { "" } else { "s" };
    writeln!(out, "      transcript ({turns} turn{plural}):")?;
    for activity in activities {
        let role = text(&activity["from"]["role"]);
        writeln!(out, "        {role}: {}", text(&activity["text"]))?;
    }
    Ok(())
}

/// A status from the agent hub, with what it did to the conversation.
fn write_status(
    out: &mut impl Write,
    format: Format,
    status: &HandoffStatus,
    d: &Decision,
) -> io::Result<()> {
    if format == Format::Json {
        serde_json::to_writer(&mut *out, d)?;
        return writeln!(out);
    }
    let id = d.conversation_id.as_deref().unwrap_or("-");
    write!(out, "{id} #{} status {}", d.turn, status.state)?;
    if d.action != Action::None {
        write!(out, ": ")?;
        write_verdict(out, d)?;
    }
    writeln!(out)?;
    write_details(out, d)
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
    write_details(out, d)
}

/// The reasons, messages, phase and errors of a decision, for people.
fn write_details(out: &mut impl Write, d: &Decision) -> io::Result<()> {
    write_reasons(out, &d.reasons)?;
    if let Some(message) = &d.message {
        writeln!(out, "    message: {message}")?;
    }
    if let Some(channel) = d.fallback_channel {
        writeln!(out, "    fallback channel: {channel}")?;
    }
    if let Some(opens_at) = &d.opens_at {
        writeln!(out, "    opens at: {opens_at}")?;
    }
    if let Some(collect) = &d.collect {
        writeln!(
            out,
            "    collect: {} (question {} of at most {})",
            collect.attribute, collect.question, collect.of
        )?;
    }
    if let Some(consult) = &d.consult {
        match consult.answer {
            Some(answer) => writeln!(out, "    consult {answer}: {}", consult.proposal)?,
            None => writeln!(out, "    consult: {}", consult.proposal)?,
        }
        if let Some(note) = &consult.note {
            writeln!(out, "    consult note: {note}")?;
        }
    }
    if !d.collected.is_empty() {
        let values: Vec<String> = d
            .collected
            .iter()
            .map(|(k, v)| format!("{k}={v:?}"))
            .collect();
        writeln!(out, "    collected: {}", values.join(", "))?;
    }
    if let Some(note) = &d.agent_note {
        writeln!(out, "    agent note: {note}")?;
    }
    if !d.phase.is_bot() {
        writeln!(out, "    phase: {}", d.phase)?;
    }
    for error in &d.errors {
        writeln!(out, "    error in {}: {}", error.rule, error.message)?;
    }
    Ok(())
}
