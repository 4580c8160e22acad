//! JavaScript objects into library types, bounded against hostile input.
//!
//! A turn is read straight from the JS object, without JSON: the fields go
//! through napi's serde deserializer into [`escalate::Turn`] (which refuses
//! unknown fields, as the transcript reader does), and `attributes`, the one
//! field that holds arbitrary JSON, through [`Reader`], which walks it as
//! `JSON.stringify` would (own enumerable keys, `undefined` and functions
//! left out, non-finite numbers as `null`, integers as JSON integers) and
//! stops where a line of JSON would be refused or never end:
//!
//! - nested as deep as the library's JSON reader refuses (128 levels,
//!   counting the turn; a cycle is nested without end) or holding an object
//!   with a `toJSON` method: the turn goes to JSON ([`Unread::Json`]),
//!   where the library reports the depth at the column the CLI would;
//! - more than [`MAX_TURN_VALUES`] values (a few objects shared many times
//!   over can stand for more values than any line could hold): refused
//!   ([`crate::errors::too_large`]).
//!
//! A field set to `undefined` counts as absent, as in `JSON.stringify`.
//!
//! `index.js` reads the common turn itself (a plain object whose keys are
//! all [`TURN_FIELDS`]) and hands over its values in key order ([`fields`]),
//! which spares the native side enumerating the object's keys and getting
//! each property through napi; any other turn, and any value [`fields`]
//! does not convert, is read by [`turn`] as before.

use escalate::Turn;
use napi::bindgen_prelude::{
    FromNapiValue, JsObjectValue, JsValue, KeyCollectionMode, KeyConversion, KeyFilter, Object,
    Unknown,
};
use napi::{De, Status, ValueType};
use serde::de::{DeserializeSeed, IntoDeserializer, MapAccess, Visitor};
use serde_json::{Map, Value};

/// How deep JSON may nest before the library's reader refuses it: a
/// bracket at this depth (the turn's own is depth 1) is refused.
const MAX_DEPTH: usize = 128;

/// The most values a turn's `attributes` may hold, counting every visit of
/// a value shared between several places.
pub const MAX_TURN_VALUES: usize = 100_000;

/// Why [`Reader`] stopped.
enum Stop {
    /// A JavaScript exception (a getter that threw).
    Js(napi::Error),
    /// Only JSON can say what this is: too deep, or a `toJSON` method.
    Json,
    /// More than [`MAX_TURN_VALUES`] values.
    TooLarge,
}

impl From<napi::Error> for Stop {
    fn from(error: napi::Error) -> Stop {
        Stop::Js(error)
    }
}

/// Reads arbitrary JS data as JSON values, counting what it reads.
#[derive(Default)]
pub(crate) struct Reader {
    values: usize,
    stop: Option<Stop>,
}

impl Reader {
    /// `value` at `depth` (the turn is 1) as JSON; `None` where
    /// `JSON.stringify` writes nothing (`undefined`, a function, a symbol).
    fn value(&mut self, value: Unknown<'_>, depth: usize) -> Result<Option<Value>, Stop> {
        self.values += 1;
        if self.values > MAX_TURN_VALUES {
            return Err(Stop::TooLarge);
        }
        Ok(Some(match value.get_type()? {
            ValueType::Undefined | ValueType::Function | ValueType::Symbol => return Ok(None),
            ValueType::Null => Value::Null,
            ValueType::Boolean => Value::Bool(bool::from_unknown(value)?),
            ValueType::Number => number(f64::from_unknown(value)?),
            ValueType::String => Value::String(String::from_unknown(value)?),
            ValueType::Object => {
                if depth >= MAX_DEPTH {
                    return Err(Stop::Json);
                }
                let object = Object::from_unknown(value)?;
                let to_json: Unknown<'_> = object.get_named_property_unchecked("toJSON")?;
                if to_json.get_type()? == ValueType::Function {
                    return Err(Stop::Json);
                }
                if object.is_array()? {
                    let len = object.get_array_length_unchecked()?;
                    let mut items = Vec::with_capacity(len.min(1024) as usize);
                    for index in 0..len {
                        let item: Unknown<'_> = object.get_element(index)?;
                        items.push(self.value(item, depth + 1)?.unwrap_or(Value::Null));
                    }
                    Value::Array(items)
                } else {
                    Value::Object(self.object(&object, depth)?)
                }
            }
            // BigInt (which JSON.stringify refuses), externals.
            _ => return Err(Stop::Json),
        }))
    }

