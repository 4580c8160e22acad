//! The phrase automaton as one flat transition table.
//!
//! `aho-corasick` builds the automaton; this copies its DFA into a table the
//! scan indexes directly, for two things the crate's `Automaton` trait
//! cannot give: the byte class of each byte the normalizer writes is looked
//! up in the same table entry as what the byte becomes (one load per byte
//! of text instead of three), and a match state's id carries a tag bit, so
//! that a test of the state itself says whether it matches (the trait's
//! test compares with a bound it reloads from memory on each byte).

use aho_corasick::Anchored;
use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::dfa;

/// Set in the id of every match state, as the transitions give it. An id
/// with the tag must go through [`FlatDfa::untag`] before it is read from.
pub(crate) const MATCH_TAG: u32 = 1 << 31;

/// A DFA over byte classes, with states numbered by their row's offset in
/// `trans` (a state's transitions are `trans[state..state + stride]`), and
/// match states, numbered last, tagged with [`MATCH_TAG`].
#[derive(Clone, Debug)]
pub(crate) struct FlatDfa {
    /// The class of each byte. Bytes that occur in no pattern share one.
    classes: [u8; 256],
    /// How many classes there are: the length of a row.
    stride: usize,
    /// Next states, by `state + class`.
    trans: Vec<u32>,
    /// The state before any byte is read.
    start: u32,
    /// Every state from this one on is a match state.
    first_match: u32,
    /// For the match state `first_match + i * stride`, its matches are
    /// `matches[match_starts[i]..match_starts[i + 1]]`.
    match_starts: Vec<u32>,
    /// Each match as (pattern id, pattern length in bytes).
    matches: Vec<(u32, u32)>,
}

impl FlatDfa {
    /// Copies `dfa`, built from `patterns`, into a flat table.
    pub(crate) fn new<P: AsRef<[u8]>>(dfa: &dfa::DFA, patterns: &[P]) -> Option<FlatDfa> {
        let (classes, stride, representatives) = byte_classes(patterns);
        let start = dfa.start_state(Anchored::No).ok()?;

        // Breadth first from the start state: `order` lists the states
        // found, `next` their transitions (as the crate's state ids).
        let mut index_of: Vec<u32> = Vec::new();
        let mut order = vec![start];
        set_index(&mut index_of, start, 0);
        let mut next: Vec<StateID> = Vec::new();
        let mut at = 0;
        while let Some(&state) = order.get(at) {
            for &byte in &representatives {
                let to = dfa.next_state(Anchored::No, state, byte);
                if index(&index_of, to).is_none() {
                    set_index(&mut index_of, to, order.len() as u32);
                    order.push(to);
                }
                next.push(to);
            }
            at += 1;
        }

        // Number the states that match after all the others, each as the
        // offset of its row.
        let (plain, matching): (Vec<usize>, Vec<usize>) =
            (0..order.len()).partition(|&i| !dfa.is_match(order[i]));
        let mut row_of = vec![0u32; order.len()];
        for (row, &i) in plain.iter().chain(&matching).enumerate() {
            row_of[i] = u32::try_from(row * stride)
                .ok()
                .filter(|&id| id < MATCH_TAG)?;
        }
        for &i in &matching {
            row_of[i] |= MATCH_TAG;
        }
        let mut trans = vec![0u32; order.len() * stride];
        for (i, targets) in next.chunks_exact(stride).enumerate() {
            let row = FlatDfa::untag(row_of[i]) as usize;
            for (class, &to) in targets.iter().enumerate() {
                trans[row + class] = row_of[index(&index_of, to)? as usize];
            }
        }
        let mut match_starts = vec![0u32];
        let mut matches = Vec::new();
        for &i in &matching {
            for m in 0..dfa.match_len(order[i]) {
                let pattern = dfa.match_pattern(order[i], m);
                matches.push((pattern.as_u32(), dfa.pattern_len(pattern) as u32));
            }
            match_starts.push(matches.len() as u32);
        }
        Some(FlatDfa {
            classes,
            stride,
            trans,
            start: FlatDfa::untag(row_of[0]),
            first_match: u32::try_from(plain.len() * stride).ok()?,
            match_starts,
            matches,
        })
    }

    /// The state before any byte is read, untagged.
    pub(crate) fn start(&self) -> u32 {
        self.start
    }

    /// The class of `byte`, to pass to [`FlatDfa::next`].
    #[inline(always)]
    pub(crate) fn class(&self, byte: u8) -> u8 {
        self.classes[byte as usize]
    }

    /// The state after reading a byte of `class` in the untagged `state`.
    #[inline(always)]
    pub(crate) fn next(&self, state: u32, class: u8) -> u32 {
        self.trans[state as usize + class as usize]
    }

