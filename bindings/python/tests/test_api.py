"""The Python API beyond the shared cases: every class, the errors, hostile input,
threads and hot reload."""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path

import pytest

import escalate
from conftest import ROOT, escalate_check

ASK = {"conversation_id": "c-9", "text": "I want to talk to a real person"}


def test_engine_identity_and_warnings() -> None:
    engine = escalate.Engine.builtin()
    assert engine.name == "default"
    assert set(engine.policy_id) == {"name", "hash"} and len(engine.policy_id["hash"]) == 16
    assert engine.warnings == []
    assert "asks-for-human" in engine.rule_ids
    assert escalate.Engine.from_yaml(escalate.DEFAULT_POLICY).policy_id == engine.policy_id
    linted = escalate.Engine.from_path(ROOT / "tests/data/lint.yaml")
    assert linted.warnings and all(w.severity == "warning" for w in linted.warnings)
    assert linted.warnings[0].to_dict()["code"] == linted.warnings[0].code
    first = linted.warnings[0]
    assert (first.line, first.column, first.end) == (6, 3, 12)
    assert first.to_dict()["end"] == first.end


def test_decision_attributes_match_its_json() -> None:
    engine = escalate.Engine.builtin()
    decision = engine.evaluate(escalate.ConversationState(), ASK)
    data = decision.to_dict()
    assert data == json.loads(decision.to_json())
    assert (decision.action, decision.kind, decision.rule) == (data["action"], data["kind"], data["rule"])
    assert decision.route == data["route"] and decision.route is not None
    assert decision.message == data["message"] and decision.agent_note == data["agent_note"]
    assert decision.policy == engine.policy_id
    assert decision.conversation_id == "c-9" and decision.turn == 1
    assert decision.phase == "waiting" and decision.starts_handoff and decision.is_escalation
    assert not decision.is_offer and decision.fallback_channel is None and decision.errors == []
    assert decision.opens_at is None and "opens_at" not in data
    assert [r.to_dict() for r in decision.reasons] == data["reasons"]
    first = decision.reasons[0]
    assert (first.rule, first.trigger, first.kind, first.action) == ("asks-for-human", "keyword", "fallback", "escalate")
    assert first.evidence["phrase"] and first.detail.startswith("phrase ")
    assert repr(decision) == "Decision(action='escalate', rule='asks-for-human', turn=1)"
    assert decision.collect is None and decision.collected == {}


def test_supervision_consults_then_the_agent_approves() -> None:
    engine = escalate.Engine.from_path(ROOT / "policies/examples/bank.yaml")
    state = escalate.ConversationState()
    turn = {"text": "can you refund the overdraft fee"}
    ask = engine.evaluate(state, turn)
    assert (ask.action, ask.phase) == ("consult", "consulting")
    assert ask.starts_consult and not ask.starts_handoff and not ask.is_approved
    assert ask.consult is not None and ask.consult["proposal"] == "Refund the customer's last fee"
    assert "answer" not in ask.consult
    event = engine.handoff_consult(ask, "c-1", [turn])
    assert event["name"] == "handoff.consult" and event["id"] == "consult-c-1-1"
    assert event["value"]["consult"]["proposal"] == ask.consult["proposal"]
    assert event["attachments"][0]["content"]["activities"][0]["text"] == turn["text"]
    status = {"type": "event", "name": "handoff.status", "value": {"state": "declined"}}
    done = engine.apply_status(state, status)
    assert done.consult is not None and done.consult["answer"] == "declined"
    assert not done.is_approved and done.message == "I'm sorry, we can't refund that fee this time."
    assert state.phase == "bot"


def test_triage_asks_then_hands_over_with_what_it_collected() -> None:
    engine = escalate.Engine.from_path(ROOT / "policies/examples/bank.yaml")
    state = escalate.ConversationState()
    ask = engine.evaluate(state, {"text": "I sent money to the wrong account"})
    assert (ask.action, ask.phase, ask.message) == ("collect", "collecting", "How much did you send?")
    assert ask.collect == {"attribute": "amount", "question": 1, "of": 2}
    assert not ask.starts_handoff
    engine.evaluate(state, {"text": "450"})
    done = engine.evaluate(state, {"text": "A Jones"})
    assert (done.action, done.phase, done.collect) == ("escalate", "waiting", None)
    assert done.collected == {"amount": "450", "payee": "A Jones"}


