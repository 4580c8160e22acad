//! Loading a policy: the limits that bound it, the YAML parser's budget,
//! and YAML errors rewritten as located diagnostics.

use serde_saphyr::budget::BudgetBreach;

use crate::error::{
    Diagnostic, PolicyError, Source, Unknown, line_start, lowercase_first, without_position,
};

/// The help for a file that cannot be read.
pub(crate) const CHECK_PATH: &str = "check the path and its permissions";

/// The most [`EngineBuilder::max_nesting`](crate::EngineBuilder::max_nesting) accepts.
pub const MAX_NESTING: usize = 256;

/// The most [`EngineBuilder::max_text_bytes`](crate::EngineBuilder::max_text_bytes) accepts (1 GiB): offsets into
/// a turn's text, once normalized, must fit in 32 bits.
pub const MAX_TEXT_BYTES: usize = 1 << 30;

/// The stack of the thread a policy loads on: room for
/// [`MAX_NESTING`] levels of YAML, even in a debug build.
const LOAD_STACK: usize = 64 << 20;

/// The loader's bounds, as [`EngineBuilder`](crate::EngineBuilder) sets them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub(crate) policy_bytes: usize,
    pub(crate) nesting: usize,
    pub(crate) phrases: usize,
    pub(crate) pattern_memory: usize,
    pub(crate) text_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            policy_bytes: 8 << 20,
            nesting: 64,
            phrases: 200_000,
            pattern_memory: 16 << 20,
            text_bytes: 16 << 20,
        }
    }
}

pub(crate) fn lowercase_io(e: &std::io::Error) -> String {
    let s = e.to_string();
    lowercase_first(s.split(" (os error").next().unwrap_or(&s))
}

/// Parses YAML within the limits' budget.
///
/// Deserializing recurses once per level of nesting, with large frames in a
/// debug build, so it runs on a helper thread with a stack of its own
/// ([`LOAD_STACK`] bytes, reserved rather than used): a policy at the
/// nesting limit parses the same from a small async worker's stack as from
/// `main`. Only parsing runs there; the engine is compiled on the caller's
/// thread, so its memory comes from the caller's allocator arena.
pub(crate) fn parse_yaml<T>(source: &Source, limits: Limits) -> Result<T, PolicyError>
where
    T: for<'de> serde::Deserialize<'de> + Send,
{
    let parse = || {
        serde_saphyr::from_str_with_options(source.text, yaml_options(limits))
            .map_err(|e| PolicyError::new(vec![yaml_diagnostic(source, &e)]))
    };
    std::thread::scope(|scope| {
        let parser = std::thread::Builder::new()
            .name("escalate-parse".into())
            .stack_size(LOAD_STACK)
            .spawn_scoped(scope, parse);
        match parser {
            Ok(parser) => parser
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            Err(_) => parse(),
        }
    })
}

/// The YAML parser's budget, derived from the limits: depth, the text
/// that aliases may expand to, and the number of values.
pub(crate) fn yaml_options(limits: Limits) -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: limits.nesting,
            max_total_scalar_bytes: limits.policy_bytes.saturating_mul(2),
            max_nodes: limits.phrases.saturating_add(150_000),
            max_documents: 1,
        },
    }
}

