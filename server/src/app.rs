//! The HTTP API: routes, handlers and the middleware around them.
//!
//! A thin layer over the library: every decision, message and error text is
//! `escalate`'s; this module reads bodies, keeps conversations in the store
//! and answers JSON.

use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, MatchedPath, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use escalate::{
    ChannelAccount, ConversationAccount, ConversationReference, ConversationState, Decision,
    Engine, HandoffStatus, PolicyHandle, PolicyId, ReloadError, Role, TestSuite, Turn,
};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::decision_log::DecisionLog;
use crate::error::{ApiError, Within};
use crate::metrics::Metrics;
use crate::store::{Change, KeptTurn, Record, RedisStore, Saved, Store, StoreError};

/// How user text goes into the decision log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogText {
    /// Left out.
    None,
    /// Redacted as the policy's `handoff.redact` says (`engine.redact`).
    Redacted,
}

pub struct Config {
    pub body_limit: usize,
    pub timeout: Duration,
    /// The SHA-256 of the bearer token required, if any.
    pub token: Option<[u8; 32]>,
    pub policy_endpoint: bool,
    pub log_text: LogText,
    /// Serve the page at `/playground`.
    pub playground: bool,
}

pub struct App {
    pub policy: PolicyHandle,
    pub store: Store,
    pub metrics: Metrics,
    pub log: Option<DecisionLog>,
    pub config: Config,
    pub draining: AtomicBool,
    /// The last reload's outcome, for `GET /v1/policy`.
    pub last_reload: Mutex<Option<Value>>,
    /// Held for a whole reload (read, check, swap, record): a SIGHUP, the
    /// watcher and the endpoint may reload at once, and without it a reload
    /// that read the file earlier could swap in after one that read it later.
    reloading: Mutex<()>,
    ids: DecisionIds,
    /// Policies posted to the preview endpoints, compiled.
    pub compiled: crate::preview::Cache,
}

/// How many times a write that lost a compare-and-set is tried again.
const MAX_ATTEMPTS: u32 = 64;

/// The longest conversation id accepted, in bytes.
const MAX_ID: usize = 256;

impl App {
    pub fn new(
        policy: PolicyHandle,
        store: Store,
        log: Option<DecisionLog>,
        config: Config,
    ) -> App {
        App {
            policy,
            store,
            metrics: Metrics::default(),
            log,
            config,
            draining: AtomicBool::new(false),
            last_reload: Mutex::new(None),
            reloading: Mutex::new(()),
            ids: DecisionIds::new(),
            compiled: crate::preview::Cache::default(),
        }
    }

    /// Applies `change` to the stored conversation. In memory, at once
    /// under its shard's lock; with Redis, by compare-and-set, again and
    /// again while another request wrote it in between. So concurrent
    /// requests for one conversation apply one after the other, in the
    /// order their writes are acknowledged.
    async fn update<C: Change<Error = ApiError>>(
        &self,
        id: &str,
        change: &mut C,
    ) -> Result<C::Out, ApiError> {
        match &self.store {
            Store::Memory(memory) => memory.update(id, change),
            // Boxed, so that the record it holds across the round trips
            // is not part of every request's future.
            Store::Redis(redis) => Box::pin(self.update_shared(redis, id, change)).await,
        }
    }

