"""The example bot (`examples/bot.py`) driven by the SDK's own `TestAdapter`: what it
sends must be Bot Framework activities as `botbuilder-schema` defines them."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from botbuilder.core import ConversationState, MemoryStorage, TurnContext
from botbuilder.core.adapters import TestAdapter
from botbuilder.schema import Activity, ActivityTypes, ConversationAccount

import escalate

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
from bot import EscalationBot  # noqa: E402


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def make() -> tuple[TestAdapter, EscalationBot, ConversationState]:
    storage_state = ConversationState(MemoryStorage())
    bot = EscalationBot(escalate.Engine.builtin(), storage_state)
    return TestAdapter(bot.on_turn), bot, storage_state


def sent(adapter: TestAdapter) -> list[Activity]:
    activities = list(adapter.activity_buffer)
    adapter.activity_buffer.clear()
    return activities


def test_an_ordinary_message_gets_an_answer_and_no_handoff() -> None:
    adapter, _, _ = make()
    run(adapter.receive_activity("where is my parcel"))
    activities = sent(adapter)
    assert [a.type for a in activities] == ["message"]


def test_a_request_for_a_person_sends_handoff_initiate_as_the_schema_defines_it() -> None:
    adapter, _, _ = make()
    run(adapter.receive_activity("hi, my card 4242 4242 4242 4242 was charged twice"))
    sent(adapter)
    run(adapter.receive_activity("i want to talk to a real person"))
    reply, event = sent(adapter)
    assert reply.type == "message" and reply.text

    assert event.type == ActivityTypes.event
    assert event.name == "handoff.initiate"
    assert event.value["rule"] == "asks-for-human"
    assert event.conversation.id == "Convo1"
    assert event.relates_to is not None and event.relates_to.conversation.id == "Convo1"
    (attachment,) = event.attachments
    assert attachment.name == "Transcript" and attachment.content_type == "application/json"
    texts = [a["text"] for a in attachment.content["activities"]]
    assert texts[0] == "hi, my card **** **** **** 4242 was charged twice"
    assert texts[-2:] == ["i want to talk to a real person", reply.text]
    # Every field the engine wrote is a field of the schema's Activity: reading the
    # event into the schema's model and writing it back loses nothing.
    wire = event.serialize()
    again = Activity.deserialize(wire).serialize()
    assert again == wire
    assert Activity.deserialize(wire).validate() == []


def test_the_hub_status_events_move_the_conversation_through_its_phases() -> None:
    adapter, bot, storage_state = make()
    run(adapter.receive_activity("i want to speak to an agent"))
    sent(adapter)

    def phase() -> str:
        template = adapter.template
        context = TurnContext(adapter, Activity(type="message", channel_id=template.channel_id, conversation=ConversationAccount(id="Convo1")))
        run(storage_state.load(context))
        saved = run(bot.saved.get(context, dict))
        return escalate.ConversationState.from_json(saved["state"]).phase

    assert phase() == "waiting"
    status = Activity(type=ActivityTypes.event, name="handoff.status", value={"state": "accepted"})
    run(adapter.receive_activity(status))
    assert phase() == "with_agent"
    run(adapter.receive_activity("are you there?"))
    assert sent(adapter) == []  # the agent has the conversation; the bot stays quiet
    run(adapter.receive_activity(Activity(type=ActivityTypes.event, name="handoff.status", value={"state": "completed"})))
    assert phase() == "bot"
