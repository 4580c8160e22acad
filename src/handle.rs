//! Hot reload: one policy serving many threads, swapped atomically.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::builder::EngineBuilder;
use crate::decision::{Decision, PolicyId};
use crate::engine::Engine;
use crate::error::PolicyError;
use crate::state::ConversationState;
use crate::suite::{TestReport, TestSuite};
use crate::turn::Turn;

/// The policy a running bot serves, which can be replaced while it serves.
///
/// Every evaluation runs on one engine from start to end: a swap never
/// affects evaluations in flight, and the next evaluation sees the new
/// policy. A policy that fails to load, or that the bot's own check refuses,
/// never replaces the one serving. Reading the current engine takes no lock
/// and does not allocate.
///
/// ```
/// use escalate::{ConversationState, Engine, PolicyHandle, Turn};
///
/// let handle = PolicyHandle::new(Engine::builtin());
/// let mut state = ConversationState::new();
/// let decision = handle.evaluate(&mut state, &Turn::user("I want a real person"));
/// assert_eq!(decision.policy.as_deref(), Some(handle.current().id()));
///
/// // A broken edit is refused; the built-in policy keeps serving.
/// let broken = Engine::from_yaml("version: 1\nrules: [oops]\n");
/// assert!(handle.replace_with(broken, |_| Ok::<(), String>(())).is_err());
/// assert_eq!(handle.current().name(), "default");
/// ```
pub struct PolicyHandle {
    current: ArcSwap<Engine>,
    source: Option<(PathBuf, EngineBuilder)>,
}

/// Why a new policy was refused; the old one keeps serving.
#[derive(Debug)]
pub enum ReloadError<E = std::convert::Infallible> {
    /// The new policy did not load.
    Invalid(PolicyError),
    /// The new policy loaded, but some of its own tests failed.
    TestsFailed(TestReport),
    /// The new policy loaded, but the check refused it.
    Refused(E),
}

impl<E: std::fmt::Display> std::fmt::Display for ReloadError<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReloadError::Invalid(e) => write!(f, "the new policy does not load: {e}"),
            ReloadError::TestsFailed(report) => {
                let failed: Vec<&str> = report
                    .cases
                    .iter()
                    .filter(|c| !c.passed)
                    .map(|c| c.name.as_str())
                    .collect();
                write!(f, "the new policy fails its tests: {}", failed.join("; "))
            }
            ReloadError::Refused(e) => write!(f, "the new policy was refused: {e}"),
        }
    }
}

impl<E: std::fmt::Debug + std::fmt::Display> std::error::Error for ReloadError<E> {}

impl PolicyHandle {
    /// Serves `engine` until it is replaced.
    pub fn new(engine: Engine) -> PolicyHandle {
        PolicyHandle {
            current: ArcSwap::from_pointee(engine),
            source: None,
        }
    }

    /// Loads the policy at `path` and serves it; [`reload`](Self::reload)
    /// reads the same path again with the same builder.
    pub fn from_path(
        builder: EngineBuilder,
        path: impl Into<PathBuf>,
    ) -> Result<PolicyHandle, PolicyError> {
        let path = path.into();
        let engine = builder.build_from_path(&path)?;
        Ok(PolicyHandle {
            current: ArcSwap::from_pointee(engine),
            source: Some((path, builder)),
        })
    }

    /// The engine serving now. Holding it keeps that policy alive for as
    /// long as the caller needs it, whatever replaces it meanwhile.
    pub fn current(&self) -> Arc<Engine> {
        self.current.load_full()
    }

    /// Evaluates a turn on the engine serving now.
    pub fn evaluate(&self, state: &mut ConversationState, turn: &Turn) -> Decision {
        self.current.load().evaluate(state, turn)
    }

    /// Reads the policy file again and serves it if it loads and passes
    /// its own tests (its `tests:` section and `NAME.tests.yaml` beside
    /// it, see [`TestSuite`]); otherwise keeps serving the old one and
    /// returns why. Returns the new policy's identity. A handle made by
    /// [`new`](Self::new) has no file: it reports an `io` error.
    pub fn reload(&self) -> Result<PolicyId, ReloadError> {
        self.reload_checked(|_| Ok(()))
    }

    /// Like [`reload`](Self::reload), but serves the new policy only if
    /// `check` also accepts it (golden turns of the bot's own...).
    pub fn reload_checked<E>(
        &self,
        check: impl FnOnce(&Engine) -> Result<(), E>,
    ) -> Result<PolicyId, ReloadError<E>> {
        let loaded = match &self.source {
            Some((path, builder)) => {
                let engine = builder
                    .build_from_path(path)
                    .map_err(ReloadError::Invalid)?;
                let tests = TestSuite::for_policy_file(path).map_err(ReloadError::Invalid)?;
                let report = tests.run(&engine);
                if report.failed() > 0 {
                    return Err(ReloadError::TestsFailed(report));
                }
                Ok(engine)
            }
            None => Err(PolicyError::unreadable(
                "<policy>",
                "this handle has no policy file to reload".into(),
                "make the handle with `PolicyHandle::from_path`, or use `replace_with`",
            )),
        };
        self.replace_with(loaded, check)
    }

    /// Serves `candidate` if it loaded and `check` accepts it; otherwise
    /// keeps serving the old policy and returns why.
    pub fn replace_with<E>(
        &self,
        candidate: Result<Engine, PolicyError>,
        check: impl FnOnce(&Engine) -> Result<(), E>,
    ) -> Result<PolicyId, ReloadError<E>> {
        let engine = candidate.map_err(ReloadError::Invalid)?;
        check(&engine).map_err(ReloadError::Refused)?;
        let id = engine.id().clone();
        self.current.store(Arc::new(engine));
        Ok(id)
    }

    /// The policy file this handle reloads, if it has one.
    pub fn path(&self) -> Option<&Path> {
        self.source.as_ref().map(|(path, _)| path.as_path())
    }
}

impl std::fmt::Debug for PolicyHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyHandle")
            .field("current", self.current().id())
            .field("path", &self.path())
            .finish()
    }
}
