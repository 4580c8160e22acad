//! Trying a policy without serving it: `POST /v1/check`, `/v1/preview`,
//! `/v1/tests` and `/v1/stats`. Nothing is stored; the policy posted is
//! compiled (and kept in a small cache by its hash, so an editor posting
//! the same text again does not compile it again) and dropped.
//!
//! Every figure, message and JSON shape is the library's: the check report
//! is `escalate-check check --format json`'s, the test run the library's
//! suite runner, the corpus figures `escalate-check stats`'s.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use escalate::{
    CheckReport, ConversationReference, ConversationState, Corpus, CorpusStats, Course, Decision,
    Engine, PolicyError, PolicyId, Role, TestReport, TestSuite, TranscriptLine, Turn,
};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::app::{App, Body, json_response};
use crate::error::{ApiError, Within, diagnostic};

/// The most turns and statuses one `/v1/preview` takes.
pub const MAX_PREVIEW_TURNS: usize = 500;

/// The most transcript lines one `/v1/stats` takes.
pub const MAX_STATS_LINES: usize = 20_000;

/// How many compiled policies are kept, by the hash of their text.
const CACHED: usize = 4;

/// Where the policies posted to these endpoints come from, in diagnostics.
const ORIGIN: &str = "<policy>";

/// A compiled policy, or why it did not compile.
type Compiled = Arc<Result<Arc<Engine>, PolicyError>>;

/// The last few policies compiled, by the SHA-256 of their text.
#[derive(Default)]
pub struct Cache(Mutex<VecDeque<([u8; 32], Compiled)>>);

impl Cache {
    /// The policy of `yaml`, compiled now or found compiled (on a blocking
    /// thread: a large policy takes a while).
    async fn compile(&self, yaml: String) -> Result<Compiled, ApiError> {
        let key: [u8; 32] = Sha256::digest(yaml.as_bytes()).into();
        if let Some(found) = self.lock().iter().find(|(k, _)| *k == key) {
            return Ok(found.1.clone());
        }
        let compiled = tokio::task::spawn_blocking(move || {
            Arc::new(Engine::builder().origin(ORIGIN).build(&yaml).map(Arc::new))
        })
        .await
        .map_err(|_| internal())?;
        let mut cache = self.lock();
        if cache.len() == CACHED {
            cache.pop_front();
        }
        cache.push_back((key, compiled.clone()));
        Ok(compiled)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<([u8; 32], Compiled)>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn to_json(value: &impl Serialize) -> String {
    serde_json::to_string(value).expect("answers always serialize")
}

fn internal() -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "the server failed on this request",
    )
}

fn utf8(body: &[u8]) -> Result<String, ApiError> {
    String::from_utf8(body.to_vec()).map_err(|e| {
        let (line, column) = position(body, e.utf8_error().valid_up_to());
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_policy",
            "the policy is not valid UTF-8",
        )
        .with(json!({
            "location": {"line": line, "column": column},
            "message": "the policy is not valid UTF-8",
            "help": "save the policy as UTF-8",
        }))
    })
}

