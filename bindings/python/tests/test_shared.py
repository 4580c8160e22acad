"""The shared cases of `tests/data/shared/` (see its README) through the Python API,
as `tests/conversations.rs` runs them through the Rust one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import escalate
from conftest import ROOT, SHARED


def check_subset(expected: Any, actual: Any, at: str = "") -> None:
    """Every key of an expected dict (a missing key counts as None), lists item by
    item and of the same length, anything else equal."""
    if isinstance(expected, dict):
        for key, want in expected.items():
            got = actual.get(key) if isinstance(actual, dict) else None
            check_subset(want, got, f"{at}.{key}")
    elif isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        for i, (want, got) in enumerate(zip(expected, actual)):
            check_subset(want, got, f"{at}[{i}]")
    else:
        assert expected == actual, f"{at}: expected {expected!r}, got {actual!r}"


def decision_json(decision: escalate.Decision) -> dict[str, Any]:
    result = decision.to_dict()
    result["phase"] = decision.phase
    result["starts_handoff"] = decision.starts_handoff
    return result


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


CONVERSATIONS = sorted((SHARED / "conversations").glob("*.json"))


def test_the_shared_conversations_are_there() -> None:
    assert len(CONVERSATIONS) >= 6


@pytest.mark.parametrize("path", CONVERSATIONS, ids=lambda p: p.stem)
def test_conversation(path: Path) -> None:
    case = load(path)
    engine = escalate.Engine.from_path(ROOT / case["policy"]) if "policy" in case else escalate.Engine.builtin()
    state = escalate.ConversationState()
    transcript: list[Any] = []
    last: escalate.Decision | None = None
    for i, step in enumerate(case["steps"]):
        if case.get("store_state"):
            state = escalate.ConversationState.from_json(state.to_json())
        actual: dict[str, Any]
        if "turn" in step:
            last = engine.evaluate(state, step["turn"])
            transcript.append(step["turn"])
            actual = decision_json(last)
        elif "bot" in step:
            transcript.append(step["bot"])
            continue
        elif "status" in step:
            last = engine.apply_status(state, step["status"])
            actual = decision_json(last)
        elif "handoff_consult" in step:
            assert last is not None, f"step {i}: handoff_consult before any decision"
            actual = engine.handoff_consult(last, step["handoff_consult"]["conversation_id"], transcript)
        else:
            assert last is not None, f"step {i}: handoff_initiate before any decision"
            actual = engine.handoff_initiate(last, step["handoff_initiate"]["conversation_id"], transcript)
        check_subset(step["expect"], actual, f"step {i}")


@pytest.mark.parametrize("case", load(SHARED / "bad-turns.json")["cases"], ids=lambda c: json.dumps(c["turn"]))
def test_bad_turn(case: dict[str, Any]) -> None:
    with pytest.raises(escalate.TurnError) as caught:
        escalate.Engine.builtin().evaluate(escalate.ConversationState(), case["turn"])
    error = caught.value
    assert (error.message, error.help, error.column) == (case["message"], case["help"], case["column"])
    assert error.json == json.dumps(case["turn"], separators=(",", ":"), ensure_ascii=False)


@pytest.mark.parametrize("case", load(SHARED / "bad-policies.json")["cases"])
def test_bad_policy(case: dict[str, Any]) -> None:
    with pytest.raises(escalate.PolicyError) as caught:
        if "path" in case:
            escalate.Engine.from_path(ROOT / case["path"])
        else:
            escalate.Engine.from_yaml(case["yaml"])
    actual = [
        {"code": d.code, "line": d.line, "column": d.column, "help": d.help} for d in caught.value.diagnostics
    ]
    check_subset(case["diagnostics"], actual, "diagnostics")


@pytest.mark.parametrize("case", load(SHARED / "bad-states.json")["cases"], ids=lambda c: c["json"])
def test_bad_state(case: dict[str, Any]) -> None:
    with pytest.raises(escalate.StateError) as caught:
        escalate.ConversationState.from_json(case["json"])
    message = str(caught.value)
    assert message.startswith("cannot read the saved conversation state: ")
    assert case["reason"] in message
