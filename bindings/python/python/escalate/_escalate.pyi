"""Type stubs of the native module; `escalate` re-exports everything here."""

from os import PathLike
from pathlib import Path
from typing import Any, Literal, Mapping, Optional, Sequence, TypedDict, Union

__version__: str
DEFAULT_POLICY: str
"""The built-in policy's YAML text."""

Action = Literal["none", "offer", "consult", "collect", "escalate"]
Kind = Literal["planned", "fallback"]
Phase = Literal["bot", "offered", "collecting", "consulting", "waiting", "with_agent"]

class PolicyId(TypedDict):
    name: str
    hash: str

class Collect(TypedDict):
    """Triage: what a `collect` decision's question (its `message`) asks for."""

    attribute: str
    question: int
    of: int

class _ConsultRequired(TypedDict):
    proposal: str

class Consult(_ConsultRequired, total=False):
    """Supervision: the proposal a `consult` decision puts to an agent, and the answer once given."""

    note: str
    answer: Literal["approved", "declined", "timed_out"]

class Route(TypedDict):
    queue: str
    skill: Optional[str]
    priority: str

class Turn(TypedDict, total=False):
    """A user (or bot) turn: exactly the fields of a transcript line."""

    conversation_id: str
    id: str
    role: Literal["user", "bot"]
    text: str
    menu: str
    intent: dict[str, Any]
    intents: list[dict[str, Any]]
    sentiment: float
    outcome: Literal["ok", "no_match", "invalid_input", "no_input"]
    locale: str
    agents_available: bool
    timestamp: str
    attributes: dict[str, Any]

TurnLike = Union[Turn, Mapping[str, Any]]
"""What `evaluate` takes: a `Turn`, or any mapping with its fields."""

class EscalateError(Exception):
    """Base class of the errors escalate raises."""

class PolicyError(EscalateError):
    """A policy that does not load; `str(err)` is the located report the CLI prints."""

    diagnostics: list[Diagnostic]

class TurnError(EscalateError):
    """A turn or status event that is not valid, located as the CLI locates it."""

    message: str
    help: Optional[str]
    column: Optional[int]
    """The column (from 1) in `json`; None when the turn has no JSON form."""
    json: Optional[str]
    """The turn as one compact JSON line."""

class StateError(EscalateError):
    """A saved conversation state that is corrupt, foreign or from a newer release."""

class ReloadError(EscalateError):
    """A reloaded policy that loads but fails its own tests."""

class Diagnostic:
    """One problem in a policy, located in its file."""

    @property
    def code(self) -> str: ...
    @property
    def severity(self) -> Literal["error", "warning"]: ...
    @property
    def file(self) -> str: ...
    @property
    def line(self) -> int: ...
    @property
    def column(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def message(self) -> str: ...
    @property
    def help(self) -> Optional[str]: ...
    def to_dict(self) -> dict[str, Any]: ...

class Reason:
    """One rule that fired, with the trigger that made it fire."""

    @property
    def rule(self) -> str: ...
    @property
    def trigger(self) -> str: ...
    @property
    def kind(self) -> Kind: ...
    @property
    def action(self) -> Action: ...
    @property
    def detail(self) -> str: ...
    @property
    def evidence(self) -> dict[str, Any]: ...
    def to_dict(self) -> dict[str, Any]: ...

class Decision:
    """The engine's answer for one turn."""

    @property
    def action(self) -> Action: ...
    @property
    def kind(self) -> Optional[Kind]: ...
    @property
    def rule(self) -> Optional[str]: ...
    @property
    def reasons(self) -> list[Reason]: ...
    @property
    def route(self) -> Optional[Route]: ...
    @property
    def message(self) -> Optional[str]: ...
    @property
    def agent_note(self) -> Optional[str]: ...
    @property
    def policy(self) -> Optional[PolicyId]: ...
    @property
    def errors(self) -> list[dict[str, str]]: ...
    @property
    def phase(self) -> Phase: ...
    @property
    def fallback_channel(self) -> Optional[str]: ...
    @property
    def opens_at(self) -> Optional[str]:
        """On the offline path to a queue with hours: when it opens next (RFC 3339)."""
    @property
    def collect(self) -> Optional[Collect]: ...
    @property
    def collected(self) -> dict[str, str]: ...
    @property
    def consult(self) -> Optional[Consult]: ...
    @property
    def starts_consult(self) -> bool:
        """Whether to send the `handoff.consult` event now."""
    @property
    def is_approved(self) -> bool:
        """Whether the agent approved the proposal on this decision: carry it out now."""
    @property
    def conversation_id(self) -> Optional[str]: ...
    @property
    def turn(self) -> int: ...
    @property
    def starts_handoff(self) -> bool: ...
    @property
    def is_escalation(self) -> bool: ...
    @property
    def is_offer(self) -> bool: ...
    def to_dict(self) -> dict[str, Any]:
        """The decision JSON of the CLI, as a dict."""
    def to_json(self) -> str:
        """The decision JSON of the CLI."""

class ConversationState:
    """What the engine remembers of one conversation between turns."""

    def __init__(self) -> None: ...
    @staticmethod
    def from_json(text: Union[str, bytes]) -> ConversationState:
        """Reads a saved state; raises StateError."""
    def to_json(self) -> str: ...
    @property
    def phase(self) -> Phase: ...
    @property
    def turns(self) -> int: ...

class Engine:
    """A compiled policy; safe to share across threads, `evaluate` releases the GIL."""

    @staticmethod
    def builtin() -> Engine: ...
    @staticmethod
    def from_yaml(text: str) -> Engine:
        """Compiles a policy's YAML text; raises PolicyError."""
    @staticmethod
    def from_path(path: Union[str, PathLike[str]]) -> Engine:
        """Compiles a policy file; raises PolicyError."""
    @property
    def name(self) -> str: ...
    @property
    def policy_id(self) -> PolicyId: ...
    @property
    def warnings(self) -> list[Diagnostic]: ...
    @property
    def rule_ids(self) -> list[str]: ...
    @property
    def transcript_turns(self) -> int: ...
    def evaluate(self, state: ConversationState, turn: TurnLike) -> Decision:
        """Decides one turn and updates the state; raises TurnError."""
    def apply_status(self, state: ConversationState, status: Mapping[str, Any]) -> Decision:
        """Applies the agent hub's `handoff.status` event; raises TurnError."""
    def handoff_initiate(
        self,
        decision: Decision,
        conversation: Union[str, Mapping[str, Any]],
        transcript: Sequence[TurnLike],
    ) -> dict[str, Any]:
        """The Bot Framework `handoff.initiate` activity, with the redacted transcript."""
    def handoff_consult(
        self,
        decision: Decision,
        conversation: Union[str, Mapping[str, Any]],
        transcript: Sequence[TurnLike],
    ) -> dict[str, Any]:
        """The Bot Framework `handoff.consult` activity for a `consult` decision, with the redacted transcript."""
    def redact(self, text: str) -> str: ...

class PolicyHandle:
    """The policy a running bot serves, reloadable while it serves."""

    @staticmethod
    def from_path(path: Union[str, PathLike[str]]) -> PolicyHandle: ...
    @property
    def engine(self) -> Engine: ...
    @property
    def path(self) -> Optional[Path]: ...
    def evaluate(self, state: ConversationState, turn: TurnLike) -> Decision: ...
    def reload(self) -> PolicyId:
        """Serves the file again if it loads and passes its tests; raises PolicyError or ReloadError."""