    async fn update_shared<C: Change<Error = ApiError>>(
        &self,
        redis: &RedisStore,
        id: &str,
        change: &mut C,
    ) -> Result<C::Out, ApiError> {
        // The cached record is a guess: the write checks it, and an answer
        // given from it without a write is given only from a fresh one.
        let (mut record, mut fresh) = match redis.cached(id) {
            Some(record) => (record, false),
            None => (self.load_shared(redis, id).await?, true),
        };
        for attempt in 0..MAX_ATTEMPTS {
            match change.check(&record) {
                Ok(None) => {}
                Ok(Some(out)) if fresh => return Ok(out),
                Err(error) if fresh => return Err(error),
                _ => {
                    record = self.load_shared(redis, id).await?;
                    fresh = true;
                    continue;
                }
            }
            let mut changed = record;
            let out = change.apply(&mut changed);
            match redis.save(id, changed).await {
                Ok(Saved::Written) => return Ok(out),
                Ok(Saved::Lost(stored)) => {
                    self.metrics.store_conflicts.fetch_add(1, Ordering::Relaxed);
                    // A stale cached record is no contention: retried at once.
                    if fresh {
                        backoff(attempt).await;
                    }
                    record = stored.map_or_else(Record::default, |stored| *stored);
                    fresh = true;
                }
                Err(error) => return Err(self.store_failed("save", error)),
            }
        }
        Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_contention",
            format!(
                "the conversation was written by other requests {MAX_ATTEMPTS} times while this one was evaluated; send it again"
            ),
        ))
    }

    async fn load_shared(&self, redis: &RedisStore, id: &str) -> Result<Record, ApiError> {
        match redis.load(id).await {
            Ok(record) => Ok(record.unwrap_or_default()),
            Err(error) => Err(self.store_failed("load", error)),
        }
    }

    fn store_failed(&self, operation: &'static str, error: StoreError) -> ApiError {
        self.metrics.store_error(operation);
        match error {
            StoreError::Unavailable(detail) => {
                tracing::warn!(operation, "state store: {detail}");
                ApiError::store_unavailable(detail)
            }
            StoreError::Corrupt(detail) => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "state_unreadable",
                format!("the stored conversation cannot be read: {detail}"),
            )
            .with(json!({
                "location": {"store": self.store.kind()},
                "message": detail,
                "help": "DELETE the conversation to start it afresh",
            })),
        }
    }

    /// Counts a decision and writes its log line.
    fn decided(&self, made: &Made, source: &'static str, text: Option<&str>, engine: &Engine) {
        let decision = &made.decision;
        self.metrics
            .decision(decision.action.as_str(), decision.rule.as_deref());
        let Some(log) = &self.log else { return };
        let redacted = match (self.config.log_text, text) {
            (LogText::Redacted, Some(text)) => Some(engine.redact(text)),
            _ => None,
        };
        // The fields in the order `json!` gave them (sorted), nulls kept.
        #[derive(serde::Serialize)]
        struct Line<'a> {
            action: escalate::Action,
            conversation_id: &'a Option<Arc<str>>,
            #[serde(serialize_with = "display")]
            decision_id: DecisionId,
            kind: &'a Option<escalate::Kind>,
            latency_us: u64,
            phase: escalate::Phase,
            policy: &'a Option<Arc<PolicyId>>,
            reasons: &'a [escalate::Reason],
            rule: &'a Option<Arc<str>>,
            source: &'static str,
            #[serde(skip_serializing_if = "Option::is_none")]
            text: Option<&'a str>,
            #[serde(serialize_with = "display")]
            timestamp: jiff::Timestamp,
            turn: u32,
        }
        let line = Line {
            action: decision.action,
            conversation_id: &decision.conversation_id,
            decision_id: made.decision_id,
            kind: &decision.kind,
            latency_us: made.latency.as_micros() as u64,
            phase: decision.phase,
            policy: &decision.policy,
            reasons: &decision.reasons,
            rule: &decision.rule,
            source,
            text: redacted.as_deref(),
            timestamp: jiff::Timestamp::now(),
            turn: decision.turn,
        };
        let line = serde_json::to_string(&line).expect("a log line always serializes");
        if !log.write(line) {
            self.metrics
                .decision_log_dropped
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    fn ready(&self) -> bool {
        !self.draining.load(Ordering::Relaxed)
    }
}

/// A decision made, as answered.
struct Made {
    decision: Decision,
    decision_id: DecisionId,
    /// The decision's JSON with `decision_id`.
    json: String,
    latency: Duration,
    /// `handoff.initiate`, when asked for and the decision hands over.
    handoff: Option<Value>,
    /// Answered from the store: the turn had been applied already.
    replayed: bool,
}

/// Decision ids: a random 64-bit prefix per process and a counter, so ids
/// from replicas sharing a store do not collide.
struct DecisionIds {
    prefix: u64,
    next: AtomicU64,
}

/// A decision id, written `{prefix:016x}-{n:08x}`.
#[derive(Clone, Copy)]
struct DecisionId {
    prefix: u64,
    n: u64,
}

impl DecisionId {
    /// Of an answer replayed from the store (it carries its own id).
    const NONE: DecisionId = DecisionId { prefix: 0, n: 0 };