    /// The own enumerable string-keyed properties of `object`, in order.
    fn object(&mut self, object: &Object<'_>, depth: usize) -> Result<Map<String, Value>, Stop> {
        let mut map = Map::new();
        for (key, value) in own_properties(object)? {
            if let Some(value) = self.value(value, depth + 1)? {
                map.insert(key, value);
            }
        }
        Ok(map)
    }

    /// `attributes` (at depth 2, inside the turn) as a JSON value.
    fn attributes(&mut self, value: Unknown<'_>) -> napi::Result<Value> {
        match self.value(value, 2) {
            Ok(value) => Ok(value.unwrap_or(Value::Null)),
            Err(Stop::Js(error)) => Err(error),
            Err(stop) => {
                self.stop = Some(stop);
                Err(napi::Error::new(Status::InvalidArg, "stopped"))
            }
        }
    }
}

/// A JS number as the JSON value `JSON.stringify` and then serde_json make
/// of it: integers below 1e21 are written as digits (an integer, if it
/// fits in 64 bits), everything else as a float; NaN and the infinities
/// become `null`.
fn number(x: f64) -> Value {
    if !x.is_finite() {
        return Value::Null;
    }
    if x.fract() == 0.0 && x.abs() < 1e21 {
        if (0.0..18_446_744_073_709_551_616.0).contains(&x) {
            return Value::from(x as u64);
        }
        if (-9_223_372_036_854_775_808.0..0.0).contains(&x) {
            return Value::from(x as i64);
        }
    }
    serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
}

/// The own enumerable string-keyed properties of an object and their
/// values, in `Object.keys` order, leaving out those set to `undefined`.
fn own_properties<'env>(object: &Object<'env>) -> napi::Result<Vec<(String, Unknown<'env>)>> {
    let keys = object.get_all_property_names(
        KeyCollectionMode::OwnOnly,
        KeyFilter::Enumerable,
        KeyConversion::NumbersToStrings,
    )?;
    let len = keys.get_array_length_unchecked()?;
    let mut properties = Vec::with_capacity(len as usize);
    for index in 0..len {
        let key: Unknown<'env> = keys.get_element(index)?;
        if key.get_type()? != ValueType::String {
            continue; // a symbol
        }
        let value: Unknown<'env> = object.get_property(key)?;
        if value.get_type()? == ValueType::Undefined {
            continue;
        }
        properties.push((String::from_unknown(key)?, value));
    }
    Ok(properties)
}

/// The fields of a transcript line, as [`Turn`] declares them: `index.js`
/// numbers a turn's keys by their place here, from 1.
pub const TURN_FIELDS: [&str; 13] = [
    "conversation_id",
    "id",
    "role",
    "text",
    "menu",
    "intent",
    "intents",
    "sentiment",
    "outcome",
    "locale",
    "agents_available",
    "timestamp",
    "attributes",
];

