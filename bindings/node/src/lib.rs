//! The native half of the Node.js package of `escalate`.
//!
//! `index.js` is the package's entry point: its classes (`Engine`,
//! `ConversationState`, `Decision`, `PolicyHandle` and the errors) are thin
//! JavaScript over the functions here. Engines and policy handles are
//! napi externals (type-checked handles to the Rust values); a conversation
//! state crosses as the library's own saved-state JSON, and a decision as
//! its decision JSON (both written by [`json`], byte for byte serde_json's),
//! which `index.js` parses only when it is read. That
//! keeps a turn to one native call: napi-rs 3 spends microseconds making a
//! class instance and registering the borrows of each call on a class,
//! more than the whole evaluation costs (bench/bench.mjs; README). That
//! call, `evaluate`, is a plain N-API callback ([`call`]), and `index.js`
//! reads the turn's fields for it ([`convert::fields`]).
//!
//! `index.js` also hands over (`setup`) the two things done in JavaScript:
//! making its error classes ([`errors`]) and writing a JS value as one
//! compact line of JSON, for the library's own readers when the fast
//! conversion ([`convert`]) gives a turn up, and for statuses, saved states
//! given as objects, conversation references and transcripts. So every
//! decision, message and error text comes from the library, and a turn's
//! error points at the column the CLI would on that line.
#![deny(clippy::all)]
// A unit test build registers nothing with Node, so what only the
// registered functions use looks unused there.
#![cfg_attr(test, allow(dead_code))]

mod call;
mod convert;
mod errors;
mod json;

use std::sync::Arc;

use convert::Unread;
use errors::TooLarge;
use escalate::{ConversationReference, ConversationState, Decision, HandoffStatus, Turn};
use napi::bindgen_prelude::{
    Either3, External, FnArgs, FromNapiValue, Function, ToNapiValue, TypeName, Uint8Array, Unknown,
};
use napi::{Env, Result, Status, ValueType, sys};
use napi_derive::napi;
use serde::Serialize;

/// A compiled policy, shared by every `Engine` object that serves it.
type EngineRef = External<Arc<escalate::Engine>>;
type HandleRef = External<escalate::PolicyHandle>;

/// The most values a turn's `attributes` may hold (shared objects count
/// once per place they appear).
#[napi]
pub const MAX_TURN_VALUES: u32 = convert::MAX_TURN_VALUES as u32;

/// `index.js` hands over its error maker and JSON writer.
#[napi]
pub fn setup(
    env: &Env,
    #[napi(ts_arg_type = "(kind: string, payload: string) => Error")] make_error: Function<
        '_,
        FnArgs<(&'static str, String)>,
        Unknown<'static>,
    >,
    #[napi(ts_arg_type = "(value: unknown, isTurn: boolean) => string | undefined")]
    compact: Function<'_, FnArgs<(sys::napi_value, bool)>, Option<String>>,
) -> Result<()> {
    errors::setup(env, make_error, compact)
}

/// A value as JavaScript sees it: its serde form.
fn js<'env>(env: &'env Env, value: &impl Serialize) -> Result<Unknown<'env>> {
    env.to_js_value(value)
}

fn engine(engine: escalate::Engine) -> EngineRef {
    External::new(Arc::new(engine))
}

/// The built-in policy.
#[napi]
pub fn engine_builtin() -> EngineRef {
    engine(escalate::Engine::builtin())
}

/// A policy from its YAML text; a `PolicyError` when it does not load.
#[napi]
pub fn engine_from_yaml(env: &Env, text: String) -> Result<EngineRef> {
    escalate::Engine::from_yaml(&text)
        .map(engine)
        .map_err(|e| errors::policy(env, &e))
}

/// A policy file; a `PolicyError` when it cannot be read or does not load.
#[napi]
pub fn engine_from_path(env: &Env, path: String) -> Result<EngineRef> {
    escalate::Engine::from_path(&path)
        .map(engine)
        .map_err(|e| errors::policy(env, &e))
}

