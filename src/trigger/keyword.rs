//! `keywords`, `whole_message`, `whole_sentence` and `last_clause`: phrases in the user's text.
//!
//! ```yaml
//! when: { keywords: ["talk to a human", "real person"] }
//! when: { keywords: { en: ["real person"], es: ["hablar con una persona"] } }
//! when: { whole_message: [agent, human, operator] }   # only when that is all the user wrote
//! when: { whole_sentence: [agent, human, operator] }  # or all of one sentence: "it's broken. agent."
//! when: { last_clause: [agent, human, operator] }     # or the clause ending one: "it's broken, agent!"
//! ```
//!
//! Phrases are matched on normalized text (see `matching` in the policy), at
//! word boundaries, and not when a negation cue comes shortly before them in
//! the same clause. Per-locale phrases apply to turns in that language or
//! with no locale.

use serde_saphyr::Spanned;

use super::{Ctx, Explanation, phrase_explanation};
use crate::compile::Compiler;
use crate::decision::Trigger;
use crate::phrases::{SetId, Whole};
use crate::policy::PhraseList;

/// A compiled `keywords`, `whole_message`, `whole_sentence` or `last_clause` trigger.
#[derive(Debug)]
pub(crate) struct Keyword {
    set: SetId,
    whole: Whole,
    phrases: usize,
}

/// The trigger's name in a policy.
fn name(whole: Whole) -> &'static str {
    match whole {
        Whole::Anywhere => "keywords",
        Whole::Message => "whole_message",
        Whole::Sentence => "whole_sentence",
        Whole::LastClause => "last_clause",
    }
}

impl Keyword {
    pub(crate) fn compile(
        list: &Spanned<PhraseList>,
        whole: Whole,
        cx: &mut Compiler,
    ) -> Option<Keyword> {
        let name = name(whole);
        if list.value.len() == 0 {
            cx.error_at(list, "empty-list", format!("`{name}` lists no phrases"))
                .set_help("list the phrases to look for, such as `[\"talk to a human\"]`");
            return None;
        }
        let set = cx.phrases.new_set(whole, true);
        let phrases = cx.add_phrases(set, &list.value, Default::default());
        Some(Keyword {
            set,
            whole,
            phrases,
        })
    }

    pub(crate) fn check(&self, ctx: &Ctx) -> bool {
        ctx.hits[self.set].is_some()
    }

    /// The phrase set this trigger needs a hit in.
    pub(crate) fn set(&self) -> SetId {
        self.set
    }

    /// The phrase that fired; `None` when none did (`check` said no).
    pub(crate) fn explain(&self, ctx: &Ctx) -> Option<Explanation> {
        let hit = ctx.hits[self.set]?;
        let (detail, evidence) = phrase_explanation(ctx, &hit, &[], None, self.whole);
        Some(Explanation {
            trigger: Trigger::Keyword,
            detail,
            evidence,
        })
    }

    pub(crate) fn summary(&self) -> String {
        format!("{} ({} phrases)", name(self.whole), self.phrases)
    }
}

#[cfg(test)]
mod tests {
    use crate::tests::{decide, rule_policy};
    use crate::{Action, Evidence, Turn};

    fn fired(when: &str, text: &str, locale: Option<&str>) -> Option<(usize, usize)> {
        let policy = rule_policy(when);
        let turn = Turn {
            locale: locale.map(String::from),
            ..Turn::user(text)
        };
        let decision = decide(&policy, &[turn]);
        match decision.reasons.first().map(|r| &r.evidence) {
            Some(Evidence::Phrase { start, end, .. }) => Some((*start, *end)),
            _ => None,
        }
    }

    #[test]
    fn keywords_table() {
        let when =
            r#"{ keywords: ["talk to a human", "agent", "real person", "human", "human please"] }"#;
        let cases: &[(&str, Option<&str>)] = &[
            ("I want to talk to a human", Some("talk to a human")),
            ("AGENT please", Some("AGENT")),
            ("Agent!", Some("Agent")),
            ("the reagent is bad", None),
            ("ask your management", None),
            ("agents", None),
            ("I want a “real person”, now", Some("real person")),
            ("are you human? please help", Some("human")),
            ("I don't need an agent", None),
            ("I do not want to talk to a human", None),
            ("no need to talk to a human", None),
            ("no, not you, a human", Some("human")),
            ("not you. a human please", Some("human")),
            ("I don't understand. agent please", Some("agent")),
            (
                "without an agent I can't fix this, get me an agent",
                Some("agent"),
            ),
            ("", None),
            ("🙂🙂🙂", None),
        ];
        for (text, want) in cases {
            let got = fired(when, text, None).map(|(s, e)| &text[s..e]);
            assert_eq!(got, *want, "text {text:?}");
        }
    }