/// A turn from the values of its fields (JS values of this call), in the
/// turn object's key order: `order` holds, four bits per value from the
/// lowest, each one's place in [`TURN_FIELDS`] plus one. Each value
/// converts as [`turn`] converts it (a string or a number without serde);
/// [`Unread::Json`] when one does not, or when only JSON can tell, for
/// [`turn`] to read the object.
pub(crate) fn fields(
    env: napi::sys::napi_env,
    mut order: u64,
    values: &[napi::sys::napi_value],
) -> Result<Turn, Unread> {
    let mut turn = Turn::default();
    for &value in values {
        // SAFETY: the caller gives values of this env, alive for the call.
        let value = unsafe { Unknown::from_raw_unchecked(env, value) };
        let place = (order & 0xF) as usize;
        order >>= 4;
        let Some(&field) = place.checked_sub(1).and_then(|i| TURN_FIELDS.get(i)) else {
            return Err(Unread::Json(None));
        };
        match field {
            "conversation_id" => turn.conversation_id = optional(env, value)?.map(Into::into),
            "id" => turn.id = optional(env, value)?,
            "role" => turn.role = de(env, value)?,
            "text" => {
                turn.text = match value.get_type()? {
                    ValueType::String => string(env, value)?,
                    _ => de(env, value)?,
                }
            }
            "menu" => turn.menu = optional(env, value)?,
            "intent" => turn.intent = de(env, value)?,
            "intents" => turn.intents = de(env, value)?,
            "sentiment" => {
                turn.sentiment = match value.get_type()? {
                    ValueType::Number => Some(f64::from_unknown(value)?),
                    _ => de(env, value)?,
                }
            }
            "outcome" => turn.outcome = de(env, value)?,
            "locale" => turn.locale = optional(env, value)?,
            "agents_available" => turn.agents_available = de(env, value)?,
            "timestamp" => turn.timestamp = optional(env, value)?,
            "attributes" => {
                let mut reader = Reader::default();
                let json = reader
                    .attributes(value)
                    .map_err(|error| match reader.stop {
                        Some(Stop::TooLarge) => Unread::TooLarge,
                        Some(_) => Unread::Json(None),
                        None => Unread::Js(error),
                    })?;
                turn.attributes = serde::Deserialize::deserialize(json)
                    .map_err(|e: serde_json::Error| Unread::Json(Some(e.to_string())))?;
            }
            _ => return Err(Unread::Json(None)),
        }
    }
    Ok(turn)
}

/// A field that may be `null`: a string as it is, anything else as napi's
/// serde reads it.
fn optional(env: napi::sys::napi_env, value: Unknown<'_>) -> Result<Option<String>, Unread> {
    match value.get_type()? {
        ValueType::String => Ok(Some(string(env, value)?)),
        _ => de(env, value),
    }
}

/// A JS string as UTF-8 (a lone surrogate as U+FFFD), as napi-rs reads
/// it, but in one pass when it is short: napi-rs asks for the UTF-8 length
/// first, which walks the string once more.
fn string(env: napi::sys::napi_env, value: Unknown<'_>) -> napi::Result<String> {
    /// Up to this many UTF-16 units, a buffer for the most UTF-8 they can
    /// take (three bytes each) is allocated at once.
    const SHORT: usize = 4096;
    let mut units = 0;
    // SAFETY: `value` is a string of this env (its type was checked); a
    // null buffer asks only for the length.
    let status = unsafe {
        napi::sys::napi_get_value_string_utf16(
            env,
            value.raw(),
            std::ptr::null_mut(),
            0,
            &mut units,
        )
    };
    if status != napi::sys::Status::napi_ok || units > SHORT {
        return String::from_unknown(value);
    }
    let mut bytes = Vec::<u8>::with_capacity(3 * units + 1);
    let mut written = 0;
    // SAFETY: the buffer holds `capacity` bytes, which napi fills with
    // UTF-8 and a closing NUL, giving the length written before it.
    let status = unsafe {
        napi::sys::napi_get_value_string_utf8(
            env,
            value.raw(),
            bytes.as_mut_ptr().cast(),
            bytes.capacity(),
            &mut written,
        )
    };
    if status != napi::sys::Status::napi_ok {
        return String::from_unknown(value);
    }
    // SAFETY: napi wrote `written` bytes of UTF-8.
    unsafe {
        bytes.set_len(written.min(bytes.capacity()));
        Ok(String::from_utf8_unchecked(bytes))
    }
}

/// A field's value as napi's serde reads it, as [`turn`] does.
fn de<T: serde::de::DeserializeOwned>(
    env: napi::sys::napi_env,
    value: Unknown<'_>,
) -> Result<T, Unread> {
    let object = Object::from_raw(env, value.raw());
    T::deserialize(&mut De::new(&object)).map_err(|error| match error.status {
        Status::PendingException => Unread::Js(error),
        _ => Unread::Json(Some(error.reason.clone())),
    })
}

/// Why [`turn`] did not read a turn.
pub(crate) enum Unread {
    /// A JavaScript exception (a getter that threw): rethrown as it is.
    Js(napi::Error),
    /// More than [`MAX_TURN_VALUES`] values under `attributes`.
    TooLarge,
    /// Only JSON can tell: the turn is to be written as JSON and read by the
    /// library, which reports where it is wrong (the conversion's own reason,
    /// if it failed, is given in case the library reads the line).
    Json(Option<String>),
}