/// Turns a YAML or shape error into a located diagnostic with a hint.
pub(crate) fn yaml_diagnostic(source: &Source, error: &serde_saphyr::Error) -> Diagnostic {
    let cause = innermost(error);
    let message = without_position(&cause.to_string());
    let message = message.as_str();
    let (offset, len) = error
        .location()
        .map(|loc| {
            let span = loc.span();
            match (span.byte_offset(), span.byte_len()) {
                (Some(o), Some(l)) if o != u32::MAX as u64 => (o as usize, l as usize),
                _ => (
                    line_col_offset(source.text, loc.line() as usize, loc.column() as usize),
                    1,
                ),
            }
        })
        .unwrap_or((0, 0));
    let found = source
        .text
        .get(offset..offset + len)
        .unwrap_or_default()
        .trim();
    let (code, message, help) = match cause {
        serde_saphyr::Error::Budget { breach, .. } => explain_budget(breach),
        _ => explain_number(message, found).unwrap_or_else(|| explain_yaml_message(message)),
    };
    // The parser places a missing field at the last key it read, though
    // the field is missing from the whole map: point at where the map
    // begins. It places a tab error near the tab, sometimes on the line
    // before: point at the first tab from the reported line on.
    let (offset, len) = match code {
        "missing-field" if error.location().is_some() => {
            let (start, len) = map_start(source.text, offset).unwrap_or((offset, len));
            let field = message.split('`').nth(1).unwrap_or_default();
            if let Some(misplaced) = misplaced_key(source.text, start, field) {
                return misplaced.diagnostic(source);
            }
            (start, len)
        }
        "tab" => first_tab(source.text, offset).map_or((offset, len), |tab| (tab, 1)),
        "yaml" if message.contains("did not find expected key") => {
            if let Some(misplaced) = deeper_than_previous(source.text, offset) {
                return misplaced.diagnostic(source);
            }
            (offset, len)
        }
        // Some values are reported at their key: point at the value.
        "unknown-value" => {
            if let Some(misplaced) = key_read_as_value(source.text, offset, &message) {
                return misplaced.diagnostic(source);
            }
            value_after_key(source.text, offset).unwrap_or((offset, len))
        }
        _ => (offset, len),
    };
    let mut d = if error.location().is_some() {
        source.error_at(offset, len, code, message)
    } else {
        source.error(code, message)
    };
    if let Some(help) = help {
        d.set_help(help);
    }
    d
}

/// A key written at another indentation than the keys of its map, which
/// YAML therefore reads as something else.
struct Misplaced<'a> {
    key: &'a str,
    /// Where the misplaced key is.
    offset: usize,
    indent: usize,
    /// A key of the map it belongs to, and that map's indentation.
    neighbour: &'a str,
    expected: usize,
}

impl Misplaced<'_> {
    fn diagnostic(&self, source: &Source) -> Diagnostic {
        let Misplaced {
            key,
            indent,
            neighbour,
            expected,
            ..
        } = *self;
        let (how, reading) = if indent < expected {
            ("less", "as outside its map".to_string())
        } else {
            ("more", format!("as more of the value of `{neighbour}`"))
        };
        let message = format!(
            "`{key}` is indented by {indent} spaces, {how} than `{neighbour}` ({expected}), so YAML reads it {reading}"
        );
        let mut d = source.error_at(self.offset, key.len(), "misplaced-key", message);
        d.set_help(format!(
            "indent `{key}` by {expected} spaces, like `{neighbour}` and the other keys of its map"
        ));
        d
    }
}

/// A line `field: ...` after the map whose first key is at `map_key`, less
/// indented than that key but still before the map's next sibling or
/// parent: the key the parser says is missing, written where it does not
/// belong.
fn misplaced_key<'a>(text: &'a str, map_key: usize, field: &str) -> Option<Misplaced<'a>> {
    if field.is_empty() {
        return None;
    }
    let first = line_start(text.as_bytes(), map_key);
    let column = map_key - first;
    let neighbour = &text[map_key..map_key + key_len(&text[map_key..])];
    let mut at = map_key + text[map_key..].find('\n')? + 1;
    for line in text[at..].split_inclusive('\n') {
        let from = at;
        at += line.len();
        let content = line.trim_start_matches(' ');
        let indent = line.len() - content.len();
        if content.trim().is_empty() || content.starts_with('#') || indent >= column {
            continue;
        }
        let key = &content[..key_len(content)];
        if key == field && content[key.len()..].starts_with(':') {
            return Some(Misplaced {
                key,
                offset: from + indent,
                indent,
                neighbour,
                expected: column,
            });
        }
        return None;
    }
    None
}

