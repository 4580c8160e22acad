//! A bot that picks up policy edits while it runs: a watcher thread checks
//! the file's modification time each second and reloads it; a broken edit
//! is reported and the policy serving keeps serving.
//!
//! `cargo run --example hot_reload -- policy.yaml`, then type messages and
//! edit `policy.yaml` in another window.

use std::io::BufRead;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use escalate::{ConversationState, Engine, PolicyHandle, Turn};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: hot_reload POLICY")?;
    let handle =
        Arc::new(PolicyHandle::from_path(Engine::builder(), &path).map_err(|e| e.render())?);

    let watched = handle.clone();
    std::thread::spawn(move || {
        let modified = |path: &str| std::fs::metadata(path).and_then(|m| m.modified()).ok();
        let mut seen: Option<SystemTime> = modified(&path);
        loop {
            std::thread::sleep(Duration::from_secs(1));
            let now = modified(&path);
            if now == seen {
                continue;
            }
            seen = now;
            match watched.reload() {
                Ok(id) => eprintln!("[reloaded {} ({})]", id.name, id.hash),
                Err(e) => eprintln!("[kept the policy serving: {e}]"),
            }
        }
    });

    let mut state = ConversationState::new();
    for line in std::io::stdin().lock().lines() {
        let decision = handle.evaluate(&mut state, &Turn::user(line?));
        let policy = decision.policy.as_ref().map_or("?", |p| p.hash.as_str());
        println!("{} (policy {policy})", decision.action);
    }
    Ok(())
}