    #[test]
    fn phrases_do_not_span_sentences() {
        let when = r#"{ keywords: ["human please", "real person"] }"#;
        let cases = [
            ("are you human? please help", false),
            ("human, please", true),
            ("a real. person", false),
            ("a real\nperson", false),
            ("a real \t person", true),
        ];
        for (text, want) in cases {
            assert_eq!(fired(when, text, None).is_some(), want, "{text:?}");
        }
    }

    #[test]
    fn nested_phrases_are_all_found() {
        // Both sets see their phrase even though one lies inside the other.
        let policy = crate::tests::engine(
            r#"
version: 1
rules:
  - { id: long, when: { keywords: ["speak to a live agent"] }, kind: fallback, action: escalate }
  - { id: short, when: { keywords: ["live agent"] }, kind: fallback, action: offer }
  - { id: shortest, when: { keywords: ["agent"] }, kind: fallback, action: offer }
"#,
        );
        let d = decide(&policy, &[Turn::user("can I speak to a live agent")]);
        let rules: Vec<&str> = d.reasons.iter().map(|r| &*r.rule).collect();
        assert_eq!(rules, ["long", "short", "shortest"]);
        assert_eq!(d.rule.as_deref(), Some("long"));
    }

    #[test]
    fn locales() {
        let when = r#"{ keywords: { en: ["talk to a person"], es: ["hablar con una persona"], pt: ["falar com um atendente"] } }"#;
        let cases = [
            ("quiero hablar con una persona", Some("es-MX"), true),
            ("quiero hablar con una persona", None, true),
            ("quiero hablar con una persona", Some("en"), false),
            ("quiero hablar con una persona", Some("it"), false),
            ("Quero falar com um atendente", Some("pt-BR"), true),
            ("I want to talk to a person", Some("en-GB"), true),
        ];
        for (text, locale, want) in cases {
            assert_eq!(
                fired(when, text, locale).is_some(),
                want,
                "{text:?} in {locale:?}"
            );
        }
    }

    #[test]
    fn negation_follows_the_phrase_language() {
        let when = r#"{ keywords: { es: ["hablar con una persona"], en: ["person"] } }"#;
        assert!(fired(when, "no quiero hablar con una persona", Some("es")).is_none());
        assert!(fired(when, "quiero hablar con una persona", Some("es")).is_some());
        // Spanish `no` is not an English cue.
        assert!(fired(when, "no I want a person", Some("en")).is_some());
    }

    #[test]
    fn accents_and_spans_in_the_original() {
        let when = r#"{ keywords: ["parler à quelqu'un", "mit einem Menschen sprechen"] }"#;
        let text = "Je veux PARLER A QUELQU’UN 🙂";
        let (s, e) = fired(when, text, None).unwrap();
        assert_eq!(&text[s..e], "PARLER A QUELQU’UN");
        let text = "Kann ich mit einem Mẽnschen sprechen?";
        let (s, e) = fired(when, text, None).unwrap();
        assert_eq!(&text[s..e], "mit einem Mẽnschen sprechen");
    }

    #[test]
    fn whole_message_only_fires_on_the_whole_message() {
        let when = r#"{ whole_message: ["agent", "human please"] }"#;
        let cases = [
            ("agent", true),
            ("  Agent!!! ", true),
            ("HUMAN, please.", true),
            ("are you a human agent?", false),
            ("agent smith", false),
        ];
        for (text, want) in cases {
            assert_eq!(fired(when, text, None).is_some(), want, "{text:?}");
        }
        let d = decide(&rule_policy(when), &[Turn::user("agent")]);
        assert_eq!(d.action, Action::Escalate);
    }

    #[test]
    fn whole_sentence_fires_on_a_whole_sentence_or_the_whole_message() {
        let when = r#"{ whole_sentence: ["agent", "human please", "any order: real person"] }"#;
        let cases: &[(&str, Option<&str>)] = &[
            ("agent", Some("agent")),
            ("  Agent!!! ", Some("Agent")),
            ("ok this isnt working. AGENT.", Some("AGENT")),
            ("agent! my order never came", Some("agent")),
            ("it's broken\nhuman, please", Some("human, please")),
            ("hello? person real?", Some("person real")),
            ("are you a human agent?", None),
            ("agent smith is here. thanks", None),
            ("I'm an agent. please help", None),
            ("the agent. the one from yesterday", None),
            // A clause is not a sentence.
            ("no, agent", None),
        ];
        for (text, want) in cases {
            let got = fired(when, text, None).map(|(s, e)| &text[s..e]);
            assert_eq!(got, *want, "{text:?}");
        }
        let d = decide(&rule_policy(when), &[Turn::user("this is useless. agent")]);
        assert_eq!(d.action, Action::Escalate);
        let detail = &d.reasons[0].detail;
        assert!(
            detail.starts_with("a whole sentence is the phrase \"agent\""),
            "{detail}"
        );
    }
}
