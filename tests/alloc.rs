//! A turn that decides `none` allocates nothing once the per-thread buffers
//! have grown, except while a script reads the turn's attributes (they are
//! copied into the script's variables). Counted through a global allocator
//! wrapper; this file is its own test binary so nothing else allocates on
//! the counting thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use escalate::{Action, ConversationState, Engine, Intent, Outcome, Turn};

#[path = "support/synthetic.rs"]
mod synthetic;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
    /// Bytes allocated and not yet freed by this thread (what it frees of
    /// other threads' memory makes this drift, which the tests avoid).
    static LIVE: Cell<isize> = const { Cell::new(0) };
}

fn live(change: isize) {
    LIVE.with(|n| n.set(n.get() + change));
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        live(layout.size() as isize);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        live(-(layout.size() as isize));
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        live(new_size as isize - layout.size() as isize);
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

/// The exception, both sides. On the built-in policy the script of
/// `gold-after-two-failures` (`attributes.tier == "gold"`) runs once the
/// conversation has two failures (a script goes last in its `all`). Before
/// that a silver customer's quiet turns allocate nothing, and so they do on
/// a policy without scripts; after it, a turn that decides `none` allocates
/// to copy the attributes into the script's variables.
#[test]
fn a_script_reading_attributes_is_the_one_exception() {
    let silver = |turn: Turn| {
        let mut turn = turn;
        turn.attributes.insert("tier".into(), "silver".into());
        turn
    };
    let silver_turns = || quiet_turns().into_iter().map(silver).collect::<Vec<_>>();
    let phrases = synthetic::phrases(1_000);
    let no_scripts = Engine::from_yaml(&synthetic::policy_yaml(&phrases, false)).unwrap();
    assert_turns_do_not_allocate(&no_scripts, silver_turns());
    let engine = Engine::builtin();
    assert_turns_do_not_allocate(&engine, silver_turns());

    // Two failures in: the silver customer's next turn runs the script and decides `none`.
    let mut state = ConversationState::new();
    for _ in 0..2 {
        let failed = silver(Turn {
            outcome: Outcome::NoMatch,
            ..Turn::user("what?")
        });
        assert_eq!(engine.evaluate(&mut state, &failed).action, Action::None);
    }
    let turn = silver(Turn::user("where is my parcel?"));
    engine.evaluate(&mut state.clone(), &turn);
    let mut decision = None;
    let n = allocations_during(|| decision = Some(engine.evaluate(&mut state.clone(), &turn)));
    assert_eq!(decision.map(|d| d.action), Some(Action::None));
    assert!(
        n > 0,
        "the script's variables are built without allocating: update README and DESIGN"
    );
}

/// A huge turn grows the per-thread buffers; they are given back after it,
/// so the thread does not hold megabytes for the rest of its life.
#[test]
fn the_buffers_shrink_after_a_huge_turn() {
    let engine = Engine::builtin();
    let mut state = ConversationState::new();
    for turn in quiet_turns() {
        engine.evaluate(&mut state, &turn);
    }
    let before = LIVE.with(Cell::get);
    let huge = Turn::user("where is my parcel? ".repeat(200_000)); // 4 MB
    let decision = engine.evaluate(&mut state, &huge);
    assert_eq!(decision.action, Action::None);
    drop((decision, huge));
    let held = LIVE.with(Cell::get) - before;
    assert!(
        held < 64 << 10,
        "the thread holds {held} more bytes after a 4 MB turn"
    );
    // And it still evaluates small turns as before.
    assert_turns_do_not_allocate(&engine, quiet_turns());
}
