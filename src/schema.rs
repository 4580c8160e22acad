//! JSON Schemas (draft 7) of every document the engine reads or writes,
//! generated from the types that read and write them, for editors and for
//! bots in other languages that validate what they send and receive.

use crate::decision::Decision;
use crate::policy::PolicySpec;
use crate::state::ConversationState;
use crate::turn::Turn;

/// A document the engine reads or writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Document {
    /// A policy file (YAML).
    Policy,
    /// A turn: one transcript line, or the body a bot sends for one.
    Turn,
    /// A decision, as its JSON.
    Decision,
    /// A conversation's saved state ([`ConversationState::to_json`]).
    State,
    /// A policy test file (`*.tests.yaml`).
    Tests,
}

impl Document {
    /// Every document, in the order the CLI lists them.
    pub const ALL: [Document; 5] = [
        Document::Policy,
        Document::Turn,
        Document::Decision,
        Document::State,
        Document::Tests,
    ];

    /// Its name on the command line: `policy`, `turn`, `decision`, `state`, `tests`.
    pub fn name(self) -> &'static str {
        match self {
            Document::Policy => "policy",
            Document::Turn => "turn",
            Document::Decision => "decision",
            Document::State => "state",
            Document::Tests => "tests",
        }
    }

    /// The document named `name`, as [`Document::name`] spells it.
    pub fn from_name(name: &str) -> Option<Document> {
        Document::ALL.into_iter().find(|d| d.name() == name)
    }
}

/// The JSON Schema of `document`.
///
/// ```
/// use escalate::{Document, schema};
///
/// let turn = schema(Document::Turn);
/// assert_eq!(turn["title"], "Turn");
/// assert!(turn["properties"]["text"].is_object());
/// assert_eq!(schema(Document::Policy)["title"], "PolicySpec");
/// ```
pub fn schema(document: Document) -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::draft07().into_generator();
    let (mut schema, title) = match document {
        Document::Policy => (generator.into_root_schema_for::<PolicySpec>(), "PolicySpec"),
        Document::Turn => (generator.into_root_schema_for::<Turn>(), "Turn"),
        Document::Decision => (generator.into_root_schema_for::<Decision>(), "Decision"),
        Document::State => (
            generator.into_root_schema_for::<ConversationState>(),
            "ConversationState",
        ),
        Document::Tests => (crate::suite::test_file_schema(generator), "TestFile"),
    };
    schema.insert("title".into(), title.into());
    serde_json::to_value(schema).expect("a schema is JSON")
}
