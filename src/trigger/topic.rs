//! `topic`: one of the policy's named topics came up.
//!
//! ```yaml
//! topics:
//!   bereavement:
//!     phrases: ["passed away", "death certificate", "funeral"]
//!     patterns: ['\b(died|deceased)\b']
//! rules:
//!   - id: bereavement
//!     when: { topic: bereavement }
//! ```
//!
//! Phrases match like `keywords`. Patterns are regexes run on the
//! normalized text (lowercase, accents removed, punctuation turned to single
//! spaces), compiled with size limits; they run only when no phrase of the
//! topic matched. `negation: false` makes a topic fire even after a
//! negation cue (for crisis topics, where a miss costs more than a false alarm).

use std::sync::Arc;

use regex_automata::meta::Regex;
use serde_saphyr::Spanned;

use super::{Ctx, Explanation, phrase_explanation};
use crate::compile::{Compiler, anchored_at_end};
use crate::decision::{Evidence, Trigger};
use crate::phrases::{Cue, Hit, HitSource, Hits, PhraseIndex, SetId, TurnLocale, Whole};
use crate::policy::TopicSpec;
use crate::text::Normalized;

/// A compiled topic.
#[derive(Debug)]
pub(crate) struct Topic {
    name: Arc<str>,
    set: SetId,
    patterns: Vec<(Regex, Arc<str>)>,
    /// The patterns anchored at the end of the text (`...$`), all in one
    /// regex when there are several: one reverse search from the end says
    /// whether any of them can match before each is run in turn.
    at_end: Option<(Regex, Vec<bool>)>,
    negation: bool,
}

/// A compiled `topic` trigger: a reference to a topic.
#[derive(Debug)]
pub(crate) struct TopicRef {
    topic: usize,
    name: String,
}

impl Topic {
    pub(crate) fn compile(name: &str, spec: &Spanned<TopicSpec>, cx: &mut Compiler) -> Topic {
        let spec_value = &spec.value;
        if spec_value.phrases.len() == 0 && spec_value.patterns.is_empty() {
            cx.error_at(
                spec,
                "empty-topic",
                format!("topic `{name}` has no phrases and no patterns"),
            )
            .set_help("give the topic `phrases: [...]` or `patterns: [...]`, or remove it");
        }
        let set = cx.phrases.new_set(Whole::Anywhere, spec_value.negation);
        cx.add_phrases(
            set,
            &spec_value.phrases,
            crate::policy::ListOverrides {
                typos: spec_value.typos,
                word_forms: spec_value.word_forms,
                gaps: spec_value.gaps.as_ref().map(|g| g.value),
            },
        );
        let mut patterns = Vec::new();
        for pattern in &spec_value.patterns {
            if let Some(regex) = cx.compile_pattern(
                pattern,
                "they match lowercase text without accents or punctuation",
            ) {
                patterns.push((regex, Arc::from(pattern.value.as_str())));
            }
        }
        Topic {
            name: Arc::from(name),
            set,
            patterns,
            at_end: None,
            negation: spec_value.negation,
        }
    }

    /// Puts the patterns anchored at the end of the text in one regex, if
    /// there are several and it fits what is left of the pattern-memory
    /// budget. Called once every other pattern of the policy is compiled,
    /// so this shortcut never takes budget a pattern needed.
    pub(crate) fn combine_at_end(&mut self, cx: &mut Compiler) {
        let anchored: Vec<bool> = self
            .patterns
            .iter()
            .map(|(_, source)| anchored_at_end(source))
            .collect();
        let sources: Vec<&str> = self
            .patterns
            .iter()
            .zip(&anchored)
            .filter(|&(_, &at_end)| at_end)
            .map(|((_, source), _)| &**source)
            .collect();
        if sources.len() > 1
            && let Some(regex) = cx.compile_any_at_end(&sources)
        {
            self.at_end = Some((regex, anchored));
        }
    }

    /// Whether the topic has regex patterns to run after the phrase scan.
    pub(crate) fn has_patterns(&self) -> bool {
        !self.patterns.is_empty()
    }

