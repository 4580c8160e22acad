"""A Bot Framework bot (the official `botbuilder-core` SDK) that asks escalate on every turn.

Each message is evaluated; the engine's state and the recent turns live in the SDK's
`ConversationState` storage (here `MemoryStorage`; Cosmos DB or Blob storage in production).
When the decision hands over, the bot tells the user and sends the `handoff.initiate` event,
with the redacted transcript, that an agent hub (Omnichannel, LivePerson, ...) acts on; the
hub's `handoff.status` events move the conversation through its phases.

Run its test: `pytest tests/test_bot.py`.
"""

from __future__ import annotations

from typing import Any

from botbuilder.core import ActivityHandler, ConversationState, TurnContext
from botbuilder.schema import Activity, ActivityTypes

import escalate


class EscalationBot(ActivityHandler):  # type: ignore[misc]
    """Answers what it can and hands over to a person when the policy says so."""

    def __init__(self, engine: escalate.Engine, storage_state: ConversationState) -> None:
        self.engine = engine
        self.storage_state = storage_state
        self.saved = storage_state.create_property("escalate")

    async def on_turn(self, turn_context: TurnContext) -> None:
        await super().on_turn(turn_context)
        await self.storage_state.save_changes(turn_context)

    async def _load(self, turn_context: TurnContext) -> tuple[dict[str, Any], escalate.ConversationState]:
        saved: dict[str, Any] = await self.saved.get(turn_context, dict)
        state = escalate.ConversationState.from_json(saved["state"]) if "state" in saved else escalate.ConversationState()
        return saved, state

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        saved, state = await self._load(turn_context)
        activity = turn_context.activity
        turn = {
            "conversation_id": activity.conversation.id,
            "id": activity.id,
            "text": activity.text or "",
            "locale": activity.locale or "en-US",
            "timestamp": activity.timestamp.isoformat() if activity.timestamp else None,
        }
        decision = self.engine.evaluate(state, {k: v for k, v in turn.items() if v is not None})
        transcript: list[dict[str, Any]] = saved.setdefault("transcript", [])
        transcript.append({k: v for k, v in turn.items() if v is not None})

        if decision.phase == "with_agent":
            pass  # an agent has the conversation: the hub relays the message
        elif decision.action != "none" and decision.message:
            await turn_context.send_activity(decision.message)
            transcript.append({"conversation_id": activity.conversation.id, "role": "bot", "text": decision.message})
        else:
            reply = "I can help with orders, deliveries and returns."
            await turn_context.send_activity(reply)
            transcript.append({"conversation_id": activity.conversation.id, "role": "bot", "text": reply})

        if decision.starts_handoff:
            reference = TurnContext.get_conversation_reference(activity).serialize()
            event = self.engine.handoff_initiate(decision, reference, transcript)
            await turn_context.send_activity(Activity.deserialize(event))

        del transcript[: -self.engine.transcript_turns]
        saved["state"] = state.to_json()

    async def on_event_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        if activity.name != "handoff.status":
            return
        saved, state = await self._load(turn_context)
        decision = self.engine.apply_status(state, activity.serialize())
        if decision.message and activity.type == ActivityTypes.event:
            await turn_context.send_activity(decision.message)
        saved["state"] = state.to_json()
