//! Python bindings of `escalate`: `import escalate`.
//!
//! A thin layer over the library: every decision, message and error text is
//! the library's. Turns arrive as dicts and are read straight into
//! [`escalate::Turn`] (`pythonize`); only a turn that does not read is
//! written as a JSON line and read again by [`escalate::Turn::from_json`],
//! so its error has the message, help and column the CLI gives on that line.

use std::path::PathBuf;
use std::sync::Arc;

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyList, PyString, PyTuple};
use pythonize::{depythonize, pythonize};
use serde::Serialize;

create_exception!(
    escalate,
    EscalateError,
    PyException,
    "Base class of the errors escalate raises."
);
create_exception!(
    escalate,
    PolicyError,
    EscalateError,
    "A policy that does not load: `str(err)` is the located report the CLI prints, `err.diagnostics` lists each error."
);
create_exception!(
    escalate,
    TurnError,
    EscalateError,
    "A turn (or a handoff.status event) that is not valid: `message`, `help`, `column` and `json`, the line the column points into."
);
create_exception!(
    escalate,
    StateError,
    EscalateError,
    "A saved conversation state that is corrupt, foreign or from a newer release."
);
create_exception!(
    escalate,
    ReloadError,
    EscalateError,
    "A reloaded policy that loads but fails its own tests; the old policy keeps serving."
);

/// The serde name of a value that serializes as a string (an action, kind,
/// trigger or phase).
fn name_of(value: &impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        other => format!("{other:?}"),
    }
}

/// How Python's `repr` writes an optional string.
fn repr_of(text: Option<&str>) -> String {
    text.map_or_else(
        || "None".to_string(),
        |text| format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'")),
    )
}

/// A serde value as Python objects (dicts, lists, strings, numbers).
fn to_python<'py>(py: Python<'py>, value: &impl Serialize) -> PyResult<Bound<'py, PyAny>> {
    pythonize(py, value).map_err(PyErr::from)
}

/// `json.dumps(value, separators=(",", ":"), ensure_ascii=False)`: the
/// compact line that `JSON.stringify` also writes.
fn compact_json(value: &Bound<'_, PyAny>) -> PyResult<String> {
    let py = value.py();
    let kwargs = PyDict::new(py);
    kwargs.set_item("separators", PyTuple::new(py, [",", ":"])?)?;
    kwargs.set_item("ensure_ascii", false)?;
    py.import("json")?
        .call_method("dumps", (value,), Some(&kwargs))?
        .extract()
}

fn turn_error(
    py: Python<'_>,
    message: &str,
    help: Option<&str>,
    column: Option<usize>,
    json: Option<String>,
) -> PyErr {
    let shown = match column {
        Some(column) => format!("invalid turn at column {column}: {message}"),
        None => format!("invalid turn: {message}"),
    };
    let shown = match help {
        Some(help) => format!("{shown}\n  = help: {help}"),
        None => shown,
    };
    let err = TurnError::new_err(shown);
    let value = err.value(py);
    let _ = value.setattr("message", message);
    let _ = value.setattr("help", help);
    let _ = value.setattr("column", column);
    let _ = value.setattr("json", json);
    err
}

/// A value that `json.dumps` cannot write.
fn not_json(py: Python<'_>, error: &PyErr) -> PyErr {
    turn_error(
        py,
        &format!("the value is not JSON: {error}"),
        Some("give dicts, lists, strings, numbers, booleans and None"),
        None,
        None,
    )
}

/// Reads a value as the CLI reads a line: written as compact JSON, then
/// read by the library's reader, so that an error has the CLI's message,
/// help and column on that line.
fn through_json<T>(
    value: &Bound<'_, PyAny>,
    read: impl FnOnce(&[u8]) -> Result<T, escalate::TurnError>,
) -> PyResult<T> {
    let py = value.py();
    let line = compact_json(value).map_err(|e| not_json(py, &e))?;
    read(line.as_bytes())
        .map_err(|e| turn_error(py, &e.to_string(), e.help(), Some(e.column()), Some(line)))
}

/// What makes a value unsafe to read without going through JSON.
#[derive(PartialEq)]
enum NotPlainJson {
    /// More than [`escalate::MAX_TURN_NESTING`] levels of dicts, lists and
    /// tuples (a cycle always is).
    TooDeep,
    /// A `NaN` or an infinity, which JSON cannot hold.
    NotFinite,
}