/// The key on the line after the one at `offset`, indented deeper than
/// the key there though that key already has a value on its line: YAML
/// reads `kind: planned` then `     action: escalate` as the value
/// `planned action` and no key `action`.
fn key_read_as_value<'a>(text: &'a str, offset: usize, message: &str) -> Option<Misplaced<'a>> {
    let first = line_start(text.as_bytes(), offset.min(text.len()));
    let line_end = first + text[first..].find('\n')?;
    let line = &text[first..line_end];
    let content = line.trim_start_matches([' ', '-']);
    let expected = line.len() - content.len();
    let neighbour = &content[..key_len(content)];
    let value = content[neighbour.len()..].strip_prefix(':')?.trim();
    if value.is_empty() || value.starts_with(['{', '[', '|', '>', '"', '\'', '#']) {
        return None;
    }
    let next = &text[line_end + 1..];
    let next = &next[..next.find('\n').unwrap_or(next.len())];
    let next_content = next.trim_start_matches(' ');
    let indent = next.len() - next_content.len();
    let key = &next_content[..key_len(next_content)];
    (indent > expected
        && message.contains(&format!(" {key}"))
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        && next_content[key.len()..].starts_with(':'))
    .then_some(Misplaced {
        key,
        offset: line_end + 1 + indent,
        indent,
        neighbour,
        expected,
    })
}

/// The key at `offset`, indented deeper than the key on the line before,
/// which already has its value: `when: { ... }` then `     kind: planned`.
fn deeper_than_previous(text: &str, offset: usize) -> Option<Misplaced<'_>> {
    let first = line_start(text.as_bytes(), offset.min(text.len()));
    let line = &text[first..];
    let line = &line[..line.find('\n').unwrap_or(line.len())];
    let content = line.trim_start_matches(' ');
    let indent = line.len() - content.len();
    let key = &content[..key_len(content)];
    let previous = text[..first.checked_sub(1)?]
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))?;
    let previous_content = previous.trim_start_matches([' ', '-']);
    let expected = previous.len() - previous_content.len();
    let neighbour = &previous_content[..key_len(previous_content)];
    let value = previous_content[neighbour.len()..]
        .strip_prefix(':')?
        .trim();
    (indent > expected && !value.is_empty() && content[key.len()..].starts_with(':')).then_some(
        Misplaced {
            key,
            offset: first + indent,
            indent,
            neighbour,
            expected,
        },
    )
}

/// The value written after the key at `offset` on the same line
/// (`action: handover` gives `handover`), if `offset` is at a key.
fn value_after_key(text: &str, offset: usize) -> Option<(usize, usize)> {
    let rest = text.get(offset..)?;
    let line = &rest[..rest.find('\n').unwrap_or(rest.len())];
    let key = line.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))?;
    let after = line[key..].strip_prefix(':')?;
    let start = offset + key + 1 + (after.len() - after.trim_start().len());
    let value = after.trim_start();
    let end = value.find([',', '}', ']', '#']).unwrap_or(value.len());
    let len = value[..end].trim_end().len();
    (len > 0).then_some((start, len))
}