#[napi]
pub fn engine_name(engine: &EngineRef) -> String {
    engine.name().to_string()
}

#[napi(ts_return_type = "PolicyId")]
pub fn engine_policy_id<'env>(env: &'env Env, engine: &EngineRef) -> Result<Unknown<'env>> {
    js(env, engine.id())
}

#[napi(ts_return_type = "Diagnostic[]")]
pub fn engine_warnings<'env>(env: &'env Env, engine: &EngineRef) -> Result<Unknown<'env>> {
    js(env, &engine.warnings().collect::<Vec<_>>())
}

#[napi]
pub fn engine_transcript_turns(engine: &EngineRef) -> u32 {
    u32::try_from(engine.transcript_turns()).unwrap_or(u32::MAX)
}

#[napi]
pub fn engine_redact(engine: &EngineRef, text: String) -> String {
    engine.redact(&text).into_owned()
}

/// A saved state the binding itself wrote (`None`: a new conversation).
pub(crate) fn state(saved: Option<&str>) -> Result<ConversationState> {
    match saved {
        None => Ok(ConversationState::new()),
        Some(json) => ConversationState::from_json(json.as_bytes())
            .map_err(|e| napi::Error::new(Status::InvalidArg, e.to_string())),
    }
}

/// What a turn or a status gives `index.js`, in one string: `1` or `0`
/// (whether the decision starts a handoff) and the action (`none`, `offer`
/// or `escalate`, so that reading it parses nothing), then on lines of
/// their own (compact JSON holds no newline) the state after the turn as
/// saved-state JSON and the decision JSON.
pub(crate) fn outcome(state: &ConversationState, decision: &Decision) -> Text {
    let mut out = Vec::with_capacity(1024);
    out.push(if decision.starts_handoff() {
        b'1'
    } else {
        b'0'
    });
    out.extend_from_slice(decision.action.as_str().as_bytes());
    out.push(b'\n');
    json::write(&mut out, state).expect("a state always serializes");
    out.push(b'\n');
    json::write(&mut out, decision).expect("a decision always serializes");
    Text(out)
}

/// UTF-8 text for JavaScript, made a one-byte string without decoding when
/// it is ASCII, as JSON from the library nearly always is.
pub struct Text(Vec<u8>);

impl ToNapiValue for Text {
    unsafe fn to_napi_value(env: sys::napi_env, text: Text) -> Result<sys::napi_value> {
        let bytes = text.0;
        let mut value = std::ptr::null_mut();
        // Faster than `is_ascii` here: no early exit, so it vectorizes.
        let (words, rest) = bytes.as_chunks::<8>();
        let high = words
            .iter()
            .fold(0, |high, word| high | u64::from_ne_bytes(*word));
        let ascii = high & 0x8080_8080_8080_8080 == 0 && rest.is_ascii();
        // SAFETY: `bytes` is valid for its length and outlives the call,
        // which copies it; ASCII is Latin-1, and otherwise it is UTF-8 (it
        // was written from Rust strings).
        let status = unsafe {
            if ascii {
                sys::napi_create_string_latin1(
                    env,
                    bytes.as_ptr().cast(),
                    bytes.len() as isize,
                    &mut value,
                )
            } else {
                sys::napi_create_string_utf8(
                    env,
                    bytes.as_ptr().cast(),
                    bytes.len() as isize,
                    &mut value,
                )
            }
        };
        match status {
            sys::Status::napi_ok => Ok(value),
            status => Err(napi::Error::new(
                Status::from(status),
                "cannot make the outcome's string",
            )),
        }
    }
}

impl TypeName for Text {
    fn type_name() -> &'static str {
        "String"
    }
    fn value_type() -> ValueType {
        ValueType::String
    }
}

/// The names of [`convert::TURN_FIELDS`], for `index.js`.
#[napi]
pub fn turn_fields() -> Vec<&'static str> {
    convert::TURN_FIELDS.to_vec()
}

