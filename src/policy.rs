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
use crate::decision::{Action, FallbackChannel, Kind, Priority};

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
    crate::schema::schema(crate::schema::Document::Policy)
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
    /// The route of every rule that does not say otherwise.
    #[serde(default, rename = "route")]
    #[schemars(with = "Option<RouteSpec>")]
    pub(crate) policy_route: Option<Spanned<RouteSpec>>,
    #[serde(default)]
    pub(crate) matching: MatchingSpec,
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, TopicSpec>")]
    pub(crate) topics: BTreeMap<String, Spanned<TopicSpec>>,
    #[schemars(with = "Vec<RuleSpec>")]
    pub(crate) rules: Vec<Spanned<RuleSpec>>,
    /// How conversations are handed over; with it, the engine also tracks
    /// each conversation's handoff phase.
    #[serde(default)]
    #[schemars(with = "Option<HandoffSpec>")]
    pub(crate) handoff: Option<Spanned<HandoffSpec>>,
    /// Per-queue settings: expected wait, opening hours, fallback channel.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, QueueSpec>")]
    pub(crate) queues: BTreeMap<String, Spanned<QueueSpec>>,
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
    #[schemars(with = "Option<String>")]
    pub(crate) online: Option<Spanned<String>>,
    #[schemars(with = "Option<String>")]
    pub(crate) offline: Option<Spanned<String>>,
    #[schemars(with = "Option<String>")]
    pub(crate) offer: Option<Spanned<String>>,
}

/// A route, every part optional: a rule's route fills its gaps from the policy's.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RouteSpec {
    /// The agents' queue; `{lang}` stands for the turn's language.
    pub(crate) queue: Option<String>,
    /// The skill an agent needs; `{lang}` stands for the turn's language.
    pub(crate) skill: Option<String>,
    pub(crate) priority: Option<Priority>,
    /// The queue or skill for turns in a language (`pt: { skill: support-pt }`).
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, RoutePartsSpec>")]
    pub(crate) by_locale: BTreeMap<String, Spanned<RoutePartsSpec>>,
}

impl PolicySpec {
    /// The policy's own route (every part unset when it has none).
    pub(crate) fn route(&self) -> &RouteSpec {
        static NONE: RouteSpec = RouteSpec {
            queue: None,
            skill: None,
            priority: None,
            by_locale: BTreeMap::new(),
        };
        self.policy_route
            .as_ref()
            .map_or(&NONE, |route| &route.value)
    }
}

/// What a route changes for turns in one language.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RoutePartsSpec {
    pub(crate) queue: Option<String>,
    pub(crate) skill: Option<String>,
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
    /// Typo tolerance: `true`, or the edit budget per word length.
    #[serde(default)]
    pub(crate) typos: TyposSpec,
    /// Whether a phrase's words match their inflections (talk, talking, talked).
    #[serde(default)]
    pub(crate) word_forms: bool,
    /// Extra words allowed among a phrase's words, unless its list or the phrase says.
    #[serde(default = "no_gaps")]
    #[schemars(with = "u8")]
    pub(crate) gaps: Spanned<u8>,
    /// `turn`: a locale's phrases apply to turns in that locale; `all`: to every turn.
    #[serde(default)]
    pub(crate) locales: LocaleScope,
}

impl Default for MatchingSpec {
    fn default() -> Self {
        MatchingSpec {
            fold_case: true,
            fold_accents: true,
            word_boundaries: true,
            default_locale: default_locale(),
            negation: NegationSpec::default(),
            typos: TyposSpec::default(),
            word_forms: false,
            gaps: unlocated(0),
            locales: LocaleScope::Turn,
        }
    }
}

/// Which phrase lists apply to a turn.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum LocaleScope {
    /// The lists of the turn's language (all of them when it has no locale).
    #[default]
    Turn,
    /// Every list, whatever the turn's locale says: bots tag locales wrongly.
    All,
}

