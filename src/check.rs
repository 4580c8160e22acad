//! What checking a policy found, as `escalate-check check --format json`
//! prints it and the server's `POST /v1/check` answers it.

use serde::Serialize;

use crate::engine::{Engine, PolicySummary};
use crate::error::{Diagnostic, PolicyError};
use crate::suite::TestSuite;

/// One checked file: whether it loads, its summary, and every diagnostic
/// (its errors, or the warnings of a policy that loads).
///
/// ```
/// use escalate::{CheckReport, Engine};
///
/// let loaded = Engine::builder().origin("p.yaml").build("version: 1\nrulez: []\n");
/// let report = CheckReport::policy("p.yaml", &loaded);
/// assert!(!report.valid);
/// assert_eq!(report.diagnostics[0].help(), Some("did you mean `rules`?"));
/// let json = serde_json::to_value(&report).unwrap();
/// assert_eq!((json["diagnostics"][0]["line"].as_u64(), json["diagnostics"][0]["end"].as_u64()), (Some(2), Some(6)));
/// ```
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct CheckReport {
    /// The file's name as given, or `<built-in>`.
    pub file: String,
    /// Whether it loads.
    pub valid: bool,
    /// A policy's summary (its name and hash are the policy's id), when it loads.
    pub summary: Option<PolicySummary>,
    /// For a test file, how many tests it holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tests: Option<usize>,
    /// The errors, or the warnings of a policy that loads.
    pub diagnostics: Vec<Diagnostic>,
}

impl CheckReport {
    /// The report of a policy, loaded or refused.
    pub fn policy<E: std::borrow::Borrow<Engine>>(
        file: impl Into<String>,
        loaded: &Result<E, PolicyError>,
    ) -> CheckReport {
        match loaded {
            Ok(engine) => {
                let engine = engine.borrow();
                CheckReport {
                    file: file.into(),
                    valid: true,
                    summary: Some(engine.summary().clone()),
                    tests: None,
                    diagnostics: engine.warnings().cloned().collect(),
                }
            }
            Err(error) => CheckReport::refused(file.into(), error),
        }
    }

    /// The report of a test file (`NAME.tests.yaml`), read or refused.
    pub fn tests(file: impl Into<String>, loaded: &Result<TestSuite, PolicyError>) -> CheckReport {
        match loaded {
            Ok(suite) => CheckReport {
                file: file.into(),
                valid: true,
                summary: None,
                tests: Some(suite.len()),
                diagnostics: Vec::new(),
            },
            Err(error) => CheckReport::refused(file.into(), error),
        }
    }

    fn refused(file: String, error: &PolicyError) -> CheckReport {
        CheckReport {
            file,
            valid: false,
            summary: None,
            tests: None,
            diagnostics: error.diagnostics().cloned().collect(),
        }
    }
}
