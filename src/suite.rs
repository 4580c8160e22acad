//! Policy tests: named conversations with the decisions they must get.
//!
//! ```yaml
//! tests:
//!   - name: a plain request for a person escalates
//!     turns:
//!       - text: I want a real person
//!     expect: { action: escalate, rule: asks-for-human }
//!   - name: two misses, then the third offers
//!     turns:
//!       - { text: where is my parcel, outcome: no_match, expect: { action: none } }
//!       - { text: parcel, outcome: no_match }
//!     expect: { action: offer, reasons: [repeated-failure] }
//! ```
//!
//! A turn is written as in a transcript, plus an optional `expect` for that
//! turn; the case's `expect` is for its last turn. A step may instead be an
//! agent hub's status, `{ status: accepted }` (or `failed`, with an optional
//! `message`, or `completed`), to test a whole handoff round trip. Tests live in a policy's
//! own `tests:` section or in a file beside it (`name.tests.yaml`).

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use crate::decision::{Action, Decision, FallbackChannel, Kind, Priority};
use crate::engine::Engine;
use crate::error::{Diagnostic, PolicyError, Source, Unknown};
use crate::handoff::{HandoffState, HandoffStatus, TranscriptLine};
use crate::policy::span_of;
use crate::state::{ConversationState, Phase};
use crate::turn::Turn;

/// What a policy test file holds: the tests, and which policy they test.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct TestFileSpec {
    /// The policy, relative to the test file (default: the file's name
    /// without `.tests`).
    #[serde(default)]
    policy: Option<String>,
    #[schemars(with = "Vec<CaseSpec>")]
    tests: Vec<Spanned<CaseSpec>>,
}

/// The `tests:` section of a policy; the rest of the policy is not read here.
#[derive(Deserialize)]
struct InPolicySpec {
    #[serde(default)]
    tests: Vec<Spanned<CaseSpec>>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct CaseSpec {
    name: String,
    /// Read step by step by [`read_turn`], as the schema's [`StepSchema`] says.
    #[schemars(with = "Vec<StepSchema>")]
    turns: Vec<Spanned<serde_json::Map<String, serde_json::Value>>>,
    /// Read as JSON and checked after the file, so that every test's
    /// mistakes are reported, not only the first.
    #[serde(default)]
    #[schemars(with = "Option<Expect>")]
    expect: Option<Spanned<serde_json::Value>>,
}

/// A test step, for the test file's schema only: a transcript turn with
/// its own `expect`, or the agent hub's status.
#[derive(schemars::JsonSchema)]
#[serde(untagged)]
#[allow(dead_code, clippy::large_enum_variant)] // never built: it only describes
enum StepSchema {
    /// An agent hub's status: `{ status: failed, message: "..." }`.
    Status {
        status: HandoffState,
        message: Option<String>,
        expect: Option<Expect>,
    },
    /// A turn, with what the decision after it must be.
    Turn {
        #[serde(flatten)]
        turn: Turn,
        expect: Option<Expect>,
    },
}

/// The JSON Schema of a policy test file (`*.tests.yaml`).
pub(crate) fn test_file_schema(generator: schemars::SchemaGenerator) -> schemars::Schema {
    generator.into_root_schema_for::<TestFileSpec>()
}

/// What a decision must be; every field given must match.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
    /// Planned or fallback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<Kind>,
    /// The deciding rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Rules that must be among those that fired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasons: Option<Vec<String>>,
    /// The route, in part or whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<ExpectRoute>,
    /// The message for the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The conversation's phase after the step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    /// The fallback channel of the offline path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_channel: Option<FallbackChannel>,
}

/// The parts of a route a test expects.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpectRoute {
    /// The queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// The skill.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skill: Option<String>,
    /// The priority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
}

/// A policy's tests, loaded and checked, ready to run against an [`Engine`].
///
/// ```
/// use escalate::{Engine, TestSuite};
///
/// let policy = r#"
/// version: 1
/// rules:
///   - { id: human, when: { keywords: ["real person"] }, kind: fallback, action: escalate }
/// tests:
///   - name: asks for a person
///     turns: [{ text: "I want a real person" }]
///     expect: { action: escalate, rule: human }
/// "#;
/// let engine = Engine::from_yaml(policy)?;
/// let report = TestSuite::from_policy_yaml(policy, "policy.yaml")?.run(&engine);
/// assert_eq!((report.passed(), report.failed()), (1, 0));
/// # Ok::<(), escalate::PolicyError>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct TestSuite {
    cases: Vec<Case>,
}

#[derive(Clone, Debug)]
struct Case {
    name: String,
    turns: Vec<(TranscriptLine, Option<Expect>)>,
    expect: Option<Expect>,
}

