//! A turn that decides `none` allocates nothing once the per-thread buffers
//! have grown. Counted through a global allocator wrapper; this file is its
//! own test binary so nothing else allocates on the counting thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use escalate::{Action, ConversationState, Engine, Intent, Outcome, Turn};

#[path = "support/synthetic.rs"]
mod synthetic;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

/// Turns that decide `none`: plain, accented, emoji, with NLU scores and failures.
fn quiet_turns() -> Vec<Turn> {
    let scored = |text: &str, outcome| Turn {
        conversation_id: Some("c-1".into()),
        intent: Some(Intent {
            name: "order.status".into(),
            confidence: 0.8,
        }),
        sentiment: Some(0.1),
        outcome,
        locale: Some("en-GB".into()),
        ..Turn::user(text)
    };
    vec![
        scored("where is my parcel? it was due on Tuesday", Outcome::Ok),
        scored("Ich möchte meine Adresse ändern, bitte 🙂", Outcome::Ok),
        scored(
            "I don't need an agent, just the tracking number",
            Outcome::Ok,
        ),
        scored("what?", Outcome::NoMatch),
        scored("", Outcome::Ok),
    ]
}

fn assert_quiet_turns_do_not_allocate(engine: &Engine) {
    assert_turns_do_not_allocate(engine, quiet_turns());
}

fn assert_turns_do_not_allocate(engine: &Engine, turns: Vec<Turn>) {
    let mut state = ConversationState::new();
    // Warm up: the per-thread scratch buffers grow to these messages.
    for turn in &turns {
        assert_eq!(
            engine.evaluate(&mut state.clone(), turn).action,
            Action::None,
            "{:?}",
            turn.text
        );
    }
    for turn in &turns {
        let mut decision = None;
        let n = allocations_during(|| decision = Some(engine.evaluate(&mut state, turn)));
        assert_eq!(
            decision.map(|d| d.action),
            Some(Action::None),
            "{:?}",
            turn.text
        );
        assert_eq!(n, 0, "{n} allocations evaluating {:?}", turn.text);
    }
}

#[test]
fn the_builtin_policy_allocates_nothing_on_a_quiet_turn() {
    assert_quiet_turns_do_not_allocate(&Engine::builtin());
}

#[test]
fn a_thousand_phrase_policy_allocates_nothing_on_a_quiet_turn() {
    let phrases = synthetic::phrases(1_000);
    let engine = Engine::from_yaml(&synthetic::policy_yaml(&phrases, false)).unwrap();
    assert_quiet_turns_do_not_allocate(&engine);
}

/// The quiet turns without NLU scores: the built-in sentiment scorer reads them.
fn unscored(turns: Vec<Turn>) -> Vec<Turn> {
    turns
        .into_iter()
        .map(|turn| Turn {
            sentiment: None,
            ..turn
        })
        .collect()
}

#[test]
fn the_builtin_sentiment_scorer_allocates_nothing_on_a_quiet_turn() {
    let phrases = synthetic::phrases(1_000);
    let scored = synthetic::with_builtin_sentiment(&synthetic::policy_yaml(&phrases, false));
    // With phrases (the scorer reads the scan's text), without (it
    // normalizes the turn itself), and folding other than the lexicons'.
    let policies = [
        scored.clone(),
        "version: 1\nrules:\n  - { id: upset, when: { sentiment: { below: -0.5 } }, kind: fallback, action: offer }\n".to_string(),
        scored.replacen("version: 1\n", "version: 1\nmatching: { fold_accents: false }\n", 1),
        "version: 1\nrules:\n  - { id: loop, when: { repeats: { times: 3 } }, kind: fallback, action: offer }\n".to_string(),
    ];
    for yaml in policies {
        let engine = Engine::from_yaml(&yaml).unwrap();
        assert_turns_do_not_allocate(&engine, unscored(quiet_turns()));
    }
    assert_turns_do_not_allocate(&Engine::builtin(), unscored(quiet_turns()));
}

#[test]
fn the_counter_sees_allocations() {
    // The wrapper itself works: a decision that escalates does allocate.
    let engine = Engine::builtin();
    let turn = Turn::user("I want a real person");
    engine.evaluate(&mut ConversationState::new(), &turn);
    let n = allocations_during(|| {
        engine.evaluate(&mut ConversationState::new(), &turn);
    });
    assert!(n > 0);
}
