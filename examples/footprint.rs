//! How much heap an `Engine` keeps, for the built-in policy and generated
//! policies of 50, 1,000 and 10,000 phrases:
//!
//! ```sh
//! cargo run --release --example footprint
//! ```
//!
//! Counts live bytes through a global allocator wrapper: the bytes still
//! allocated after compiling, minus those before.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use escalate::{DEFAULT_POLICY, Engine};

#[path = "../tests/support/synthetic.rs"]
mod synthetic;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn report(name: &str, yaml: &str) {
    let before = LIVE.load(Ordering::Relaxed);
    let engine = Engine::from_yaml(yaml).expect("policy compiles");
    let kept = LIVE.load(Ordering::Relaxed) - before;
    let summary = engine.summary();
    println!(
        "{name:>8}: {:>6} phrases, engine {:>6} KiB (automaton {:>5} KiB)",
        summary.phrases,
        kept / 1024,
        summary.automaton_bytes / 1024
    );
}

fn main() {
    for count in [50, 1_000, 10_000] {
        report(
            &count.to_string(),
            &synthetic::policy_yaml(&synthetic::phrases(count), false),
        );
    }
    report("builtin", DEFAULT_POLICY);
}
