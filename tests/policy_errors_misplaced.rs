//! A key at the wrong indentation is reported where it is written, as
//! misplaced, not as a field missing from its map or an unknown value.

use escalate::Engine;

const HEAD: &str = "version: 1\nname: t\nrules:\n  - id: r\n";

/// (what, the rule's other lines, expected code, line, column, a word of the message)
const CASES: &[(&str, &str, &str, usize, usize, &str)] = &[
    (
        "one space less",
        "    when: { keywords: [agent] }\n    kind: planned\n   action: escalate\n",
        "misplaced-key",
        7,
        4,
        "`action` is indented by 3 spaces, less than `id` (4)",
    ),
    (
        "one space more, after a plain value",
        "    when: { keywords: [agent] }\n    kind: planned\n     action: escalate\n",
        "misplaced-key",
        7,
        6,
        "`action` is indented by 5 spaces, more than `kind` (4)",
    ),
    (
        "one space more, after a flow map",
        "    when: { keywords: [agent] }\n     kind: planned\n    action: escalate\n",
        "misplaced-key",
        6,
        6,
        "`kind` is indented by 5 spaces, more than `when` (4)",
    ),
    (
        "really missing",
        "    when: { keywords: [agent] }\n    kind: planned\n",
        "missing-field",
        4,
        5,
        "missing field `action`",
    ),
    (
        "a key of the next rule is not this rule's",
        "    when: { keywords: [agent] }\n    kind: planned\n  - id: s\n    when: { keywords: [x] }\n    kind: planned\n    action: offer\n",
        "missing-field",
        4,
        5,
        "missing field `action`",
    ),
    (
        "an unknown value that is only an unknown value",
        "    when: { keywords: [agent] }\n    kind: plannd\n    action: escalate\n",
        "unknown-value",
        6,
        11,
        "unknown value `plannd`",
    ),
];

#[test]
fn misplaced_keys_are_reported_where_they_are() {
    for &(what, rule, code, line, column, message) in CASES {
        let yaml = format!("{HEAD}{rule}");
        let error = Engine::from_yaml(&yaml).expect_err(what);
        let d = error.diagnostics().next().expect(what);
        assert_eq!(
            (d.code(), d.line(), d.column()),
            (code, line, column),
            "{what}: {}",
            error.render()
        );
        assert!(d.message().contains(message), "{what}: {}", d.message());
        if code == "misplaced-key" {
            assert!(error.render().contains("help: indent `"), "{what}");
        }
    }
}
