//! A bounded load generator for escalate-server on loopback: keep-alive
//! HTTP/1.1 clients posting mixed turns to many conversations, then
//! requests per second and latency percentiles.
//!
//! ```sh
//! cargo run --release --bin escalate-server -- --state memory &
//! cargo run --release -p escalate-server --example load -- --addr 127.0.0.1:8181 --pid $!
//! ```
//!
//! Options: `--addr`, `--clients 64`, `--conversations 10000`, `--requests
//! 200000` (measured, after one warm-up turn per conversation), `--pid`
//! (the server's, to report its resident memory per stored conversation).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The turns sent, in rotation: most carry on, some fail, some ask for a
/// person (and then wait in the queue), some are long.
const TURNS: [&str; 8] = [
    r#"{"text": "where is my parcel, it was due yesterday", "outcome": "ok", "locale": "en"}"#,
    r#"{"text": "I want to change the delivery address", "intent": {"name": "address.change", "confidence": 0.82}}"#,
    r#"{"text": "asdf qwerty", "outcome": "no_match"}"#,
    r#"{"text": "that is not what I asked", "outcome": "no_match", "sentiment": -0.4}"#,
    r#"{"text": "thanks, that helps a lot", "sentiment": 0.6}"#,
    r#"{"text": "can I speak to a human please", "locale": "en"}"#,
    r#"{"text": "my order number is 12345678 and the tracking page says it was delivered but nothing arrived at my door, I checked with the neighbours too", "outcome": "ok"}"#,
    r#"{"text": "ok", "intents": [{"name": "affirm", "confidence": 0.55}, {"name": "thanks", "confidence": 0.41}]}"#,
];

struct Options {
    addr: SocketAddr,
    clients: usize,
    conversations: usize,
    requests: usize,
    pid: Option<u32>,
}

fn options() -> Options {
    let mut options = Options {
        addr: "127.0.0.1:8181".parse().unwrap(),
        clients: 64,
        conversations: 10_000,
        requests: 200_000,
        pid: None,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).map(String::as_str).unwrap_or_default();
        match pair[0].as_str() {
            "--addr" => options.addr = value.parse().expect("--addr HOST:PORT"),
            "--clients" => options.clients = value.parse().expect("--clients N"),
            "--conversations" => options.conversations = value.parse().expect("--conversations N"),
            "--requests" => options.requests = value.parse().expect("--requests N"),
            "--pid" => options.pid = Some(value.parse().expect("--pid PID")),
            other => panic!("unknown option {other}"),
        }
    }
    options
}

/// One keep-alive connection.
struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Connection {
    async fn open(addr: SocketAddr) -> Connection {
        let stream = TcpStream::connect(addr).await.expect("the server listens");
        stream.set_nodelay(true).unwrap();
        Connection {
            stream,
            buffer: Vec::with_capacity(8192),
        }
    }

    /// Posts `body` to `path`; the status.
    async fn post(&mut self, path: &str, body: &str) -> u16 {
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: load\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.stream.write_all(request.as_bytes()).await.unwrap();
        self.buffer.clear();
        let mut chunk = [0u8; 8192];
        loop {
            let read = self.stream.read(&mut chunk).await.unwrap();
            assert!(read > 0, "the server closed the connection");
            self.buffer.extend_from_slice(&chunk[..read]);
            if let Some(end) = find(&self.buffer, b"\r\n\r\n") {
                let head = std::str::from_utf8(&self.buffer[..end]).unwrap();
                let status: u16 = head[9..12].parse().unwrap();
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        let (name, value) = l.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse().ok())?
                    })
                    .unwrap_or(0);
                while self.buffer.len() < end + 4 + length {
                    let read = self.stream.read(&mut chunk).await.unwrap();
                    assert!(read > 0, "the server closed the connection");
                    self.buffer.extend_from_slice(&chunk[..read]);
                }
                return status;
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn resident_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches(" kB")
        .parse()
        .ok()
}

/// Sends `total` turns from `clients` connections, conversation after
/// conversation in rotation; each request's latency.
async fn run(options: &Options, total: usize, offset: usize) -> (Duration, Vec<u32>) {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..options.clients)
        .map(|_| {
            let next = next.clone();
            let (addr, conversations) = (options.addr, options.conversations);
            tokio::spawn(async move {
                let mut connection = Connection::open(addr).await;
                let mut latencies = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        return latencies;
                    }
                    let n = i + offset;
                    let conversation = n % conversations;
                    let turn = TURNS[(n / conversations + conversation) % TURNS.len()];
                    let path = format!("/v1/conversations/load-{conversation}/turns");
                    let sent = Instant::now();
                    let status = connection.post(&path, turn).await;
                    assert_eq!(status, 200, "turn {n}");
                    latencies.push(sent.elapsed().as_micros() as u32);
                }
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(total);
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    (started.elapsed(), latencies)
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    let at = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    f64::from(sorted[at]) / 1000.0
}

fn main() {
    let options = options();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let before = options.pid.and_then(resident_kib);
        // Warm-up: one turn per conversation, so every one is stored.
        let (warm, _) = run(&options, options.conversations, 0).await;
        let after = options.pid.and_then(resident_kib);
        let (elapsed, mut latencies) = run(&options, options.requests, options.conversations).await;
        let end = options.pid.and_then(resident_kib);
        latencies.sort_unstable();
        println!(
            "{} clients, {} conversations: {} turns in {:.2} s: {:.0} turns/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (warm-up {} turns in {:.2} s)",
            options.clients,
            options.conversations,
            options.requests,
            elapsed.as_secs_f64(),
            options.requests as f64 / elapsed.as_secs_f64(),
            percentile(&latencies, 0.50),
            percentile(&latencies, 0.99),
            percentile(&latencies, 1.0),
            options.conversations,
            warm.as_secs_f64(),
        );
        if let (Some(before), Some(after), Some(end)) = (before, after, end) {
            let per = |kib: u64| kib.saturating_sub(before) as f64 / options.conversations as f64;
            println!(
                "server resident memory: {before} KiB before; {after} KiB with {} conversations of 1 turn ({:.2} KiB each); {end} KiB after the run, {} turns each ({:.2} KiB each)",
                options.conversations,
                per(after),
                (options.requests + options.conversations) / options.conversations,
                per(end),
            );
        }
    });
}
