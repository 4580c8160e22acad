//! The policy as written in YAML: plain serde types, refused on unknown fields.
//!
//! These types say what an author may write. [`crate::engine`] validates them
//! and compiles them into an `Engine`; nothing here runs on a turn. Trigger
//! specs live beside their evaluation in [`crate::trigger`].

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use crate::condition::ConditionSpec;
use crate::decision::{Action, Kind, Priority};

/// The JSON Schema (draft 7) of the policy format, generated from the same
/// types that load a policy, so it cannot drift from them. Editors that
/// read JSON Schema (VS Code's YAML extension, for one) use it to complete
/// and check policies as they are typed.
///
/// ```
/// let schema = escalate::policy_schema();
/// assert_eq!(schema["title"], "PolicySpec");
/// assert!(schema["properties"]["rules"].is_object());
/// ```
pub fn policy_schema() -> serde_json::Value {
    let mut schema = schemars::generate::SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<PolicySpec>();
    schema.insert("title".into(), "PolicySpec".into());
    serde_json::to_value(schema).expect("a schema is JSON")
}

/// A whole policy file.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PolicySpec {
    #[schemars(with = "u32")]
    pub(crate) version: Spanned<u32>,
    pub(crate) name: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    pub(crate) description: Option<String>,
    #[serde(default)]
    pub(crate) messages: MessagesSpec,
    #[serde(default)]
    pub(crate) route: RouteSpec,
    #[serde(default)]
    pub(crate) matching: MatchingSpec,
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, TopicSpec>")]
    pub(crate) topics: BTreeMap<String, Spanned<TopicSpec>>,
    #[schemars(with = "Vec<RuleSpec>")]
    pub(crate) rules: Vec<Spanned<RuleSpec>>,
    /// The policy's own tests, read by [`crate::TestSuite`], not by the engine.
    #[serde(default)]
    #[allow(dead_code)]
    #[schemars(with = "Option<Vec<serde_json::Value>>")]
    pub(crate) tests: Option<serde::de::IgnoredAny>,
}

/// Messages for the user, at policy level (defaults) or on a rule.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MessagesSpec {
    pub(crate) online: Option<String>,
    pub(crate) offline: Option<String>,
    pub(crate) offer: Option<String>,
}

/// A route, every part optional: a rule's route fills its gaps from the policy's.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RouteSpec {
    pub(crate) queue: Option<String>,
    pub(crate) skill: Option<String>,
    pub(crate) priority: Option<Priority>,
}

/// How text is matched against phrases.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MatchingSpec {
    #[serde(default = "yes")]
    pub(crate) fold_case: bool,
    #[serde(default = "yes")]
    pub(crate) fold_accents: bool,
    #[serde(default = "yes")]
    pub(crate) word_boundaries: bool,
    #[serde(default = "default_locale")]
    pub(crate) default_locale: String,
    #[serde(default)]
    pub(crate) negation: NegationSpec,
}

impl Default for MatchingSpec {
    fn default() -> Self {
        MatchingSpec {
            fold_case: true,
            fold_accents: true,
            word_boundaries: true,
            default_locale: default_locale(),
            negation: NegationSpec::default(),
        }
    }
}

/// Negation cues per locale, and how many words may stand between a cue
/// and the phrase it negates.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NegationSpec {
    #[serde(default = "default_negation_window")]
    #[schemars(with = "u32")]
    pub(crate) window: Spanned<u32>,
    #[schemars(with = "Option<BTreeMap<String, Vec<String>>>")]
    pub(crate) cues: Option<BTreeMap<String, Vec<Spanned<String>>>>,
}

impl Default for NegationSpec {
    fn default() -> Self {
        NegationSpec {
            window: default_negation_window(),
            cues: None,
        }
    }
}

/// The negation cues used when a policy does not list its own.
pub(crate) const DEFAULT_NEGATION_CUES: &[(&str, &[&str])] = &[
    (
        "en",
        &[
            "not", "don't", "dont", "do not", "doesn't", "does not", "didn't", "did not",
            "no need", "never", "without",
        ],
    ),
    ("es", &["no", "nunca", "sin"]),
    ("fr", &["pas", "jamais", "sans"]),
    ("de", &["nicht", "kein", "keine", "keinen", "nie", "ohne"]),
    ("pt", &["não", "nunca", "sem"]),
];

