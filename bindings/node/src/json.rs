//! Compact JSON, byte for byte what `serde_json::to_writer` writes, in two
//! thirds of the time on the library's states and decisions (4,600
//! instructions a turn of the Node benchmark, against 7,000): every turn
//! writes both, and serde_json spends most of it scanning each key and
//! string byte by byte for what to escape and on many small writes. This
//! writer checks eight bytes at a time and copies short strings inline.
//!
//! What it does not write as serde_json would (a map key that is not a
//! string, a unit variant or an integer) it gives up on, and [`write`]
//! hands the value to serde_json instead, so the output is always
//! serde_json's. Floats are written by serde_json.

use serde::Serialize;
use serde::ser::{self, Impossible};

/// Appends `value` as compact JSON, as `serde_json::to_writer` would.
pub(crate) fn write<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> serde_json::Result<()> {
    let start = out.len();
    if value.serialize(Writer(out)).is_err() {
        out.truncate(start);
        serde_json::to_writer(&mut *out, value)?;
    }
    Ok(())
}

/// Why [`Writer`] gave up: only serde_json knows.
#[derive(Debug)]
pub(crate) struct GiveUp;

impl std::fmt::Display for GiveUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not written by the fast JSON writer")
    }
}

impl std::error::Error for GiveUp {}

impl ser::Error for GiveUp {
    fn custom<T: std::fmt::Display>(_: T) -> GiveUp {
        GiveUp
    }
}

type Result<T = ()> = std::result::Result<T, GiveUp>;

/// `"…"`: a string, escaped as serde_json escapes it (`"`, `\` and the
/// control characters; `\b`, `\t`, `\n`, `\f`, `\r` by name, the others as
/// `\u00xx`). Most strings need no escape: they are checked a word at a
/// time and copied as they are.
#[inline]
fn string(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    let n = bytes.len();
    if !clean(bytes) {
        return escaped(out, bytes);
    }
    out.reserve(n + 2);
    // SAFETY: `n + 2` bytes were reserved past the length; they are written
    // (a quote, the string, a quote) before the length covers them.
    unsafe {
        let end = out.as_mut_ptr().add(out.len());
        end.write(b'"');
        copy(end.add(1), bytes);
        end.add(1 + n).write(b'"');
        out.set_len(out.len() + n + 2);
    }
}

/// Whether any of the eight bytes of `word` is `"`, `\` or below 0x20
/// (nonzero if so: a zero byte test on `word` and on its `xor`s).
fn special(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = ONES << 7;
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    zero(word ^ (u64::from(b'"') * ONES))
        | zero(word ^ (u64::from(b'\\') * ONES))
        | (word.wrapping_sub(0x20 * ONES) & !word & HIGH)
}

/// Whether nothing in `bytes` is to be escaped, checked a word at a time
/// (the last word overlapping the one before; four bytes and four more
/// for a short one).
fn clean(bytes: &[u8]) -> bool {
    let n = bytes.len();
    let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("eight bytes"));
    let half = |at: usize| {
        u64::from(u32::from_le_bytes(
            bytes[at..at + 4].try_into().expect("four bytes"),
        ))
    };
    if n >= 8 {
        let mut found = 0;
        let mut at = 0;
        while at + 8 <= n {
            found |= special(word(at));
            at += 8;
        }
        if at < n {
            found |= special(word(n - 8));
        }
        found == 0
    } else if n >= 4 {
        special(half(0) | (half(n - 4) << 32)) == 0
    } else {
        bytes.iter().all(|&b| b >= 0x20 && b != b'"' && b != b'\\')
    }
}

/// Copies `bytes` to `to`, a short piece in a few loads and stores rather
/// than a call to `memcpy`.
///
/// # Safety
///
/// `to` is valid for writing `bytes.len()` bytes and does not overlap it.
unsafe fn copy(to: *mut u8, bytes: &[u8]) {
    let n = bytes.len();
    let from = bytes.as_ptr();
    // SAFETY: every read is within `bytes`, every write within `to[..n]`.
    unsafe {
        if n > 16 {
            std::ptr::copy_nonoverlapping(from, to, n);
        } else if n >= 8 {
            let (first, last) = (
                from.cast::<u64>().read_unaligned(),
                from.add(n - 8).cast::<u64>().read_unaligned(),
            );
            to.cast::<u64>().write_unaligned(first);
            to.add(n - 8).cast::<u64>().write_unaligned(last);
        } else if n >= 4 {
            let (first, last) = (
                from.cast::<u32>().read_unaligned(),
                from.add(n - 4).cast::<u32>().read_unaligned(),
            );
            to.cast::<u32>().write_unaligned(first);
            to.add(n - 4).cast::<u32>().write_unaligned(last);
        } else if n > 0 {
            to.write(*from);
            to.add(n / 2).write(*from.add(n / 2));
            to.add(n - 1).write(*from.add(n - 1));
        }
    }
}

