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
//! (the server's, to report its resident memory per stored conversation and
//! its CPU time per turn beside the generator's own).

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

const USAGE: &str =
    "usage: load [--addr HOST:PORT] [--clients N] [--conversations N] [--requests N] [--pid PID]";

/// The options; the usage line and exit 0 on `--help`, exit 2 on a bad option.
fn options() -> Options {
    options_from(std::env::args().skip(1).collect()).unwrap_or_else(|error| {
        if error.is_empty() {
            println!("{USAGE}");
            std::process::exit(0);
        }
        eprintln!("error: {error}\n{USAGE}");
        std::process::exit(2);
    })
}

/// The options of `args`; `Err("")` for `--help`.
fn options_from(args: Vec<String>) -> Result<Options, String> {
    let mut options = Options {
        addr: "127.0.0.1:8181".parse().unwrap(),
        clients: 64,
        conversations: 10_000,
        requests: 200_000,
        pid: None,
    };
    fn parse<T: std::str::FromStr>(
        flag: &str,
        value: Option<&String>,
        what: &str,
    ) -> Result<T, String> {
        let value = value.ok_or_else(|| format!("`{flag}` needs a value ({what})"))?;
        value
            .parse()
            .map_err(|_| format!("`{flag} {value}`: expected {what}"))
    }
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--help" | "-h" => return Err(String::new()),
            "--addr" => options.addr = parse(flag, args.next(), "HOST:PORT")?,
            "--clients" => options.clients = parse(flag, args.next(), "a number")?,
            "--conversations" => options.conversations = parse(flag, args.next(), "a number")?,
            "--requests" => options.requests = parse(flag, args.next(), "a number")?,
            "--pid" => options.pid = Some(parse(flag, args.next(), "a process id")?),
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    Ok(options)
}

/// The requests, written once: for each conversation the start of its
/// request line, for each turn the rest of the request, body included.
struct Requests {
    heads: Vec<Vec<u8>>,
    tails: Vec<Vec<u8>>,
}

impl Requests {
    fn new(conversations: usize) -> Requests {
        Requests {
            heads: (0..conversations)
                .map(|c| format!("POST /v1/conversations/load-{c}/turns").into_bytes())
                .collect(),
            tails: TURNS
                .iter()
                .map(|body| {
                    format!(
                        " HTTP/1.1\r\nHost: load\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    )
                    .into_bytes()
                })
                .collect(),
        }
    }
}

/// One keep-alive connection, with its buffers reused from request to
/// request.
struct Connection {
    stream: TcpStream,
    request: Vec<u8>,
    response: Vec<u8>,
}

impl Connection {
    async fn open(addr: SocketAddr) -> Connection {
        let stream = TcpStream::connect(addr).await.expect("the server listens");
        stream.set_nodelay(true).unwrap();
        Connection {
            stream,
            request: Vec::with_capacity(1024),
            response: Vec::with_capacity(16 * 1024),
        }
    }

    /// Sends a request made of `head` and `tail` in one write; the status
    /// of the answer, read to its end.
    async fn send(&mut self, head: &[u8], tail: &[u8]) -> u16 {
        self.request.clear();
        self.request.extend_from_slice(head);
        self.request.extend_from_slice(tail);
        self.stream.write_all(&self.request).await.unwrap();
        self.response.clear();
        loop {
            self.fill().await;
            if let Some(end) = head_end(&self.response) {
                let head = &self.response[..end];
                let status = parse_digits(&head[9..12]) as u16;
                let length = content_length(head);
                while self.response.len() < end + length {
                    self.fill().await;
                }
                assert_eq!(self.response.len(), end + length, "one answer per request");
                return status;
            }
        }
    }

    /// Reads what the server sent so far onto the end of `response`.
    async fn fill(&mut self) {
        if self.response.capacity() - self.response.len() < 4096 {
            self.response.reserve(16 * 1024);
        }
        let read = self.stream.read_buf(&mut self.response).await.unwrap();
        assert!(read > 0, "the server closed the connection");
    }
}

/// Where the body begins: after the blank line that ends the head.
fn head_end(response: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = response[from..].iter().position(|&b| b == b'\n') {
        let at = from + at;
        if at >= 3 && &response[at - 3..=at] == b"\r\n\r\n" {
            return Some(at + 1);
        }
        from = at + 1;
    }
    None
}

fn content_length(head: &[u8]) -> usize {
    head.split(|&b| b == b'\n')
        .find_map(|line| {
            let name = b"content-length:";
            (line.len() > name.len() && line[..name.len()].eq_ignore_ascii_case(name))
                .then(|| parse_digits(&line[name.len()..]))
        })
        .unwrap_or(0)
}

fn parse_digits(text: &[u8]) -> usize {
    text.iter()
        .filter(|b| b.is_ascii_digit())
        .fold(0, |n, b| n * 10 + usize::from(b - b'0'))
}

/// CPU time used by a process so far (user and system), from
/// `/proc/PID/stat`, in clock ticks (1/100 s).
fn cpu_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name, which is in parentheses.
    let fields: Vec<&str> = stat[stat.rfind(')')? + 2..].split(' ').collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
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
/// conversation in rotation; each request's latency, in microseconds.
async fn run(
    options: &Options,
    requests: &Arc<Requests>,
    total: usize,
    offset: usize,
) -> (Duration, Vec<u32>) {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..options.clients)
        .map(|_| {
            let next = next.clone();
            let requests = requests.clone();
            let (addr, conversations) = (options.addr, options.conversations);
            let share = total / options.clients + 1;
            tokio::spawn(async move {
                let mut connection = Connection::open(addr).await;
                let mut latencies = Vec::with_capacity(share);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        return latencies;
                    }
                    let n = i + offset;
                    let conversation = n % conversations;
                    let turn = (n / conversations + conversation) % TURNS.len();
                    let sent = Instant::now();
                    let status = connection
                        .send(&requests.heads[conversation], &requests.tails[turn])
                        .await;
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
    let requests = Arc::new(Requests::new(options.conversations));
    let server = options.pid.map(|pid| pid.to_string());
    runtime.block_on(async {
        let before = options.pid.and_then(resident_kib);
        // Warm-up: one turn per conversation, so every one is stored.
        let (warm, _) = run(&options, &requests, options.conversations, 0).await;
        let after = options.pid.and_then(resident_kib);
        let cpu = |pid: Option<&str>| cpu_ticks(pid.unwrap_or("self"));
        let cpu_before = (cpu(None), server.as_deref().and_then(|p| cpu(Some(p))));
        let (elapsed, mut latencies) =
            run(&options, &requests, options.requests, options.conversations).await;
        let cpu_after = (cpu(None), server.as_deref().and_then(|p| cpu(Some(p))));
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
        // CPU time per turn (user and system; a tick is 10 ms): what each
        // side costs, whatever else the machine runs.
        let per_turn = |before: Option<u64>, after: Option<u64>| {
            Some((after? - before?) as f64 * 10_000.0 / options.requests as f64)
        };
        if let Some(generator) = per_turn(cpu_before.0, cpu_after.0) {
            match per_turn(cpu_before.1, cpu_after.1) {
                Some(server) => println!(
                    "CPU per turn: server {server:.1} µs, this generator {generator:.1} µs"
                ),
                None => println!("CPU per turn: this generator {generator:.1} µs"),
            }
        }
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