/// Checks a value within bounds: reading it then stays bounded and gives
/// what its JSON would.
fn plain_json(value: &Bound<'_, PyAny>, depth: usize) -> Result<(), NotPlainJson> {
    let inner = |item: Bound<'_, PyAny>| {
        if depth >= escalate::MAX_TURN_NESTING {
            return Err(NotPlainJson::TooDeep);
        }
        plain_json(&item, depth + 1)
    };
    if let Ok(dict) = value.cast::<PyDict>() {
        dict.iter().try_for_each(|(_, item)| inner(item))
    } else if let Ok(list) = value.cast::<PyList>() {
        list.iter().try_for_each(inner)
    } else if let Ok(tuple) = value.cast::<PyTuple>() {
        tuple.iter().try_for_each(inner)
    } else if let Ok(float) = value.cast::<PyFloat>() {
        match float.value().is_finite() {
            true => Ok(()),
            false => Err(NotPlainJson::NotFinite),
        }
    } else {
        Ok(())
    }
}

/// Reads a name such as an outcome or a role as serde reads it from JSON.
fn from_name<T: serde::de::DeserializeOwned>(value: &Bound<'_, PyAny>) -> Option<T> {
    let name = value.cast::<PyString>().ok()?.to_cow().ok()?;
    T::deserialize(serde::de::value::StrDeserializer::<serde::de::value::Error>::new(&name)).ok()
}

/// A number as JSON gives it: an int or a finite float, not a bool (which
/// Python counts as an int).
fn json_number(value: &Bound<'_, PyAny>) -> Option<f64> {
    if value.is_instance_of::<PyBool>() {
        return None;
    }
    value.extract::<f64>().ok().filter(|n| n.is_finite())
}

fn string(value: &Bound<'_, PyAny>) -> Option<String> {
    value.extract().ok()
}

/// `None` for Python's `None`, else the value read by `read`.
fn optional<T>(
    value: &Bound<'_, PyAny>,
    read: impl FnOnce(&Bound<'_, PyAny>) -> Option<T>,
) -> Option<Option<T>> {
    if value.is_none() {
        Some(None)
    } else {
        read(value).map(Some)
    }
}

fn intent(value: &Bound<'_, PyAny>) -> Option<escalate::Intent> {
    let (mut name, mut confidence) = (None, None);
    for (key, value) in value.cast::<PyDict>().ok()?.iter() {
        match &*key.cast::<PyString>().ok()?.to_cow().ok()? {
            "name" => name = Some(string(&value)?),
            "confidence" => confidence = Some(json_number(&value)?),
            _ => return None,
        }
    }
    Some(escalate::Intent {
        name: name?,
        confidence: confidence?,
    })
}

/// A turn read field by field, without going through JSON. `None` when a
/// key or a value is anything but what the library's JSON reader accepts
/// for it; the caller then reads the turn through JSON, so this decides
/// nothing that reader would not.
fn fast_turn(dict: &Bound<'_, PyDict>) -> Option<escalate::Turn> {
    let mut turn = escalate::Turn::default();
    for (key, value) in dict.iter() {
        match &*key.cast::<PyString>().ok()?.to_cow().ok()? {
            "text" => turn.text = string(&value)?,
            "conversation_id" => {
                turn.conversation_id = optional(&value, |v| string(v).map(Into::into))?
            }
            "id" => turn.id = optional(&value, string)?,
            "menu" => turn.menu = optional(&value, string)?,
            "locale" => turn.locale = optional(&value, string)?,
            "timestamp" => turn.timestamp = optional(&value, string)?,
            "role" => turn.role = from_name(&value)?,
            "outcome" => turn.outcome = from_name(&value)?,
            "sentiment" => turn.sentiment = optional(&value, json_number)?,
            "agents_available" => {
                turn.agents_available =
                    optional(&value, |v| v.cast::<PyBool>().ok().map(|b| b.is_true()))?
            }
            "intent" => turn.intent = optional(&value, intent)?,
            "intents" => {
                let list = value.cast::<PyList>().ok()?;
                turn.intents = list.iter().map(|i| intent(&i)).collect::<Option<_>>()?;
            }
            "attributes" => {
                plain_json(&value, 1).ok()?;
                turn.attributes = depythonize(&value).ok()?;
            }
            _ => return None,
        }
    }
    Some(turn)
}

fn to_turn(value: &Bound<'_, PyAny>) -> PyResult<escalate::Turn> {
    if let Ok(dict) = value.cast::<PyDict>()
        && let Some(turn) = fast_turn(dict)
    {
        return Ok(turn);
    }
    if plain_json(value, 0) == Err(NotPlainJson::TooDeep) {
        let e = escalate::TurnError::too_deep();
        return Err(turn_error(value.py(), &e.to_string(), e.help(), None, None));
    }
    through_json(value, escalate::Turn::from_json)
}

fn policy_error(py: Python<'_>, error: &escalate::PolicyError) -> PyErr {
    let err = PolicyError::new_err(error.render());
    let diagnostics: Vec<Diagnostic> = error.diagnostics().cloned().map(Diagnostic).collect();
    let _ = err.value(py).setattr("diagnostics", diagnostics);
    err
}

fn state_error(error: &escalate::StateError) -> PyErr {
    StateError::new_err(error.to_string())
}

/// One problem in a policy, located in its file.
#[pyclass(frozen, module = "escalate")]
struct Diagnostic(escalate::Diagnostic);

#[pymethods]
impl Diagnostic {
    /// A stable kebab-case name for the kind of problem, such as `unknown-field`.
    #[getter]
    fn code(&self) -> &str {
        self.0.code()
    }
    /// `error` or `warning`.
    #[getter]
    fn severity(&self) -> String {
        name_of(&self.0.severity())
    }
    /// The policy's file (`<policy>` for text given directly).
    #[getter]
    fn file(&self) -> &str {
        self.0.file()
    }
    /// The line, from 1.
    #[getter]
    fn line(&self) -> usize {
        self.0.line()
    }
    /// The column, from 1.
    #[getter]
    fn column(&self) -> usize {
        self.0.column()
    }
    /// The column just past the offending span on the same line (to
    /// underline `column..end`); 0 with `column` when there is no place.
    #[getter]
    fn end(&self) -> usize {
        self.0.end()
    }
    /// What is wrong.
    #[getter]
    fn message(&self) -> &str {
        self.0.message()
    }
    /// How to fix it, when there is a likely fix.
    #[getter]
    fn help(&self) -> Option<&str> {
        self.0.help()
    }
    /// The diagnostic as `check --format json` gives it.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.0)
    }
    fn __str__(&self) -> String {
        self.0.render()
    }
    fn __repr__(&self) -> String {
        format!(
            "Diagnostic(code={}, line={}, column={})",
            repr_of(Some(self.0.code())),
            self.0.line(),
            self.0.column(),
        )
    }
}