fn position(text: &[u8], offset: usize) -> (usize, usize) {
    let before = String::from_utf8_lossy(&text[..offset]);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// The posted policy compiled, or the one serving when none was posted.
async fn engine_of(app: &App, policy: Option<String>) -> Result<Arc<Engine>, ApiError> {
    match policy {
        None => Ok(app.policy.current()),
        Some(yaml) => match &*app.compiled.compile(yaml).await? {
            Ok(engine) => Ok(engine.clone()),
            Err(error) => Err(ApiError::policy(error)),
        },
    }
}

/// `POST /v1/check`: a policy's YAML in; `escalate-check check --format
/// json`'s report out (200 whether the policy loads or not: `valid` says).
pub async fn check(State(app): State<Arc<App>>, Body(body): Body) -> Result<Response, ApiError> {
    let yaml = utf8(&body)?;
    let compiled = app.compiled.compile(yaml).await?;
    /// As `escalate-check check --format json` prints it, fields in order.
    #[derive(Serialize)]
    struct Output {
        policies: [CheckReport; 1],
    }
    let output = Output {
        policies: [CheckReport::policy(ORIGIN, &*compiled)],
    };
    Ok(json_response(StatusCode::OK, to_json(&output)))
}

/// `POST /v1/preview`: `{"policy": <YAML or null>, "turns": [<turn or
/// handoff.status event>, ...]}` in; the decision of each, in order, from
/// a fresh conversation, and the `handoff.initiate` (or `handoff.consult`)
/// event of each decision that starts one.
pub async fn preview(State(app): State<Arc<App>>, Body(body): Body) -> Result<Response, ApiError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Request<'a> {
        #[serde(default)]
        policy: Option<String>,
        #[serde(borrow)]
        turns: Vec<&'a RawValue>,
    }
    let request: Request<'_> = serde_json::from_slice(&body).map_err(|e| {
        ApiError::body(
            "invalid_request",
            &e,
            r#"send `{"policy": <a policy's YAML, or null for the one serving>, "turns": [<a turn or a handoff.status event>, ...]}`"#,
        )
    })?;
    if request.turns.len() > MAX_PREVIEW_TURNS {
        let message = format!(
            "{} turns and statuses, more than the {MAX_PREVIEW_TURNS} a preview takes",
            request.turns.len()
        );
        return Err(
            ApiError::new(StatusCode::BAD_REQUEST, "too_many_turns", message.clone()).with(json!({
                "location": {"pointer": format!("/turns/{MAX_PREVIEW_TURNS}")},
                "message": message,
                "help": "preview a shorter conversation; `escalate-check run` takes whole transcripts",
            })),
        );
    }
    let mut lines = Vec::with_capacity(request.turns.len());
    for (index, raw) in request.turns.iter().enumerate() {
        let pointer = format!("/turns/{index}");
        let within = Within {
            pointer: &pointer,
            body: &body,
            start: raw.get().as_ptr() as usize - body.as_ptr() as usize,
        };
        let line = TranscriptLine::from_json(raw.get().as_bytes())
            .map_err(|e| ApiError::turn("invalid_turn", &e, Some(within)))?;
        lines.push(line);
    }
    let engine = engine_of(&app, request.policy).await?;
    let answer = tokio::task::spawn_blocking(move || run_preview(&engine, lines))
        .await
        .map_err(|_| internal())?;
    Ok(json_response(StatusCode::OK, answer))
}

/// One line's decision, and the event it starts.
#[derive(Serialize)]
struct Step {
    decision: Decision,
    #[serde(skip_serializing_if = "Option::is_none")]
    handoff: Option<Value>,
}

/// The decisions of a conversation's lines, from a fresh state.
fn run_preview(engine: &Engine, lines: Vec<TranscriptLine>) -> String {
    #[derive(Serialize)]
    struct Output<'a> {
        policy: &'a PolicyId,
        results: Vec<Step>,
        phase: &'static str,
    }
    let mut state = ConversationState::new();
    let reference = ConversationReference::placeholder("playground");
    let keep = engine.transcript_turns();
    let mut transcript: VecDeque<Turn> = VecDeque::with_capacity(keep + 1);
    let mut results = Vec::with_capacity(lines.len());
    for line in lines {
        let (decision, handoff) = match line {
            TranscriptLine::Turn(turn) => {
                let decision = engine.evaluate(&mut state, &turn);
                let user = turn.role == Role::User;
                if keep > 0 {
                    if transcript.len() == keep {
                        transcript.pop_front();
                    }
                    transcript.push_back(turn);
                }
                let transcript = transcript.make_contiguous();
                let handoff = if user && decision.starts_handoff() {
                    Some(engine.handoff_initiate(&decision, &reference, transcript))
                } else if user && decision.starts_consult() {
                    Some(engine.handoff_consult(&decision, &reference, transcript))
                } else {
                    None
                };
                (decision, handoff)
            }
            TranscriptLine::Status(status) => (engine.apply_status(&mut state, &status), None),
        };
        results.push(Step { decision, handoff });
    }
    to_json(&Output {
        policy: engine.id(),
        results,
        phase: state.phase().as_str(),
    })
}

/// `POST /v1/tests`: `{"policy": <YAML or null>, "tests": <a test file's
/// YAML, or null>}` in; the library's test report out, with the counts.
/// The tests run are the policy's own `tests:` (for the policy serving,
/// its `NAME.tests.yaml`, or the built-in policy's tests) and those of
/// `tests`.
pub async fn tests(State(app): State<Arc<App>>, Body(body): Body) -> Result<Response, ApiError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Request {
        #[serde(default)]
        policy: Option<String>,
        #[serde(default)]
        tests: Option<String>,
    }
    let request: Request = serde_json::from_slice(&body).map_err(|e| {
        ApiError::body(
            "invalid_request",
            &e,
            r#"send `{"policy": <a policy's YAML, or null for the one serving>, "tests": <a test file's YAML, or null>}`"#,
        )
    })?;
    let engine = engine_of(&app, request.policy.clone()).await?;
    let own = match &request.policy {
        Some(yaml) => TestSuite::from_policy_yaml(yaml, ORIGIN),
        None => match app.policy.path() {
            Some(path) => TestSuite::for_policy_file(path),
            None => TestSuite::from_test_file_yaml(escalate::DEFAULT_TESTS, "<built-in tests>")
                .map(|(suite, _)| suite),
        },
    };
    let mut suite = own.map_err(|e| tests_invalid(&e))?;
    if let Some(yaml) = &request.tests {
        let (more, _) =
            TestSuite::from_test_file_yaml(yaml, "<tests>").map_err(|e| tests_invalid(&e))?;
        suite.extend(more);
    }
    /// The library's report, with its counts and the policy tested.
    #[derive(Serialize)]
    struct Output<'a> {
        policy: &'a PolicyId,
        passed: usize,
        failed: usize,
        #[serde(flatten)]
        report: &'a TestReport,
    }
    let answer = tokio::task::spawn_blocking(move || {
        let report = suite.run(&engine);
        to_json(&Output {
            policy: engine.id(),
            passed: report.passed(),
            failed: report.failed(),
            report: &report,
        })
    })
    .await
    .map_err(|_| internal())?;
    Ok(json_response(StatusCode::OK, answer))
}

