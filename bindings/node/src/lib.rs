//! The Node.js binding of `escalate`: `Engine`, `ConversationState`,
//! `Decision` and `PolicyHandle` as JavaScript classes.
//!
//! This is the native half; `index.js` is the package's entry point. It
//! defines the error classes and hands over (`_setup`) the two things done
//! in JavaScript: making those errors ([`errors`]) and writing a JS value
//! as one compact line of JSON, for the library's own readers when the
//! fast conversion ([`convert`]) gives a turn up, and for statuses, saved
//! states given as objects, conversation references and transcripts. So
//! every decision, message and error text comes from the library, and a
//! turn's error points at the column the CLI would on that line.
#![deny(clippy::all)]

mod convert;
mod errors;

use convert::Unread;
use errors::TooLarge;

use std::sync::Arc;

use escalate::{ConversationReference, HandoffStatus, Turn};
use napi::bindgen_prelude::{
    ClassInstance, Either3, FnArgs, FromNapiValue, Function, Uint8Array, Unknown,
};
use napi::{Env, Result, ValueType, sys};
use napi_derive::napi;
use serde::Serialize;

/// The most values a turn's `attributes` may hold (shared objects count
/// once per place they appear).
#[napi]
pub const MAX_TURN_VALUES: u32 = convert::MAX_TURN_VALUES as u32;

/// Internal: `index.js` hands over its error maker and JSON writer.
#[napi(js_name = "_setup")]
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

/// A compiled escalation policy. Build it once and share it: evaluation
/// does not change it.
#[napi]
pub struct Engine {
    inner: Arc<escalate::Engine>,
}

#[napi]
impl Engine {
    /// The built-in policy (`policies/default.yaml`).
    #[napi(factory)]
    pub fn builtin() -> Engine {
        Engine {
            inner: Arc::new(escalate::Engine::builtin()),
        }
    }

    /// Compiles a policy from its YAML text; throws a `PolicyError` with
    /// every problem when it does not load.
    #[napi(factory)]
    pub fn from_yaml(env: &Env, text: String) -> Result<Engine> {
        escalate::Engine::from_yaml(&text)
            .map(|engine| Engine {
                inner: Arc::new(engine),
            })
            .map_err(|e| errors::policy(env, &e))
    }

    /// Loads and compiles a policy file; throws a `PolicyError` when it
    /// cannot be read or does not load.
    #[napi(factory)]
    pub fn from_path(env: &Env, path: String) -> Result<Engine> {
        escalate::Engine::from_path(&path)
            .map(|engine| Engine {
                inner: Arc::new(engine),
            })
            .map_err(|e| errors::policy(env, &e))
    }

    /// The policy's `name`.
    #[napi(getter)]
    pub fn name(&self) -> String {
        self.inner.name().to_string()
    }

    /// The policy's name and the first 16 hex digits of its SHA-256.
    #[napi(getter, ts_return_type = "PolicyId")]
    pub fn policy_id<'env>(&self, env: &'env Env) -> Result<Unknown<'env>> {
        js(env, self.inner.id())
    }

    /// The warnings the policy loaded with.
    #[napi(getter, ts_return_type = "Diagnostic[]")]
    pub fn warnings<'env>(&self, env: &'env Env) -> Result<Unknown<'env>> {
        js(env, &self.inner.warnings().collect::<Vec<_>>())
    }

    /// How many turns `handoff.initiate`'s transcript carries: keep at
    /// least this many per conversation.
    #[napi(getter)]
    pub fn transcript_turns(&self) -> u32 {
        u32::try_from(self.inner.transcript_turns()).unwrap_or(u32::MAX)
    }

    /// The text with what the policy's `handoff.redact` masks masked.
    #[napi]
    pub fn redact(&self, text: String) -> String {
        self.inner.redact(&text).into_owned()
    }

    /// Decides one turn (a plain object with the fields of a transcript
    /// line) and updates the state. Throws a `TurnError` when the turn is
    /// not a valid turn.
    #[napi(ts_args_type = "state: ConversationState, turn: Turn")]
    pub fn evaluate(
        &self,
        env: &Env,
        mut state: ClassInstance<'_, ConversationState>,
        turn: Unknown<'_>,
    ) -> Result<Decision> {
        let turn = read_turn(env, turn)?;
        Ok(Decision::from(self.inner.evaluate(&mut state.inner, &turn)))
    }

    /// Applies the agent hub's `handoff.status` event (the event object, or
    /// its JSON) to the state. Throws a `TurnError` when it is not one.
    #[napi(ts_args_type = "state: ConversationState, status: HandoffStatusEvent | string")]
    pub fn apply_status(
        &self,
        env: &Env,
        mut state: ClassInstance<'_, ConversationState>,
        status: Unknown<'_>,
    ) -> Result<Decision> {
        let line = match status.get_type()? {
            ValueType::String => String::from_unknown(status)?,
            _ => errors::compact(env, status, false)?
                .ok_or_else(|| errors::too_large(env, TooLarge::Status))?,
        };
        let status = HandoffStatus::from_json(line.as_bytes())
            .map_err(|e| errors::turn(env, &e, &line, None))?;
        Ok(Decision::from(
            self.inner.apply_status(&mut state.inner, &status),
        ))
    }

    /// The Bot Framework `handoff.initiate` event for a decision, addressed
    /// to a conversation id (a placeholder reference) or a conversation
    /// reference object, with the turns kept as the transcript (`index.js`
    /// passes the reference and the turns written as JSON).
    #[napi(
        ts_args_type = "decision: Decision, conversation: string | ConversationReference, transcript: Turn[]",
        ts_return_type = "HandoffInitiateEvent"
    )]
    pub fn handoff_initiate<'env>(
        &self,
        env: &'env Env,
        decision: &Decision,
        conversation: Unknown<'_>,
        transcript: Vec<Unknown<'_>>,
    ) -> Result<Unknown<'env>> {
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
                Turn::from_json(line.as_bytes())
                    .map_err(|e| errors::turn(env, &e, &line, Some(index)))
            })
            .collect::<Result<Vec<Turn>>>()?;
        js(
            env,
            &self
                .inner
                .handoff_initiate(&decision.inner, &reference, &turns),
        )
    }
}