/// One rule that fired, with the trigger that made it fire.
#[pyclass(frozen, module = "escalate")]
struct Reason(escalate::Reason);

#[pymethods]
impl Reason {
    /// The rule's id.
    #[getter]
    fn rule(&self) -> &str {
        &self.0.rule
    }
    /// The kind of condition that fired, such as `keyword`.
    #[getter]
    fn trigger(&self) -> String {
        name_of(&self.0.trigger)
    }
    /// The rule's kind: `planned` or `fallback`.
    #[getter]
    fn kind(&self) -> &'static str {
        self.0.kind.as_str()
    }
    /// The rule's action.
    #[getter]
    fn action(&self) -> &'static str {
        self.0.action.as_str()
    }
    /// One line for people, such as `phrase "real person" matched at 22..33`.
    #[getter]
    fn detail(&self) -> &str {
        &self.0.detail
    }
    /// The same, for machines, as a dict.
    #[getter]
    fn evidence<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.0.evidence)
    }
    /// The reason as the decision JSON gives it.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.0)
    }
    fn __repr__(&self) -> String {
        format!(
            "Reason(rule={}, detail={})",
            repr_of(Some(&self.0.rule)),
            repr_of(Some(&self.0.detail))
        )
    }
}

/// The engine's answer for one turn.
#[pyclass(frozen, module = "escalate")]
struct Decision(escalate::Decision);

