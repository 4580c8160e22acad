// The ES module entry point: the same objects as `require('escalate')`.
import escalate from './index.js'

export const {
  Engine,
  ConversationState,
  Decision,
  PolicyHandle,
  MAX_TURN_VALUES,
  EscalateError,
  PolicyError,
  TurnError,
  StateError,
  ReloadError,
} = escalate

export default escalate