fn yes() -> bool {
    true
}

fn default_locale() -> String {
    "en".to_string()
}

fn default_negation_window() -> Spanned<u32> {
    Spanned::new(
        3,
        serde_saphyr::Location::UNKNOWN,
        serde_saphyr::Location::UNKNOWN,
    )
}

/// A named set of phrases and regex patterns that rules refer to with `topic`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TopicSpec {
    #[serde(default)]
    pub(crate) phrases: PhraseList,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub(crate) patterns: Vec<Spanned<String>>,
    #[serde(default = "yes")]
    pub(crate) negation: bool,
}

/// One rule.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleSpec {
    #[schemars(with = "String")]
    pub(crate) id: Spanned<String>,
    #[serde(default)]
    #[allow(dead_code)]
    pub(crate) description: Option<String>,
    #[schemars(with = "ConditionSpec")]
    pub(crate) when: Spanned<ConditionSpec>,
    pub(crate) kind: Kind,
    #[schemars(with = "Action")]
    pub(crate) action: Spanned<Action>,
    #[serde(default)]
    pub(crate) priority: i32,
    #[serde(default)]
    pub(crate) route: RouteSpec,
    #[serde(default)]
    pub(crate) messages: MessagesSpec,
    pub(crate) agent_note: Option<String>,
    #[serde(default)]
    pub(crate) locales: Vec<String>,
    #[serde(default = "yes")]
    pub(crate) enabled: bool,
}

/// Phrases, either for every locale (a list) or per locale (a map from
/// locale to list).
#[derive(Debug, Default)]
pub(crate) struct PhraseList {
    pub(crate) groups: Vec<(Option<String>, Vec<Spanned<String>>)>,
}

impl schemars::JsonSchema for PhraseList {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PhraseList".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Phrases: a list for every language, or a map from language (`en`, `es-MX`) to a list. `{a|b}` lists alternatives.",
            "oneOf": [
                { "type": "array", "items": { "type": "string" } },
                {
                    "type": "object",
                    "additionalProperties": { "type": "array", "items": { "type": "string" } }
                }
            ]
        })
    }
}

impl PhraseList {
    pub(crate) fn len(&self) -> usize {
        self.groups.iter().map(|(_, phrases)| phrases.len()).sum()
    }
}

impl<'de> Deserialize<'de> for PhraseList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PhraseListVisitor;

        impl<'de> Visitor<'de> for PhraseListVisitor {
            type Value = PhraseList;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a list of phrases, or a map from locale (`en`, `es`...) to a list of phrases",
                )
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PhraseList, A::Error> {
                let mut phrases = Vec::new();
                while let Some(phrase) = seq.next_element()? {
                    phrases.push(phrase);
                }
                Ok(PhraseList {
                    groups: vec![(None, phrases)],
                })
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PhraseList, A::Error> {
                let mut groups = Vec::new();
                while let Some((locale, phrases)) =
                    map.next_entry::<String, Vec<Spanned<String>>>()?
                {
                    if !is_locale_tag(&locale) {
                        return Err(de::Error::custom(format_args!(
                            "`{locale}` is not a locale: write a language code such as `en` or `pt-BR`"
                        )));
                    }
                    groups.push((Some(locale.to_ascii_lowercase()), phrases));
                }
                Ok(PhraseList { groups })
            }
        }

        deserializer.deserialize_any(PhraseListVisitor)
    }
}

/// Whether `tag` looks like a BCP 47 language tag (`en`, `es-MX`, `zh-Hant`).
pub(crate) fn is_locale_tag(tag: &str) -> bool {
    let mut parts = tag.split(['-', '_']);
    let language = parts.next().unwrap_or("");
    (2..=3).contains(&language.len())
        && language.chars().all(|c| c.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// The primary language of a locale tag, lowercased: `es-MX` -> `es`.
pub(crate) fn primary_language(tag: &str) -> &str {
    tag.split(['-', '_']).next().unwrap_or(tag)
}

/// The byte offset and length of a spanned value in the policy text.
pub(crate) fn span_of<T>(value: &Spanned<T>) -> (usize, usize) {
    let span = value.referenced.span();
    match (span.byte_offset(), span.byte_len()) {
        (Some(offset), Some(len)) if offset != u32::MAX as u64 => (offset as usize, len as usize),
        _ => (0, 0),
    }
}