/// The outcome of running a [`TestSuite`].
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct TestReport {
    /// Every case run, in file order.
    pub cases: Vec<CaseReport>,
    /// Enabled rules that no case made fire.
    pub uncovered_rules: Vec<String>,
}

/// One case's outcome.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CaseReport {
    /// The case's name.
    pub name: String,
    /// Whether every expectation held.
    pub passed: bool,
    /// The expectations that did not hold.
    pub failures: Vec<Mismatch>,
}

/// An expectation that did not hold, with the decision that broke it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Mismatch {
    /// The turn (from 1) whose decision was checked.
    pub turn: usize,
    /// The part of the decision: `action`, `kind`, `rule`, `reasons`,
    /// `route`, `message`, `phase` or `fallback_channel`.
    pub field: &'static str,
    /// What the test expected.
    pub expected: String,
    /// What the decision had.
    pub actual: String,
    /// The whole decision, for its reasons.
    pub decision: Decision,
}

impl TestReport {
    /// Cases whose every expectation held.
    pub fn passed(&self) -> usize {
        self.cases.iter().filter(|c| c.passed).count()
    }

    /// Cases with at least one failed expectation.
    pub fn failed(&self) -> usize {
        self.cases.len() - self.passed()
    }
}

impl TestSuite {
    /// The tests of a test file (`tests:` and an optional `policy:`);
    /// returns them with the policy path the file names, if it does.
    pub fn from_test_file_yaml(
        yaml: &str,
        origin: &str,
    ) -> Result<(TestSuite, Option<String>), PolicyError> {
        let source = Source {
            file: origin,
            text: yaml,
        };
        let spec: TestFileSpec = parse(&source)?;
        Ok((TestSuite::compile(&source, spec.tests)?, spec.policy))
    }

    /// The tests in a policy's own `tests:` section (none if it has none).
    pub fn from_policy_yaml(yaml: &str, origin: &str) -> Result<TestSuite, PolicyError> {
        let source = Source {
            file: origin,
            text: yaml,
        };
        let spec: InPolicySpec = parse(&source)?;
        TestSuite::compile(&source, spec.tests)
    }

    /// Reads a test file, as [`from_test_file_yaml`](Self::from_test_file_yaml).
    pub fn from_test_file(
        path: impl AsRef<Path>,
    ) -> Result<(TestSuite, Option<String>), PolicyError> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| read_error(&origin, &e))?;
        TestSuite::from_test_file_yaml(&text, &origin)
    }

    /// The tests of the policy file at `path`: its own `tests:` section,
    /// then those of [`beside`](Self::beside) it if that file exists.
    pub fn for_policy_file(path: impl AsRef<Path>) -> Result<TestSuite, PolicyError> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| read_error(&origin, &e))?;
        let mut suite = TestSuite::from_policy_yaml(&text, &origin)?;
        let beside = TestSuite::beside(path);
        if beside.is_file() {
            suite.extend(TestSuite::from_test_file(&beside)?.0);
        }
        Ok(suite)
    }

    /// Where the tests of a policy file go: `bank.yaml` -> `bank.tests.yaml`.
    pub fn beside(policy: impl AsRef<Path>) -> std::path::PathBuf {
        let policy = policy.as_ref();
        let stem = policy.file_stem().unwrap_or_default().to_string_lossy();
        policy.with_file_name(format!("{stem}.tests.yaml"))
    }

    /// Adds another suite's cases after these.
    pub fn extend(&mut self, other: TestSuite) {
        self.cases.extend(other.cases);
    }

    /// Keeps only the cases whose name contains `pattern`.
    pub fn filter(&mut self, pattern: &str) {
        self.cases.retain(|c| c.name.contains(pattern));
    }

    /// How many cases there are.
    pub fn len(&self) -> usize {
        self.cases.len()
    }

    /// Whether there are no cases.
    pub fn is_empty(&self) -> bool {
        self.cases.is_empty()
    }

    /// Runs every case on a fresh conversation.
    pub fn run(&self, engine: &Engine) -> TestReport {
        let mut fired: BTreeSet<String> = BTreeSet::new();
        let mut cases = Vec::with_capacity(self.cases.len());
        for case in &self.cases {
            let mut state = ConversationState::new();
            let mut failures = Vec::new();
            let last = case.turns.len();
            for (index, (step, expect)) in case.turns.iter().enumerate() {
                let decision = match step {
                    TranscriptLine::Turn(turn) => engine.evaluate(&mut state, turn),
                    TranscriptLine::Status(status) => engine.apply_status(&mut state, status),
                };
                fired.extend(decision.reasons.iter().map(|r| r.rule.to_string()));
                let number = index + 1;
                let for_the_case = case.expect.as_ref().filter(|_| number == last);
                let expectations = expect.iter().chain(for_the_case);
                for expect in expectations {
                    failures.extend(mismatches(expect, &decision, number));
                }
            }
            cases.push(CaseReport {
                name: case.name.clone(),
                passed: failures.is_empty(),
                failures,
            });
        }
        let uncovered_rules = engine
            .rule_ids()
            .filter(|id| !fired.contains(*id))
            .map(String::from)
            .collect();
        TestReport {
            cases,
            uncovered_rules,
        }
    }

    fn compile(source: &Source, specs: Vec<Spanned<CaseSpec>>) -> Result<TestSuite, PolicyError> {
        let mut diagnostics = Vec::new();
        let mut cases = Vec::new();
        let starts: Vec<usize> = specs.iter().map(|spec| span_of(spec).0).collect();
        for (i, spec) in specs.into_iter().enumerate() {
            // A mistake inside a test is looked for up to the next test.
            let end = starts.get(i + 1).copied().unwrap_or(source.text.len());
            let mut report = |at: (usize, usize), problem: Problem| {
                diagnostics.push(problem.diagnostic(source, at, end));
            };
            let mut turns = Vec::new();
            let (offset, len) = span_of(&spec);
            let spec_value = spec.value;
            if spec_value.turns.is_empty() {
                report(
                    (offset, len),
                    Problem::new(
                        "empty-test",
                        format!("test `{}` has no turns", spec_value.name),
                        Some("give it `turns: [{ text: \"...\" }]`".into()),
                    ),
                );
            }
            for turn in &spec_value.turns {
                match read_turn(turn) {
                    Ok(read) => turns.push(read),
                    Err(problem) => report(span_of(turn), problem),
                }
            }
            let mut expect_ok = true;
            let expect = match spec_value.expect {
                Some(value) => match read_expect(value.value.clone()) {
                    Ok(expect) => Some(expect),
                    Err(problem) => {
                        report(span_of(&value), problem);
                        expect_ok = false;
                        None
                    }
                },
                None => None,
            };
            let expects_something =
                |e: &Option<Expect>| e.as_ref().is_some_and(|e| *e != Expect::default());
            let turns_ok = turns.len() == spec_value.turns.len();
            if turns_ok
                && expect_ok
                && !turns.is_empty()
                && !expects_something(&expect)
                && !turns.iter().any(|(_, e)| expects_something(e))
            {
                report(
                    (offset, len),
                    Problem::new(
                        "empty-test",
                        format!("test `{}` expects nothing", spec_value.name),
                        Some("add `expect: { action: none }` or what the decision must be".into()),
                    ),
                );
            }
            cases.push(Case {
                name: spec_value.name,
                turns,
                expect,
            });
        }
        if diagnostics.is_empty() {
            Ok(TestSuite { cases })
        } else {
            Err(PolicyError::new(diagnostics))
        }
    }
}

