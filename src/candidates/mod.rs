//! Stage `candidates`: from query shapes and the catalog to the B-tree indexes worth simulating.
//!
//! Must not do I/O. Invariant: candidates are deduplicated and sorted by spec; each remembers
//! which statements it came from and the rule that produced it.

pub mod candidate;

pub use candidate::{Advice, Candidate, CandidateSet, Rule, Source};