/// `typos: true`, `typos: false`, or `typos: { min_length: 3, two_edits_from: 6, max_edits: 2 }`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TyposSpec {
    pub(crate) enabled: bool,
    pub(crate) budget: crate::words::Typos,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TyposMap {
    #[serde(default = "yes")]
    enabled: bool,
    min_length: Option<u8>,
    two_edits_from: Option<u8>,
    max_edits: Option<u8>,
}

impl<'de> Deserialize<'de> for TyposSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TyposVisitor;

        impl<'de> Visitor<'de> for TyposVisitor {
            type Value = TyposSpec;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "`true`, `false`, or a map with `min_length`, `two_edits_from`, `max_edits`",
                )
            }

            fn visit_bool<E: de::Error>(self, enabled: bool) -> Result<TyposSpec, E> {
                Ok(TyposSpec {
                    enabled,
                    budget: crate::words::Typos::default(),
                })
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<TyposSpec, A::Error> {
                let m = TyposMap::deserialize(de::value::MapAccessDeserializer::new(map))?;
                let defaults = crate::words::Typos::default();
                let budget = crate::words::Typos {
                    min_length: m.min_length.unwrap_or(defaults.min_length),
                    two_edits_from: m.two_edits_from.unwrap_or(defaults.two_edits_from),
                    max_edits: m.max_edits.unwrap_or(defaults.max_edits),
                };
                if budget.max_edits > 2 {
                    return Err(de::Error::custom(
                        "`max_edits` is at most 2: more edits read too many words as others",
                    ));
                }
                Ok(TyposSpec {
                    enabled: m.enabled,
                    budget,
                })
            }
        }

        deserializer.deserialize_any(TyposVisitor)
    }
}

impl schemars::JsonSchema for TyposSpec {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "TyposSpec".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Typo tolerance: `true`, or the edit budget. Words shorter than `min_length` (default 3) are exact, shorter than `two_edits_from` (default 6) may have one edit, longer ones `max_edits` (default 2, at most 2).",
            "oneOf": [
                { "type": "boolean" },
                {
                    "type": "object",
                    "additionalProperties": false,
                    "properties": {
                        "enabled": { "type": "boolean" },
                        "min_length": { "type": "integer", "minimum": 0 },
                        "two_edits_from": { "type": "integer", "minimum": 0 },
                        "max_edits": { "type": "integer", "minimum": 0, "maximum": 2 }
                    }
                }
            ]
        })
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

fn no_gaps() -> Spanned<u8> {
    unlocated(0)
}

fn default_locale() -> String {
    "en".to_string()
}

/// The negation window when a policy does not set one: 2 words, as README,
/// DESIGN and `docs/policy.md` say (`tests/engine.rs` pins it).
pub(crate) const DEFAULT_NEGATION_WINDOW: u32 = 2;

fn default_negation_window() -> Spanned<u32> {
    unlocated(DEFAULT_NEGATION_WINDOW)
}

/// A default value, which has no place in the file.
pub(crate) fn unlocated<T>(value: T) -> Spanned<T> {
    Spanned::new(
        value,
        serde_saphyr::Location::UNKNOWN,
        serde_saphyr::Location::UNKNOWN,
    )
}

/// The `handoff` section: what the agent receives and how a conversation
/// moves from the bot to a person and back.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct HandoffSpec {
    /// The transcript attached to `handoff.initiate`.
    #[serde(default)]
    pub(crate) transcript: TranscriptSpec,
    /// What goes into the event's `value`: a list of fields, or a map from
    /// the key the agent hub expects to a field.
    #[serde(default)]
    pub(crate) context: Option<ContextSpec>,
    /// What is masked before text leaves the bot.
    #[serde(default)]
    pub(crate) redact: RedactSpec,
    /// Answers to an offer, and the cool-down after a decline.
    #[serde(default)]
    pub(crate) offer: OfferSpec,
    /// Leaving the queue: cancel phrases and the timeout.
    #[serde(default)]
    pub(crate) waiting: WaitingSpec,
    /// The channel of the offline path, unless the queue names its own.
    #[serde(default)]
    pub(crate) fallback_channel: Option<FallbackChannel>,
    /// What the bot says at each step.
    #[serde(default)]
    pub(crate) messages: LifecycleMessagesSpec,
    /// How the bot collects what the agent needs before handing over.
    #[serde(default)]
    pub(crate) triage: TriageSpec,
}