impl From<napi::Error> for Unread {
    fn from(error: napi::Error) -> Unread {
        Unread::Js(error)
    }
}

/// Reads a turn from a JS value without JSON, or says why not.
pub(crate) fn turn(value: Unknown<'_>) -> Result<Turn, Unread> {
    if value.get_type()? != ValueType::Object || value.is_array()? {
        return Err(Unread::Json(Some("a turn is a JSON object".into())));
    }
    let object = Object::from_unknown(value)?;
    let mut reader = Reader::default();
    let result = serde::Deserialize::deserialize(TurnFields {
        env: object.value().env,
        properties: own_properties(&object)?.into_iter(),
        value: None,
        reader: &mut reader,
    });
    match (result, reader.stop) {
        (Ok(turn), _) => Ok(turn),
        (Err(_), Some(Stop::TooLarge)) => Err(Unread::TooLarge),
        (Err(_), Some(_)) => Err(Unread::Json(None)),
        (Err(error), None) if error.status == Status::PendingException => Err(Unread::Js(error)),
        (Err(error), None) => Err(Unread::Json(Some(error.reason.clone()))),
    }
}

/// The turn object's fields, as a serde map.
struct TurnFields<'a, 'env> {
    env: napi::sys::napi_env,
    properties: std::vec::IntoIter<(String, Unknown<'env>)>,
    value: Option<(bool, Unknown<'env>)>,
    reader: &'a mut Reader,
}

impl<'de> serde::Deserializer<'de> for TurnFields<'_, '_> {
    type Error = napi::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> napi::Result<V::Value> {
        visitor.visit_map(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

impl<'de> MapAccess<'de> for TurnFields<'_, '_> {
    type Error = napi::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> napi::Result<Option<K::Value>> {
        let Some((key, value)) = self.properties.next() else {
            return Ok(None);
        };
        self.value = Some((key == "attributes", value));
        seed.deserialize(key.into_deserializer()).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> napi::Result<V::Value> {
        let (attributes, value) = self.value.take().expect("a key before its value");
        if attributes {
            let json = self.reader.attributes(value)?;
            seed.deserialize(json)
                .map_err(|e| napi::Error::new(Status::InvalidArg, e.to_string()))
        } else {
            let object = Object::from_raw(self.env, value.raw());
            seed.deserialize(&mut De::new(&object))
        }
    }
}

#[cfg(test)]
mod tests {
    use escalate::{Intent, Outcome, Role};

    use super::*;

    #[test]
    fn the_fields_are_those_of_a_transcript_line_in_order() {
        let intent = Intent {
            name: "billing".into(),
            confidence: 0.5,
        };
        let every = Turn {
            conversation_id: Some("c-1".into()),
            id: Some("m-1".into()),
            role: Role::Bot,
            text: "hi".into(),
            menu: Some("agent".into()),
            intent: Some(intent.clone()),
            intents: vec![intent],
            sentiment: Some(-0.5),
            outcome: Outcome::NoMatch,
            locale: Some("en".into()),
            agents_available: Some(false),
            timestamp: Some("2026-01-01T00:00:00Z".into()),
            attributes: [("tier".to_string(), Value::from("gold"))]
                .into_iter()
                .collect(),
        };
        let line = serde_json::to_string(&every).unwrap();
        let Keys(keys) = serde_json::from_str(&line).unwrap();
        assert_eq!(keys, TURN_FIELDS);
    }

    /// A JSON object's keys, in order.
    struct Keys(Vec<String>);

    impl<'de> serde::Deserialize<'de> for Keys {
        fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Keys, D::Error> {
            struct Names;
            impl<'de> Visitor<'de> for Names {
                type Value = Keys;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Keys, M::Error> {
                    let mut keys = Vec::new();
                    while let Some((key, serde::de::IgnoredAny)) = map.next_entry()? {
                        keys.push(key);
                    }
                    Ok(Keys(keys))
                }
            }
            deserializer.deserialize_map(Names)
        }
    }
}