#[pymethods]
impl Decision {
    /// `none`, `offer` or `escalate`.
    #[getter]
    fn action(&self) -> &'static str {
        self.0.action.as_str()
    }
    /// `planned` or `fallback`; `None` when the action is `none`.
    #[getter]
    fn kind(&self) -> Option<&'static str> {
        self.0.kind.map(escalate::Kind::as_str)
    }
    /// The deciding rule.
    #[getter]
    fn rule(&self) -> Option<&str> {
        self.0.rule.as_deref()
    }
    /// Every rule that fired, in policy order, with evidence.
    #[getter]
    fn reasons(&self) -> Vec<Reason> {
        self.0.reasons.iter().cloned().map(Reason).collect()
    }
    /// Where to send the conversation: `{"queue", "skill", "priority"}`.
    #[getter]
    fn route<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.0.route)
    }
    /// What to tell the user.
    #[getter]
    fn message(&self) -> Option<&str> {
        self.0.message.as_deref()
    }
    /// A note for the agent who takes over.
    #[getter]
    fn agent_note(&self) -> Option<&str> {
        self.0.agent_note.as_deref()
    }
    /// The policy that decided: `{"name", "hash"}`.
    #[getter]
    fn policy<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.0.policy)
    }
    /// Rules that could not be evaluated on this turn: `[{"rule", "message"}]`.
    #[getter]
    fn errors<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.0.errors)
    }
    /// The conversation's phase after this turn: `bot`, `offered`, `collecting`, `waiting` or `with_agent`.
    #[getter]
    fn phase(&self) -> &'static str {
        self.0.phase.as_str()
    }
    /// The channel of the offline path (such as `email`), when the decision takes it.
    #[getter]
    fn fallback_channel(&self) -> Option<String> {
        self.0.fallback_channel.as_ref().map(name_of)
    }
    /// On the offline path to a queue with hours: when it opens next (RFC 3339).
    #[getter]
    fn opens_at(&self) -> Option<&str> {
        self.0.opens_at.as_deref()
    }
    /// Triage: `{attribute, question, of}`, what the question (`message`)
    /// asks for, when the action is `collect`.
    #[getter]
    fn collect<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.0.collect)
    }
    /// What the triage collected, on the decision that hands over after it.
    #[getter]
    fn collected(&self) -> std::collections::BTreeMap<String, String> {
        self.0.collected.clone()
    }
    /// Supervision: `{proposal, note?, answer?}` when the action is
    /// `consult` or the agent answered, else `None`.
    #[getter]
    fn consult<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.0.consult)
    }
    /// Whether the bot should send a `handoff.consult` event now.
    #[getter]
    fn starts_consult(&self) -> bool {
        self.0.starts_consult()
    }
    /// Whether the agent approved the proposal on this decision: carry it out now.
    #[getter]
    fn is_approved(&self) -> bool {
        self.0.is_approved()
    }
    /// The conversation, copied from the turn.
    #[getter]
    fn conversation_id(&self) -> Option<&str> {
        self.0.conversation_id.as_deref()
    }
    /// The number of this user turn in the conversation, from 1.
    #[getter]
    fn turn(&self) -> u32 {
        self.0.turn
    }
    /// Whether the bot should send a `handoff.initiate` event now.
    #[getter]
    fn starts_handoff(&self) -> bool {
        self.0.starts_handoff()
    }
    /// Whether the bot should hand over now.
    #[getter]
    fn is_escalation(&self) -> bool {
        self.0.is_escalation()
    }
    /// Whether the bot should offer a person.
    #[getter]
    fn is_offer(&self) -> bool {
        self.0.is_offer()
    }
    /// The decision JSON of the CLI, as a dict.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.0)
    }
    /// The decision JSON of the CLI (`escalate-check run --format json`).
    fn to_json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_default()
    }
    fn __repr__(&self) -> String {
        format!(
            "Decision(action={}, rule={}, turn={})",
            repr_of(Some(self.action())),
            repr_of(self.0.rule.as_deref()),
            self.0.turn
        )
    }
}

/// What the engine remembers of one conversation between turns.
#[pyclass(module = "escalate")]
struct ConversationState(escalate::ConversationState);

#[pymethods]
impl ConversationState {
    /// A new conversation.
    #[new]
    fn new() -> Self {
        ConversationState(escalate::ConversationState::new())
    }
    /// Reads a state saved by `to_json` (of this release or an older one).
    #[staticmethod]
    fn from_json(text: &Bound<'_, PyAny>) -> PyResult<Self> {
        let bytes: Vec<u8> = match text.cast::<PyString>() {
            Ok(text) => text.to_cow()?.as_bytes().to_vec(),
            Err(_) => text.extract()?,
        };
        escalate::ConversationState::from_json(&bytes)
            .map(ConversationState)
            .map_err(|e| state_error(&e))
    }
    /// The state as JSON, to keep wherever the bot keeps conversation data.
    fn to_json(&self) -> String {
        self.0.to_json()
    }
    /// The conversation's phase: `bot`, `offered`, `waiting` or `with_agent`.
    #[getter]
    fn phase(&self) -> &'static str {
        self.0.phase().as_str()
    }
    /// How many user turns the conversation has had.
    #[getter]
    fn turns(&self) -> u32 {
        self.0.turns()
    }
    fn __eq__(&self, other: &Self) -> bool {
        self.0 == other.0
    }
    fn __repr__(&self) -> String {
        format!(
            "ConversationState(phase={}, turns={})",
            repr_of(Some(self.phase())),
            self.0.turns()
        )
    }
}