RICH: list[dict[str, object]] = [
    dict(ASK),
    {
        "conversation_id": "c-5", "id": "m-1", "role": "user", "text": "this is useless", "menu": None,
        "intent": {"name": "billing.dispute", "confidence": 0.31},
        "intents": [{"name": "billing.dispute", "confidence": 0.31}, {"name": "refund", "confidence": 0.29}],
        "sentiment": -0.8, "outcome": "no_match", "locale": "en-GB", "agents_available": True,
        "timestamp": "2026-12-01T10:00:00Z", "attributes": {"tier": "gold", "tags": ["a", 1, 2.5, None, False]},
    },
    {"conversation_id": "c-5", "text": "still useless", "outcome": "no_match", "sentiment": -1},
]


def test_decisions_are_the_cli_s_for_the_same_turns() -> None:
    """The fast path reads a dict field by field: the decisions must be those the CLI
    makes from the same turns written as JSON lines."""
    cli = subprocess.run(
        [escalate_check(), "run", "--format", "json", "-"],
        input="\n".join(json.dumps(t) for t in RICH), capture_output=True, text=True, cwd=ROOT, check=True,
    )
    engine = escalate.Engine.builtin()
    states: dict[object, escalate.ConversationState] = {}
    ours = [engine.evaluate(states.setdefault(t.get("conversation_id"), escalate.ConversationState()), t).to_json()
            for t in RICH]
    assert ours == cli.stdout.strip().split("\n")


def test_state_round_trips_and_refuses_what_it_cannot_read() -> None:
    engine = escalate.Engine.builtin()
    state = escalate.ConversationState()
    assert state.phase == "bot" and state.turns == 0
    engine.evaluate(state, {"text": "hello", "outcome": "no_match"})
    again = escalate.ConversationState.from_json(state.to_json())
    assert again == state and again.turns == 1
    assert escalate.ConversationState.from_json(state.to_json().encode()) == state
    with pytest.raises(escalate.StateError, match="newer release"):
        escalate.ConversationState.from_json('{"v": 99, "turns": 1}')
    assert issubclass(escalate.StateError, escalate.EscalateError)


def test_a_policy_error_is_the_cli_s_located_report() -> None:
    with pytest.raises(escalate.PolicyError) as caught:
        escalate.Engine.from_path(ROOT / "tests/data/broken.yaml")
    report = str(caught.value)
    assert "error[unknown-topic]: unknown topic `bereavment`" in report
    assert "--> " in report and "tests/data/broken.yaml:9:20" in report
    assert "help: did you mean `bereavement`?" in report
    (first, *_) = caught.value.diagnostics
    assert (first.code, first.line, first.column) == ("invalid-pattern", 6, 16)
    with pytest.raises(escalate.PolicyError, match="cannot read"):
        escalate.Engine.from_path(ROOT / "no-such-policy.yaml")


def test_bad_and_hostile_turns_raise_turn_error_and_never_crash() -> None:
    engine = escalate.Engine.builtin()
    state = escalate.ConversationState()
    deep: dict[str, object] = {}
    node = deep
    for _ in range(10_000):
        node["a"] = {}
        node = node["a"]  # type: ignore[assignment]
    cyclic: dict[str, object] = {}
    cyclic["self"] = cyclic
    for attributes in [deep, cyclic]:
        with pytest.raises(escalate.TurnError) as caught:
            engine.evaluate(state, {"text": "hi", "attributes": attributes})
        assert caught.value.message == "the turn nests more than 128 levels deep"
        assert caught.value.help == "flatten `attributes`"
    cases: list[tuple[object, str]] = [
        ("I want a person", "a turn is a JSON object"),
        ({"text": "hi", "timestamp": object()}, "the value is not JSON"),
        ({"text": "hi", "sentiment": True}, "invalid type: boolean `true`, expected f64"),
        ({"text": "hi", "sentiment": float("nan")}, "JSON has no `NaN` or `Infinity`"),
        ({"text": "hi", "attributes": {"score": float("inf")}}, "JSON has no `NaN` or `Infinity`"),
        ({"text": "hi", "intent": {"name": "x"}}, "missing field `confidence`"),
    ]
    for bad, message in cases:
        with pytest.raises(escalate.TurnError, match=message):
            engine.evaluate(state, bad)  # type: ignore[arg-type]
    assert state.turns == 0, "a refused turn does not count"
    long = engine.evaluate(state, {"text": "real person please " * 50_000})
    assert long.action == "escalate"


