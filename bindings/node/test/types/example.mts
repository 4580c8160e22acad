// The same package imported from an ES module.
import escalate, { Engine, ConversationState, type Decision } from 'escalate'

const decision: Decision = Engine.builtin().evaluate(new ConversationState(), { text: 'hi' })
const same: typeof Engine = escalate.Engine
export { decision, same }
