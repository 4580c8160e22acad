// The example bot (examples/bot.js) driven through a conversation by the
// SDK's own TestAdapter: an ordinary message, a request for a person (the
// reply and the handoff.initiate event, against the SDK's own
// EventFactory.createHandoffInitiation), the hub's handoff.status events.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { ActivityTypes, ConversationState, EventFactory, MemoryStorage, TestAdapter } = require('botbuilder')
const escalate = require('escalate')
const { EscalationBot } = require('../examples/bot.js')

const KEY = 'test/conversations/Convo1/' // where the SDK's ConversationState keeps the conversation
/** As it goes over the wire: JSON, where an `undefined` field is no field. */
const wire = (value) => JSON.parse(JSON.stringify(value))
const REQUEST = 'I want to talk to a real person, my card is 4242 4242 4242 4242'

test('the example bot: no handoff, then a handoff, then the hub takes it and gives it back', async () => {
  const storage = new MemoryStorage()
  const engine = escalate.Engine.builtin()
  const bot = new EscalationBot(new ConversationState(storage), engine)
  const adapter = new TestAdapter(async (context) => {
    await bot.run(context)
    if (context.activity.text === REQUEST) {
      // What the SDK itself sends for this turn, through the same context
      // (which sets `from`, `recipient` and the addressing on the way out).
      await context.sendActivity(EventFactory.createHandoffInitiation(context, { any: 'context' }, { activities: [] }))
    }
  })
  const phase = () => {
    const stored = JSON.parse(storage.memory[KEY])
    return escalate.ConversationState.fromJSON(stored.escalation.state).phase
  }

  await adapter
    .send('hi, my parcel has not arrived')
    .assertReply('You said: hi, my parcel has not arrived')
    .assertNoReply()
  assert.equal(phase(), 'bot')

  let initiate
  let sdkEvent
  await adapter
    .send(REQUEST)
    .assertReply('Let me connect you with a person who can help.')
    .assertReply((activity) => {
      initiate = activity
    })
    .assertReply((activity) => {
      sdkEvent = activity
    })
    .assertNoReply()
  assert.equal(phase(), 'waiting')

  assert.equal(initiate.type, ActivityTypes.Event)
  assert.equal(initiate.type, sdkEvent.type)
  assert.equal(initiate.name, 'handoff.initiate')
  assert.equal(initiate.name, sdkEvent.name)
  for (const field of ['conversation', 'from', 'recipient', 'relatesTo', 'replyToId', 'serviceUrl', 'channelId']) {
    assert.deepEqual(wire(initiate[field]), wire(sdkEvent[field]), field)
  }
  assert.equal(initiate.value.rule, 'asks-for-human')
  assert.equal(initiate.value.queue, 'general')
  assert.equal(initiate.attachments.length, 1)
  const [transcript] = initiate.attachments
  assert.equal(transcript.name, sdkEvent.attachments[0].name)
  assert.equal(transcript.contentType, sdkEvent.attachments[0].contentType)
  assert.deepEqual(Object.keys(transcript.content), Object.keys(sdkEvent.attachments[0].content))
  assert.deepEqual(
    transcript.content.activities.map((a) => [a.type, a.from.id, a.text]),
    [
      ['message', 'user1', 'hi, my parcel has not arrived'],
      ['message', 'bot', 'You said: hi, my parcel has not arrived'],
      ['message', 'user1', 'I want to talk to a real person, my card is **** **** **** 4242'],
      ['message', 'bot', 'Let me connect you with a person who can help.'],
    ],
  )

  await adapter.send({ type: ActivityTypes.Event, name: 'handoff.status', value: { state: 'accepted' } }).assertNoReply()
  assert.equal(phase(), 'with_agent')

  // With an agent, the bot relays and says nothing itself.
  await adapter.send('hello?').assertNoReply()
  assert.equal(phase(), 'with_agent')

  await adapter
    .send({ type: ActivityTypes.Event, name: 'handoff.status', value: { state: 'completed' } })
    .assertReply((activity) => assert.match(activity.text, /back with the virtual assistant/))
    .assertNoReply()
  assert.equal(phase(), 'bot')
})

test('the example bot takes the offline path when the hub fails the handoff', async () => {
  const storage = new MemoryStorage()
  const bot = new EscalationBot(new ConversationState(storage), escalate.Engine.builtin())
  const adapter = new TestAdapter((context) => bot.run(context))
  await adapter
    .send('real person please')
    .assertReply('Let me connect you with a person who can help.')
    .assertReply((activity) => assert.equal(activity.name, 'handoff.initiate'))
    .send({ type: ActivityTypes.Event, name: 'handoff.status', value: { state: 'failed', message: 'No agents available' } })
    .assertReply((activity) => assert.equal(activity.type, ActivityTypes.Message))
    .assertNoReply()
  const stored = JSON.parse(storage.memory[KEY])
  assert.equal(escalate.ConversationState.fromJSON(stored.escalation.state).phase, 'bot')
})

test('the example bot starts afresh on a corrupt stored state', async () => {
  const storage = new MemoryStorage()
  const bot = new EscalationBot(new ConversationState(storage), escalate.Engine.builtin())
  const adapter = new TestAdapter((context) => bot.run(context))
  await adapter.send('hi').assertReply('You said: hi')
  const stored = JSON.parse(storage.memory[KEY])
  stored.escalation.state = { v: 99, turns: 1 }
  storage.memory[KEY] = JSON.stringify(stored)
  const warn = console.warn
  const warnings = []
  console.warn = (message) => warnings.push(message)
  try {
    await adapter.send('real person please').assertReply('Let me connect you with a person who can help.')
  } finally {
    console.warn = warn
  }
  assert.equal(warnings.length, 1)
  assert.match(warnings[0], /^cannot read the saved conversation state: state version 99/)
})