/// A turn from a JS value: the fast conversion, or else the library's
/// reader on the turn written as JSON (see [`convert`]).
fn read_turn(env: &Env, value: Unknown<'_>) -> Result<Turn> {
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

/// What the engine remembers of one conversation. Keep one per
/// conversation, and store it with the conversation (`JSON.stringify`
/// writes it; `ConversationState.fromJSON` reads it back).
#[napi]
pub struct ConversationState {
    inner: escalate::ConversationState,
}

impl Default for ConversationState {
    fn default() -> Self {
        ConversationState::new()
    }
}

#[napi]
impl ConversationState {
    /// The state of a conversation that has not started.
    #[napi(constructor)]
    pub fn new() -> ConversationState {
        ConversationState {
            inner: escalate::ConversationState::new(),
        }
    }

    /// Where the conversation stands in the handoff: `bot`, `offered`,
    /// `waiting` or `with_agent`.
    #[napi(getter, ts_return_type = "Phase")]
    pub fn phase<'env>(&self, env: &'env Env) -> Result<Unknown<'env>> {
        js(env, &self.inner.phase())
    }

    /// How many user turns have been evaluated.
    #[napi(getter)]
    pub fn turns(&self) -> u32 {
        self.inner.turns()
    }

    /// The saved state as a plain object (what `JSON.stringify` writes).
    #[napi(js_name = "toJSON", ts_return_type = "SavedState")]
    pub fn to_json<'env>(&self, env: &'env Env) -> Result<Unknown<'env>> {
        js(env, &self.inner)
    }

    /// Reads a saved state: JSON text or bytes, or the object `toJSON` gave
    /// (`index.js` writes it as JSON first). Throws a `StateError` on a
    /// corrupt or foreign state.
    #[napi(
        factory,
        js_name = "fromJSON",
        ts_args_type = "saved: string | Uint8Array | SavedState"
    )]
    pub fn from_json(
        env: &Env,
        saved: Either3<String, Uint8Array, Unknown<'_>>,
    ) -> Result<ConversationState> {
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
        escalate::ConversationState::from_json(bytes)
            .map(|inner| ConversationState { inner })
            .map_err(|e| errors::state(env, &e))
    }
}

/// The engine's answer for one turn: what to do and why.
#[napi]
pub struct Decision {
    inner: escalate::Decision,
}

impl From<escalate::Decision> for Decision {
    fn from(inner: escalate::Decision) -> Decision {
        Decision { inner }
    }
}

#[napi]
impl Decision {
    /// The conversation, copied from the turn.
    #[napi(getter)]
    pub fn conversation_id(&self) -> Option<String> {
        self.inner.conversation_id.as_deref().map(String::from)
    }

    /// The number of this user turn in the conversation, from 1.
    #[napi(getter)]
    pub fn turn(&self) -> u32 {
        self.inner.turn
    }