/// Reads a `handoff.status` event (a dict) as the CLI reads its line.
fn to_status(value: &Bound<'_, PyAny>) -> PyResult<escalate::HandoffStatus> {
    through_json(value, escalate::HandoffStatus::from_json)
}

fn to_reference(value: &Bound<'_, PyAny>) -> PyResult<escalate::ConversationReference> {
    if let Ok(id) = value.cast::<PyString>() {
        return Ok(escalate::ConversationReference::placeholder(&id.to_cow()?));
    }
    depythonize(value).map_err(|e| {
        TurnError::new_err(format!(
            "invalid conversation reference: {e}; give a conversation id or the reference's dict"
        ))
    })
}

fn evaluate_on(
    py: Python<'_>,
    engine: &escalate::Engine,
    state: &Bound<'_, ConversationState>,
    turn: &Bound<'_, PyAny>,
) -> PyResult<Decision> {
    let turn = to_turn(turn)?;
    let mut state = state.try_borrow_mut()?;
    let state = &mut state.0;
    Ok(Decision(py.detach(|| engine.evaluate(state, &turn))))
}

/// An event for the agent hub that `build` makes from the reference and
/// the turns the caller gave.
fn hub_event<'py>(
    conversation: &Bound<'py, PyAny>,
    transcript: Vec<Bound<'py, PyAny>>,
    build: impl FnOnce(&escalate::ConversationReference, &[escalate::Turn]) -> serde_json::Value,
) -> PyResult<serde_json::Value> {
    let reference = to_reference(conversation)?;
    let turns = transcript
        .iter()
        .map(to_turn)
        .collect::<PyResult<Vec<_>>>()?;
    Ok(build(&reference, &turns))
}

/// A compiled policy. Safe to share across threads; `evaluate` releases the GIL.
#[pyclass(frozen, module = "escalate")]
struct Engine(Arc<escalate::Engine>);

