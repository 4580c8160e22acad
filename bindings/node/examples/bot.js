'use strict'
// A Bot Framework bot (the official `botbuilder` SDK) that asks escalate, on
// every user message, whether to hand the conversation to a person now,
// offer to, or carry on, and does the handoff:
//
// - the engine's state for the conversation lives in the SDK's
//   `ConversationState` (here on `MemoryStorage`), through a state
//   property, with the recent turns for the handoff transcript;
// - when the decision offers or escalates (or the handoff has something to
//   say: the waiting message, a declined offer...), the bot says the
//   decision's message;
// - when `decision.startsHandoff`, it sends the `handoff.initiate` event
//   the engine builds, addressed with the SDK's conversation reference;
// - the agent hub's `handoff.status` events go back through the engine,
//   which moves the conversation to `with_agent`, or back to the bot.
//
// `node examples/bot.js` runs a short conversation through the SDK's
// `TestAdapter` and prints what the bot sends. In a real bot, give the
// same `EscalationBot` to a `CloudAdapter` (`adapter.process(req, res,
// (context) => bot.run(context))`), and use a durable storage.

const { ActivityHandler, ActivityTypes, ConversationState, MemoryStorage, TurnContext } = require('botbuilder')
const escalate = require('escalate')

class EscalationBot extends ActivityHandler {
  /**
   * @param {import('botbuilder').ConversationState} conversationState where the bot keeps each conversation
   * @param {import('escalate').Engine} engine the compiled policy (or a `PolicyHandle`'s `engine`)
   * @param {(text: string) => string} answer what the bot says when it carries on
   */
  constructor(conversationState, engine, answer = (text) => `You said: ${text}`) {
    super()
    this.conversationState = conversationState
    this.engine = engine
    this.answer = answer
    // { state: the engine's saved state, transcript: the recent turns, user and bot }
    this.escalation = conversationState.createProperty('escalation')

    this.onMessage(async (context, next) => {
      const kept = await this.load(context)
      const activity = context.activity
      const turn = {
        conversation_id: activity.conversation.id,
        id: activity.id,
        text: activity.text ?? '',
        locale: activity.locale,
        timestamp: activity.timestamp instanceof Date ? activity.timestamp.toISOString() : activity.timestamp,
      }
      const decision = this.engine.evaluate(kept.state, turn)
      this.remember(kept, turn)

      if (kept.state.phase === 'with_agent') {
        // An agent has the conversation: relay the message to the hub (not shown).
      } else if (decision.message) {
        await this.say(context, kept, decision.message)
      } else {
        await this.say(context, kept, this.answer(turn.text))
      }
      if (decision.startsHandoff) {
        const reference = TurnContext.getConversationReference(activity)
        const event = this.engine.handoffInitiate(decision, reference, kept.transcript)
        await context.sendActivity(event)
      }
      await this.save(context, kept)
      await next()
    })

    this.onEvent(async (context, next) => {
      if (context.activity.name === 'handoff.status') {
        const kept = await this.load(context)
        const decision = this.engine.applyStatus(kept.state, context.activity)
        if (decision.message) await this.say(context, kept, decision.message)
        await this.save(context, kept)
      }
      await next()
    })
  }

  /** Saves the conversation state the SDK loaded for this turn. */
  async run(context) {
    await super.run(context)
    await this.conversationState.saveChanges(context)
  }

  /** The engine's state and the transcript, from the SDK's conversation state. */
  async load(context) {
    const stored = await this.escalation.get(context, { state: null, transcript: [] })
    let state
    try {
      state = stored.state ? escalate.ConversationState.fromJSON(stored.state) : new escalate.ConversationState()
    } catch (error) {
      if (!(error instanceof escalate.StateError)) throw error
      console.warn(`${error.message}; starting the conversation afresh`)
      state = new escalate.ConversationState()
    }
    return { state, transcript: stored.transcript }
  }

  async save(context, kept) {
    await this.escalation.set(context, { state: kept.state.toJSON(), transcript: kept.transcript })
  }

  /** Keeps a turn for the handoff transcript: as many as the policy sends. */
  remember(kept, turn) {
    kept.transcript.push(turn)
    kept.transcript.splice(0, Math.max(0, kept.transcript.length - this.engine.transcriptTurns))
  }

  async say(context, kept, text) {
    const sent = await context.sendActivity(text)
    this.remember(kept, { conversation_id: context.activity.conversation.id, id: sent?.id, role: 'bot', text })
  }
}

module.exports = { EscalationBot }

if (require.main === module) {
  const { TestAdapter } = require('botbuilder')
  const bot = new EscalationBot(new ConversationState(new MemoryStorage()), escalate.Engine.builtin())
  const adapter = new TestAdapter((context) => bot.run(context))
  adapter.onTurnError = async (context, error) => console.error(error)
  const show = (activity) => {
    if (activity.type === ActivityTypes.Message) console.log(`bot: ${activity.text}`)
    else console.log(`bot sends ${activity.type} ${activity.name}: ${JSON.stringify(activity.value)}`)
  }
  const conversation = [
    'hi, my parcel has not arrived',
    'I want to talk to a real person, my card is 4242 4242 4242 4242',
    { type: ActivityTypes.Event, name: 'handoff.status', value: { state: 'accepted' } },
    'hello?',
    { type: ActivityTypes.Event, name: 'handoff.status', value: { state: 'completed' } },
  ]
  ;(async () => {
    for (const activity of conversation) {
      console.log(typeof activity === 'string' ? `user: ${activity}` : `hub: ${activity.name} ${activity.value.state}`)
      await adapter.send(activity).startTest()
      adapter.activeQueue.splice(0).forEach(show)
    }
  })()
}