/// Applies the agent hub's `handoff.status` event (the event object, or
/// its JSON); a `TurnError` when it is not one.
#[napi(
    ts_args_type = "engine: EngineRef, saved: string | null, status: HandoffStatusEvent | string",
    ts_return_type = "string"
)]
pub fn apply_status(
    env: &Env,
    engine: &EngineRef,
    saved: Option<String>,
    status: Unknown<'_>,
) -> Result<Text> {
    let line = match status.get_type()? {
        ValueType::String => String::from_unknown(status)?,
        _ => errors::compact(env, status, false)?
            .ok_or_else(|| errors::too_large(env, TooLarge::Status))?,
    };
    let status = HandoffStatus::from_json(line.as_bytes())
        .map_err(|e| errors::turn(env, &e, &line, None))?;
    let mut state = state(saved.as_deref())?;
    let decision = engine.apply_status(&mut state, &status);
    Ok(outcome(&state, &decision))
}

/// The Bot Framework `handoff.initiate` event for a decision (its JSON, as
/// [`outcome`] gave it), addressed to a conversation id (a placeholder
/// reference) or a conversation reference object, with the turns kept as
/// the transcript.
#[napi(
    ts_args_type = "engine: EngineRef, decision: string, conversation: string | ConversationReference, transcript: Turn[]",
    ts_return_type = "HandoffInitiateEvent"
)]
pub fn handoff_initiate<'env>(
    env: &'env Env,
    engine: &EngineRef,
    decision: String,
    conversation: Unknown<'_>,
    transcript: Vec<Unknown<'_>>,
) -> Result<Unknown<'env>> {
    hub_event(
        env,
        engine,
        decision,
        conversation,
        transcript,
        escalate::Engine::handoff_initiate,
    )
}

/// The Bot Framework `handoff.consult` event for a `consult` decision,
/// addressed and with a transcript as for [`handoff_initiate`].
#[napi(
    ts_args_type = "engine: EngineRef, decision: string, conversation: string | ConversationReference, transcript: Turn[]",
    ts_return_type = "HandoffConsultEvent"
)]
pub fn handoff_consult<'env>(
    env: &'env Env,
    engine: &EngineRef,
    decision: String,
    conversation: Unknown<'_>,
    transcript: Vec<Unknown<'_>>,
) -> Result<Unknown<'env>> {
    hub_event(
        env,
        engine,
        decision,
        conversation,
        transcript,
        escalate::Engine::handoff_consult,
    )
}

/// An event for the agent hub that `build` makes from the decision JSON,
/// the reference and the transcript.
fn hub_event<'env>(
    env: &'env Env,
    engine: &EngineRef,
    decision: String,
    conversation: Unknown<'_>,
    transcript: Vec<Unknown<'_>>,
    build: fn(&escalate::Engine, &Decision, &ConversationReference, &[Turn]) -> serde_json::Value,
) -> Result<Unknown<'env>> {
    let decision: Decision = serde_json::from_str(&decision)
        .map_err(|e| napi::Error::new(Status::InvalidArg, e.to_string()))?;
    let reference = match conversation.get_type()? {
        ValueType::String => {
            ConversationReference::placeholder(&String::from_unknown(conversation)?)
        }
        _ => {
            let json = errors::compact(env, conversation, false)?
                .ok_or_else(|| errors::too_large(env, TooLarge::Reference))?;
            serde_json::from_str(&json).map_err(|e| errors::reference(env, &e))?
        }
    };
    let turns = transcript
        .into_iter()
        .enumerate()
        .map(|(index, turn)| {
            let line = errors::compact(env, turn, true)?
                .ok_or_else(|| errors::too_large(env, TooLarge::Turn(Some(index))))?;
            Turn::from_json(line.as_bytes()).map_err(|e| errors::turn(env, &e, &line, Some(index)))
        })
        .collect::<Result<Vec<Turn>>>()?;
    js(env, &build(engine, &decision, &reference, &turns))
}