    /// Appends the id to `out`, in lowercase hexadecimal.
    fn write(self, out: &mut String) {
        fn hex(out: &mut String, value: u64, digits: u32) {
            let digits = digits.max((64 - value.leading_zeros()).div_ceil(4));
            for at in (0..digits).rev() {
                let nibble = (value >> (at * 4)) & 0xf;
                out.push(char::from(b"0123456789abcdef"[nibble as usize]));
            }
        }
        hex(out, self.prefix, 16);
        out.push('-');
        hex(out, self.n, 8);
    }
}

impl std::fmt::Display for DecisionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = String::with_capacity(33);
        self.write(&mut out);
        f.write_str(&out)
    }
}

fn display<T: std::fmt::Display, S: serde::Serializer>(
    value: &T,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

impl DecisionIds {
    fn new() -> DecisionIds {
        DecisionIds {
            prefix: RandomState::new().hash_one(std::process::id()),
            next: AtomicU64::new(1),
        }
    }

    fn next(&self) -> DecisionId {
        DecisionId {
            prefix: self.prefix,
            n: self.next.fetch_add(1, Ordering::Relaxed),
        }
    }
}

/// After a lost compare-and-set: at once the first time, then a short
/// random sleep growing with the attempts (at most 5 ms), so that
/// competing writers spread out.
async fn backoff(attempt: u32) {
    if attempt == 0 {
        tokio::task::yield_now().await;
        return;
    }
    let cap = (200 * u64::from(attempt)).min(5_000);
    let jitter = RandomState::new().hash_one(attempt) % cap;
    tokio::time::sleep(Duration::from_micros(jitter + 50)).await;
}

/// The decision's JSON with `"decision_id"` as its first field, written
/// once into one buffer.
fn decision_json(decision: &Decision, decision_id: DecisionId) -> String {
    let mut json = String::with_capacity(1024);
    json.push_str("{\"decision_id\":\"");
    decision_id.write(&mut json);
    json.push_str("\",");
    let start = json.len();
    let mut out = json.into_bytes();
    serde_json::to_writer(&mut out, decision).expect("a decision always serializes");
    // The decision's own `{` gives way to the id written before it.
    out.remove(start);
    String::from_utf8(out).expect("JSON is UTF-8")
}

pub(crate) fn json_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

pub fn router(app: Arc<App>) -> Router {
    let page = if app.config.playground {
        crate::playground::routes()
    } else {
        Router::new()
    };
    Router::new()
        .merge(page)
        .route("/v1/check", post(crate::preview::check))
        .route("/v1/preview", post(crate::preview::preview))
        .route("/v1/tests", post(crate::preview::tests))
        .route("/v1/stats", post(crate::preview::stats))
        .route("/v1/conversations/{id}/turns", post(post_turn))
        .route("/v1/conversations/{id}/status", post(post_status))
        .route(
            "/v1/conversations/{id}",
            get(get_conversation).delete(delete_conversation),
        )
        .route("/v1/evaluate", post(evaluate))
        .route("/v1/activities", post(post_activity))
        .route("/v1/policy", get(get_policy).post(post_policy))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(app.clone(), around))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panicked))
        .with_state(app)
}

/// Around every request: the bearer token, the timeout, and the request
/// metrics.
async fn around(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let route = matched.as_ref().map_or("unmatched", |p| p.as_str());
    let open = matches!(route, "/health" | "/ready") || crate::playground::is_page(route);
    let response = if !open && !authorized(&app.config, &request) {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "this server requires `Authorization: Bearer <token>`",
        )
        .into_response()
    } else {
        match tokio::time::timeout(app.config.timeout, next.run(request)).await {
            Ok(response) => response,
            Err(_) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                format!(
                    "the request took longer than {} ms",
                    app.config.timeout.as_millis()
                ),
            )
            .into_response(),
        }
    };
    app.metrics
        .request(route, response.status().as_u16(), started.elapsed());
    response
}

/// Whether the request carries the token, compared as SHA-256 digests in
/// constant time (so neither its bytes nor its length leak through timing).
fn authorized(config: &Config, request: &Request) -> bool {
    let Some(expected) = &config.token else {
        return true;
    };
    let Some(given) = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
    else {
        return false;
    };
    let given: [u8; 32] = Sha256::digest(given).into();
    let difference = given
        .iter()
        .zip(expected)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    std::hint::black_box(difference) == 0
}

