//! The bot-as-proxy handoff loop, end to end: the bot decides, hands over
//! with `handoff.initiate`, relays messages while an agent has the
//! conversation, and takes it back when the agent hub says `completed`.
//!
//! Run with `cargo run --example proxy`. The agent hub is simulated; in a
//! real bot its `handoff.status` events arrive on the bot's endpoint and the
//! `handoff.initiate` event goes out through the channel's connector.

use std::collections::VecDeque;

use escalate::{
    ConversationReference, ConversationState, Decision, Engine, HandoffState, HandoffStatus, Phase,
    Role, Turn,
};

/// What the bot keeps per conversation: the engine's state, the last turns
/// for the transcript, and where the conversation lives.
struct Conversation {
    state: ConversationState,
    recent: VecDeque<Turn>,
    reference: ConversationReference,
}

impl Conversation {
    fn remember(&mut self, turn: Turn, keep: usize) {
        if self.recent.len() == keep {
            self.recent.pop_front();
        }
        self.recent.push_back(turn);
    }
}

/// One user message through the bot (its NLU has filled in the turn).
fn on_user_message(engine: &Engine, conversation: &mut Conversation, turn: Turn) {
    println!("user:  {}", turn.text);
    let turn = Turn {
        conversation_id: Some(conversation.reference.conversation.id.as_str().into()),
        ..turn
    };
    conversation.remember(turn.clone(), engine.transcript_turns());
    // While an agent has the conversation, the bot only relays.
    if conversation.state.phase() == Phase::WithAgent {
        engine.evaluate(&mut conversation.state, &turn); // counts the turn, decides nothing
        println!("       (relayed to the agent)");
        return;
    }
    let decision = engine.evaluate(&mut conversation.state, &turn);
    explain(&decision);
    let reply = decision
        .message
        .clone()
        .unwrap_or_else(|| "(the bot answers as usual)".into());
    say(engine, conversation, &reply);
    if decision.starts_handoff() {
        let recent = conversation.recent.make_contiguous();
        let event = engine.handoff_initiate(&decision, &conversation.reference, recent);
        let transcript = event["attachments"][0]["content"]["activities"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        println!(
            "       -> sends handoff.initiate to queue `{}` with {} transcript turns, ending:",
            event["value"]["queue"].as_str().unwrap_or("?"),
            transcript.len()
        );
        if let Some(last) = transcript
            .iter()
            .rev()
            .find(|a| a["from"]["role"] == "user")
        {
            println!(
                "          user: {}",
                last["text"].as_str().unwrap_or_default()
            );
        }
    }
    if let Some(channel) = decision.fallback_channel {
        println!("       -> no live agent: follow up by {channel}");
    }
}

/// A status from the agent hub.
fn on_status(engine: &Engine, conversation: &mut Conversation, status: HandoffStatus) {
    println!("hub:   handoff.status {}", status.state);
    let decision = engine.apply_status(&mut conversation.state, &status);
    explain(&decision);
    if let Some(message) = &decision.message {
        say(engine, conversation, message);
    }
    if let Some(channel) = decision.fallback_channel {
        println!("       -> no live agent: follow up by {channel}");
    }
}

fn say(engine: &Engine, conversation: &mut Conversation, text: &str) {
    println!("bot:   {text}");
    let turn = Turn {
        role: Role::Bot,
        ..Turn::user(text)
    };
    conversation.remember(turn, engine.transcript_turns());
}

fn explain(decision: &Decision) {
    for reason in &decision.reasons {
        println!("       [{}] {}", reason.trigger, reason.detail);
    }
    println!("       phase: {}", decision.phase);
}

fn main() {
    let engine = Engine::builtin();
    let mut conversation = Conversation {
        state: ConversationState::new(),
        recent: VecDeque::new(),
        reference: ConversationReference::placeholder("demo-1"),
    };
    let c = &mut conversation;

    println!("--- an offer declined, then a request for a person ---");
    let annoyed = Turn {
        sentiment: Some(-0.9),
        ..Turn::user("this is useless, I'm so annoyed")
    };
    on_user_message(&engine, c, annoyed);
    on_user_message(&engine, c, Turn::user("no thanks"));
    let card = "my card 4242 4242 4242 4242 was charged twice, get me a real person";
    on_user_message(&engine, c, Turn::user(card));
    on_user_message(&engine, c, Turn::user("hello? still there?"));

    println!("--- the agent hub takes it, the agent helps, and hands back ---");
    on_status(
        &engine,
        c,
        HandoffStatus::new(Some("demo-1"), HandoffState::Accepted),
    );
    on_user_message(
        &engine,
        c,
        Turn::user("it was the double charge on the 3rd"),
    );
    on_status(
        &engine,
        c,
        HandoffStatus::new(Some("demo-1"), HandoffState::Completed),
    );
    on_user_message(&engine, c, Turn::user("great, that's all"));

    println!("--- another request, and the hub cannot take it ---");
    on_user_message(&engine, c, Turn::user("talk to a human please"));
    on_status(
        &engine,
        c,
        HandoffStatus::new(Some("demo-1"), HandoffState::Failed)
            .with_message("No agents available"),
    );
}
