"""escalate: on every user turn, hand the conversation to a human now, offer to, or carry on, and why.

    >>> import escalate
    >>> engine = escalate.Engine.builtin()
    >>> state = escalate.ConversationState()
    >>> decision = engine.evaluate(state, {"text": "I want to talk to a real person"})
    >>> decision.action, decision.rule
    ('escalate', 'asks-for-human')
"""

from typing import TYPE_CHECKING

from escalate._escalate import (
    DEFAULT_POLICY,
    ConversationState,
    Decision,
    Diagnostic,
    Engine,
    EscalateError,
    PolicyError,
    PolicyHandle,
    Reason,
    ReloadError,
    StateError,
    TurnError,
    __version__,
)

if TYPE_CHECKING:  # types for annotations only: `escalate.Turn`, `escalate.TurnLike`
    from escalate._escalate import Turn, TurnLike

__all__ = [
    "DEFAULT_POLICY",
    "ConversationState",
    "Decision",
    "Diagnostic",
    "Engine",
    "EscalateError",
    "PolicyError",
    "PolicyHandle",
    "Reason",
    "ReloadError",
    "StateError",
    "TurnError",
    "__version__",
]