#[pymethods]
impl Engine {
    /// The built-in policy (`policies/default.yaml`).
    #[staticmethod]
    fn builtin() -> Self {
        Engine(Arc::new(escalate::Engine::builtin()))
    }
    /// Compiles a policy from its YAML text; raises `PolicyError`.
    #[staticmethod]
    fn from_yaml(py: Python<'_>, text: &str) -> PyResult<Self> {
        py.detach(|| escalate::Engine::from_yaml(text))
            .map(|engine| Engine(Arc::new(engine)))
            .map_err(|e| policy_error(py, &e))
    }
    /// Compiles a policy file; raises `PolicyError`.
    #[staticmethod]
    fn from_path(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        py.detach(|| escalate::Engine::from_path(&path))
            .map(|engine| Engine(Arc::new(engine)))
            .map_err(|e| policy_error(py, &e))
    }
    /// The policy's `name`.
    #[getter]
    fn name(&self) -> &str {
        self.0.name()
    }
    /// The policy's identity, `{"name", "hash"}`, as every decision carries it.
    #[getter]
    fn policy_id<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, self.0.id())
    }
    /// What the policy loads with but is probably a mistake.
    #[getter]
    fn warnings(&self) -> Vec<Diagnostic> {
        self.0.warnings().cloned().map(Diagnostic).collect()
    }
    /// The ids of the policy's rules, in order.
    #[getter]
    fn rule_ids(&self) -> Vec<String> {
        self.0.rule_ids().map(String::from).collect()
    }
    /// Decides one turn (a dict with the transcript line's fields) and
    /// updates the state; raises `TurnError` for a turn that is not valid.
    fn evaluate(
        &self,
        py: Python<'_>,
        state: &Bound<'_, ConversationState>,
        turn: &Bound<'_, PyAny>,
    ) -> PyResult<Decision> {
        evaluate_on(py, &self.0, state, turn)
    }
    /// Applies the agent hub's `handoff.status` event (a dict) to the state.
    fn apply_status(
        &self,
        state: &Bound<'_, ConversationState>,
        status: &Bound<'_, PyAny>,
    ) -> PyResult<Decision> {
        let status = to_status(status)?;
        let mut state = state.try_borrow_mut()?;
        Ok(Decision(self.0.apply_status(&mut state.0, &status)))
    }
    /// The Bot Framework `handoff.initiate` activity for a decision, as a
    /// dict: `conversation` is a conversation id or a conversation
    /// reference's dict; `transcript` the recent turns (dicts, user and
    /// bot, oldest first), redacted as the policy says.
    fn handoff_initiate<'py>(
        &self,
        py: Python<'py>,
        decision: &Decision,
        conversation: &Bound<'py, PyAny>,
        transcript: Vec<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let event = hub_event(conversation, transcript, |reference, turns| {
            self.0.handoff_initiate(&decision.0, reference, turns)
        })?;
        to_python(py, &event)
    }
    /// The Bot Framework `handoff.consult` activity for a `consult`
    /// decision, as a dict: the envelope and transcript of
    /// `handoff_initiate`, its `value` with the `consult` proposal.
    fn handoff_consult<'py>(
        &self,
        py: Python<'py>,
        decision: &Decision,
        conversation: &Bound<'py, PyAny>,
        transcript: Vec<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let event = hub_event(conversation, transcript, |reference, turns| {
            self.0.handoff_consult(&decision.0, reference, turns)
        })?;
        to_python(py, &event)
    }
    /// Masks what the policy's `handoff.redact` says an agent must not see.
    fn redact(&self, text: &str) -> String {
        self.0.redact(text).into_owned()
    }
    /// How many turns `handoff.initiate`'s transcript carries.
    #[getter]
    fn transcript_turns(&self) -> usize {
        self.0.transcript_turns()
    }
    fn __repr__(&self) -> String {
        format!(
            "Engine(name={}, hash={})",
            repr_of(Some(self.0.name())),
            repr_of(Some(&self.0.id().hash))
        )
    }
}

/// The policy a running bot serves, reloadable while it serves.
#[pyclass(frozen, module = "escalate")]
struct PolicyHandle(escalate::PolicyHandle);

#[pymethods]
impl PolicyHandle {
    /// Serves a policy file; raises `PolicyError` if it does not load.
    #[staticmethod]
    fn from_path(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        py.detach(|| escalate::PolicyHandle::from_path(escalate::Engine::builder(), path))
            .map(PolicyHandle)
            .map_err(|e| policy_error(py, &e))
    }
    /// The engine serving now.
    #[getter]
    fn engine(&self) -> Engine {
        Engine(self.0.current())
    }
    /// The policy file, if the handle has one.
    #[getter]
    fn path(&self) -> Option<PathBuf> {
        self.0.path().map(PathBuf::from)
    }
    /// Decides one turn on the policy serving now.
    fn evaluate(
        &self,
        py: Python<'_>,
        state: &Bound<'_, ConversationState>,
        turn: &Bound<'_, PyAny>,
    ) -> PyResult<Decision> {
        evaluate_on(py, &self.0.current(), state, turn)
    }
    /// Reads the file again and serves it if it loads and passes its own
    /// tests; returns its `{"name", "hash"}`. Otherwise raises
    /// `PolicyError` or `ReloadError` and keeps serving the old policy.
    fn reload<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match py.detach(|| self.0.reload()) {
            Ok(id) => to_python(py, &id),
            Err(escalate::ReloadError::Invalid(e)) => Err(policy_error(py, &e)),
            Err(e) => Err(ReloadError::new_err(e.to_string())),
        }
    }
}

#[pymodule]
fn _escalate(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<Engine>()?;
    m.add_class::<ConversationState>()?;
    m.add_class::<Decision>()?;
    m.add_class::<Reason>()?;
    m.add_class::<Diagnostic>()?;
    m.add_class::<PolicyHandle>()?;
    m.add("EscalateError", py.get_type::<EscalateError>())?;
    m.add("PolicyError", py.get_type::<PolicyError>())?;
    m.add("TurnError", py.get_type::<TurnError>())?;
    m.add("StateError", py.get_type::<StateError>())?;
    m.add("ReloadError", py.get_type::<ReloadError>())?;
    m.add("DEFAULT_POLICY", escalate::DEFAULT_POLICY)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