/// Where the map holding the key at `offset` begins: its first key, or
/// the `{` of a map written on one line. Returns the offset and the length
/// to underline, or `None` where the text around `offset` is neither a
/// block map (keys first on their lines, the first maybe after `- `) nor
/// a one-line flow map.
fn map_start(text: &str, offset: usize) -> Option<(usize, usize)> {
    let offset = offset.min(text.len());
    if !text.is_char_boundary(offset) {
        return None;
    }
    let first = line_start(text.as_bytes(), offset);
    let before = &text[first..offset];
    if let Some(open) = unclosed_brace(before) {
        return Some((first + open, 1));
    }
    let at = |start: usize| Some((start, key_len(&text[start..])));
    if !before.bytes().all(|b| b == b' ' || b == b'-') {
        return None;
    }
    if before.contains('-') {
        return at(offset);
    }
    let column = before.len();
    let mut start = offset;
    let mut end = first;
    while end > 0 {
        let from = line_start(text.as_bytes(), end - 1);
        let line = text[from..end - 1].trim_end_matches('\r');
        end = from;
        let content = line.trim_start_matches(' ');
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let indent = line.len() - content.len();
        if indent == 0 && (content.starts_with("---") || content.starts_with('%')) {
            break;
        }
        let (dashed, key_column) = after_dashes(content, indent);
        match (dashed, indent.cmp(&column)) {
            // Deeper: a value of one of the map's keys.
            (_, std::cmp::Ordering::Greater) | (true, std::cmp::Ordering::Equal) => {}
            (false, std::cmp::Ordering::Equal) => start = from + indent,
            (true, std::cmp::Ordering::Less) if key_column == column => return at(from + column),
            _ => break,
        }
    }
    at(start)
}

/// The offset of the first tab from the start of the line holding `offset` on.
fn first_tab(text: &str, offset: usize) -> Option<usize> {
    let from = line_start(text.as_bytes(), offset);
    text[from..].find('\t').map(|i| from + i)
}

/// Whether a line's content (starting at column `indent`) opens with
/// block sequence dashes, and the column of what follows them.
fn after_dashes(content: &str, indent: usize) -> (bool, usize) {
    let mut rest = content;
    let mut column = indent;
    while rest.starts_with("- ") || rest == "-" {
        let after = rest[1..].trim_start_matches(' ');
        column += rest.len() - after.len();
        rest = after;
    }
    (column != indent, column)
}

/// The offset in `line` of the last `{` not closed before its end,
/// outside quotes.
fn unclosed_brace(line: &str) -> Option<usize> {
    let mut open = Vec::new();
    let mut quote = None;
    let mut escaped = false;
    for (i, b) in line.bytes().enumerate() {
        match (quote, b) {
            (Some(b'"'), b'\\') if !escaped => {
                escaped = true;
                continue;
            }
            (Some(q), _) if b == q && !escaped => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(b),
            (None, b'{') => open.push(i),
            (None, b'}') => {
                open.pop();
            }
            (None, _) => {}
        }
        escaped = false;
    }
    open.pop()
}

/// The length of the key that `text` starts with (at least one byte).
fn key_len(text: &str) -> usize {
    text.find([':', ' ', ',', '}', '\n', '\r'])
        .unwrap_or(text.len())
        .max(1)
        .min(text.len())
}

fn line_col_offset(text: &str, line: usize, column: usize) -> usize {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let rest = &text[line_start.min(text.len())..];
    line_start
        + rest
            .char_indices()
            .nth(column.saturating_sub(1))
            .map_or(rest.len(), |(i, _)| i)
}

/// The error itself, without the snippet and alias wrappers around it.
fn innermost(mut error: &serde_saphyr::Error) -> &serde_saphyr::Error {
    while let serde_saphyr::Error::AliasError { error: inner, .. }
    | serde_saphyr::Error::WithSnippet { error: inner, .. } = error
    {
        error = inner;
    }
    error
}

