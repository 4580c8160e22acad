//! `escalate-server`: the decision service. Turns in over HTTP, decisions
//! out, each conversation's state kept in memory or in Redis (shared by
//! replicas). See docs/server.md.

mod app;
mod decision_log;
mod error;
mod metrics;
mod playground;
mod preview;
mod store;

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use clap::Parser;
use escalate::{Engine, PolicyHandle};
use sha2::{Digest, Sha256};

use crate::app::{App, Config, LogText};
use crate::store::{MemoryStore, RedisStore, Store};

/// Every request allocates its body, its decision and its JSON: mimalloc's
/// per-thread free lists serve them faster than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The environment variable that holds the bearer token (instead of
/// `--token`, which other users of the machine can see in `ps`).
const TOKEN_VAR: &str = "ESCALATE_SERVER_TOKEN";

/// The environment variable that sets what is logged (tracing's filter
/// syntax, such as `info` or `escalate_server=debug`).
const LOG_VAR: &str = "ESCALATE_SERVER_LOG";

#[derive(Parser, Debug)]
#[command(
    name = "escalate-server",
    version,
    about = "The escalate decision service: turns in over HTTP, decisions out",
    after_help = "Endpoints, errors, metrics and reload rules: docs/server.md"
)]
struct Args {
    /// The policy file; without it, the built-in policy
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// The address to listen on (port 0 picks a free port)
    #[arg(long, default_value = "127.0.0.1:8181", value_name = "ADDR")]
    listen: SocketAddr,
    /// Where conversations are kept: `memory`, or `redis://HOST:PORT/DB` to share them between replicas
    #[arg(long, default_value = "memory", value_name = "STORE")]
    state: String,
    /// Require `Authorization: Bearer TOKEN` on every endpoint but /health and /ready
    /// (or set ESCALATE_SERVER_TOKEN)
    #[arg(long, value_name = "TOKEN", env = TOKEN_VAR, hide_env_values = true)]
    token: Option<String>,
    /// The largest request body accepted, in bytes; larger ones get 413
    #[arg(long, default_value_t = 1 << 20, value_name = "BYTES")]
    max_body: usize,
    /// How long a request may take, in milliseconds, before it is answered 503 `timeout`
    #[arg(long, default_value_t = 5_000, value_name = "MS")]
    request_timeout_ms: u64,
    /// Memory store: the most conversations kept (the least recently used are evicted)
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    max_conversations: usize,
    /// How long a conversation is kept after its last write, in seconds (memory and Redis; 0: no expiry)
    #[arg(long, default_value_t = 86_400, value_name = "SECONDS")]
    ttl: u64,
    /// Redis: how many of the conversations this replica wrote last to keep in memory too, so
    /// that a turn is one round trip to Redis (checked there: a record another replica changed
    /// is read again); 0: none
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    redis_cache: usize,
    /// Redis: how long to wait for a connection or an answer, in milliseconds
    #[arg(long, default_value_t = 1_000, value_name = "MS")]
    store_timeout_ms: u64,
    /// Reload the policy when its file (or its NAME.tests.yaml) changes
    #[arg(long, requires = "policy")]
    watch: bool,
    /// How often --watch looks at the file, in milliseconds
    #[arg(long, default_value_t = 1_000, value_name = "MS")]
    watch_interval_ms: u64,
    /// Accept a new policy by `POST /v1/policy`
    #[arg(long)]
    policy_endpoint: bool,
    /// Write one JSON line per decision to FILE (appended), or `-` for standard output
    #[arg(long, value_name = "FILE|-")]
    decision_log: Option<String>,
    /// The user's text in the decision log: left out, or redacted by the policy's rules
    #[arg(long, value_enum, default_value = "none")]
    log_text: LogText,
    /// After SIGTERM, how long in-flight requests may take to finish, in seconds
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    drain_timeout: u64,
    /// Serve the playground page at /playground (a policy editor, a conversation, a transcript's figures)
    #[arg(long)]
    playground: bool,
    /// Worker threads (default: one per core)
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env(LOG_VAR)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(workers) = args.workers {
        runtime.worker_threads(workers.max(1));
    }
    let runtime = match runtime.enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("escalate-server: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("escalate-server: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve(args: Args) -> Result<(), String> {
    let policy = match &args.policy {
        Some(path) => PolicyHandle::from_path(Engine::builder(), path)
            .map_err(|e| format!("the policy does not load:\n{}", e.render()))?,
        None => PolicyHandle::new(Engine::builtin()),
    };
    let ttl = Duration::from_secs(args.ttl);
    let store = if args.state == "memory" {
        Store::Memory(MemoryStore::new(args.max_conversations, ttl))
    } else if args.state.starts_with("redis://") {
        Store::Redis(Box::new(RedisStore::new(
            &args.state,
            ttl,
            Duration::from_millis(args.store_timeout_ms),
            args.redis_cache,
        )?))
    } else {
        return Err(format!(
            "--state is `memory` or `redis://HOST:PORT/DB`, not `{}`",
            args.state
        ));
    };
    let log = match &args.decision_log {
        Some(target) => Some(
            decision_log::DecisionLog::open(target)
                .map_err(|e| format!("cannot open the decision log `{target}`: {e}"))?,
        ),
        None => None,
    };
    let token = args
        .token
        .as_deref()
        .filter(|t| !t.is_empty())
        .map(|t| Sha256::digest(t.as_bytes()).into());
    let config = Config {
        body_limit: args.max_body,
        timeout: Duration::from_millis(args.request_timeout_ms),
        token,
        policy_endpoint: args.policy_endpoint,
        log_text: args.log_text,
        playground: args.playground,
    };
    let app = Arc::new(App::new(policy, store, log, config));
    // Signals are taken over before the address is announced, so a SIGHUP
    // or SIGTERM sent as soon as the server listens never kills it outright.
    let hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .map_err(|e| format!("cannot listen for SIGHUP: {e}"))?;
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| format!("cannot listen for SIGTERM: {e}"))?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let address = listener
        .local_addr()
        .map_err(|e| format!("cannot read the address listened on: {e}"))?;
    {
        let engine = app.policy.current();
        let id = engine.id();
        tracing::info!(
            "listening on http://{address} (policy {} {}, state {})",
            id.name,
            id.hash,
            app.store.kind()
        );
    }
    if args.playground {
        tracing::info!("playground at http://{address}/playground");
    }
    if let Err(error) = app.store.ping().await {
        tracing::warn!("the state store is not reachable yet: {error}");
    }
    tokio::spawn(on_hangup(app.clone(), hangup));
    if args.watch
        && let Some(path) = args.policy.clone()
    {
        tokio::spawn(watch(
            app.clone(),
            path,
            Duration::from_millis(args.watch_interval_ms.max(10)),
        ));
    }
    let draining = Arc::new(tokio::sync::Notify::new());
    let shutdown = {
        let app = app.clone();
        let draining = draining.clone();
        async move {
            terminated(term).await;
            tracing::info!("shutting down: finishing the requests in flight");
            app.draining.store(true, Ordering::Relaxed);
            draining.notify_waiters();
        }
    };
    let server = axum::serve(listener, app::router(app.clone())).with_graceful_shutdown(shutdown);
    let deadline = async {
        draining.notified().await;
        tokio::time::sleep(Duration::from_secs(args.drain_timeout)).await;
    };
    tokio::select! {
        served = server => served.map_err(|e| format!("the server failed: {e}"))?,
        () = deadline => tracing::warn!("requests still in flight after {} s: stopping", args.drain_timeout),
    }
    if let Some(log) = &app.log {
        log.close();
    }
    tracing::info!("stopped");
    Ok(())
}

/// SIGTERM or Ctrl-C.
async fn terminated(mut term: tokio::signal::unix::Signal) {
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

/// SIGHUP reloads the policy file.
async fn on_hangup(app: Arc<App>, mut hangup: tokio::signal::unix::Signal) {
    while hangup.recv().await.is_some() {
        let app = app.clone();
        let _ = tokio::task::spawn_blocking(move || app::reload_file(&app, "signal")).await;
    }
}

/// --watch: polls the policy file's (and its tests file's) modification
/// time and size, and reloads when either changes.
async fn watch(app: Arc<App>, path: PathBuf, every: Duration) {
    let tests = escalate::TestSuite::beside(&path);
    let stamp = |path: &PathBuf| {
        std::fs::metadata(path)
            .ok()
            .map(|m| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()))
    };
    let mut last = (stamp(&path), stamp(&tests));
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let now = (stamp(&path), stamp(&tests));
        if now == last {
            continue;
        }
        last = now;
        let app = app.clone();
        let _ = tokio::task::spawn_blocking(move || app::reload_file(&app, "watch")).await;
    }
}
