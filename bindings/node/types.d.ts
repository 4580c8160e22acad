// The data the package takes and gives, as the library's serde JSON: a turn
// is exactly one line of a `.jsonl` transcript, a decision's `toJSON()` is
// exactly the decision JSON `escalate-check run --format json` prints.
// Written by hand from the Rust types (src/turn.rs, src/decision.rs,
// src/handoff/mod.rs, src/error.rs); `native.d.ts`, generated from the
// binding, uses them.

/** What the bot should do after a turn. */
export type Action = 'none' | 'offer' | 'consult' | 'collect' | 'escalate'
/** Why a rule escalates: a situation planned for, or the bot failing. */
export type Kind = 'planned' | 'fallback'
/** Where a conversation stands in the handoff to a person. */
export type Phase = 'bot' | 'offered' | 'collecting' | 'consulting' | 'waiting' | 'with_agent'
/** How the bot follows up when no agent can come. */
export type FallbackChannel = 'ticket' | 'callback' | 'email'
/** The urgency of a route. */
export type Priority = 'low' | 'normal' | 'high' | 'urgent'
/** Who wrote a turn. */
export type Role = 'user' | 'bot'
/** How the bot fared on a turn. */
export type Outcome = 'ok' | 'no_match' | 'invalid_input' | 'no_input'
/** The kind of condition that produced a reason. */
export type Trigger =
  | 'menu'
  | 'keyword'
  | 'confidence'
  | 'intent'
  | 'sentiment'
  | 'failures'
  | 'repeats'
  | 'topic'
  | 'script'
  | 'lifecycle'
  | 'availability'

/** One intent recognized by the bot's NLU. */
export interface Intent {
  name: string
  /** From 0 to 1 (clamped). */
  confidence: number
}

/**
 * One message of a conversation: exactly the fields of a transcript line,
 * every one optional. Unknown fields are refused (put your own data under
 * `attributes`); a field set to `undefined` counts as absent.
 */
export interface Turn {
  conversation_id?: string | null
  /** The message's activity id, for the handoff transcript. */
  id?: string | null
  role?: Role
  text?: string
  menu?: string | null
  intent?: Intent | null
  intents?: Intent[]
  /** From -1 to 1 (clamped). */
  sentiment?: number | null
  outcome?: Outcome
  /** Such as `en` or `es-MX`. */
  locale?: string | null
  /** Whether agents can take the conversation now; absent means yes. */
  agents_available?: boolean | null
  /** RFC 3339; hours and timeouts are judged by it. */
  timestamp?: string | null
  /** Anything else the bot knows, for scripts: JSON data. */
  attributes?: Record<string, unknown>
}

/** How a word of the user's text was read as a phrase's word. */
export interface ReadAs {
  said: string
  as: string
  /** `typo`, `word_form`, `joined` or `split`. */
  how: string
}

/** A phrase found in the text; `start..end` are byte offsets into it. */
export interface PhraseEvidence {
  topic?: string
  phrase: string
  start: number
  end: number
  read?: ReadAs[]
}
/** A topic's regex pattern matched. */
export interface PatternEvidence {
  topic: string
  pattern: string
  start: number
  end: number
}
/** The menu option picked. */
export interface MenuEvidence {
  option: string
}
/** A word that moved the built-in sentiment score. */
export interface SentimentWord {
  /** The word as the user wrote it. */
  word: string
  /** What it added before normalization (lexicon valence -4..4 after boosters, negation, capitals, "but"). */
  valence: number
  start: number
  end: number
}
/** A sentiment the built-in scorer gave, compared with a threshold. */
export interface SentimentEvidence {
  observed: number
  threshold: number
  turns?: number
  /** `builtin`. */
  scorer: string
  /** The language of the lexicon that scored the turn. */
  language: string
  /** This turn's score, -1 to 1. */
  score: number
  words: SentimentWord[]
}
/** A number compared with a threshold. */
export interface ThresholdEvidence {
  observed: number
  threshold: number
  turns?: number
}
/** The turn's top intent, for an `intent` trigger. */
export interface IntentEvidence {
  intent: string
  /** Clamped to 0..1; absent when the turn gave no number. */
  confidence?: number
  /** The listed name or glob it matched; absent when it is none of the bot's capabilities. */
  matched?: string
}
/** A count compared with a threshold. */
export interface CountEvidence {
  counted: string
  count: number
  threshold: number
}
/** An earlier message alike to this turn's. */
export interface Repeat {
  turn: number
  /** 0 to 1, three decimals. */
  similarity: number
}
/** The user wrote nearly the same message `count` times. */
export interface RepeatsEvidence {
  count: number
  times: number
  threshold: number
  earlier: Repeat[]
}
/** A script evaluated to true. */
export interface ScriptEvidence {
  script: string
}
/** The condition under a `not` did not hold. */
export interface NotEvidence {
  not: string
}
/** A step of the handoff. */
export interface LifecycleEvidence {
  from: Phase
  to: Phase
  event: string
}
/** Why no agent can take the conversation now. */
export interface AvailabilityEvidence {
  queue: string
  /** `agents unavailable`, `outside hours`, `holiday` or `closure`. */
  closed: string
  local_time?: string
}
/** The evidence behind one reason (untagged: each shape has its own fields). */
export type Evidence =
  | PhraseEvidence
  | PatternEvidence
  | MenuEvidence
  | SentimentEvidence
  | ThresholdEvidence
  | IntentEvidence
  | CountEvidence
  | RepeatsEvidence
  | ScriptEvidence
  | NotEvidence
  | LifecycleEvidence
  | AvailabilityEvidence