/// What is wrong with a test's step or `expect`, and the word of the text
/// to point at when there is one.
struct Problem {
    code: &'static str,
    message: String,
    help: Option<String>,
    token: Option<String>,
}

impl Problem {
    fn new(code: &'static str, message: String, help: Option<String>) -> Problem {
        Problem {
            code,
            message,
            help,
            token: None,
        }
    }

    /// A serde error in `what`: an unknown field or value is named, with
    /// the name it is close to, and pointed at where it is written.
    fn serde(what: &str, error: &serde_json::Error) -> Problem {
        let message = crate::error::without_position(&error.to_string());
        match Unknown::parse(&message) {
            Some(unknown) => Problem {
                code: if unknown.field {
                    "unknown-field"
                } else {
                    "unknown-value"
                },
                message: format!("{} in `{what}`", unknown.message()),
                help: Some(unknown.help(None)),
                token: Some(unknown.input.clone()),
            },
            None => Problem::new(
                "invalid-test-turn",
                format!("invalid `{what}`: {message}"),
                None,
            ),
        }
    }

    /// The diagnostic, at the token if it is written between `at` and
    /// `end`, else at `at`.
    fn diagnostic(self, source: &Source, at: (usize, usize), end: usize) -> Diagnostic {
        let (offset, len) = self
            .token
            .as_deref()
            .and_then(|token| find_word(source.text, at.0, end, token).map(|o| (o, token.len())))
            .unwrap_or(at);
        let mut d = source.error_at(offset, len, self.code, self.message);
        if let Some(help) = self.help {
            d.set_help(help);
        }
        d
    }
}

/// Where `word` is first written as a whole word (or quoted) in
/// `text[from..to]`.
fn find_word(text: &str, from: usize, to: usize, word: &str) -> Option<usize> {
    let part = text.get(from..to.min(text.len()))?;
    let is_name = |c: char| c.is_alphanumeric() || c == '_' || c == '-' || c == '.';
    part.match_indices(word)
        .find(|&(i, _)| {
            let before = part[..i].chars().next_back();
            let after = part[i + word.len()..].chars().next();
            !before.is_some_and(is_name) && !after.is_some_and(is_name)
        })
        .map(|(i, _)| from + i)
}