fn panicked(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "the server failed on this request",
    )
    .into_response()
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such endpoint; see docs/server.md",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take that method; see docs/server.md",
    )
}

/// A request body, read up to the limit (`--max-body`); larger ones are
/// refused with 413 before they are read.
pub(crate) struct Body(pub(crate) Bytes);

impl FromRequest<Arc<App>> for Body {
    type Rejection = ApiError;

    async fn from_request(request: Request, app: &Arc<App>) -> Result<Body, ApiError> {
        let limit = app.config.body_limit;
        let too_large = || {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("the body is larger than the {limit} bytes allowed"),
            )
        };
        let declared = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|length| length > limit as u64) {
            return Err(too_large());
        }
        let body = http_body_util::Limited::new(request.into_body(), limit);
        match http_body_util::BodyExt::collect(body).await {
            Ok(collected) => Ok(Body(collected.to_bytes())),
            Err(error) if error.is::<http_body_util::LengthLimitError>() => Err(too_large()),
            Err(error) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "body_unreadable",
                format!("the body could not be read: {error}"),
            )),
        }
    }
}

fn check_id(id: &str) -> Result<(), ApiError> {
    if id.len() > MAX_ID {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_conversation_id",
            format!("a conversation id is at most {MAX_ID} bytes"),
        ));
    }
    Ok(())
}

/// The conversation a body names must be the one the path names.
fn check_same(id: &str, named: Option<&str>, pointer: &str) -> Result<(), ApiError> {
    match named {
        Some(named) if named != id => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "conversation_mismatch",
            format!("the body is for conversation `{named}`, the path for `{id}`"),
        )
        .with(json!({
            "location": {"pointer": pointer},
            "message": format!("`{named}` is not `{id}`"),
            "help": "leave the field out, or post to the conversation it names",
        }))),
        _ => Ok(()),
    }
}

/// A turn applied to a stored conversation: answered from the record if
/// it was applied already, else evaluated.
struct TurnChange<'a> {
    app: &'a App,
    engine: &'a Engine,
    turn: &'a Turn,
    kept: &'a Arc<KeptTurn>,
    reference: Option<&'a ConversationReference>,
    started: Instant,
}

impl Change for TurnChange<'_> {
    type Out = Made;
    type Error = ApiError;

    fn check(&mut self, record: &Record) -> Result<Option<Made>, ApiError> {
        let Some(turn_id) = &self.turn.id else {
            return Ok(None);
        };
        if record.last_turn_id.as_ref() == Some(turn_id)
            && let Some(last) = &record.last
        {
            return Ok(Some(replayed(last)));
        }
        if record
            .transcript
            .iter()
            .any(|t| t.id.as_deref() == Some(turn_id.as_str()))
        {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "duplicate_turn",
                format!("a turn with id `{turn_id}` was applied already, before the last one"),
            ));
        }
        Ok(None)
    }

    fn apply(&mut self, record: &mut Record) -> Made {
        let (engine, turn) = (self.engine, self.turn);
        let decision = engine.evaluate(&mut record.state, turn);
        record.keep_turn(self.kept.clone(), engine.transcript_turns());
        let decision_id = self.app.ids.next();
        let json = decision_json(&decision, decision_id);
        let handoff = match self.reference {
            Some(reference) if decision.starts_handoff() => {
                let transcript = record.transcript_turns();
                Some(engine.handoff_initiate(&decision, reference, &transcript))
            }
            Some(reference) if decision.starts_consult() => {
                let transcript = record.transcript_turns();
                Some(engine.handoff_consult(&decision, reference, &transcript))
            }
            _ => None,
        };
        if turn.role == Role::User {
            record.last = Some(Arc::from(json.as_str()));
            record.last_turn_id = turn.id.clone();
        }
        Made {
            decision,
            decision_id,
            json,
            latency: self.started.elapsed(),
            handoff,
            replayed: false,
        }
    }
}