fn tests_invalid(error: &PolicyError) -> ApiError {
    let errors = error.diagnostics().len();
    let mut api = ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "tests_invalid",
        format!(
            "the tests are invalid ({errors} error{})",
            if errors == 1 { "" } else { "s" }
        ),
    );
    api.errors = error.diagnostics().map(diagnostic).collect();
    api
}

/// `POST /v1/stats`: `{"policy": <YAML or null>, "transcript": <JSONL or
/// a Bot Framework transcript>, "name": <its file name>}` in; `stats`'s
/// figures, and each conversation's course with the decision of every
/// user turn.
pub async fn stats(State(app): State<Arc<App>>, Body(body): Body) -> Result<Response, ApiError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Request {
        #[serde(default)]
        policy: Option<String>,
        transcript: String,
        #[serde(default)]
        name: Option<String>,
    }
    let request: Request = serde_json::from_slice(&body).map_err(|e| {
        ApiError::body(
            "invalid_request",
            &e,
            r#"send `{"policy": <a policy's YAML, or null>, "transcript": <JSONL or a Bot Framework transcript>, "name": <its file name>}`"#,
        )
    })?;
    let name = request.name.unwrap_or_else(|| "<transcript>".to_string());
    let mut corpus = Corpus::default();
    let bad = corpus
        .read(&name, request.transcript.as_bytes())
        .map_err(|message| {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_transcript", message.clone())
                .with(json!({"location": {"file": name}, "message": message, "help": "drop a JSONL transcript (one turn per line) or a Bot Framework Emulator `.transcript`"}))
        })?;
    let lines: usize = corpus.conversations.iter().map(|c| c.lines.len()).sum();
    if lines > MAX_STATS_LINES {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "too_many_turns",
            format!("{lines} transcript lines, more than the {MAX_STATS_LINES} taken here"),
        )
        .with(json!({"location": {"file": name}, "message": "too many lines", "help": "run `escalate-check stats` on large corpora"})));
    }
    let engine = engine_of(&app, request.policy).await?;
    /// A conversation's course, with the text and decision of every user turn.
    #[derive(Serialize)]
    struct Run<'a> {
        #[serde(flatten)]
        course: &'a Course,
        texts: Vec<&'a str>,
        decisions: &'a [Decision],
    }
    #[derive(Serialize)]
    struct Output<'a> {
        stats: CorpusStats,
        conversations: Vec<Run<'a>>,
        bad_lines: Vec<Value>,
    }
    let answer = tokio::task::spawn_blocking(move || {
        let courses: Vec<Course> = corpus
            .conversations
            .iter()
            .map(|c| engine.course(c))
            .collect();
        let conversations = corpus
            .conversations
            .iter()
            .zip(&courses)
            .map(|(conversation, course)| Run {
                course,
                texts: conversation
                    .lines
                    .iter()
                    .filter_map(|line| match line {
                        TranscriptLine::Turn(t) if t.role == Role::User => Some(t.text.as_str()),
                        _ => None,
                    })
                    .collect(),
                decisions: &course.decisions,
            })
            .collect();
        let bad_lines = bad
            .iter()
            .map(|b| {
                json!({
                    "location": {"file": name, "line": b.line, "column": b.error.column()},
                    "message": b.error.to_string(),
                    "help": b.error.help(),
                })
            })
            .collect();
        to_json(&Output {
            stats: CorpusStats::of(&engine, &courses),
            conversations,
            bad_lines,
        })
    })
    .await
    .map_err(|_| internal())?;
    Ok(json_response(StatusCode::OK, answer))
}
