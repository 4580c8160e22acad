//! The triggers: one file each, holding what an author writes (the spec),
//! how it is checked at load (compile) and how it is evaluated on a turn.
//!
//! Evaluation has two steps. `check` answers yes or no and allocates
//! nothing: it runs for every rule on every turn. `explain` builds the
//! reason (detail line and evidence) and runs only for rules that fired.

pub(crate) mod confidence;
pub(crate) mod failures;
pub(crate) mod intent;
pub(crate) mod keyword;
pub(crate) mod menu;
pub(crate) mod repeats;
pub(crate) mod script;
pub(crate) mod sentiment;
pub(crate) mod topic;

use std::cell::RefCell;

use std::sync::Arc;

use crate::decision::{Evidence, ReadAs, Trigger};
use crate::phrases::{Hit, HitSource, Hits, PhraseIndex, Whole};
use crate::state::ConversationState;
use crate::text::Normalized;
use crate::turn::Turn;

/// Everything a trigger may look at on one turn.
pub(crate) struct Ctx<'a> {
    pub(crate) turn: &'a Turn,
    pub(crate) state: &'a ConversationState,
    pub(crate) text: &'a Normalized,
    pub(crate) hits: &'a Hits,
    pub(crate) phrases: &'a PhraseIndex,
    pub(crate) topics: &'a [topic::Topic],
    pub(crate) scripts: &'a script::Scripts,
    /// The variables scripts see, built on first use in a turn.
    pub(crate) script_scope: &'a RefCell<script::ScriptScope>,
    /// The turn's sentiment score, from the turn or the built-in scorer.
    pub(crate) sentiment: TurnSentiment<'a>,
}

/// The sentiment score a turn's triggers see.
#[derive(Clone, Copy, Default)]
pub(crate) struct TurnSentiment<'a> {
    pub(crate) score: Option<f64>,
    /// The lexicon's language, when the built-in scorer gave the score.
    pub(crate) language: Option<crate::sentiment::Language>,
    /// The text it scored, when not [`Ctx::text`] (the policy folds text
    /// differently from the lexicons).
    pub(crate) text: Option<&'a Normalized>,
}

impl<'a> TurnSentiment<'a> {
    /// The normalized text the built-in scorer read.
    pub(crate) fn text(&self, ctx: &Ctx<'a>) -> &'a Normalized {
        self.text.unwrap_or(ctx.text)
    }
}

impl Ctx<'_> {
    /// The original-text span of a hit.
    pub(crate) fn original_span(&self, hit: &Hit) -> (usize, usize) {
        self.text
            .original_span(&self.turn.text, hit.start as usize, hit.end as usize)
    }
}

/// Why a trigger fired, before the rule's id, kind and action are added.
pub(crate) struct Explanation {
    pub(crate) trigger: Trigger,
    pub(crate) detail: String,
    pub(crate) evidence: Evidence,
}

/// What a fired rule has seen, so that a decision can clear it: a rule
/// never fires twice on the same stale counter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct EvidenceUsed {
    pub(crate) failures: bool,
    pub(crate) confidence: bool,
    pub(crate) sentiment: bool,
    pub(crate) repeats: bool,
}

impl EvidenceUsed {
    /// What either of the two relies on.
    pub(crate) fn union(self, other: EvidenceUsed) -> EvidenceUsed {
        EvidenceUsed {
            failures: self.failures || other.failures,
            confidence: self.confidence || other.confidence,
            sentiment: self.sentiment || other.sentiment,
            repeats: self.repeats || other.repeats,
        }
    }
}

/// One compiled trigger.
#[derive(Debug)]
pub(crate) enum Leaf {
    Menu(menu::Menu),
    Keyword(keyword::Keyword),
    Topic(topic::TopicRef),
    Confidence(confidence::Confidence),
    Intent(intent::IntentMatch),
    Sentiment(sentiment::Sentiment),
    Failures(failures::Failures),
    Repeats(repeats::Repeats),
    Script(script::Script),
}

impl Leaf {
    /// Whether the trigger holds on this turn. A script that fails reports
    /// its error and counts as not holding.
    #[inline(always)]
    pub(crate) fn check(&self, ctx: &Ctx, errors: &mut Vec<String>) -> bool {
        match self {
            Leaf::Menu(t) => t.check(ctx),
            Leaf::Keyword(t) => t.check(ctx),
            Leaf::Topic(t) => t.check(ctx),
            Leaf::Confidence(t) => t.check(ctx),
            Leaf::Intent(t) => t.check(ctx),
            Leaf::Sentiment(t) => t.check(ctx),
            Leaf::Failures(t) => t.check(ctx),
            Leaf::Repeats(t) => t.check(ctx),
            Leaf::Script(t) => t.check(ctx).unwrap_or_else(|e| {
                errors.push(e);
                false
            }),
        }
    }