/// Applies one turn to a stored conversation.
async fn apply_turn(
    app: &App,
    id: &str,
    turn: Turn,
    reference: Option<&ConversationReference>,
    started: Instant,
) -> Result<Made, ApiError> {
    let engine = app.policy.current();
    let kept = Arc::new(KeptTurn::new(&turn));
    let mut change = TurnChange {
        app,
        engine: &engine,
        turn: &turn,
        kept: &kept,
        reference,
        started,
    };
    let made = app.update(id, &mut change).await?;
    if turn.role == Role::User && !made.replayed {
        app.decided(&made, "turn", Some(&turn.text), &engine);
    }
    Ok(made)
}

/// The stored answer to a turn sent again.
fn replayed(last: &Arc<str>) -> Made {
    Made {
        decision: Decision::default(),
        decision_id: DecisionId::NONE,
        json: last.to_string(),
        latency: Duration::ZERO,
        handoff: None,
        replayed: true,
    }
}

/// A `handoff.status` event applied to a stored conversation.
struct StatusChange<'a> {
    app: &'a App,
    engine: &'a Engine,
    status: &'a HandoffStatus,
    started: Instant,
}

impl Change for StatusChange<'_> {
    type Out = Made;
    type Error = ApiError;

    fn check(&mut self, _: &Record) -> Result<Option<Made>, ApiError> {
        Ok(None)
    }

    fn apply(&mut self, record: &mut Record) -> Made {
        let decision = self.engine.apply_status(&mut record.state, self.status);
        let decision_id = self.app.ids.next();
        let json = decision_json(&decision, decision_id);
        record.last = Some(Arc::from(json.as_str()));
        record.last_turn_id = None;
        Made {
            decision,
            decision_id,
            json,
            latency: self.started.elapsed(),
            handoff: None,
            replayed: false,
        }
    }
}

/// Applies a `handoff.status` event to a stored conversation.
async fn apply_status(
    app: &App,
    id: &str,
    mut status: HandoffStatus,
    started: Instant,
) -> Result<Made, ApiError> {
    if status.conversation_id.is_none() {
        status.conversation_id = Some(Arc::from(id));
    }
    let engine = app.policy.current();
    let mut change = StatusChange {
        app,
        engine: &engine,
        status: &status,
        started,
    };
    let made = app.update(id, &mut change).await?;
    app.decided(&made, "status", None, &engine);
    Ok(made)
}

fn answer(made: Made) -> Response {
    let mut response = json_response(StatusCode::OK, made.json);
    if made.replayed {
        response
            .headers_mut()
            .insert("x-escalate-replayed", HeaderValue::from_static("true"));
    }
    response
}

async fn post_turn(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    check_id(&id)?;
    let mut turn = Turn::from_json(&body).map_err(|e| ApiError::turn("invalid_turn", &e, None))?;
    check_same(&id, turn.conversation_id.as_deref(), "/conversation_id")?;
    turn.conversation_id
        .get_or_insert_with(|| Arc::from(id.as_str()));
    let made = apply_turn(&app, &id, turn, None, started).await?;
    Ok(answer(made))
}

async fn post_status(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    check_id(&id)?;
    let status =
        HandoffStatus::from_json(&body).map_err(|e| ApiError::turn("invalid_status", &e, None))?;
    check_same(&id, status.conversation_id.as_deref(), "/conversation/id")?;
    let made = apply_status(&app, &id, status, started).await?;
    Ok(answer(made))
}

async fn get_conversation(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    check_id(&id)?;
    let record = match app.store.load(&id).await {
        Ok(Some(record)) => record,
        Ok(None) => return Err(unknown_conversation(&id)),
        Err(error) => return Err(app.store_failed("load", error)),
    };
    let last = match &record.last {
        Some(last) => serde_json::from_str::<&RawValue>(last).ok(),
        None => None,
    };
    let body = json!({
        "conversation_id": id,
        "phase": record.state.phase().as_str(),
        "turns": record.state.turns(),
        "version": record.version,
        "transcript_turns": record.transcript.len(),
        "last_decision": last,
    });
    Ok(json_response(StatusCode::OK, body.to_string()))
}

fn unknown_conversation(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "unknown_conversation",
        format!("no conversation `{id}` is stored (never seen, deleted, or expired)"),
    )
}

