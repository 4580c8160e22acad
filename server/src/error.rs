//! Errors as JSON: `{"code", "message", "errors": [{"location", ...}]}`.
//!
//! Every message about a turn, a status, a state or a policy is the
//! library's own text; this module only places it in the body and picks the
//! HTTP status.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use escalate::{PolicyError, TestReport, TurnError};
use serde_json::{Value, json};

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub errors: Vec<Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            errors: Vec::new(),
        }
    }

    pub fn with(mut self, error: Value) -> ApiError {
        self.errors.push(error);
        self
    }

    /// A turn or status the library refused: its message, help and
    /// position. `at` is where the refused JSON begins in the body (a
    /// pointer, and the line and column of its first byte), for JSON
    /// nested in a larger body.
    pub fn turn(code: &'static str, error: &TurnError, within: Option<Within<'_>>) -> ApiError {
        let (line, column) = match &within {
            Some(within) => within.position(error.line(), error.column()),
            None => (error.line(), error.column()),
        };
        let mut location = json!({"line": line, "column": column});
        if let Some(within) = &within {
            location["pointer"] = json!(within.pointer);
        }
        let mut detail = json!({"location": location, "message": error.to_string()});
        if let Some(help) = error.help() {
            detail["help"] = json!(help);
        }
        ApiError::new(StatusCode::BAD_REQUEST, code, error.to_string()).with(detail)
    }

    /// A JSON body that is not the envelope an endpoint expects.
    pub fn body(code: &'static str, error: &serde_json::Error, help: &str) -> ApiError {
        let message = error.to_string();
        let message = match message.rfind(" at line ") {
            Some(at) => message[..at].to_string(),
            None => message,
        };
        let location = json!({"line": error.line(), "column": error.column()});
        ApiError::new(StatusCode::BAD_REQUEST, code, message.clone())
            .with(json!({"location": location, "message": message, "help": help}))
    }

    /// A policy that did not load: every diagnostic, located in its file.
    pub fn policy(error: &PolicyError) -> ApiError {
        let mut api = ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "policy_invalid",
            error
                .to_string()
                .lines()
                .next()
                .unwrap_or("invalid policy")
                .to_string(),
        );
        api.errors = error.diagnostics().map(diagnostic).collect();
        api
    }

    /// A policy whose own tests fail: each failing case and what broke.
    pub fn tests_failed(report: &TestReport) -> ApiError {
        let failed: Vec<&escalate::CaseReport> =
            report.cases.iter().filter(|c| !c.passed).collect();
        let mut api = ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "policy_tests_failed",
            format!(
                "the new policy fails {} of its {} tests",
                failed.len(),
                report.cases.len()
            ),
        );
        for case in failed {
            for mismatch in &case.failures {
                api.errors.push(json!({
                    "location": {"test": case.name, "turn": mismatch.turn, "field": mismatch.field},
                    "message": format!("expected {} `{}`, got `{}`", mismatch.field, mismatch.expected, mismatch.actual),
                }));
            }
        }
        api
    }

    pub fn store_unavailable(detail: impl std::fmt::Display) -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_unavailable",
            format!("the conversation store cannot be reached: {detail}"),
        )
    }
}

/// One diagnostic of a policy as an entry of `errors`.
pub fn diagnostic(d: &escalate::Diagnostic) -> Value {
    let mut entry = json!({
        "location": {"file": d.file(), "line": d.line(), "column": d.column()},
        "code": d.code(),
        "severity": d.severity(),
        "message": d.message(),
    });
    if let Some(help) = d.help() {
        entry["help"] = json!(help);
    }
    entry
}

/// Where a nested JSON value begins in the request body.
pub struct Within<'a> {
    pub pointer: &'a str,
    pub body: &'a [u8],
    pub start: usize,
}

impl Within<'_> {
    /// The body's (line, column) of a (line, column) inside the nested value.
    fn position(&self, line: usize, column: usize) -> (usize, usize) {
        let inner = &self.body[self.start..];
        let text = String::from_utf8_lossy(inner);
        // The byte offset within the nested value of its (line, column),
        // columns being counted in characters.
        let mut offset = 0;
        for (number, piece) in text.split_inclusive('\n').enumerate() {
            if number + 1 == line {
                offset += piece
                    .char_indices()
                    .nth(column.saturating_sub(1))
                    .map_or(piece.len(), |(at, _)| at);
                break;
            }
            offset += piece.len();
        }
        let before =
            String::from_utf8_lossy(&self.body[..(self.start + offset).min(self.body.len())]);
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, column)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"code": self.code, "message": self.message, "errors": self.errors});
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