    /// Runs the topic's patterns when none of its phrases matched.
    pub(crate) fn scan_patterns(
        &self,
        text: &Normalized,
        locale: TurnLocale,
        index: &PhraseIndex,
        cues: &[Cue],
        hits: &mut Hits,
    ) {
        if hits[self.set].is_some() || text.bytes.is_empty() {
            return;
        }
        let ends = match &self.at_end {
            Some((any, anchored)) if !any.is_match(text.as_str()) => Some(anchored),
            _ => None,
        };
        for (i, (regex, _)) in self.patterns.iter().enumerate() {
            if ends.is_some_and(|anchored| anchored[i]) {
                continue;
            }
            let found = regex
                .find_iter(text.as_str())
                .filter(|m| !m.is_empty())
                .find(|m| !self.negation || !index.is_negated(text, cues, m.start(), None, locale));
            if let Some(m) = found {
                let hit = Hit {
                    source: HitSource::Pattern(i as u32),
                    start: m.start() as u32,
                    end: m.end() as u32,
                    fuzzy: false,
                };
                hits.fill(self.set, hit);
                return;
            }
        }
    }
}

impl TopicRef {
    pub(crate) fn compile(name: &Spanned<String>, cx: &mut Compiler) -> Option<TopicRef> {
        match cx.topic_index(&name.value) {
            Some(topic) => Some(TopicRef {
                topic,
                name: name.value.clone(),
            }),
            None => {
                let help = cx.topic_suggestion(&name.value);
                cx.error_at(
                    name,
                    "unknown-topic",
                    format!("unknown topic `{}`", name.value),
                )
                .set_help(help);
                None
            }
        }
    }

    fn topic<'c>(&self, ctx: &Ctx<'c>) -> &'c Topic {
        &ctx.topics[self.topic]
    }

    /// The phrase set of the topic, which needs a hit for this to hold.
    pub(crate) fn set(&self, topics: &[Topic]) -> SetId {
        topics[self.topic].set
    }

    pub(crate) fn check(&self, ctx: &Ctx) -> bool {
        ctx.hits[self.topic(ctx).set].is_some()
    }

    /// The phrase or pattern that fired; `None` when none did (`check`
    /// said no).
    pub(crate) fn explain(&self, ctx: &Ctx) -> Option<Explanation> {
        let topic = self.topic(ctx);
        let hit = ctx.hits[topic.set]?;
        let (start, end) = ctx.original_span(&hit);
        let (detail, evidence) = match hit.source {
            HitSource::Phrase(_) => phrase_explanation(
                ctx,
                &hit,
                &["topic ", &topic.name, ": "],
                Some(topic.name.clone()),
                Whole::Anywhere,
            ),
            HitSource::Pattern(i) => {
                let pattern = topic.patterns[i as usize].1.clone();
                (
                    format!(
                        "topic {}: pattern `{pattern}` matched \"{}\" at {start}..{end}",
                        topic.name,
                        &ctx.turn.text[start..end]
                    ),
                    Evidence::Pattern {
                        topic: topic.name.clone(),
                        pattern,
                        start,
                        end,
                    },
                )
            }
        };
        Some(Explanation {
            trigger: Trigger::Topic,
            detail,
            evidence,
        })
    }

    pub(crate) fn summary(&self) -> String {
        format!("topic {}", self.name)
    }
}

#[cfg(test)]
mod tests {
    use crate::tests::{decide, engine, policy_errors};
    use crate::{Evidence, Turn};

    const POLICY: &str = r#"
version: 1
topics:
  bereavement:
    phrases: ["passed away", "death certificate"]
    patterns: ['\b(died|deceased)\b']
  crisis:
    phrases: ["want to die", "kill myself"]
    negation: false
rules:
  - { id: grief, when: { topic: bereavement }, kind: planned, action: escalate }
  - { id: crisis, when: { topic: crisis }, kind: planned, action: escalate }
"#;

    fn evidence(text: &str) -> Option<Evidence> {
        let d = decide(&engine(POLICY), &[Turn::user(text)]);
        d.reasons.first().map(|r| r.evidence.clone())
    }

    #[test]
    fn phrases_then_patterns() {
        let text = "My father Passed Away last week";
        match evidence(text) {
            Some(Evidence::Phrase {
                topic, start, end, ..
            }) => {
                assert_eq!(topic.as_deref(), Some("bereavement"));
                assert_eq!(&text[start..end], "Passed Away");
            }
            other => panic!("{other:?}"),
        }
        let text = "Mi madre DIED, ¿qué hago?";
        match evidence(text) {
            Some(Evidence::Pattern { start, end, .. }) => assert_eq!(&text[start..end], "DIED"),
            other => panic!("{other:?}"),
        }
        assert!(evidence("nobody has passed the exam").is_none());
        assert!(evidence("my mother has not died").is_none());
    }

    #[test]
    fn topics_can_ignore_negation() {
        assert!(evidence("I don't want to die alone").is_some());
    }