    /// `none`, `offer` or `escalate`.
    #[napi(getter, ts_return_type = "Action")]
    pub fn action<'env>(&self, env: &'env Env) -> Result<Unknown<'env>> {
        js(env, &self.inner.action)
    }

    /// `planned` or `fallback`; `null` when the action is `none`.
    #[napi(getter, ts_return_type = "Kind | null")]
    pub fn kind<'env>(&self, env: &'env Env) -> Result<Unknown<'env>> {
        js(env, &self.inner.kind)
    }

    /// The deciding rule.
    #[napi(getter)]
    pub fn rule(&self) -> Option<String> {
        self.inner.rule.as_deref().map(String::from)
    }

    /// Every rule that fired, with its evidence.
    #[napi(getter, ts_return_type = "Reason[]")]
    pub fn reasons<'env>(&self, env: &'env Env) -> Result<Unknown<'env>> {
        js(env, &self.inner.reasons)
    }

    /// Where to send the conversation.
    #[napi(getter, ts_return_type = "Route | null")]
    pub fn route<'env>(&self, env: &'env Env) -> Result<Unknown<'env>> {
        js(env, &self.inner.route)
    }

    /// What to tell the user.
    #[napi(getter)]
    pub fn message(&self) -> Option<String> {
        self.inner.message.clone()
    }

    /// A note for the agent who takes over.
    #[napi(getter)]
    pub fn agent_note(&self) -> Option<String> {
        self.inner.agent_note.clone()
    }

    /// The policy that made the decision.
    #[napi(getter, ts_return_type = "PolicyId | null")]
    pub fn policy<'env>(&self, env: &'env Env) -> Result<Unknown<'env>> {
        js(env, &self.inner.policy)
    }

    /// Rules that could not be evaluated on this turn.
    #[napi(getter, ts_return_type = "EvalError[]")]
    pub fn errors<'env>(&self, env: &'env Env) -> Result<Unknown<'env>> {
        js(env, &self.inner.errors)
    }

    /// The conversation's phase after this turn.
    #[napi(getter, ts_return_type = "Phase")]
    pub fn phase<'env>(&self, env: &'env Env) -> Result<Unknown<'env>> {
        js(env, &self.inner.phase)
    }

    /// `ticket`, `callback` or `email` on the offline path, else `null`.
    #[napi(getter, ts_return_type = "FallbackChannel | null")]
    pub fn fallback_channel<'env>(&self, env: &'env Env) -> Result<Unknown<'env>> {
        js(env, &self.inner.fallback_channel)
    }

    /// Whether to send `handoff.initiate` now.
    #[napi(getter)]
    pub fn starts_handoff(&self) -> bool {
        self.inner.starts_handoff()
    }

    /// Whether the bot should hand over now.
    #[napi(getter)]
    pub fn is_escalation(&self) -> bool {
        self.inner.is_escalation()
    }

    /// Whether the bot should offer a person.
    #[napi(getter)]
    pub fn is_offer(&self) -> bool {
        self.inner.is_offer()
    }

    /// The decision JSON, as `escalate-check run --format json` prints it.
    #[napi(js_name = "toJSON", ts_return_type = "DecisionJSON")]
    pub fn to_json<'env>(&self, env: &'env Env) -> Result<Unknown<'env>> {
        js(env, &self.inner)
    }
}

/// A policy file served to every conversation, which can be reloaded while
/// it serves: a policy that does not load or fails its own tests never
/// replaces the one serving.
#[napi]
pub struct PolicyHandle {
    inner: escalate::PolicyHandle,
}

#[napi]
impl PolicyHandle {
    /// Loads the policy file and serves it; `reload` reads it again.
    #[napi(factory)]
    pub fn from_path(env: &Env, path: String) -> Result<PolicyHandle> {
        escalate::PolicyHandle::from_path(escalate::Engine::builder(), path)
            .map(|inner| PolicyHandle { inner })
            .map_err(|e| errors::policy(env, &e))
    }

    /// The engine serving now.
    #[napi(getter)]
    pub fn engine(&self) -> Engine {
        Engine {
            inner: self.inner.current(),
        }
    }

    /// Evaluates a turn on the engine serving now.
    #[napi(ts_args_type = "state: ConversationState, turn: Turn")]
    pub fn evaluate(
        &self,
        env: &Env,
        mut state: ClassInstance<'_, ConversationState>,
        turn: Unknown<'_>,
    ) -> Result<Decision> {
        let turn = read_turn(env, turn)?;
        Ok(Decision::from(self.inner.evaluate(&mut state.inner, &turn)))
    }

    /// Reads the policy file again and serves it if it loads and passes its
    /// own tests; returns the new policy's id. Otherwise throws (a
    /// `PolicyError`, or a `ReloadError` naming the failed tests) and keeps
    /// serving the old one.
    #[napi(ts_return_type = "PolicyId")]
    pub fn reload<'env>(&self, env: &'env Env) -> Result<Unknown<'env>> {
        let id = self.inner.reload().map_err(|e| errors::reload(env, e))?;
        js(env, &id)
    }
}