/// One value the bot collects before handing over, such as
/// `{ attribute: order_id, ask: "What is your order number?", pattern: '\d{8}' }`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CollectSpec {
    /// The attribute it fills: a turn whose `attributes` have it needs no question.
    #[schemars(with = "String")]
    pub(crate) attribute: Spanned<String>,
    /// The question for the user.
    #[schemars(with = "String")]
    pub(crate) ask: Spanned<String>,
    /// A regex the answer must contain (over the user's text as written);
    /// the match is the value. Without it, the whole answer is.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub(crate) pattern: Option<Spanned<String>>,
}

/// The triage settings.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TriageSpec {
    /// The most questions before handing over anyway (default 2, at most 10).
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub(crate) max_questions: Option<Spanned<u32>>,
    /// Said before a question asked again after an answer the pattern refused.
    #[serde(default)]
    pub(crate) retry: Option<String>,
    /// Said when the user calls the triage off.
    #[serde(default)]
    pub(crate) cancelled: Option<String>,
    /// Phrases that call the triage off, added to the built-in English ones
    /// (never mind, forget it...); they match anywhere in the message.
    #[serde(default)]
    pub(crate) cancel: PhraseList,
    /// On the offline path, the contact the follow-up needs: `true` asks for
    /// an e-mail address (`email`) or a phone number (`callback`); a map from
    /// channel to what to collect replaces those.
    #[serde(default)]
    pub(crate) contact: ContactSpec,
}

/// `contact: true`, `false`, or a map from fallback channel to a collect item.
#[derive(Debug, Default)]
pub(crate) enum ContactSpec {
    /// Nothing is collected for the offline path.
    #[default]
    Off,
    /// The built-in questions for `email` and `callback`.
    BuiltIn,
    /// The policy's own, per channel.
    Own(Vec<(FallbackChannel, CollectSpec)>),
}

impl<'de> Deserialize<'de> for ContactSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ContactVisitor;

        impl<'de> Visitor<'de> for ContactVisitor {
            type Value = ContactSpec;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("`true`, `false`, or a map from `email`, `callback` or `ticket` to what to collect")
            }

            fn visit_bool<E: de::Error>(self, on: bool) -> Result<ContactSpec, E> {
                Ok(if on {
                    ContactSpec::BuiltIn
                } else {
                    ContactSpec::Off
                })
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ContactSpec, A::Error> {
                let mut own = Vec::new();
                while let Some(entry) = map.next_entry::<FallbackChannel, CollectSpec>()? {
                    own.push(entry);
                }
                Ok(ContactSpec::Own(own))
            }
        }

        deserializer.deserialize_any(ContactVisitor)
    }
}

impl schemars::JsonSchema for ContactSpec {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ContactSpec".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let item = generator.subschema_for::<CollectSpec>();
        schemars::json_schema!({
            "description": "On the offline path, the contact the follow-up needs: `true` asks for an e-mail address (`email`) or a phone number (`callback`); a map from channel to what to collect replaces those.",
            "oneOf": [
                { "type": "boolean" },
                {
                    "type": "object",
                    "additionalProperties": false,
                    "properties": { "email": item, "callback": item, "ticket": item }
                }
            ]
        })
    }
}

/// How much of the conversation the agent receives.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TranscriptSpec {
    /// The last N turns, user and bot.
    #[serde(default = "default_transcript_turns")]
    #[schemars(with = "u32")]
    pub(crate) turns: Spanned<u32>,
}