fn read_expect(value: serde_json::Value) -> Result<Expect, Problem> {
    serde_json::from_value(value).map_err(|e| Problem::serde("expect", &e))
}

fn read_error(origin: &str, e: &std::io::Error) -> PolicyError {
    let message = format!("cannot read `{origin}`: {}", crate::load::lowercase_io(e));
    PolicyError::unreadable(origin, message, crate::load::CHECK_PATH)
}

fn parse<T: for<'de> Deserialize<'de> + Send>(source: &Source) -> Result<T, PolicyError> {
    crate::load::parse_yaml(source, crate::load::Limits::default())
}

/// A test step: a transcript turn or a status, plus its own `expect`.
fn read_turn(
    fields: &Spanned<serde_json::Map<String, serde_json::Value>>,
) -> Result<(TranscriptLine, Option<Expect>), Problem> {
    let mut fields = fields.value.clone();
    let expect = fields.remove("expect").map(read_expect).transpose()?;
    if let Some(state) = fields.remove("status") {
        let state = serde_json::from_value::<HandoffState>(state)
            .map_err(|e| Problem::serde("status", &e))?;
        let message = match fields.remove("message") {
            Some(serde_json::Value::String(message)) => Some(message),
            Some(_) => {
                return Err(Problem::new(
                    "invalid-test-turn",
                    "a status `message` is text".into(),
                    None,
                ));
            }
            None => None,
        };
        if let Some(other) = fields.keys().next() {
            return Err(Problem {
                token: Some(other.clone()),
                ..Problem::new(
                    "invalid-test-turn",
                    format!("a status step has no field `{other}`"),
                    Some("a status step is `{ status: accepted }`, `{ status: failed, message: \"...\" }`, `{ status: completed }`, or `approved` or `declined` with an optional `message`".into()),
                )
            });
        }
        let mut status = HandoffStatus::new(None, state);
        status.message = message;
        return Ok((TranscriptLine::Status(status), expect));
    }
    let json = serde_json::to_vec(&fields).expect("a map serializes");
    let turn = Turn::from_json(&json).map_err(|e| {
        Problem::new(
            "invalid-test-turn",
            format!("invalid turn: {e}"),
            e.help().map(String::from),
        )
    })?;
    Ok((TranscriptLine::Turn(turn), expect))
}

fn mismatches(expect: &Expect, decision: &Decision, turn: usize) -> Vec<Mismatch> {
    let or_none = |value: Option<String>| value.unwrap_or_else(|| "none".to_string());
    let route = decision.route.as_ref();
    let expected_route = expect.route.clone().unwrap_or_default();
    let mut fired: Vec<&str> = decision.reasons.iter().map(|r| &*r.rule).collect();
    fired.dedup();
    let missing_reasons = expect
        .reasons
        .as_ref()
        .filter(|wanted| wanted.iter().any(|w| !fired.contains(&w.as_str())));
    let checks = [
        (
            "action",
            expect.action.map(|a| a.to_string()),
            decision.action.to_string(),
        ),
        (
            "kind",
            expect.kind.map(|k| k.to_string()),
            or_none(decision.kind.map(|k| k.to_string())),
        ),
        (
            "rule",
            expect.rule.clone(),
            or_none(decision.rule.as_deref().map(String::from)),
        ),
        (
            "reasons",
            missing_reasons.map(|w| w.join(", ")),
            fired.join(", "),
        ),
        (
            "route",
            expected_route.queue.map(|q| format!("queue {q}")),
            format!("queue {}", or_none(route.map(|r| r.queue.to_string()))),
        ),
        (
            "route",
            expected_route.skill.map(|s| format!("skill {s}")),
            format!(
                "skill {}",
                or_none(route.and_then(|r| r.skill.as_deref().map(String::from)))
            ),
        ),
        (
            "route",
            expected_route.priority.map(|p| format!("priority {p}")),
            format!(
                "priority {}",
                or_none(route.map(|r| r.priority.to_string()))
            ),
        ),
        (
            "message",
            expect.message.clone(),
            or_none(decision.message.clone()),
        ),
        (
            "phase",
            expect.phase.map(|p| p.to_string()),
            decision.phase.to_string(),
        ),
        (
            "fallback_channel",
            expect.fallback_channel.map(|c| c.to_string()),
            or_none(decision.fallback_channel.map(|c| c.to_string())),
        ),
    ];
    checks
        .into_iter()
        .filter_map(|(field, expected, actual)| {
            let expected = expected.filter(|e| *e != actual)?;
            Some(Mismatch {
                turn,
                field,
                expected,
                actual,
                decision: decision.clone(),
            })
        })
        .collect()
}