def test_status_events_and_handoff_initiate() -> None:
    engine = escalate.Engine.builtin()
    state = escalate.ConversationState()
    turns = [{"conversation_id": "c-3", "id": "m1", "text": "card 4242 4242 4242 4242, real person please"}]
    decision = engine.evaluate(state, turns[0])
    event = engine.handoff_initiate(decision, "c-3", turns)
    assert event["name"] == "handoff.initiate" and event["relatesTo"]["activityId"] == "m1"
    assert event["attachments"][0]["content"]["activities"][0]["text"].startswith("card **** **** **** 4242")
    reference = {
        "user": {"id": "u-1"}, "bot": {"id": "b-1"}, "conversation": {"id": "c-3"},
        "channelId": "webchat", "serviceUrl": "https://example.org/",
    }
    assert engine.handoff_initiate(decision, reference, turns)["channelId"] == "webchat"
    with pytest.raises(escalate.TurnError, match="invalid conversation reference"):
        engine.handoff_initiate(decision, {"user": 1}, turns)
    accepted = engine.apply_status(state, {"type": "event", "name": "handoff.status", "value": {"state": "accepted"}})
    assert accepted.phase == "with_agent" == state.phase
    with pytest.raises(escalate.TurnError, match="state"):
        engine.apply_status(state, {"type": "event", "name": "handoff.status", "value": {"stat": "accepted"}})
    assert engine.redact("mail me at jane@example.com") != "mail me at jane@example.com"


def test_one_engine_serves_many_threads() -> None:
    engine = escalate.Engine.builtin()
    results: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(200):
            decision = engine.evaluate(escalate.ConversationState(), ASK)
            with lock:
                results.append(decision.rule or "")

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["asks-for-human"] * 800


def test_policy_handle_reloads_and_keeps_the_old_policy_on_a_bad_edit(tmp_path: Path) -> None:
    policy = tmp_path / "bot.yaml"
    policy.write_text(
        "version: 1\nname: bot\nrules:\n"
        "  - { id: human, when: { keywords: [human] }, kind: fallback, action: escalate }\n"
    )
    handle = escalate.PolicyHandle.from_path(policy)
    assert handle.path == policy
    assert handle.evaluate(escalate.ConversationState(), {"text": "a human"}).rule == "human"
    served = handle.engine.policy_id

    policy.write_text("version: 1\nname: bot\nrules: [oops]\n")
    with pytest.raises(escalate.PolicyError):
        handle.reload()
    assert handle.engine.policy_id == served

    policy.write_text(
        "version: 1\nname: bot\nrules:\n"
        "  - { id: person, when: { keywords: [person] }, kind: fallback, action: escalate }\n"
    )
    (tmp_path / "bot.tests.yaml").write_text(
        "tests:\n  - name: a human is escalated\n    turns: [{ text: a human }]\n    expect: { action: escalate }\n"
    )
    with pytest.raises(escalate.ReloadError, match="a human is escalated"):
        handle.reload()
    assert handle.engine.policy_id == served

    (tmp_path / "bot.tests.yaml").unlink()
    new = handle.reload()
    assert new != served and handle.engine.policy_id == new
    assert handle.evaluate(escalate.ConversationState(), {"text": "a person"}).rule == "person"


def test_the_offline_path_to_a_queue_with_hours_says_when_it_opens() -> None:
    engine = escalate.Engine.from_yaml(
        "version: 1\n"
        'messages: { offline: "Back {opens}." }\n'
        'queues: { general: { hours: { time_zone: Europe/Paris, open: { mon-fri: "09:00-18:00" } } } }\n'
        "rules:\n  - { id: human, when: { keywords: [agent] }, kind: fallback, action: escalate }\n"
    )
    # Saturday 5 December 2026, 10:00 in Paris.
    closed = engine.evaluate(escalate.ConversationState(), {"text": "agent", "locale": "fr", "timestamp": "2026-12-05T09:00:00Z"})
    assert closed.message == "Back lundi à 09:00."
    assert closed.opens_at == "2026-12-07T09:00:00+01:00" == closed.to_dict()["opens_at"]
    opened = engine.evaluate(escalate.ConversationState(), {"text": "agent", "timestamp": "2026-12-07T09:00:00Z"})
    assert opened.opens_at is None
