//! Policy errors: every problem at once, each located in the policy file.
//!
//! Style, after cedar-policy's guide: messages are lowercase, have no
//! trailing period, quote the user's input in backticks, point at a span
//! whenever there is one, and put the fix in a `help` line.

use std::fmt;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use serde::Serialize;

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The policy cannot be used.
    Error,
    /// The policy loads, but something in it is probably a mistake.
    Warning,
}

/// One problem in a policy, located at a line and column of its file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    code: &'static str,
    severity: Severity,
    file: String,
    line: usize,
    column: usize,
    /// The column just past the span on the same line (a span of one
    /// character or more; `column` itself when there is no place).
    end: usize,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    help: Option<String>,
    #[serde(skip)]
    snippet: Option<SnippetLine>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct SnippetLine {
    text: String,
    /// Byte range of the annotated part within `text`.
    range: std::ops::Range<usize>,
}

impl Diagnostic {
    /// A stable kebab-case name for the kind of problem, such as `unknown-field`.
    pub fn code(&self) -> &str {
        self.code
    }

    /// Whether the policy is unusable.
    pub fn severity(&self) -> Severity {
        self.severity
    }

    /// The policy's file name, or `<policy>` for text without one.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The 1-based line, or 0 when the problem has no place in the file.
    pub fn line(&self) -> usize {
        self.line
    }

    /// The 1-based column, in characters.
    pub fn column(&self) -> usize {
        self.column
    }

    /// The 1-based column just past the offending span, on the same line
    /// (for an editor to underline `column..end`); `column` when the
    /// problem has no place in the file.
    pub fn end(&self) -> usize {
        self.end
    }

    /// What is wrong.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// How to fix it, when there is a likely fix.
    pub fn help(&self) -> Option<&str> {
        self.help.as_deref()
    }

    /// Renders the diagnostic as people read it: the message, `file:line:col`,
    /// the offending line with a marker under the problem, and the help line.
    pub fn render(&self) -> String {
        let level = match self.severity {
            Severity::Error => Level::ERROR,
            Severity::Warning => Level::WARNING,
        };
        let mut group = Group::with_title(level.primary_title(&self.message).id(self.code));
        if let Some(snippet) = &self.snippet {
            group = group.element(
                Snippet::source(&snippet.text)
                    .line_start(self.line)
                    .path(&self.file)
                    .annotation(AnnotationKind::Primary.span(snippet.range.clone())),
            );
        } else {
            group = group.element(Level::NOTE.message(format!("in {}", self.file)));
        }
        if let Some(help) = &self.help {
            group = group.element(Level::HELP.message(help));
        }
        Renderer::plain().render(&[group]).to_string()
    }

    pub(crate) fn set_severity(&mut self, severity: Severity) -> &mut Self {
        self.severity = severity;
        self
    }

    pub(crate) fn set_help(&mut self, help: impl Into<String>) -> &mut Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )?;
        if let Some(help) = &self.help {
            write!(f, " (help: {help})")?;
        }
        Ok(())
    }
}

/// A policy that could not be loaded, with every problem found.
///
/// The policy is refused as a whole: nothing of it is used.
///
/// ```
/// use escalate::Engine;
///
/// let err = Engine::from_yaml("version: 1\nrules:\n  - id: a\n    priorty: 3\n").unwrap_err();
/// let first = err.diagnostics().next().unwrap();
/// assert_eq!((first.line(), first.column()), (4, 5));
/// assert_eq!(first.help(), Some("did you mean `priority`?"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyError {
    diagnostics: Vec<Diagnostic>,
}

impl PolicyError {
    pub(crate) fn new(diagnostics: Vec<Diagnostic>) -> PolicyError {
        debug_assert!(!diagnostics.is_empty());
        PolicyError { diagnostics }
    }

    /// The first diagnostic, for a caller that knows more than its producer.
    pub(crate) fn first_mut(&mut self) -> &mut Diagnostic {
        &mut self.diagnostics[0]
    }

    /// A file that could not be read at all (code `io`), with the fix.
    pub(crate) fn unreadable(file: &str, message: String, help: &str) -> PolicyError {
        let source = Source { file, text: "" };
        let mut d = source.error("io", message);
        d.set_help(help);
        PolicyError::new(vec![d])
    }

    /// Every problem found, in file order.
    pub fn diagnostics(&self) -> impl ExactSizeIterator<Item = &Diagnostic> {
        self.diagnostics.iter()
    }

    /// Renders every diagnostic for people, separated by blank lines.
    pub fn render(&self) -> String {
        let rendered: Vec<String> = self.diagnostics.iter().map(Diagnostic::render).collect();
        rendered.join("\n\n")
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors = self.diagnostics.len();
        write!(
            f,
            "invalid policy ({errors} error{})",
            if errors == 1 { "" } else { "s" }
        )?;
        for diagnostic in &self.diagnostics {
            write!(f, "\n{diagnostic}")?;
        }
        Ok(())
    }
}

impl std::error::Error for PolicyError {}

/// The text of a policy being loaded, for locating diagnostics in it.
pub(crate) struct Source<'a> {
    pub(crate) file: &'a str,
    pub(crate) text: &'a str,
}