impl Default for TranscriptSpec {
    fn default() -> Self {
        TranscriptSpec {
            turns: default_transcript_turns(),
        }
    }
}

fn default_transcript_turns() -> Spanned<u32> {
    unlocated(10)
}

/// A field of the decision or turn that `handoff.initiate` can carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ContextField {
    Skill,
    Queue,
    Priority,
    Kind,
    Rule,
    Reasons,
    Intent,
    Attributes,
    AgentNote,
    Message,
    ConversationId,
    Turn,
}

impl ContextField {
    pub(crate) const ALL: [ContextField; 9] = [
        ContextField::Skill,
        ContextField::Queue,
        ContextField::Priority,
        ContextField::Kind,
        ContextField::Rule,
        ContextField::Reasons,
        ContextField::Intent,
        ContextField::Attributes,
        ContextField::AgentNote,
    ];

    /// The field's name in the policy, which is also its default key.
    pub(crate) fn name(self) -> &'static str {
        match self {
            ContextField::Skill => "skill",
            ContextField::Queue => "queue",
            ContextField::Priority => "priority",
            ContextField::Kind => "kind",
            ContextField::Rule => "rule",
            ContextField::Reasons => "reasons",
            ContextField::Intent => "intent",
            ContextField::Attributes => "attributes",
            ContextField::AgentNote => "agent_note",
            ContextField::Message => "message",
            ContextField::ConversationId => "conversation_id",
            ContextField::Turn => "turn",
        }
    }
}

/// `context: [skill, queue]` or `context: { Skill: skill }`: the keys of
/// `value`, each with the field it carries.
#[derive(Debug, Default)]
pub(crate) struct ContextSpec {
    pub(crate) entries: Vec<(String, ContextField)>,
}

impl schemars::JsonSchema for ContextSpec {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ContextSpec".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let field = generator.subschema_for::<ContextField>();
        schemars::json_schema!({
            "description": "What goes into `handoff.initiate`'s `value`: a list of fields, or a map from the key the agent hub expects to a field.",
            "oneOf": [
                { "type": "array", "items": field },
                { "type": "object", "additionalProperties": field }
            ]
        })
    }
}

impl<'de> Deserialize<'de> for ContextSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ContextVisitor;

        impl<'de> Visitor<'de> for ContextVisitor {
            type Value = ContextSpec;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of fields, or a map from key to field")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ContextSpec, A::Error> {
                let mut entries = Vec::new();
                while let Some(field) = seq.next_element::<ContextField>()? {
                    entries.push((field.name().to_string(), field));
                }
                Ok(ContextSpec { entries })
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ContextSpec, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, ContextField>()? {
                    entries.push(entry);
                }
                Ok(ContextSpec { entries })
            }
        }

        deserializer.deserialize_any(ContextVisitor)
    }
}

/// What redaction masks before a transcript leaves the bot.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RedactSpec {
    /// Card numbers (13 to 19 digits passing the Luhn check): all but the
    /// last four digits.
    #[serde(default = "yes")]
    pub(crate) card_numbers: bool,
    /// E-mail addresses: all of the name but its first letter.
    #[serde(default = "yes")]
    pub(crate) emails: bool,
    /// Phone numbers (7 to 15 digits): all but the last two digits.
    #[serde(default = "yes")]
    pub(crate) phone_numbers: bool,
    /// Regexes over the original text; every letter and digit of a match is masked.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub(crate) patterns: Vec<Spanned<String>>,
}

impl Default for RedactSpec {
    fn default() -> Self {
        RedactSpec {
            card_numbers: true,
            emails: true,
            phone_numbers: true,
            patterns: Vec::new(),
        }
    }
}

