//! Generated policies and messages of known sizes, shared by the benchmarks
//! and the tests that check allocation and scale. Deterministic: the same
//! counts give the same phrases and messages.

#![allow(dead_code)]

const WORDS: &[&str] = &[
    "account",
    "address",
    "balance",
    "bill",
    "billing",
    "broken",
    "card",
    "charge",
    "claim",
    "contract",
    "credit",
    "delivery",
    "deposit",
    "device",
    "discount",
    "email",
    "error",
    "fee",
    "internet",
    "invoice",
    "loan",
    "login",
    "mobile",
    "modem",
    "network",
    "order",
    "package",
    "parcel",
    "password",
    "payment",
    "phone",
    "plan",
    "policy",
    "price",
    "refund",
    "renewal",
    "return",
    "router",
    "service",
    "signal",
    "statement",
    "subscription",
    "tariff",
    "transfer",
    "upgrade",
    "voucher",
    "wallet",
    "warranty",
    "wifi",
    "booking",
    "coverage",
    "premium",
    "roaming",
    "pin",
    "overdraft",
    "mortgage",
    "pension",
    "savings",
    "dispute",
    "outage",
    "repair",
    "replacement",
    "shipment",
    "tracking",
    "voicemail",
    "data",
    "bundle",
    "cancel",
    "close",
    "open",
    "update",
    "reset",
    "change",
    "block",
    "unlock",
    "activate",
    "freeze",
    "report",
];

const QUALIFIERS: &[&str] = &[
    "my", "the", "a", "new", "old", "late", "wrong", "missing", "double", "extra", "monthly",
    "annual", "urgent", "second", "online", "local", "home", "business", "family", "joint",
];

/// `count` distinct phrases of two or three words, lowercase ASCII.
pub fn phrases(count: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(count);
    'outer: for (qi, q) in QUALIFIERS.iter().enumerate() {
        for a in WORDS {
            for b in WORDS {
                if a == b {
                    continue;
                }
                if out.len() == count {
                    break 'outer;
                }
                // Two-word phrases come from the first qualifier's pass only,
                // so that every phrase is distinct.
                out.push(if qi == 0 && out.len() % 3 == 0 {
                    format!("{a} {b}")
                } else {
                    format!("{q} {a} {b}")
                });
            }
        }
    }
    out.sort();
    out.dedup();
    assert_eq!(
        out.len(),
        count,
        "the word lists give at most {} distinct phrases",
        QUALIFIERS.len() * WORDS.len() * (WORDS.len() - 1)
    );
    out
}

/// A policy whose keyword rules and topics share `phrases` (eight rules and
/// four topics), with threshold rules, and a script rule when `script`. Its
/// sentiment rule reads the turn's score (`source: turn`); [`with_builtin_sentiment`]
/// makes it score every turn with the built-in scorer.
pub fn policy_yaml(phrases: &[String], script: bool) -> String {
    let mut yaml = String::from("version: 1\nname: synthetic\ntopics:\n");
    let quoted = |chunk: &[String]| {
        chunk
            .iter()
            .map(|p| format!("\"{p}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let chunks: Vec<&[String]> = phrases.chunks(phrases.len().div_ceil(12)).collect();
    for (i, chunk) in chunks.iter().enumerate().take(4) {
        yaml.push_str(&format!("  topic{i}:\n    phrases: [{}]\n", quoted(chunk)));
    }
    yaml.push_str("rules:\n");
    for i in 0..chunks.len().min(4) {
        yaml.push_str(&format!(
            "  - {{ id: topic-{i}, when: {{ topic: topic{i} }}, kind: planned, action: escalate, priority: {i} }}\n"
        ));
    }
    for (i, chunk) in chunks.iter().enumerate().skip(4) {
        yaml.push_str(&format!(
            "  - {{ id: keywords-{i}, when: {{ keywords: [{}] }}, kind: fallback, action: offer }}\n",
            quoted(chunk)
        ));
    }
    yaml.push_str(
        "  - { id: failing, when: { failures: { consecutive: 3 } }, kind: fallback, action: escalate }\n\
         - { id: unsure, when: { confidence: { below: 0.4, for: 2 } }, kind: fallback, action: offer }\n\
         - { id: upset, when: { sentiment: { mean_below: -0.4, window: 3, source: turn } }, kind: fallback, action: offer }\n"
            .replace("\n-", "\n  -")
            .as_str(),
    );
    if script {
        yaml.push_str("  - { id: gold, when: { script: 'attributes.tier == \"gold\"' }, kind: fallback, action: escalate }\n");
    }
    yaml
}

/// `policy` with its sentiment rule scoring turns with the built-in scorer.
pub fn with_builtin_sentiment(policy: &str) -> String {
    policy.replace("source: turn", "source: builtin")
}

/// `policy` with typo tolerance and word forms turned on.
pub fn with_word_matching(policy: &str) -> String {
    policy.replacen(
        "version: 1\n",
        "version: 1\nmatching: { typos: true, word_forms: true }\n",
        1,
    )
}

const FILLER: &[&str] = &[
    "hi there",
    "I have a question about",
    "can you check",
    "why is",
    "it says",
    "since yesterday",
    "thanks",
    "please help",
    "what happened to",
    "I already tried",
    "nothing works",
    "this morning",
    "could you tell me",
    "how long does it take",
    "is there a way to see",
    "on the app",
];

/// Sixteen messages of about `bytes` bytes; one in four contains a phrase.
pub fn messages(phrases: &[String], bytes: usize) -> Vec<String> {
    (0..16)
        .map(|i| {
            let mut text = String::new();
            let mut k = i * 7;
            while text.len() < bytes {
                if !text.is_empty() {
                    text.push(' ');
                }
                text.push_str(FILLER[k % FILLER.len()]);
                k += 5;
            }
            if i % 4 == 0 {
                let phrase = &phrases[(i * 131) % phrases.len()];
                let cut = text.len().saturating_sub(phrase.len() + 1).min(text.len());
                let cut = text[..cut].rfind(' ').unwrap_or(0);
                text.truncate(cut);
                if !text.is_empty() {
                    text.push(' ');
                }
                text.push_str(phrase);
            }
            text[..1].to_uppercase() + &text[1..]
        })
        .collect()
}