/// Says which of the YAML budget's bounds a policy went past, and how to stay within it.
fn explain_budget(breach: &BudgetBreach) -> (&'static str, String, Option<String>) {
    let (message, help) = match breach {
        BudgetBreach::Depth { depth } => (
            format!(
                "the policy nests deeper than {} levels",
                depth.saturating_sub(1)
            ),
            "flatten nested `all`, `any` and `not`, or raise the limit with `EngineBuilder::max_nesting`",
        ),
        BudgetBreach::Nodes { nodes } => (
            format!(
                "the policy has more than {} values",
                nodes.saturating_sub(1)
            ),
            "use fewer phrases and rules, or raise the limit with `EngineBuilder::max_phrases`",
        ),
        BudgetBreach::ScalarBytes { .. } => (
            "the policy's text, with its aliases expanded, is more than twice its size".to_string(),
            "write long values once instead of repeating them through `*aliases`",
        ),
        BudgetBreach::Aliases { .. }
        | BudgetBreach::Anchors { .. }
        | BudgetBreach::AliasAnchorRatio { .. }
        | BudgetBreach::RecordedAnchorEvents { .. }
        | BudgetBreach::RecordedAnchorBytes { .. } => (
            "the policy uses too many `&anchors` or `*aliases`".to_string(),
            "write the values out, or reuse fewer of them",
        ),
        BudgetBreach::Documents { .. } => (
            "the file holds more than one YAML document".to_string(),
            "a policy is one document: remove the `---` separators or split the file",
        ),
        other => (
            format!("the policy is too complex to load ({other:?})"),
            "simplify the policy's structure",
        ),
    };
    ("policy-too-complex", message, Some(help.to_string()))
}

/// Rewrites serde's messages in the project's style and adds a fix.
/// The parser's words for a value that is not a number (`invalid u32`,
/// `invalid floating point`), said in the policy's terms with the value.
fn explain_number(message: &str, found: &str) -> Option<(&'static str, String, Option<String>)> {
    let whole = [
        "invalid u8",
        "invalid u16",
        "invalid u32",
        "invalid u64",
        "invalid usize",
    ]
    .contains(&message);
    let (expected, help) = if whole {
        ("a whole number", "write it in digits, such as `3`")
    } else if message == "invalid floating point" {
        (
            "a number",
            "write it in digits, such as `0.4` or `-0.5`: confidences run from 0 to 1, sentiments from -1 to 1",
        )
    } else {
        return None;
    };
    Some((
        "invalid-type",
        format!("expected {expected}, found `{found}`"),
        Some(help.to_string()),
    ))
}

