//! How an [`Engine`] is made: [`EngineBuilder`], with the limits that bound
//! a policy, and the engine's constructors, which use it. Above both the
//! loader and the engine: it parses with one and compiles with the other.

use std::io::Read;
use std::path::Path;

use crate::engine::{DEFAULT_POLICY, Engine, compile};
use crate::error::{PolicyError, Source};
use crate::load::{CHECK_PATH, Limits, MAX_NESTING, MAX_TEXT_BYTES, lowercase_io, parse_yaml};
use crate::policy::PolicySpec;

/// Loads policies with non-default options: the file name errors mention,
/// and the limits that keep a hostile or mistaken policy from costing
/// unbounded time or memory.
///
/// Every limit has a safe default; a policy past one is refused with a
/// located error and the [`Engine`] it would have replaced keeps serving.
///
/// ```
/// use escalate::Engine;
///
/// let err = Engine::builder()
///     .origin("tiny.yaml")
///     .max_policy_bytes(10)
///     .build("version: 1\nrules: []\n")
///     .unwrap_err();
/// assert_eq!(err.diagnostics().next().unwrap().code(), "policy-too-large");
/// ```
#[derive(Clone, Debug)]
pub struct EngineBuilder {
    origin: String,
    limits: Limits,
}

impl Engine {
    /// Compiles a policy from YAML text.
    pub fn from_yaml(yaml: &str) -> Result<Engine, PolicyError> {
        EngineBuilder::default().build(yaml)
    }

    /// Reads and compiles a policy file.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Engine, PolicyError> {
        EngineBuilder::default().build_from_path(path)
    }

    /// The built-in default policy ([`DEFAULT_POLICY`]). Each call compiles
    /// it (about 0.3 s on a 2.6 GHz core): build it once and share it.
    pub fn builtin() -> Engine {
        EngineBuilder::default()
            .origin("policies/default.yaml")
            .build(DEFAULT_POLICY)
            .expect("the built-in policy compiles (checked by the test suite)")
    }

    /// A builder for loading policies with non-default options.
    pub fn builder() -> EngineBuilder {
        EngineBuilder::default()
    }
}

impl Default for EngineBuilder {
    fn default() -> Self {
        EngineBuilder {
            origin: "<policy>".to_string(),
            limits: Limits::default(),
        }
    }
}

impl EngineBuilder {
    /// The file name diagnostics mention (default `<policy>`).
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = origin.into();
        self
    }

    /// Refuses policy texts longer than this (default 8 MiB). YAML aliases
    /// may expand the text to at most twice this.
    pub fn max_policy_bytes(mut self, bytes: usize) -> Self {
        self.limits.policy_bytes = bytes;
        self
    }

    /// Refuses policies whose YAML nests deeper than this many maps and
    /// lists (default 64), which also bounds how deep `all`, `any` and
    /// `not` can nest. At most [`MAX_NESTING`]: the loader's stack is sized for it.
    pub fn max_nesting(mut self, depth: usize) -> Self {
        self.limits.nesting = depth.min(MAX_NESTING);
        self
    }

    /// Refuses policies with more phrases than this, counting every list
    /// and negation cue after `{a|b}` alternatives expand (default 200,000).
    pub fn max_phrases(mut self, phrases: usize) -> Self {
        self.limits.phrases = phrases;
        self
    }

    /// Refuses policies whose topic regex patterns take more than this
    /// much memory once compiled, all together (default 16 MiB).
    pub fn max_pattern_memory(mut self, bytes: usize) -> Self {
        self.limits.pattern_memory = bytes;
        self
    }

    /// Reads at most this many bytes of a turn's text (default 16 MiB, at
    /// most [`MAX_TEXT_BYTES`]). A longer text is cut at the last character
    /// that fits, evaluated so, and the decision carries an error that says
    /// so (in [`Decision::errors`](crate::Decision::errors), as rule `(turn)`).
    ///
    /// ```
    /// use escalate::{Action, ConversationState, Engine, Turn};
    ///
    /// let engine = Engine::builder().max_text_bytes(8).build(
    ///     "version: 1\nrules:\n  - { id: r, when: { keywords: [agent] }, kind: fallback, action: escalate }\n",
    /// )?;
    /// let decision = engine.evaluate(&mut ConversationState::new(), &Turn::user("hello, an agent"));
    /// assert_eq!(decision.action, Action::None);
    /// assert_eq!(
    ///     decision.errors[0].message,
    ///     "the turn's text is 15 bytes, more than the limit of 8: only the first 8 were read",
    /// );
    /// # Ok::<(), escalate::PolicyError>(())
    /// ```
    pub fn max_text_bytes(mut self, bytes: usize) -> Self {
        self.limits.text_bytes = bytes.min(MAX_TEXT_BYTES);
        self
    }

    /// Compiles a policy from YAML text.
    pub fn build(&self, yaml: &str) -> Result<Engine, PolicyError> {
        let source = Source {
            file: &self.origin,
            text: yaml,
        };
        if yaml.len() > self.limits.policy_bytes {
            return Err(self.too_large(&source, yaml.len()));
        }
        let spec: PolicySpec = parse_yaml(&source, self.limits).map_err(|mut e| {
            let first = e.first_mut();
            if first.code() == "missing-field" && looks_like_a_test_file(yaml) {
                first.set_help(
                    "this looks like a policy test file: name it `NAME.tests.yaml` and run it with `escalate-check test FILE`",
                );
            }
            e
        })?;
        compile(spec, source, self.limits)
    }

    /// Reads and compiles a policy file; diagnostics name the file as given.
    /// A file longer than [`max_policy_bytes`](Self::max_policy_bytes) is
    /// refused without reading it whole.
    pub fn build_from_path(&self, path: impl AsRef<Path>) -> Result<Engine, PolicyError> {
        let path = path.as_ref();
        let builder = self.clone().origin(path.display().to_string());
        let source = Source {
            file: &builder.origin,
            text: "",
        };
        let io_error = |e: std::io::Error| {
            let message = format!("cannot read the policy: {}", lowercase_io(&e));
            PolicyError::unreadable(&builder.origin, message, CHECK_PATH)
        };
        let limit = self.limits.policy_bytes;
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|file| file.take(limit as u64 + 1).read_to_end(&mut bytes))
            .map_err(io_error)?;
        if bytes.len() > limit {
            let size = std::fs::metadata(path)
                .map_or(0, |m| m.len())
                .max(bytes.len() as u64);
            return Err(builder.too_large(&source, size as usize));
        }
        let text = String::from_utf8(bytes).map_err(|e| {
            let valid = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(e.as_bytes());
            let source = Source {
                file: &builder.origin,
                text: &text,
            };
            let mut d = source.error_at(valid, 1, "not-utf8", "the policy is not valid UTF-8");
            d.set_help("save the file as UTF-8");
            PolicyError::new(vec![d])
        })?;
        builder.build(&text)
    }

    fn too_large(&self, source: &Source, bytes: usize) -> PolicyError {
        let mut d = source.error(
            "policy-too-large",
            format!(
                "policy is {bytes} bytes, more than the {} allowed",
                self.limits.policy_bytes
            ),
        );
        d.set_help(
            "split the phrase lists, or raise the limit with `EngineBuilder::max_policy_bytes`",
        );
        PolicyError::new(vec![d])
    }
}

/// Whether a text that failed to load as a policy reads like a test file:
/// `tests:` at the top level, and no `rules:`.
fn looks_like_a_test_file(text: &str) -> bool {
    text.lines().any(|l| l.starts_with("tests:")) && !text.lines().any(|l| l.starts_with("rules:"))
}
