//! Stage `select`: the set of indexes for the whole workload, weighing read gain against write
//! cost and storage, and the indexes to drop.
//!
//! Pure apart from asking a [`crate::whatif::WhatIf`] for costs. Invariant: every recommended
//! index carries its evidence (statements helped, before → after, size, write cost).

pub mod recommendation;

pub use recommendation::{
    DropProposal, DropReason, Helped, Proposed, Recommendation, StatementEffect,
};
