//! The errors the binding throws, and the JavaScript half they need.
//!
//! `index.js` defines the package's error classes and hands the native
//! module, once at load (`setup`), a function that makes one from a kind
//! and a JSON payload, and [`compact`], which writes a JS value as one line
//! of JSON. Every error here is the library's (its text, its fields) made
//! into one of those classes; the only texts of the binding's own are
//! [`too_large`] and the prefix of [`reference`].
//!
//! Without `setup` (the native module loaded on its own), errors are
//! plain `Error`s whose message is `escalate:KIND:PAYLOAD`.

use escalate::{Diagnostic, PolicyError, ReloadError, StateError, TestReport, TurnError};
use napi::bindgen_prelude::{FnArgs, Function, FunctionRef, Unknown};
use napi::{Env, Error, JsValue, Status, sys};
use serde::Serialize;

use crate::convert::MAX_TURN_VALUES;

/// The functions `index.js` hands over.
pub(crate) struct Hooks {
    /// `makeError(kind, payload)`: the package's error of that kind.
    make_error: FunctionRef<FnArgs<(&'static str, String)>, Unknown<'static>>,
    /// `compact(value, isTurn)`: the value as one compact line of JSON, or
    /// `undefined` when it holds more than `MAX_TURN_VALUES` values.
    compact: FunctionRef<FnArgs<(sys::napi_value, bool)>, Option<String>>,
}

/// Keeps `index.js`'s functions for this JS environment.
pub(crate) fn setup(
    env: &Env,
    make_error: Function<'_, FnArgs<(&'static str, String)>, Unknown<'static>>,
    compact: Function<'_, FnArgs<(sys::napi_value, bool)>, Option<String>>,
) -> napi::Result<()> {
    let hooks = Hooks {
        make_error: make_error.create_ref()?,
        compact: compact.create_ref()?,
    };
    env.set_instance_data(hooks, (), |_| {})
}

fn hooks(env: &Env) -> Option<&'static Hooks> {
    env.get_instance_data::<Hooks>().ok().flatten().map(|h| &*h)
}

/// `value` written as one compact line of JSON by `index.js`; `None` when
/// it holds too many values. `is_turn` counts only the values under
/// `attributes`, as [`crate::convert`] does.
pub(crate) fn compact(
    env: &Env,
    value: Unknown<'_>,
    is_turn: bool,
) -> napi::Result<Option<String>> {
    match hooks(env) {
        Some(hooks) => hooks
            .compact
            .borrow_back(env)?
            .call((value.raw(), is_turn).into()),
        None => Err(Error::new(
            Status::GenericFailure,
            "load the package through index.js to read objects as JSON",
        )),
    }
}

/// The package's error of `kind` with `payload` (or the tagged message).
fn raise(env: &Env, kind: &'static str, payload: &impl Serialize) -> Error {
    let json = serde_json::to_string(payload).expect("a payload always serializes");
    let Some(hooks) = hooks(env) else {
        return Error::new(Status::GenericFailure, format!("escalate:{kind}:{json}"));
    };
    match hooks
        .make_error
        .borrow_back(env)
        .and_then(|make| make.call((kind, json).into()))
    {
        Ok(error) => Error::from(error),
        Err(error) => error,
    }
}

/// A policy that does not load: the located report the CLI prints, and
/// each diagnostic as its serde JSON.
pub(crate) fn policy(env: &Env, error: &PolicyError) -> Error {
    #[derive(Serialize)]
    struct Payload<'a> {
        message: String,
        diagnostics: Vec<&'a Diagnostic>,
    }
    let payload = Payload {
        message: error.render(),
        diagnostics: error.diagnostics().collect(),
    };
    raise(env, "PolicyError", &payload)
}

#[derive(Serialize)]
struct Message {
    message: String,
}

/// A saved state that cannot be read.
pub(crate) fn state(env: &Env, error: &StateError) -> Error {
    let payload = Message {
        message: error.to_string(),
    };
    raise(env, "StateError", &payload)
}

/// Where and why a turn (or a status, or a transcript turn) is refused.
///
/// `column` and `line` are the library's, in `json`, the compact line it
/// read; `None` when the library read the line but the object given could
/// not be converted (it held a value JSON has no place for).
#[derive(Serialize)]
pub(crate) struct TurnPayload<'a> {
    pub(crate) message: String,
    pub(crate) help: Option<&'a str>,
    pub(crate) column: Option<usize>,
    pub(crate) line: Option<usize>,
    pub(crate) json: Option<&'a str>,
    /// The position in a transcript, for its turns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) index: Option<usize>,
}

pub(crate) fn turn_payload(env: &Env, payload: &TurnPayload<'_>) -> Error {
    raise(env, "TurnError", payload)
}

/// The library's `TurnError` on `json`, the line it read.
pub(crate) fn turn(env: &Env, error: &TurnError, json: &str, index: Option<usize>) -> Error {
    let payload = TurnPayload {
        message: error.to_string(),
        help: error.help(),
        column: Some(error.column()),
        line: Some(error.line()),
        json: Some(json),
        index,
    };
    turn_payload(env, &payload)
}

/// What holds too many values to be read: more than [`MAX_TURN_VALUES`],
/// counting a value shared between several places once per place, which
/// no line of JSON could hold in reasonable time (the binding's own error).
#[derive(Clone, Copy)]
pub(crate) enum TooLarge {
    Turn(Option<usize>),
    Status,
    State,
    Reference,
}

pub(crate) fn too_large(env: &Env, what: TooLarge) -> Error {
    let help = Some("share no object between several places in it, and flatten it");
    let holds = format!("holds more than {MAX_TURN_VALUES} values");
    let turn = |message: String, index| {
        let payload = TurnPayload {
            message,
            help,
            column: None,
            line: None,
            json: None,
            index,
        };
        turn_payload(env, &payload)
    };
    match what {
        TooLarge::Turn(index) => turn(
            format!("the turn's attributes hold more than {MAX_TURN_VALUES} values"),
            index,
        ),
        TooLarge::Status => turn(format!("the handoff status {holds}"), None),
        TooLarge::State => {
            let message = format!("cannot read the saved conversation state: it {holds}");
            raise(env, "StateError", &Message { message })
        }
        TooLarge::Reference => {
            let message = format!("invalid conversation reference: it {holds}");
            raise(env, "EscalateError", &Message { message })
        }
    }
}

/// A reload refused: a policy that does not load is a `PolicyError`, one
/// that fails its own tests a `ReloadError` naming them.
pub(crate) fn reload(env: &Env, error: ReloadError) -> Error {
    #[derive(Serialize)]
    struct Payload<'a> {
        message: String,
        failed: Vec<&'a str>,
        report: &'a TestReport,
    }
    match &error {
        ReloadError::Invalid(policy_error) => policy(env, policy_error),
        ReloadError::TestsFailed(report) => {
            let payload = Payload {
                message: error.to_string(),
                failed: report
                    .cases
                    .iter()
                    .filter(|case| !case.passed)
                    .map(|case| case.name.as_str())
                    .collect(),
                report,
            };
            raise(env, "ReloadError", &payload)
        }
        ReloadError::Refused(never) => match *never {},
    }
}

/// A conversation reference that does not deserialize. The prefix is the
/// binding's (the library takes references already deserialized); the
/// rest is serde's reason.
pub(crate) fn reference(env: &Env, error: &serde_json::Error) -> Error {
    let message = format!("invalid conversation reference: {error}");
    raise(env, "EscalateError", &Message { message })
}