/// A string with something to escape.
#[cold]
#[inline(never)]
fn escaped(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let mut run = 0; // where the bytes not yet written start
    for (index, &byte) in bytes.iter().enumerate() {
        let escape: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            0x0C => b"\\f",
            b'\r' => b"\\r",
            0..0x20 => &[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(byte >> 4)],
                HEX[usize::from(byte & 0xF)],
            ],
            _ => continue,
        };
        out.extend_from_slice(&bytes[run..index]);
        out.extend_from_slice(escape);
        run = index + 1;
    }
    out.extend_from_slice(&bytes[run..]);
    out.push(b'"');
}

fn integer(out: &mut Vec<u8>, value: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// Writes one value.
struct Writer<'a>(&'a mut Vec<u8>);

/// An array or an object being written, and what closes it.
pub(crate) struct Compound<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
    close: &'static [u8],
}

impl Compound<'_> {
    fn separate(&mut self) {
        if !std::mem::take(&mut self.first) {
            self.out.push(b',');
        }
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        self.separate();
        value.serialize(Writer(self.out))
    }

    fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result {
        self.separate();
        string(self.out, key);
        self.out.push(b':');
        value.serialize(Writer(self.out))
    }

    fn close(self) -> Result {
        self.out.extend_from_slice(self.close);
        Ok(())
    }
}

impl<'a> Writer<'a> {
    fn open(self, open: &[u8], close: &'static [u8]) -> Compound<'a> {
        self.0.extend_from_slice(open);
        Compound {
            out: self.0,
            first: true,
            close,
        }
    }

    /// `{"variant":` before a variant's value, closed by `}`.
    fn variant(self, variant: &str, open: &[u8], close: &'static [u8]) -> Compound<'a> {
        self.0.push(b'{');
        string(self.0, variant);
        self.0.push(b':');
        self.open(open, close)
    }
}

macro_rules! integers {
    ($($method:ident: $type:ty),*) => {
        $(fn $method(self, value: $type) -> Result {
            integer(self.0, value);
            Ok(())
        })*
    };
}

impl<'a> ser::Serializer for Writer<'a> {
    type Ok = ();
    type Error = GiveUp;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Compound<'a>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Compound<'a>;

    integers!(
        serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
        serialize_i128: i128, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32,
        serialize_u64: u64, serialize_u128: u128
    );

    fn serialize_bool(self, value: bool) -> Result {
        self.0
            .extend_from_slice(if value { b"true" } else { b"false" });
        Ok(())
    }

    fn serialize_f32(self, value: f32) -> Result {
        serde_json::to_writer(self.0, &value).map_err(|_| GiveUp)
    }

    fn serialize_f64(self, value: f64) -> Result {
        serde_json::to_writer(self.0, &value).map_err(|_| GiveUp)
    }

    fn serialize_char(self, value: char) -> Result {
        string(self.0, value.encode_utf8(&mut [0; 4]));
        Ok(())
    }

    fn serialize_str(self, value: &str) -> Result {
        string(self.0, value);
        Ok(())
    }

    fn serialize_bytes(self, value: &[u8]) -> Result {
        use ser::SerializeSeq;
        let mut array = self.serialize_seq(Some(value.len()))?;
        for byte in value {
            array.serialize_element(byte)?;
        }
        array.end()
    }

    fn serialize_none(self) -> Result {
        self.serialize_unit()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result {
        self.0.extend_from_slice(b"null");
        Ok(())
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result {
        self.serialize_unit()
    }

    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result {
        let out = self.0;
        out.push(b'{');
        string(out, variant);
        out.push(b':');
        value.serialize(Writer(&mut *out))?;
        out.push(b'}');
        Ok(())
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'a>> {
        Ok(self.open(b"[", b"]"))
    }

    fn serialize_tuple(self, _: usize) -> Result<Compound<'a>> {
        Ok(self.open(b"[", b"]"))
    }

    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Compound<'a>> {
        Ok(self.open(b"[", b"]"))
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'a>> {
        Ok(self.variant(variant, b"[", b"]}"))
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Compound<'a>> {
        Ok(self.open(b"{", b"}"))
    }

    fn serialize_struct(self, name: &'static str, _: usize) -> Result<Compound<'a>> {
        // serde_json's own tokens (raw values, arbitrary-precision numbers).
        if name.starts_with("$serde_json") {
            return Err(GiveUp);
        }
        Ok(self.open(b"{", b"}"))
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'a>> {
        Ok(self.variant(variant, b"{", b"}}"))
    }
}

/// The arrays: each element after a comma.
macro_rules! arrays {
    ($($trait:ident::$method:ident),*) => {
        $(impl ser::$trait for Compound<'_> {
            type Ok = ();
            type Error = GiveUp;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
                self.element(value)
            }
            fn end(self) -> Result {
                self.close()
            }
        })*
    };
}

arrays!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = GiveUp;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result {
        self.separate();
        key.serialize(Key(self.out))?;
        self.out.push(b':');
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        value.serialize(Writer(self.out))
    }
    fn end(self) -> Result {
        self.close()
    }
}