fn explain_yaml_message(message: &str) -> (&'static str, String, Option<String>) {
    let quoted = |s: &str| s.split('`').nth(1).unwrap_or("").to_string();
    if let Some(unknown) = Unknown::parse(message) {
        let code = if unknown.field {
            "unknown-field"
        } else {
            "unknown-value"
        };
        return (code, unknown.message(), Some(unknown.help(None)));
    }
    if let Some(rest) = message.strip_prefix("duplicate mapping key: ") {
        let key = rest.split(',').next().unwrap_or(rest).trim();
        return (
            "duplicate-key",
            format!("duplicate key `{key}`"),
            Some("a key may appear once in each map: remove or merge the other one".into()),
        );
    }
    if let Some(rest) = message.strip_prefix("missing field ") {
        let field = quoted(rest);
        let help = match field.as_str() {
            "version" => "start the policy with `version: 1`".to_string(),
            "rules" => "add `rules:` with at least one rule, or `rules: []`".to_string(),
            "when" => "say when the rule fires, such as `when: { keywords: [\"real person\"] }`"
                .to_string(),
            "kind" => "add `kind: planned` or `kind: fallback`".to_string(),
            "action" => "add `action: escalate` or `action: offer`".to_string(),
            "turns" => "give it `turns: [{ text: \"...\" }]`".to_string(),
            other => format!("add `{other}`"),
        };
        return (
            "missing-field",
            format!("missing field `{field}`"),
            Some(help),
        );
    }
    if message.starts_with("recursion limit exceeded") {
        return (
            "policy-too-complex",
            "the policy nests too deeply".to_string(),
            Some("flatten nested `all`, `any` and `not`".to_string()),
        );
    }
    const LIST: &str = "write a list here, such as `[a, b]`, or one `- item` per line";
    const MAP: &str = "write a map here, such as `{ key: value }`, or one `key: value` per line";
    if let Some(rest) = message.strip_prefix("invalid type") {
        let expected = rest.split_once(", expected ").map_or("", |(_, e)| e);
        let help = if expected.contains("list") || expected.contains("sequence") {
            Some(LIST)
        } else if expected.contains("map") {
            Some(MAP)
        } else {
            None
        };
        return (
            "invalid-type",
            message.to_string(),
            help.map(str::to_string),
        );
    }
    if message
        .split(|c: char| !c.is_ascii_alphabetic())
        .any(|word| word == "tab" || word == "tabs")
    {
        return (
            "tab",
            "a tab where YAML allows only spaces".to_string(),
            Some("indent with spaces, not tabs".to_string()),
        );
    }
    // A phrase list's map names its fix after the problem.
    if let Some((problem, fix)) = message.split_once(" is not a locale: ") {
        return (
            "invalid-locale",
            format!("{problem} is not a locale"),
            Some(fix.to_string()),
        );
    }
    let help = if message.starts_with("expected sequence") {
        LIST
    } else if message.starts_with("expected mapping") {
        MAP
    } else if message.starts_with("expected string scalar") {
        "write a single value here, not a list or a map"
    } else {
        "check the YAML near here: indentation, quotes, and a space after each `:`"
    };
    ("yaml", message.to_string(), Some(help.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where the map holding a key begins: each case marks the key serde
    /// reports with `@` and the expected start with `^` (`None` for text
    /// that is left where serde placed it).
    #[test]
    fn a_missing_field_moves_to_the_start_of_its_map() {
        let cases: [(&str, &str, Option<usize>); 9] = [
            (
                "block rule",
                "rules:\n  - ^id: a\n    when:\n      keywords:\n        - x\n    @action: offer\n",
                Some(2),
            ),
            (
                "dash at the key's own column",
                "rules:\n- ^id: a\n  words:\n  - x\n  @action: offer\n",
                Some(2),
            ),
            (
                "first key of its item",
                "rules:\n  - id: b\n    kind: planned\n  - ^@id: a\n",
                Some(2),
            ),
            (
                "one-line flow map",
                "rules:\n  - ^{ id: a, when: { keywords: [\"}\"] }, @action: offer }\n",
                Some(1),
            ),
            (
                "top level after comments",
                "# policy\n\n^name: x\n# rules\nrules: []\n@matching: {}\n",
                Some(4),
            ),
            (
                "top level after the document marker",
                "%YAML 1.2\n---\n^version: 1\n@rules: []\n",
                Some(7),
            ),
            (
                "nested block map",
                "rules:\n  - id: a\n    route:\n      ^priority: high\n      @skill: x\n",
                Some(8),
            ),
            (
                "second line of a multi-line flow map",
                "rules:\n  - { id: a,\n      kind: planned, @action: offer }\n",
                None,
            ),
            (
                "a value after its key",
                "rules:\n  - id: a\n    when: @x\n",
                None,
            ),
        ];
        for (name, marked, len) in cases {
            let text = marked.replace(['^', '@'], "");
            let at = marked.replace('^', "").find('@').unwrap();
            let expected = len.map(|len| (marked.replace('@', "").find('^').unwrap(), len));
            assert_eq!(map_start(&text, at), expected, "{name}");
        }
    }

    /// On any offset of real policies (multi-byte characters, comments,
    /// block scalars, flow maps) the start found is a place in the text at
    /// or before the key, never past it, and never a panic.
    #[test]
    fn the_start_of_a_map_is_never_past_its_key() {
        for text in [
            include_str!("../policies/default.yaml"),
            include_str!("../policies/examples/telecom.yaml"),
            include_str!("../policies/examples/health-insurer.yaml"),
        ] {
            for offset in 0..=text.len() {
                if let Some((start, len)) = map_start(text, offset) {
                    assert!(start <= offset && start + len <= text.len(), "{offset}");
                    assert!(text.is_char_boundary(start) && text.is_char_boundary(start + len));
                }
            }
        }
    }
}