/// How the user answers an offer. The phrases are added to the built-in
/// English ones and match when they are the whole message.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OfferSpec {
    #[serde(default)]
    pub(crate) accept: PhraseList,
    #[serde(default)]
    pub(crate) decline: PhraseList,
    /// Menu options that accept.
    #[serde(default)]
    pub(crate) accept_menu: Vec<String>,
    /// Menu options that decline.
    #[serde(default)]
    pub(crate) decline_menu: Vec<String>,
    /// After a decline, the offering rule stays quiet this long.
    #[serde(default)]
    #[schemars(with = "Option<PeriodSpec>")]
    pub(crate) cooldown: Option<Spanned<PeriodSpec>>,
}

/// How a waiting user leaves the queue.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct WaitingSpec {
    /// Phrases that take the user out of the queue, added to the built-in
    /// English ones; they match anywhere in the message.
    #[serde(default)]
    pub(crate) cancel: PhraseList,
    /// After this long in the queue, the offline path.
    #[serde(default)]
    #[schemars(with = "Option<PeriodSpec>")]
    pub(crate) timeout: Option<Spanned<PeriodSpec>>,
}

/// A span of turns, minutes, or both (whichever ends first for a timeout,
/// last for a cool-down).
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PeriodSpec {
    pub(crate) turns: Option<u32>,
    pub(crate) minutes: Option<u32>,
}

/// Messages at each step of the handoff. `{queue}`, `{wait}` (the
/// queue's `expected_wait`) and `{opens}` (when it opens next) are filled in.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LifecycleMessagesSpec {
    #[schemars(with = "Option<String>")]
    pub(crate) waiting: Option<Spanned<String>>,
    #[schemars(with = "Option<String>")]
    pub(crate) cancelled: Option<Spanned<String>>,
    #[schemars(with = "Option<String>")]
    pub(crate) declined: Option<Spanned<String>>,
    #[schemars(with = "Option<String>")]
    pub(crate) accepted: Option<Spanned<String>>,
    #[schemars(with = "Option<String>")]
    pub(crate) completed: Option<Spanned<String>>,
    #[schemars(with = "Option<String>")]
    pub(crate) timeout: Option<Spanned<String>>,
    #[schemars(with = "Option<String>")]
    pub(crate) failed: Option<Spanned<String>>,
}

impl LifecycleMessagesSpec {
    /// Each message with its name as the policy writes it.
    pub(crate) fn named(&self) -> [(&'static str, &Option<Spanned<String>>); 7] {
        [
            ("waiting", &self.waiting),
            ("cancelled", &self.cancelled),
            ("declined", &self.declined),
            ("accepted", &self.accepted),
            ("completed", &self.completed),
            ("timeout", &self.timeout),
            ("failed", &self.failed),
        ]
    }
}

/// One queue's settings.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct QueueSpec {
    /// Shown as `{wait}` in the waiting message, such as `about 5 minutes`.
    pub(crate) expected_wait: Option<String>,
    /// The offline path's channel for this queue.
    pub(crate) fallback_channel: Option<FallbackChannel>,
    /// When agents staff the queue; without it, always.
    #[schemars(with = "Option<HoursSpec>")]
    pub(crate) hours: Option<Spanned<HoursSpec>>,
    /// What the bot collects before handing over to this queue, unless the
    /// rule lists its own.
    #[serde(default)]
    pub(crate) collect: Option<Vec<CollectSpec>>,
}

/// Opening hours in a named time zone, with holidays and one-off closures.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct HoursSpec {
    /// An IANA time zone, such as `Europe/London`.
    #[schemars(with = "String")]
    pub(crate) time_zone: Spanned<String>,
    /// Days (`mon`, `mon-fri`, `daily`) to hours (`09:00-17:30`,
    /// `09:00-12:00, 13:00-17:00`, `closed`).
    #[schemars(with = "BTreeMap<String, String>")]
    pub(crate) open: BTreeMap<String, Spanned<String>>,
    /// Whole days closed, such as `2026-12-25`.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub(crate) holidays: Vec<Spanned<String>>,
    /// One-off closures, from and to local date-times.
    #[serde(default)]
    pub(crate) closures: Vec<ClosureSpec>,
}