impl Source<'_> {
    /// A diagnostic pointing at `len` bytes from byte `offset` of the source.
    pub(crate) fn error_at(
        &self,
        offset: usize,
        len: usize,
        code: &'static str,
        message: impl Into<String>,
    ) -> Diagnostic {
        let offset = floor_char_boundary(self.text, offset.min(self.text.len()));
        let line_start = line_start(self.text.as_bytes(), offset);
        let line_end = self.text[offset..]
            .find('\n')
            .map_or(self.text.len(), |i| offset + i);
        let line_text = self.text[line_start..line_end].trim_end_matches('\r');
        let line = self.text[..offset].matches('\n').count() + 1;
        let column = self.text[line_start..offset].chars().count() + 1;
        let from = offset - line_start;
        let to = floor_char_boundary(line_text, (from + len.max(1)).min(line_text.len())).max(from);
        let end = column + line_text[from..to].chars().count().max(1);
        Diagnostic {
            code,
            severity: Severity::Error,
            file: self.file.to_string(),
            line,
            column,
            end,
            message: message.into(),
            help: None,
            snippet: Some(SnippetLine {
                text: line_text.to_string(),
                range: from..to,
            }),
        }
    }

    /// A diagnostic about the policy as a whole, with no place in it.
    pub(crate) fn error(&self, code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: Severity::Error,
            file: self.file.to_string(),
            line: 0,
            column: 0,
            end: 0,
            message: message.into(),
            help: None,
            snippet: None,
        }
    }
}

/// The nearest char boundary at or before `at` (clamped to the text).
pub(crate) fn floor_char_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// `did you mean `x`?` for the closest of `candidates` to `input`, if any is close.
pub(crate) fn did_you_mean<'c>(
    input: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(input, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| format!("did you mean `{c}`?"))
}

/// `s` with its first letter lowercased, for messages from other crates
/// ("Unknown variable" -> "unknown variable").
pub(crate) fn lowercase_first(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map_or(String::new(), |c| c.to_lowercase().chain(chars).collect())
}

/// A serde message without the " at line L column C" it ends with.
pub(crate) fn without_position(message: &str) -> String {
    message
        .rfind(" at line ")
        .map_or(message, |at| &message[..at])
        .to_string()
}

/// Where a JSON text starts with something other than an object, if it does.
pub(crate) fn not_an_object(json: &[u8]) -> Option<usize> {
    json.iter()
        .position(|b| !b.is_ascii_whitespace())
        .filter(|&at| json[at] != b'{')
}

/// The offset where the line holding byte `offset` of `text` begins.
pub(crate) fn line_start(text: &[u8], offset: usize) -> usize {
    text[..offset.min(text.len())]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |nl| nl + 1)
}

/// The 1-based line and character column of a byte offset.
pub(crate) fn position(text: &[u8], offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line_start = line_start(text, offset);
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    (
        line,
        1 + String::from_utf8_lossy(&before[line_start..])
            .chars()
            .count(),
    )
}

/// What serde reports as unknown: "unknown field `x`, expected one of `a`,
/// `b`" or "unknown variant `x`, expected `a` or `b`".
pub(crate) struct Unknown {
    pub(crate) field: bool,
    pub(crate) input: String,
    expected: Vec<String>,
}

impl Unknown {
    pub(crate) fn parse(message: &str) -> Option<Unknown> {
        let (field, rest) = match message.strip_prefix("unknown field ") {
            Some(rest) => (true, rest),
            None => (false, message.strip_prefix("unknown variant ")?),
        };
        let input = rest.split('`').nth(1).unwrap_or("").to_string();
        let expected = rest
            .split_once("expected ")
            .map(|(_, list)| list.replace("one of ", "").replace(" or ", ", "))
            .map(|list| {
                list.split(", ")
                    .map(|s| s.trim_matches('`').to_string())
                    .collect()
            })
            .unwrap_or_default();
        Some(Unknown {
            field,
            input,
            expected,
        })
    }

    /// "unknown field `x`" or "unknown value `x`".
    pub(crate) fn message(&self) -> String {
        let what = if self.field { "field" } else { "value" };
        format!("unknown {what} `{}`", self.input)
    }

    /// "did you mean `y`?" when a name is close, else `fallback`, else the list.
    pub(crate) fn help(&self, fallback: Option<&str>) -> String {
        did_you_mean(&self.input, self.expected.iter().map(String::as_str)).unwrap_or_else(|| {
            fallback.map(String::from).unwrap_or_else(|| {
                let names: Vec<String> = self.expected.iter().map(|n| format!("`{n}`")).collect();
                format!("expected one of {}", names.join(", "))
            })
        })
    }
}

/// The error underneath another (serde's, or UTF-8's), kept for
/// [`std::error::Error::source`]. Errors compare by what they say, so two
/// sources are always equal.
#[derive(Clone, Debug, Default)]
pub(crate) struct ErrorSource(Option<std::sync::Arc<dyn std::error::Error + Send + Sync>>);

impl ErrorSource {
    pub(crate) fn new(error: impl std::error::Error + Send + Sync + 'static) -> ErrorSource {
        ErrorSource(Some(std::sync::Arc::new(error)))
    }

    pub(crate) fn get(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl PartialEq for ErrorSource {
    fn eq(&self, _: &ErrorSource) -> bool {
        true
    }
}

impl Eq for ErrorSource {}
