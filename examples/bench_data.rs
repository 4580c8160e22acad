//! Writes the benchmark's generated policy, its phrases and its messages to
//! a folder, so that the Python and Node benchmarks measure the same work as
//! `cargo bench` (`turn/engine/1000/100`):
//!
//! ```text
//! cargo run --release --example bench_data -- target/bench-data [PHRASES] [BYTES]
//! ```
//!
//! It writes `policy.yaml`, `phrases.json` (the phrases the policy's rules
//! and topics hold) and `messages.json` (the messages, about BYTES long,
//! some of which contain a phrase). Defaults: 1,000 phrases, 100 bytes.

use std::path::PathBuf;

#[path = "../tests/support/synthetic.rs"]
mod synthetic;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let folder = PathBuf::from(args.next().unwrap_or_else(|| "target/bench-data".into()));
    let number = |arg: Option<String>, default: usize| {
        arg.map_or(default, |a| a.parse().expect("a whole number"))
    };
    let count = number(args.next(), 1_000);
    let bytes = number(args.next(), 100);
    let phrases = synthetic::phrases(count);
    std::fs::create_dir_all(&folder)?;
    std::fs::write(
        folder.join("policy.yaml"),
        synthetic::policy_yaml(&phrases, false),
    )?;
    std::fs::write(
        folder.join("phrases.json"),
        serde_json::to_string(&phrases)?,
    )?;
    let messages = synthetic::messages(&phrases, bytes);
    std::fs::write(
        folder.join("messages.json"),
        serde_json::to_string(&messages)?,
    )?;
    eprintln!(
        "{}: {count} phrases, {} messages of about {bytes} bytes",
        folder.display(),
        messages.len()
    );
    Ok(())
}
