//! `evaluate` and `handleEvaluate`, the call a bot makes on every message,
//! as plain N-API callbacks rather than `#[napi]` functions: the glue
//! napi-rs generates for a function (among other things it records the
//! borrow of every argument, in case the function returns async work)
//! cost about 1,800 instructions a call, nearly half the engine's own
//! evaluation. They take the arguments `src/native-header.d.ts` declares
//! and throw what a `#[napi]` function would.

use std::ptr;

use escalate::{ConversationState, Decision, Turn};
use napi::bindgen_prelude::{
    FromNapiRef, FromNapiValue, JsError, JsObjectValue, Object, ToNapiValue, Unknown,
};
use napi::{Env, Result, Status, sys};
use napi_derive::napi;

use crate::convert::TURN_FIELDS;
use crate::{EngineRef, HandleRef, Text};

/// The most arguments read: the handle, the saved state, the turn,
/// `order` and a value per field.
const MAX_ARGS: usize = 4 + TURN_FIELDS.len();

/// Puts the callbacks on the module's exports.
#[napi(module_exports)]
pub fn exports(mut exports: Object<'_>, env: Env) -> Result<()> {
    let callbacks: [(&str, napi::Callback); 2] =
        [("evaluate", evaluate), ("handleEvaluate", handle_evaluate)];
    for (name, callback) in callbacks {
        exports.set_named_property(name, env.create_function::<(), ()>(name, callback)?)?;
    }
    Ok(())
}

/// `evaluate(engine, saved, turn, order, ...values)`: decides one turn for
/// the state saved as `saved` (`null` for a new conversation) and gives
/// the outcome ([`crate::outcome`]). `index.js` gives the turn's values in
/// key order and their places in [`TURN_FIELDS`] as `order` (see
/// [`crate::convert::fields`]), or `order` -1 for a turn it did not read.
unsafe extern "C" fn evaluate(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: N-API calls this on the JS thread with its callback info.
    unsafe {
        call(env, info, |env, args| {
            let engine = EngineRef::from_napi_ref(env.raw(), args[0])?;
            decide(env, args, |state, turn| engine.evaluate(state, turn))
        })
    }
}

/// `handleEvaluate(handle, saved, turn, order, ...values)`: `evaluate` on
/// the engine a policy handle serves now.
unsafe extern "C" fn handle_evaluate(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: as in `evaluate`.
    unsafe {
        call(env, info, |env, args| {
            let handle = HandleRef::from_napi_ref(env.raw(), args[0])?;
            decide(env, args, |state, turn| handle.evaluate(state, turn))
        })
    }
}

/// The saved state, the turn and the decision of `evaluate`'s arguments.
///
/// # Safety
///
/// `args` are this call's arguments, padded with `undefined`.
unsafe fn decide(
    env: &Env,
    args: &[sys::napi_value],
    decide: impl FnOnce(&mut ConversationState, &Turn) -> Decision,
) -> Result<Text> {
    let saved = unsafe { Option::<String>::from_napi_value(env.raw(), args[1]) }?;
    let turn = unsafe { Unknown::from_raw_unchecked(env.raw(), args[2]) };
    let order = unsafe { f64::from_napi_value(env.raw(), args[3]) }?;
    let turn = crate::read_turn(env, turn, order, &args[4..])?;
    let mut state = crate::state(saved.as_deref())?;
    let decision = decide(&mut state, &turn);
    Ok(crate::outcome(&state, &decision))
}

/// Runs `body` on a callback's arguments (at most [`MAX_ARGS`], those not
/// given `undefined`) and gives its text, or throws its error.
///
/// # Safety
///
/// `env` and `info` are those N-API gave the callback.
unsafe fn call(
    env: sys::napi_env,
    info: sys::napi_callback_info,
    body: impl FnOnce(&Env, &[sys::napi_value]) -> Result<Text>,
) -> sys::napi_value {
    let mut argc = MAX_ARGS;
    let mut argv = [ptr::null_mut(); MAX_ARGS];
    let status = unsafe {
        sys::napi_get_cb_info(
            env,
            info,
            &mut argc,
            argv.as_mut_ptr(),
            ptr::null_mut(),
            ptr::null_mut(),
        )
    };
    let result = match status {
        sys::Status::napi_ok => {
            let given = argc.clamp(4, MAX_ARGS);
            body(&Env::from_raw(env), &argv[..given])
                .and_then(|text| unsafe { Text::to_napi_value(env, text) })
        }
        status => Err(napi::Error::new(
            Status::from(status),
            "cannot read the arguments",
        )),
    };
    result.unwrap_or_else(|error| {
        unsafe { JsError::from(error).throw_into(env) };
        ptr::null_mut()
    })
}