/// The structs: each field after a comma.
macro_rules! structs {
    ($($trait:ident),*) => {
        $(impl ser::$trait for Compound<'_> {
            type Ok = ();
            type Error = GiveUp;
            fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result {
                self.field(key, value)
            }
            fn end(self) -> Result {
                self.close()
            }
        })*
    };
}

structs!(SerializeStruct, SerializeStructVariant);

/// Writes a map key: a string, a unit variant's name or an integer in
/// quotes, as serde_json writes them; anything else is left to serde_json.
struct Key<'a>(&'a mut Vec<u8>);

macro_rules! integer_keys {
    ($($method:ident: $type:ty),*) => {
        $(fn $method(self, value: $type) -> Result {
            self.0.push(b'"');
            integer(self.0, value);
            self.0.push(b'"');
            Ok(())
        })*
    };
}

macro_rules! give_up {
    ($($method:ident: $type:ty),*) => {
        $(fn $method(self, _: $type) -> Result {
            Err(GiveUp)
        })*
    };
}

impl ser::Serializer for Key<'_> {
    type Ok = ();
    type Error = GiveUp;
    type SerializeSeq = Impossible<(), GiveUp>;
    type SerializeTuple = Impossible<(), GiveUp>;
    type SerializeTupleStruct = Impossible<(), GiveUp>;
    type SerializeTupleVariant = Impossible<(), GiveUp>;
    type SerializeMap = Impossible<(), GiveUp>;
    type SerializeStruct = Impossible<(), GiveUp>;
    type SerializeStructVariant = Impossible<(), GiveUp>;

    integer_keys!(
        serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
        serialize_i128: i128, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32,
        serialize_u64: u64, serialize_u128: u128
    );

    give_up!(serialize_bool: bool, serialize_f32: f32, serialize_f64: f64, serialize_bytes: &[u8]);

    fn serialize_str(self, value: &str) -> Result {
        string(self.0, value);
        Ok(())
    }

    fn serialize_char(self, value: char) -> Result {
        string(self.0, value.encode_utf8(&mut [0; 4]));
        Ok(())
    }

    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result {
        string(self.0, variant);
        Ok(())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result {
        value.serialize(self)
    }

    fn serialize_none(self) -> Result {
        Err(GiveUp)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result {
        Err(GiveUp)
    }

    fn serialize_unit(self) -> Result {
        Err(GiveUp)
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result {
        Err(GiveUp)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result {
        Err(GiveUp)
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq> {
        Err(GiveUp)
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple> {
        Err(GiveUp)
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct> {
        Err(GiveUp)
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        Err(GiveUp)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap> {
        Err(GiveUp)
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct> {
        Err(GiveUp)
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Err(GiveUp)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use escalate::{ConversationState, Engine, HandoffStatus, Turn};
    use serde_json::{Value, json};

    use super::*;

    /// What [`write`] writes (or that it refuses), checked against serde_json.
    fn same<T: Serialize + ?Sized>(value: &T) {
        let mut out = b"prefix".to_vec();
        let written =
            write(&mut out, value).map(|()| String::from_utf8(out[6..].to_vec()).unwrap());
        let expected = serde_json::to_string(value);
        match (written, expected) {
            (Ok(written), Ok(expected)) => assert_eq!(written, expected),
            (Err(_), Err(_)) => {}
            (written, expected) => panic!("{written:?} where serde_json gives {expected:?}"),
        }
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let specials: Vec<char> = (0..0x80u8)
            .map(char::from)
            .chain(['é', '\u{2028}', '🙂', '\u{7f}'])
            .collect();
        for &special in &specials {
            for length in 0..40 {
                for at in 0..length.max(1) {
                    let text: String = (0..length)
                        .map(|i| {
                            if i == at {
                                special
                            } else {
                                char::from(b'a' + (i % 26) as u8)
                            }
                        })
                        .collect();
                    same(&text);
                    same(&json!({ text.clone(): [text, special] }));
                }
            }
        }
        same("\"\\\u{0}\u{1f}\n\r\t\u{8}\u{c}");
    }

    #[test]
    fn values_are_written_as_serde_json_writes_them() {
        same(&json!(null));
        same(&json!([]));
        same(&json!({}));
        same(
            &json!({ "a": [1, -2, 3.5, 1e300, -0.0, 0.1, 18446744073709551615u64, -9223372036854775808i64, true, false, null],
                      "b": { "c": {}, "d": [[], [{}]] }, "": "" }),
        );
        same(&(
            1u8,
            'x',
            "y",
            Some(2i128),
            None::<u8>,
            (),
            1.5f32,
            f64::NAN,
            f64::INFINITY,
        ));
        same(&[b"bytes".as_slice()]);
        // Map keys serde_json writes in quotes, and one it is left to write.
        same(&BTreeMap::from([(1u32, "one"), (2, "two")]));
        same(&BTreeMap::from([(-1i64, [1])]));
        same(&BTreeMap::from([('c', 1)]));
        same(&BTreeMap::from([(true, 1), (false, 0)]));
        #[derive(Serialize, PartialEq, Eq, PartialOrd, Ord)]
        enum E {
            Unit,
            Newtype(u8),
            Tuple(u8, u8),
            Struct { a: u8, b: Option<String> },
        }
        #[derive(Serialize)]
        struct Unit;
        #[derive(Serialize)]
        struct Newtype(String);
        #[derive(Serialize)]
        struct Tuple(u8, &'static str);
        same(&(
            E::Unit,
            E::Newtype(1),
            E::Tuple(1, 2),
            E::Struct { a: 1, b: None },
            Unit,
            Newtype("n".into()),
            Tuple(1, "t"),
        ));
        same(&BTreeMap::from([(E::Unit, 1)]));
        same(&BTreeMap::from([(E::Newtype(1), 1)]));
    }

    /// Every state and decision of the shared conversations (the Rust,
    /// Python and Node tests' cases) and of turns over every field.
    #[test]
    fn states_and_decisions_are_written_as_serde_json_writes_them() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let folder = root.join("tests/data/shared/conversations");
        let mut conversations = 0;
        for entry in std::fs::read_dir(folder).unwrap() {
            let case: Value =
                serde_json::from_slice(&std::fs::read(entry.unwrap().path()).unwrap()).unwrap();
            let engine = match case["policy"].as_str() {
                Some(path) => Engine::from_path(root.join(path)).unwrap(),
                None => Engine::builtin(),
            };
            let mut state = ConversationState::new();
            for step in case["steps"].as_array().unwrap() {
                let decision = if let Some(turn) = step.get("turn") {
                    engine.evaluate(
                        &mut state,
                        &Turn::from_json(turn.to_string().as_bytes()).unwrap(),
                    )
                } else if let Some(status) = step.get("status") {
                    engine.apply_status(
                        &mut state,
                        &HandoffStatus::from_json(status.to_string().as_bytes()).unwrap(),
                    )
                } else {
                    continue;
                };
                same(&decision);
                same(&state);
            }
            conversations += 1;
        }
        assert!(conversations >= 8, "{conversations} conversations");

        let engine = Engine::builtin();
        let mut state = ConversationState::new();
        for line in [
            r#"{"conversation_id":"c\"1","id":"m\n1","text":"i want a real person, \"now\"\t🙂","locale":"en","sentiment":-0.75}"#,
            r#"{"text":"no","outcome":"no_match","intent":{"name":"billing.dispute","confidence":0.31},"intents":[{"name":"a","confidence":0.2},{"name":"b","confidence":0.19}]}"#,
            r#"{"text":"what?","outcome":"invalid_input","attributes":{"tier":"gold","n":[1,2.5,null,{"x":"\u0001"}]},"agents_available":false}"#,
            r#"{"text":"this is useless, HUMAN","menu":"agent","timestamp":"2026-11-20T14:03:00Z","sentiment":-1}"#,
        ] {
            let decision = engine.evaluate(&mut state, &Turn::from_json(line.as_bytes()).unwrap());
            same(&decision);
            same(&state);
        }
    }
}