async fn delete_conversation(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    check_id(&id)?;
    match app.store.delete(&id).await {
        Ok(true) => Ok(StatusCode::NO_CONTENT.into_response()),
        Ok(false) => Err(unknown_conversation(&id)),
        Err(error) => Err(app.store_failed("delete", error)),
    }
}

/// `POST /v1/evaluate`: `{"state": ..., "turn": ...}` in, `{"decision":
/// ..., "state": ...}` out; nothing is stored.
async fn evaluate(State(app): State<Arc<App>>, Body(body): Body) -> Result<Response, ApiError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Request<'a> {
        #[serde(default, borrow)]
        state: Option<&'a RawValue>,
        #[serde(borrow)]
        turn: &'a RawValue,
    }
    let started = Instant::now();
    let request: Request<'_> = serde_json::from_slice(&body).map_err(|e| {
        ApiError::body(
            "invalid_request",
            &e,
            r#"send `{"state": <a saved state, or null for a new conversation>, "turn": <a turn>}`"#,
        )
    })?;
    let mut state = match request.state.map(RawValue::get) {
        None | Some("null") => ConversationState::new(),
        Some(json) => ConversationState::from_json(json.as_bytes()).map_err(|e| {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_state", e.to_string()).with(json!({
                "location": {"pointer": "/state"},
                "message": e.to_string(),
                "help": "send the state a previous answer gave, unchanged, or null to start afresh",
            }))
        })?,
    };
    let raw = request.turn.get();
    let within = Within {
        pointer: "/turn",
        body: &body,
        start: raw.as_ptr() as usize - body.as_ptr() as usize,
    };
    let turn = Turn::from_json(raw.as_bytes())
        .map_err(|e| ApiError::turn("invalid_turn", &e, Some(within)))?;
    let engine = app.policy.current();
    let decision = engine.evaluate(&mut state, &turn);
    let decision_id = app.ids.next();
    let made = Made {
        json: decision_json(&decision, decision_id),
        decision,
        decision_id,
        latency: started.elapsed(),
        handoff: None,
        replayed: false,
    };
    if turn.role == Role::User {
        app.decided(&made, "evaluate", Some(&turn.text), &engine);
    }
    let body = format!(
        r#"{{"decision":{},"state":{}}}"#,
        made.json,
        state.to_json()
    );
    Ok(json_response(StatusCode::OK, body))
}

/// A Bot Framework activity, with the fields the server reads; the rest
/// are ignored.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Activity<'a> {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(default)]
    locale: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    from: Option<ChannelAccount>,
    #[serde(default)]
    recipient: Option<ChannelAccount>,
    #[serde(default)]
    conversation: Option<ConversationAccount>,
    #[serde(default)]
    channel_id: Option<String>,
    #[serde(default)]
    service_url: Option<String>,
    #[serde(default, borrow)]
    channel_data: Option<ChannelData<'a>>,
}

#[derive(Deserialize)]
struct ChannelData<'a> {
    /// The bot's own signals for the turn (outcome, intent, sentiment,
    /// attributes...): a turn's fields.
    #[serde(default, borrow)]
    escalate: Option<&'a RawValue>,
}