    /// Whether `state` is a match state: whether it has the tag.
    #[inline(always)]
    pub(crate) fn is_match(state: u32) -> bool {
        state & MATCH_TAG != 0
    }

    /// `state` without the tag, to read its transitions.
    #[inline(always)]
    pub(crate) fn untag(state: u32) -> u32 {
        state & !MATCH_TAG
    }

    /// The matches of a match state, as (pattern id, pattern length).
    pub(crate) fn matches(&self, state: u32) -> &[(u32, u32)] {
        let i = (Self::untag(state) - self.first_match) as usize / self.stride;
        &self.matches[self.match_starts[i] as usize..self.match_starts[i + 1] as usize]
    }

    /// The heap memory the table uses, in bytes.
    pub(crate) fn memory_usage(&self) -> usize {
        self.trans.len() * 4 + self.match_starts.len() * 4 + self.matches.len() * 8
    }
}

/// Gives each byte that occurs in a pattern a class of its own, and every
/// other byte one class they share (they all lead where any of them does).
/// Returns the classes, how many there are, and one byte of each.
fn byte_classes<P: AsRef<[u8]>>(patterns: &[P]) -> ([u8; 256], usize, Vec<u8>) {
    let mut used = [false; 256];
    for pattern in patterns {
        for &b in pattern.as_ref() {
            used[b as usize] = true;
        }
    }
    let mut classes = [0u8; 256];
    let mut representatives: Vec<u8> = Vec::new();
    let mut shared = None;
    for byte in 0..=255u8 {
        let class = match (used[byte as usize], shared) {
            (false, Some(class)) => class,
            (used, _) => {
                let class = representatives.len() as u8;
                representatives.push(byte);
                if !used {
                    shared = Some(class);
                }
                class
            }
        };
        classes[byte as usize] = class;
    }
    (classes, representatives.len(), representatives)
}

fn index(index_of: &[u32], state: StateID) -> Option<u32> {
    index_of
        .get(state.as_usize())
        .copied()
        .filter(|&i| i != u32::MAX)
}

fn set_index(index_of: &mut Vec<u32>, state: StateID, index: u32) {
    let at = state.as_usize();
    if at >= index_of.len() {
        index_of.resize(at + 1, u32::MAX);
    }
    index_of[at] = index;
}

#[cfg(test)]
mod tests {
    use super::*;
    use aho_corasick::MatchKind;

    /// Every match the crate's own overlapping search finds, the flat table
    /// finds at the same end with the same pattern, and no other.
    #[test]
    fn finds_what_the_crate_finds() {
        let patterns = [
            " human ",
            " real person ",
            " no ",
            " not ",
            " person ",
            " a ",
            " café ",
            " 42 ",
        ];
        let texts = [
            " i want a real person ",
            " no not a human a human ",
            " humans know nothing ",
            " café au lait 42 42 ",
            " ",
            " aaaa a a ",
        ];
        let dfa = dfa::Builder::new()
            .match_kind(MatchKind::Standard)
            .prefilter(false)
            .build(patterns)
            .unwrap();
        let flat = FlatDfa::new(&dfa, &patterns).unwrap();
        let searcher = aho_corasick::AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(patterns)
            .unwrap();
        for text in texts {
            let mut want: Vec<(usize, u32)> = searcher
                .find_overlapping_iter(text)
                .map(|m| (m.end(), m.pattern().as_u32()))
                .collect();
            let mut got = Vec::new();
            let mut state = flat.start();
            for (i, &b) in text.as_bytes().iter().enumerate() {
                state = flat.next(state, flat.class(b));
                if FlatDfa::is_match(state) {
                    for &(pattern, len) in flat.matches(state) {
                        assert_eq!(len as usize, patterns[pattern as usize].len());
                        got.push((i + 1, pattern));
                    }
                    state = FlatDfa::untag(state);
                }
            }
            want.sort();
            got.sort();
            assert_eq!(got, want, "{text:?}");
        }
    }

    #[test]
    fn bytes_in_no_pattern_share_a_class() {
        let (classes, stride, representatives) = byte_classes(&["ab", "b c"]);
        assert_eq!(stride, 5);
        let other = classes[0];
        assert!(b"xyz!\xff".iter().all(|&b| classes[b as usize] == other));
        let distinct: std::collections::BTreeSet<u8> =
            b"ab c".iter().map(|&b| classes[b as usize]).collect();
        assert_eq!(distinct.len(), 4);
        assert!(!distinct.contains(&other));
        for (class, &byte) in representatives.iter().enumerate() {
            assert_eq!(classes[byte as usize] as usize, class);
        }
    }
}