/// A one-off closure, such as a training afternoon.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClosureSpec {
    /// Local date-time it starts, such as `2026-12-24T13:00`.
    #[schemars(with = "String")]
    pub(crate) from: Spanned<String>,
    /// Local date-time it ends.
    #[schemars(with = "String")]
    pub(crate) to: Spanned<String>,
    /// Why, shown in the decision's reason.
    pub(crate) reason: Option<String>,
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
    /// Overrides `matching.typos` for this topic (`false` for a crisis topic).
    pub(crate) typos: Option<bool>,
    /// Overrides `matching.word_forms` for this topic.
    pub(crate) word_forms: Option<bool>,
    /// Overrides `matching.gaps` for this topic.
    #[schemars(with = "Option<u8>")]
    pub(crate) gaps: Option<Spanned<u8>>,
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
    #[schemars(with = "RuleAction")]
    #[serde(deserialize_with = "rule_action")]
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
    /// What the bot collects before this rule hands over (its queue's list
    /// when absent; `[]` collects nothing).
    #[serde(default)]
    pub(crate) collect: Option<Vec<CollectSpec>>,
    /// What the bot proposes and asks an agent to approve, for `action: consult`.
    #[schemars(with = "Option<ConsultSpec>")]
    pub(crate) consult: Option<Spanned<ConsultSpec>>,
}

/// Supervision: a proposal the bot puts to an agent before carrying it out
/// (`action: consult`). `{queue}`, `{wait}` and `{opens}` are filled in.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConsultSpec {
    /// What the bot would do, for the agent to approve, such as
    /// `Refund the order in full`.
    #[schemars(with = "String")]
    pub(crate) proposal: Spanned<String>,
    /// Why the agent is asked, shown to the agent with the proposal.
    pub(crate) note: Option<String>,
    /// How long to wait for the agent's answer (default 10 minutes).
    #[schemars(with = "Option<PeriodSpec>")]
    pub(crate) timeout: Option<Spanned<PeriodSpec>>,
    /// What happens when the agent does not answer in time.
    #[serde(default)]
    pub(crate) on_timeout: OnTimeout,
    /// What the bot tells the user while an agent looks at the proposal.
    #[schemars(with = "Option<String>")]
    pub(crate) asking: Option<Spanned<String>>,
    /// What the bot tells the user when the agent approves without a message.
    #[schemars(with = "Option<String>")]
    pub(crate) approved: Option<Spanned<String>>,
    /// What the bot tells the user when the agent declines without a message.
    #[schemars(with = "Option<String>")]
    pub(crate) declined: Option<Spanned<String>>,
    /// What the bot tells the user when the answer does not come in time
    /// (with `on_timeout: continue` or `decline`).
    #[schemars(with = "Option<String>")]
    pub(crate) timed_out: Option<Spanned<String>>,
}

impl ConsultSpec {
    /// The messages, each with its name in the policy.
    pub(crate) fn named(&self) -> [(&'static str, Option<&Spanned<String>>); 5] {
        [
            ("proposal", Some(&self.proposal)),
            ("asking", self.asking.as_ref()),
            ("approved", self.approved.as_ref()),
            ("declined", self.declined.as_ref()),
            ("timed_out", self.timed_out.as_ref()),
        ]
    }
}

/// What a consultation does when the agent does not answer in time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum OnTimeout {
    /// Hand the conversation to a person on the rule's route.
    #[default]
    Handoff,
    /// Back to the bot with nothing carried out.
    Continue,
    /// As if the agent had declined.
    Decline,
}

/// Phrases, either for every locale (a list) or per locale (a map from
/// locale to list).
#[derive(Debug, Default)]
pub(crate) struct PhraseList {
    pub(crate) groups: Vec<(Option<String>, Vec<Spanned<String>>)>,
    /// `typos`, `word_forms` and `gaps` given in the list's map.
    pub(crate) overrides: ListOverrides,
}