    /// Patterns anchored at the end are first tried together: every one of
    /// them still fires alone, the first in the list wins where several
    /// match, the unanchored ones run whatever the shortcut says, and a
    /// negated match is passed over as before.
    #[test]
    fn patterns_anchored_at_the_end_fire_as_if_run_one_by_one() {
        const PATTERNS: [&str; 5] = [
            r"\bno way out$",
            r"\b(want|wish) it to (end|stop)( now)?$",
            r"\bkeep living($| like this)",
            r"\b(took|swallowed) \d{2,} pills\b",
            r"\b(no hope( left)?|way out)$",
        ];
        let list: Vec<String> = PATTERNS.iter().map(|p| format!("'{p}'")).collect();
        let engine = engine(&format!(
            "version: 1\ntopics:\n  despair:\n    patterns: [{}]\nrules:\n  - {{ id: despair, when: {{ topic: despair }}, kind: planned, action: escalate }}\n",
            list.join(", ")
        ));
        let cases: &[(&str, Option<(u32, &str)>)] = &[
            ("there is no way out", Some((0, "no way out"))),
            (
                "i just want it to stop now",
                Some((1, "want it to stop now")),
            ),
            (
                "why keep living like this honestly",
                Some((2, "keep living like this")),
            ),
            ("i keep living", Some((2, "keep living"))),
            ("took 30 pills an hour ago", Some((3, "took 30 pills"))),
            ("no hope left", Some((4, "no hope left"))),
            // The first and the last match: the first listed wins, as before.
            ("no way out", Some((0, "no way out"))),
            ("the only way out", Some((4, "way out"))),
            // Anchored at the end: not when more follows.
            ("there is no way out of this contract", None),
            ("no hope left for my parcel to arrive", None),
            ("i do not want it to stop", None),
        ];
        for &(text, want) in cases {
            let d = decide(&engine, &[Turn::user(text)]);
            let got = d.reasons.first().map(|r| match &r.evidence {
                Evidence::Pattern {
                    pattern,
                    start,
                    end,
                    ..
                } => (
                    PATTERNS.iter().position(|p| **p == **pattern).unwrap() as u32,
                    &text[*start..*end],
                ),
                other => panic!("{text}: {other:?}"),
            });
            assert_eq!(got, want, "{text}");
        }
    }

    /// The least pattern memory a policy loads with.
    fn least_pattern_memory(yaml: &str) -> usize {
        let loads = |bytes| {
            crate::Engine::builder()
                .max_pattern_memory(bytes)
                .build(yaml)
                .is_ok()
        };
        let (mut low, mut high) = (0, 64 << 20);
        assert!(loads(high));
        while low + 1 < high {
            let mid = (low + high) / 2;
            if loads(mid) { high = mid } else { low = mid }
        }
        high
    }

    /// The combined regex of a topic's anchored patterns only takes budget
    /// left over once every pattern is compiled: a policy whose patterns fit
    /// loads as if there were no shortcut.
    #[test]
    fn the_anchored_patterns_shortcut_takes_no_budget_a_pattern_needs() {
        let policy = |topics: &str| {
            format!(
                "version: 1\ntopics:\n{topics}rules:\n  - {{ id: a, when: {{ topic: a }}, kind: planned, action: escalate }}\n"
            )
        };
        let (first, second, last) = (
            r"'\bno way out$'",
            r"'\bno hope left$'",
            r"'\bkeep (\w+ ){0,3}living\b'",
        );
        let together = policy(&format!(
            "  a: {{ patterns: [{first}, {second}] }}\n  b: {{ patterns: [{last}] }}\n"
        ));
        let apart = policy(&format!(
            "  a: {{ patterns: [{first}] }}\n  a2: {{ patterns: [{second}] }}\n  b: {{ patterns: [{last}] }}\n"
        ));
        assert_eq!(
            least_pattern_memory(&together),
            least_pattern_memory(&apart)
        );
    }

    #[test]
    fn bad_references_and_patterns_are_located() {
        let errors = policy_errors(
            r#"
version: 1
topics:
  grief: { patterns: ['(unclosed', 'a{100000}{100000}'] }
rules:
  - { id: a, when: { topic: greif }, kind: planned, action: escalate }
"#,
        );
        let codes: Vec<_> = errors.iter().map(|(code, ..)| code.as_str()).collect();
        assert_eq!(
            codes,
            ["invalid-pattern", "pattern-too-big", "unknown-topic"]
        );
        assert_eq!(errors[2].1, 6);
        assert_eq!(errors[2].3.as_deref(), Some("did you mean `grief`?"));
    }
}