    /// The reason this trigger holds, for a trigger `check` said yes to.
    /// A phrase trigger without a hit (one `check` said no to) has none.
    pub(crate) fn explain(&self, ctx: &Ctx) -> Option<Explanation> {
        Some(match self {
            Leaf::Menu(t) => t.explain(ctx),
            Leaf::Keyword(t) => return t.explain(ctx),
            Leaf::Topic(t) => return t.explain(ctx),
            Leaf::Confidence(t) => t.explain(ctx),
            Leaf::Intent(t) => t.explain(ctx),
            Leaf::Sentiment(t) => t.explain(ctx),
            Leaf::Failures(t) => t.explain(ctx),
            Leaf::Repeats(t) => t.explain(ctx),
            Leaf::Script(t) => t.explain(ctx),
        })
    }

    /// The counted evidence this trigger relies on.
    pub(crate) fn evidence_used(&self) -> EvidenceUsed {
        EvidenceUsed {
            failures: matches!(self, Leaf::Failures(_)),
            confidence: matches!(self, Leaf::Confidence(_)),
            sentiment: matches!(self, Leaf::Sentiment(_)),
            repeats: matches!(self, Leaf::Repeats(_)),
        }
    }

    /// The kind of trigger.
    pub(crate) fn trigger(&self) -> Trigger {
        match self {
            Leaf::Menu(_) => Trigger::Menu,
            Leaf::Keyword(_) => Trigger::Keyword,
            Leaf::Topic(_) => Trigger::Topic,
            Leaf::Confidence(_) => Trigger::Confidence,
            Leaf::Intent(_) => Trigger::Intent,
            Leaf::Sentiment(_) => Trigger::Sentiment,
            Leaf::Failures(_) => Trigger::Failures,
            Leaf::Repeats(_) => Trigger::Repeats,
            Leaf::Script(_) => Trigger::Script,
        }
    }

    /// A short description of what the trigger looks for, for `not` reasons.
    pub(crate) fn summary(&self) -> String {
        match self {
            Leaf::Menu(t) => t.summary(),
            Leaf::Keyword(t) => t.summary(),
            Leaf::Topic(t) => t.summary(),
            Leaf::Confidence(t) => t.summary(),
            Leaf::Intent(t) => t.summary(),
            Leaf::Sentiment(t) => t.summary(),
            Leaf::Failures(t) => t.summary(),
            Leaf::Repeats(t) => t.summary(),
            Leaf::Script(t) => t.summary(),
        }
    }
}

/// The detail line of a phrase match, `phrase "real person" matched at
/// 9..20`, after the pieces of `lead` (such as `topic refund: `). Written in
/// one allocation without `format!`: it is built on every turn a phrase
/// fires on.
/// The detail line and evidence of a phrase hit, with how the user's words
/// were read where not as written: `phrase "talk to a human" matched at
/// 0..16 ("talkk" read as "talk")`.
pub(crate) fn phrase_explanation(
    ctx: &Ctx,
    hit: &Hit,
    lead: &[&str],
    topic: Option<Arc<str>>,
    whole: Whole,
) -> (String, Evidence) {
    let HitSource::Phrase(id) = hit.source else {
        unreachable!("phrase_explanation is called for phrase hits")
    };
    let phrase = ctx.phrases.phrase(id).clone();
    let (start, end) = ctx.original_span(hit);
    let mut detail = match whole {
        Whole::Message => format!("the whole message is the phrase \"{phrase}\" ({start}..{end})"),
        Whole::Sentence => format!("a whole sentence is the phrase \"{phrase}\" ({start}..{end})"),
        Whole::LastClause => {
            format!("the clause that ends a sentence is the phrase \"{phrase}\" ({start}..{end})")
        }
        Whole::Anywhere => phrase_detail(lead, &phrase, start, end),
    };
    let read: Vec<ReadAs> = ctx
        .phrases
        .reads(ctx.text, hit)
        .into_iter()
        .map(|r| {
            let (from, to) =
                ctx.text
                    .original_span(&ctx.turn.text, r.start as usize, r.end as usize);
            ReadAs {
                said: ctx.turn.text[from..to].to_string(),
                read_as: r.read_as,
                how: r.how.to_string(),
            }
        })
        .collect();
    for (i, r) in read.iter().enumerate() {
        for piece in [
            if i == 0 { " (\"" } else { ", \"" },
            &r.said,
            "\" read as \"",
            &r.read_as,
            "\"",
        ] {
            detail.push_str(piece);
        }
    }
    if !read.is_empty() {
        detail.push(')');
    }
    let evidence = Evidence::Phrase {
        topic,
        phrase,
        start,
        end,
        read,
    };
    (detail, evidence)
}

pub(crate) fn phrase_detail(lead: &[&str], phrase: &str, start: usize, end: usize) -> String {
    let (mut from, mut to) = (itoa::Buffer::new(), itoa::Buffer::new());
    let (from, to) = (from.format(start), to.format(end));
    let lead_len: usize = lead.iter().map(|piece| piece.len()).sum();
    let mut detail = String::with_capacity(lead_len + phrase.len() + from.len() + to.len() + 23);
    for piece in lead {
        detail.push_str(piece);
    }
    detail.push_str("phrase \"");
    detail.push_str(phrase);
    detail.push_str("\" matched at ");
    detail.push_str(from);
    detail.push_str("..");
    detail.push_str(to);
    detail
}

/// Formats a number for detail lines: at most three decimals, no trailing zeros.
pub(crate) fn num(value: f64) -> String {
    let s = format!("{value:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}