/** One rule that fired, with the trigger that made it fire. */
export interface Reason {
  rule: string
  trigger: Trigger
  kind: Kind
  action: Action
  /** One line for people. */
  detail: string
  evidence: Evidence
}

/** Where a handed-over conversation goes. */
export interface Route {
  queue: string
  skill: string | null
  priority: Priority
}

/** Which policy made a decision: its name and the first 16 hex digits of its SHA-256. */
export interface PolicyId {
  name: string
  hash: string
}

/** A rule that could not be evaluated on a turn (a script that failed). */
export interface EvalError {
  rule: string
  message: string
}

/** The decision JSON, as `escalate-check run --format json` prints it. */
export interface DecisionJSON {
  conversation_id: string | null
  turn: number
  action: Action
  kind: Kind | null
  rule: string | null
  reasons: Reason[]
  route: Route | null
  message: string | null
  agent_note: string | null
  policy?: PolicyId
  errors?: EvalError[]
  /** Absent when `bot`. */
  phase?: Phase
  /** Present on the offline path. */
  fallback_channel?: FallbackChannel
  /** On the offline path to a queue with hours: when it opens next (RFC 3339). */
  opens_at?: string
  /** Present when the action is `collect`. */
  collect?: Collect
  /** What a triage collected, on the decision that hands over after it. */
  collected?: Record<string, string>
  /** Present when the action is `consult`, and on the decision the agent's answer or the timeout gives. */
  consult?: Consult
}

/** Supervision: the proposal a `consult` decision puts to an agent, and the answer once given. */
export interface Consult {
  proposal: string
  /** Why the agent is asked. */
  note?: string
  /** Absent until the agent answers. */
  answer?: 'approved' | 'declined' | 'timed_out'
}

/** Triage: what a `collect` decision's question (its `message`) asks for. */
export interface Collect {
  attribute: string
  /** From 1. */
  question: number
  /** The most questions the triage asks. */
  of: number
}

/** One problem in a policy, located in its file. */
export interface Diagnostic {
  /** Stable kebab-case name, such as `unknown-field`. */
  code: string
  severity: 'error' | 'warning'
  file: string
  /** From 1; 0 when the problem has no place in the file. */
  line: number
  /** From 1, in characters. */
  column: number
  /** The column just past the offending span on the same line (to underline `column..end`); 0 with `column` when there is no place. */
  end: number
  message: string
  /** Absent when there is no likely fix. */
  help?: string
}

/**
 * A saved conversation state: what `JSON.stringify(state)` writes. Its
 * fields are the library's storage format (`v` is the format version);
 * treat it as opaque.
 */
export interface SavedState {
  v: number
  turns: number
  [field: string]: unknown
}

/** A Bot Framework `ChannelAccount`. */
export interface ChannelAccount {
  id: string
  name?: string
  role?: string
  [field: string]: unknown
}

/** A Bot Framework `ConversationAccount`. */
export interface ConversationAccount {
  id: string
  isGroup?: boolean
  conversationType?: string
  name?: string
  [field: string]: unknown
}

/**
 * A Bot Framework conversation reference, as the SDK's
 * `TurnContext.getConversationReference(activity)` gives it.
 */
export interface ConversationReference {
  activityId?: string
  user: ChannelAccount
  bot: ChannelAccount
  conversation: ConversationAccount
  channelId: string
  locale?: string
  serviceUrl: string
  [field: string]: unknown
}

/** The agent hub's `handoff.status` event activity. */
export interface HandoffStatusEvent {
  type: 'event'
  name: 'handoff.status'
  value: { state: 'accepted' | 'failed' | 'completed' | 'approved' | 'declined'; message?: string }
  conversation?: { id: string; [field: string]: unknown }
  [field: string]: unknown
}

/** The Bot Framework `handoff.consult` event activity: the envelope of `handoff.initiate`, its `value` with the `consult` proposal. */
export interface HandoffConsultEvent extends Omit<HandoffInitiateEvent, 'name' | 'value'> {
  name: 'handoff.consult'
  /** The routing context, and `consult: { proposal, note? }`. */
  value: Record<string, unknown> & { consult: { proposal: string; note?: string } }
}

/** The Bot Framework `handoff.initiate` event activity the engine builds. */
export interface HandoffInitiateEvent {
  type: 'event'
  name: 'handoff.initiate'
  id: string
  timestamp: string
  /** The routing context the policy's `handoff.context` names. */
  value: Record<string, unknown>
  conversation: ConversationAccount
  from: ChannelAccount
  relatesTo: ConversationReference
  replyToId?: string
  attachments: Array<{
    name: 'Transcript'
    contentType: 'application/json'
    content: { activities: Array<Record<string, unknown>> }
  }>
  entities: unknown[]
  serviceUrl: string
  channelId: string
}