/// A turn from a JS value: from the values `index.js` read from it (`order`
/// and `values`, see [`convert::fields`]), else the fast conversion of the
/// object, or else the library's reader on the turn written as JSON (see
/// [`convert`]).
pub(crate) fn read_turn(
    env: &Env,
    value: Unknown<'_>,
    order: f64,
    values: &[sys::napi_value],
) -> Result<Turn> {
    if order >= 0.0 {
        match convert::fields(env.raw(), order as u64, values) {
            Ok(turn) => return Ok(turn),
            Err(Unread::Js(error)) => return Err(error),
            Err(Unread::TooLarge) => return Err(errors::too_large(env, TooLarge::Turn(None))),
            Err(Unread::Json(_)) => {}
        }
    }
    let unread = match convert::turn(value) {
        Ok(turn) => return Ok(turn),
        Err(Unread::Js(error)) => return Err(error),
        Err(Unread::TooLarge) => return Err(errors::too_large(env, TooLarge::Turn(None))),
        Err(Unread::Json(unread)) => unread,
    };
    let line = errors::compact(env, value, true)?
        .ok_or_else(|| errors::too_large(env, TooLarge::Turn(None)))?;
    match (Turn::from_json(line.as_bytes()), unread) {
        (Err(e), _) => Err(errors::turn(env, &e, &line, None)),
        // The line reads, but the object held what JSON leaves out.
        (Ok(_), Some(message)) => Err(errors::turn_payload(
            env,
            &errors::TurnPayload {
                message,
                help: None,
                column: None,
                line: None,
                json: Some(&line),
                index: None,
            },
        )),
        (Ok(turn), None) => Ok(turn),
    }
}

/// Reads a saved state (JSON text or bytes, or an object, which `index.js`
/// writes as JSON); a `StateError` on a corrupt or foreign state. Gives the
/// state as the binding keeps it: saved again by this release.
#[napi(ts_args_type = "saved: string | Uint8Array | object")]
pub fn state_read(env: &Env, saved: Either3<String, Uint8Array, Unknown<'_>>) -> Result<String> {
    let written;
    let bytes: &[u8] = match &saved {
        Either3::A(text) => text.as_bytes(),
        Either3::B(bytes) => bytes,
        Either3::C(object) => {
            written = errors::compact(env, *object, false)?
                .ok_or_else(|| errors::too_large(env, TooLarge::State))?;
            written.as_bytes()
        }
    };
    ConversationState::from_json(bytes)
        .map(|state| state.to_json())
        .map_err(|e| errors::state(env, &e))
}

/// The saved state's JSON (a new conversation's for `null`).
#[napi]
pub fn state_json(saved: Option<String>) -> Result<String> {
    Ok(state(saved.as_deref())?.to_json())
}

#[napi(ts_return_type = "Phase")]
pub fn state_phase<'env>(env: &'env Env, saved: Option<String>) -> Result<Unknown<'env>> {
    js(env, &state(saved.as_deref())?.phase())
}

#[napi]
pub fn state_turns(saved: Option<String>) -> Result<u32> {
    Ok(state(saved.as_deref())?.turns())
}

/// A policy file served, reloadable; a `PolicyError` when it does not load.
#[napi]
pub fn handle_from_path(env: &Env, path: String) -> Result<HandleRef> {
    escalate::PolicyHandle::from_path(escalate::Engine::builder(), path)
        .map(External::new)
        .map_err(|e| errors::policy(env, &e))
}

/// The engine serving now.
#[napi]
pub fn handle_engine(handle: &HandleRef) -> EngineRef {
    External::new(handle.current())
}

/// Reads the policy file again and serves it if it loads and passes its
/// own tests; gives the new policy's id. Otherwise a `PolicyError`, or a
/// `ReloadError` naming the failed tests, and the old policy keeps serving.
#[napi(ts_return_type = "PolicyId")]
pub fn handle_reload<'env>(env: &'env Env, handle: &HandleRef) -> Result<Unknown<'env>> {
    let id = handle.reload().map_err(|e| errors::reload(env, e))?;
    js(env, &id)
}