/// `POST /v1/activities`: a Bot Framework activity as the channel sent it.
async fn post_activity(
    State(app): State<Arc<App>>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let activity: Activity<'_> = serde_json::from_slice(&body).map_err(|e| {
        ApiError::body(
            "invalid_activity",
            &e,
            "send the Bot Framework activity as the channel sent it",
        )
    })?;
    let Some(conversation) = activity.conversation.clone() else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_activity",
            "the activity has no `conversation`",
        )
        .with(json!({
            "location": {"pointer": "/conversation/id"},
            "message": "the activity has no `conversation`",
            "help": "activities are keyed by `conversation.id`",
        })));
    };
    let id = conversation.id.clone();
    check_id(&id)?;
    match (activity.kind.as_deref(), activity.name.as_deref()) {
        (Some("message"), _) => {}
        (Some("event"), Some("handoff.status")) => {
            let status = HandoffStatus::from_json(&body)
                .map_err(|e| ApiError::turn("invalid_status", &e, None))?;
            let made = apply_status(&app, &id, status, started).await?;
            let body = format!(r#"{{"decision":{}}}"#, made.json);
            return Ok(json_response(StatusCode::OK, body));
        }
        (kind, name) => {
            let what = match (kind, name) {
                (Some(kind), Some(name)) => format!("an activity of type `{kind}` named `{name}`"),
                (Some(kind), None) => format!("an activity of type `{kind}`"),
                (None, _) => "an activity without a `type`".to_string(),
            };
            let body = json!({"decision": null, "ignored": format!("{what} is not evaluated: only `message` and the `handoff.status` event are")});
            return Ok(json_response(StatusCode::OK, body.to_string()));
        }
    }
    let signals = match activity.channel_data.as_ref().and_then(|d| d.escalate) {
        Some(raw) => {
            let within = Within {
                pointer: "/channelData/escalate",
                body: &body,
                start: raw.get().as_ptr() as usize - body.as_ptr() as usize,
            };
            Turn::from_json(raw.get().as_bytes())
                .map_err(|e| ApiError::turn("invalid_turn", &e, Some(within)))?
        }
        None => Turn::default(),
    };
    let from = activity.from.clone().unwrap_or_default();
    let role = match from.role.as_deref() {
        Some("bot") => Role::Bot,
        _ => Role::User,
    };
    let turn = Turn {
        conversation_id: Some(Arc::from(id.as_str())),
        id: activity.id.clone().or(signals.id.clone()),
        role,
        text: activity
            .text
            .clone()
            .unwrap_or_else(|| signals.text.clone()),
        locale: activity.locale.clone().or(signals.locale.clone()),
        timestamp: activity.timestamp.clone().or(signals.timestamp.clone()),
        ..signals
    };
    // The reference `getConversationReference` would give for the user's
    // message: the user, the bot, the conversation, the channel.
    let (user, bot) = match role {
        Role::User => (from, activity.recipient.clone().unwrap_or_default()),
        Role::Bot => (activity.recipient.clone().unwrap_or_default(), from),
    };
    let reference = ConversationReference {
        activity_id: activity.id.clone(),
        user,
        bot,
        conversation,
        channel_id: activity.channel_id.clone().unwrap_or_default(),
        locale: activity.locale.clone(),
        service_url: activity.service_url.clone().unwrap_or_default(),
    };
    let made = apply_turn(&app, &id, turn, Some(&reference), started).await?;
    let body = match &made.handoff {
        Some(event) => format!(r#"{{"decision":{},"handoff":{event}}}"#, made.json),
        None => format!(r#"{{"decision":{}}}"#, made.json),
    };
    let mut response = json_response(StatusCode::OK, body);
    if made.replayed {
        response
            .headers_mut()
            .insert("x-escalate-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

async fn get_policy(State(app): State<Arc<App>>) -> Response {
    let engine = app.policy.current();
    let last = app.last_reload.lock().ok().and_then(|l| l.clone());
    let body = json!({
        "policy": engine.id(),
        "path": app.policy.path().map(|p| p.display().to_string()),
        "rules": engine.rule_ids().count(),
        "transcript_turns": engine.transcript_turns(),
        "last_reload": last,
        "post_enabled": app.config.policy_endpoint,
    });
    json_response(StatusCode::OK, body.to_string())
}

/// `POST /v1/policy` (with `--policy-endpoint`): the body is a policy's
/// YAML; it serves if it loads and passes its own `tests:`.
async fn post_policy(State(app): State<Arc<App>>, Body(body): Body) -> Result<Response, ApiError> {
    if !app.config.policy_endpoint {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "policy_endpoint_disabled",
            "posting a policy is off; start the server with --policy-endpoint",
        ));
    }
    let yaml = String::from_utf8(body.to_vec()).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_policy",
            "the policy is not valid UTF-8",
        )
    })?;
    let worker = app.clone();
    let result = tokio::task::spawn_blocking(move || {
        const ORIGIN: &str = "<POST /v1/policy>";
        let _one_at_a_time = worker.reloading.lock().unwrap_or_else(|e| e.into_inner());
        let candidate = Engine::builder().origin(ORIGIN).build(&yaml);
        let result = worker
            .policy
            .replace_with(candidate, |engine| {
                let tests = TestSuite::from_policy_yaml(&yaml, ORIGIN).map_err(Refusal::Invalid)?;
                let report = tests.run(engine);
                if report.failed() > 0 {
                    return Err(Refusal::TestsFailed(report));
                }
                Ok(())
            })
            .map_err(|error| match error {
                ReloadError::Invalid(e) | ReloadError::Refused(Refusal::Invalid(e)) => {
                    ApiError::policy(&e)
                }
                ReloadError::TestsFailed(report)
                | ReloadError::Refused(Refusal::TestsFailed(report)) => {
                    ApiError::tests_failed(&report)
                }
            });
        reloaded(
            &worker,
            "api",
            result.as_ref().map_err(|e| e.message.as_str()),
        );
        result
    })
    .await
    .map_err(|_| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the reload failed",
        )
    })?;
    let id = result?;
    Ok(json_response(
        StatusCode::OK,
        json!({"policy": id}).to_string(),
    ))
}

