//! `--decision-log FILE|-`: one JSON line per decision, written by a
//! thread of its own so that a slow disk never holds a request.

use std::io::Write;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;

/// Lines waiting to be written before new ones are dropped (and counted in
/// `escalate_decision_log_dropped_total`).
const QUEUE: usize = 65_536;

pub struct DecisionLog {
    sender: SyncSender<String>,
    writer: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl DecisionLog {
    /// Opens the log: `-` is standard output, anything else a file
    /// appended to.
    pub fn open(target: &str) -> std::io::Result<DecisionLog> {
        let out: Box<dyn Write + Send> = if target == "-" {
            Box::new(std::io::stdout())
        } else {
            Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(target)?,
            )
        };
        let (sender, receiver) = sync_channel(QUEUE);
        let writer = std::thread::Builder::new()
            .name("decision-log".into())
            .spawn(move || write_lines(receiver, out))?;
        Ok(DecisionLog {
            sender,
            writer: std::sync::Mutex::new(Some(writer)),
        })
    }

    /// Queues a line; false if it had to be dropped.
    pub fn write(&self, line: String) -> bool {
        match self.sender.try_send(line) {
            Ok(()) => true,
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
        }
    }

    /// Writes what is queued and closes the log (an empty line is the
    /// writer's signal to stop).
    pub fn close(&self) {
        let _ = self.sender.send(String::new());
        let writer = self.writer.lock().ok().and_then(|mut w| w.take());
        if let Some(writer) = writer {
            let _ = writer.join();
        }
    }
}

/// Writes each line as it comes, flushing whenever the queue is empty, so a
/// reader tailing the log sees every decision at once.
fn write_lines(receiver: Receiver<String>, out: Box<dyn Write + Send>) {
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, out);
    while let Ok(line) = receiver.recv() {
        let mut next = Some(line);
        while let Some(line) = next {
            if line.is_empty() {
                let _ = out.flush();
                return;
            }
            if out
                .write_all(line.as_bytes())
                .and_then(|()| out.write_all(b"\n"))
                .is_err()
            {
                return;
            }
            next = receiver.try_recv().ok();
        }
        if out.flush().is_err() {
            return;
        }
    }
    let _ = out.flush();
}
