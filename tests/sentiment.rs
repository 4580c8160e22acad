//! The built-in sentiment scorer on labelled chat messages in its six
//! languages (`tests/data/sentiment/*.tsv`, written for this suite): each
//! message is read as positive at a score of 0.05 or more, negative at -0.05
//! or less, neutral between (VADER's cut-offs). Prints the accuracy per
//! language with `cargo test -p escalate --test sentiment -- --nocapture`.

use std::path::Path;

/// The accuracy each language must reach: the first measurement rounded
/// down to 5 %, less 5 points of slack. Raising a floor by tuning the
/// lexicons to these sentences would make the figures mean nothing.
const FLOORS: [(&str, f64); 6] = [
    ("en", 0.80),
    ("es", 0.85),
    ("fr", 0.85),
    ("de", 0.85),
    ("pt", 0.75),
    ("it", 0.85),
];

fn label(score: f64) -> &'static str {
    if score >= 0.05 {
        "pos"
    } else if score <= -0.05 {
        "neg"
    } else {
        "neu"
    }
}

#[test]
fn accuracy_per_language_is_above_its_floor() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sentiment");
    let mut failures = Vec::new();
    for (language, floor) in FLOORS {
        let text = std::fs::read_to_string(dir.join(format!("{language}.tsv"))).unwrap();
        let (mut right, mut total) = (0, 0);
        let mut wrong = Vec::new();
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let (want, message) = line.split_once('\t').expect("label<TAB>message");
            let score = escalate::builtin_sentiment(message, language).unwrap();
            total += 1;
            if label(score) == want {
                right += 1;
            } else {
                wrong.push(format!(
                    "  {want} read as {} ({score:.2}): {message}",
                    label(score)
                ));
            }
        }
        assert!(total >= 60, "{language}: only {total} messages");
        let accuracy = f64::from(right) / f64::from(total);
        println!("{language}: {right}/{total} = {:.1} %", accuracy * 100.0);
        for w in &wrong {
            println!("{w}");
        }
        if accuracy < floor {
            failures.push(format!("{language}: {accuracy:.3} below {floor}"));
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
}