enum Refusal {
    Invalid(escalate::PolicyError),
    TestsFailed(escalate::TestReport),
}

/// Reads the policy file again (on SIGHUP or a change the watcher saw).
pub fn reload_file(app: &App, trigger: &'static str) {
    let _one_at_a_time = app.reloading.lock().unwrap_or_else(|e| e.into_inner());
    let result = app.policy.reload().map_err(|error| match error {
        ReloadError::Invalid(e) => {
            tracing::warn!("kept the old policy: {}", e.render());
            ApiError::policy(&e)
        }
        ReloadError::TestsFailed(report) => {
            let api = ApiError::tests_failed(&report);
            tracing::warn!("kept the old policy: {}", api.message);
            api
        }
        ReloadError::Refused(never) => match never {},
    });
    reloaded(
        app,
        trigger,
        result.as_ref().map_err(|e| e.message.as_str()),
    );
}

fn reloaded(app: &App, trigger: &'static str, result: Result<&PolicyId, &str>) {
    let outcome = match result {
        Ok(id) => {
            tracing::info!(trigger, "serving policy {} ({})", id.name, id.hash);
            app.metrics.reload(trigger, "ok");
            json!({"trigger": trigger, "result": "ok", "policy": id, "at": jiff::Timestamp::now().to_string()})
        }
        Err(message) => {
            app.metrics.reload(trigger, "refused");
            json!({"trigger": trigger, "result": "refused", "message": message, "at": jiff::Timestamp::now().to_string()})
        }
    };
    if let Ok(mut last) = app.last_reload.lock() {
        *last = Some(outcome);
    }
}

async fn health() -> Response {
    json_response(StatusCode::OK, r#"{"status":"ok"}"#.to_string())
}

async fn ready(State(app): State<Arc<App>>) -> Result<Response, ApiError> {
    if !app.ready() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "draining",
            "the server is shutting down",
        ));
    }
    if let Err(error) = app.store.ping().await {
        app.metrics.store_error("ping");
        return Err(ApiError::store_unavailable(error));
    }
    let body = json!({
        "status": "ready",
        "policy": app.policy.current().id(),
        "store": app.store.kind(),
    });
    Ok(json_response(StatusCode::OK, body.to_string()))
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    let body = app
        .metrics
        .render(app.policy.current().id(), app.store.memory_figures());
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        )],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decision_json_puts_the_id_first() {
        let decision = Engine::builtin().evaluate(&mut ConversationState::new(), &Turn::user("hi"));
        let id = DecisionId {
            prefix: 0xab,
            n: 0x1_2345_6789,
        };
        let json = decision_json(&decision, id);
        let value: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["decision_id"], "00000000000000ab-123456789");
        assert_eq!(value["action"], "none");
        assert!(json.starts_with(r#"{"decision_id":"00000000000000ab-123456789","#));
        assert_eq!(
            id.to_string(),
            format!("{:016x}-{:08x}", 0xab, 0x1_2345_6789_u64)
        );
        let small = DecisionId {
            prefix: u64::MAX,
            n: 7,
        };
        assert_eq!(small.to_string(), format!("{:016x}-{:08x}", u64::MAX, 7));
    }

    #[test]
    fn decision_ids_are_unique() {
        let ids = DecisionIds::new();
        assert_ne!(ids.next().to_string(), ids.next().to_string());
    }
}