/// Matching settings a phrase list or topic sets for itself.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ListOverrides {
    pub(crate) typos: Option<bool>,
    pub(crate) word_forms: Option<bool>,
    pub(crate) gaps: Option<u8>,
}

impl ListOverrides {
    /// Literal matching whatever `matching` says: for the handoff's answers
    /// ("yes", "cancel"), where a typo must not read as one.
    pub(crate) const EXACT: ListOverrides = ListOverrides {
        typos: Some(false),
        word_forms: Some(false),
        gaps: Some(0),
    };
}

impl schemars::JsonSchema for PhraseList {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PhraseList".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Phrases: a list for every language, or a map from language (`en`, `es-MX`) to a list, where `phrases` lists phrases for every language and `typos`, `word_forms` and `gaps` override the policy's `matching`. `{a|b}` lists alternatives, `~N` after a phrase allows N words in between, `any order:` before it any order, `=` before a word its exact form.",
            "oneOf": [
                { "type": "array", "items": { "type": "string" } },
                {
                    "type": "object",
                    "properties": {
                        "typos": { "type": "boolean" },
                        "word_forms": { "type": "boolean" },
                        "gaps": { "type": "integer", "minimum": 0, "maximum": 8 }
                    },
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
                    overrides: ListOverrides::default(),
                })
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PhraseList, A::Error> {
                let mut groups = Vec::new();
                let mut overrides = ListOverrides::default();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "typos" => overrides.typos = Some(map.next_value()?),
                        "word_forms" => overrides.word_forms = Some(map.next_value()?),
                        "gaps" => {
                            let gaps: u8 = map.next_value()?;
                            if gaps > crate::words::MAX_GAPS {
                                return Err(de::Error::custom(format_args!(
                                    "`gaps` is at most {}",
                                    crate::words::MAX_GAPS
                                )));
                            }
                            overrides.gaps = Some(gaps);
                        }
                        "phrases" => groups.push((None, map.next_value()?)),
                        locale if is_locale_tag(locale) => {
                            groups.push((Some(locale.to_ascii_lowercase()), map.next_value()?));
                        }
                        _ => {
                            let settings = ["phrases", "typos", "word_forms", "gaps"];
                            return Err(de::Error::custom(
                                match crate::error::did_you_mean(&key, settings) {
                                    Some(hint) => format!("`{key}` is not a locale: {hint}"),
                                    None => format!(
                                        "`{key}` is not a locale: write a language code such as `en` or `pt-BR`, or `phrases`, `typos`, `word_forms`, `gaps`"
                                    ),
                                },
                            ));
                        }
                    }
                }
                Ok(PhraseList { groups, overrides })
            }
        }

        deserializer.deserialize_any(PhraseListVisitor)
    }
}

/// Whether `name` is a rule id or attribute name: letters, digits, `-_.`.
pub(crate) fn is_simple_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
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

/// What a rule does when it fires, for the schema: a rule never decides
/// `none` (switch it off with `enabled: false`).
#[derive(schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
enum RuleAction {
    /// Ask the user whether they would like a person.
    Offer,
    /// Put the rule's `consult` proposal to an agent and wait for the answer.
    Consult,
    /// Hand the conversation to a person now.
    Escalate,
}

/// A rule's action: `offer`, `consult` or `escalate`. `none` is read so that the
/// compiler can refuse it with its own help; anything else is unknown,
/// with only the three a rule may take as the alternatives.
fn rule_action<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Spanned<Action>, D::Error> {
    let name = Spanned::<String>::deserialize(deserializer)?;
    let action = match name.value.as_str() {
        "offer" => Action::Offer,
        "consult" => Action::Consult,
        "escalate" => Action::Escalate,
        "none" => Action::None,
        other => {
            return Err(serde::de::Error::unknown_variant(
                other,
                &["offer", "consult", "escalate"],
            ));
        }
    };
    Ok(Spanned::new(action, name.referenced, name.defined))
}
