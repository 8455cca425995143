//! idxadvise: which PostgreSQL indexes will make a slow Django API fast, proven with the
//! planner (HypoPG), written as Django migrations.
//!
//! ```text
//! PostgreSQL ─collect─► Snapshot {server, catalog, workload, write_stats}   (idxadvise collect -o snap.json)
//!    parse      Snapshot → QueryShape | Skipped{queryid, reason}             pure, the only user of sqlparser::ast
//!    candidates QueryShape[] + catalog → Candidate{IndexSpec, sources}       pure
//!    whatif     Request{queryid, config} → Evaluation {cost, used, plan}       I/O, behind a `WhatIf` trait
//!    cost       read benefit − write penalty, sizes                          pure
//!    select     Problem {stmts, cands, cost cache} + budget → Recommendation (create, drop, per-query before→after)
//!    naming     Recommendation + catalog + target's reserved names → Named  pure, before any output
//!    evidence   costs before/after of every statement, plans of the changed   I/O (whatif), before any output
//!    emit       Named → Target: sql script, django migrations + Meta.indexes  pure; files + index → file
//!    report     text | json | markdown, plan diffs (similar)                 pure
//! ```
//!
//! [`analyze::run`] only sequences these stages: each decision lives in its stage's module
//! (`preflight`, `collect::source`, `select::drop_policy`, `naming`, `whatif::evidence`,
//! `emit::Target`, `report::{assemble, evidence, stdout}`), and no top-level module imports one
//! that imports it back (`tests/it/layers.rs`). The report, every output target and `verify`'s
//! baseline use the names [`naming`] chose; which file creates an index is the output
//! target's answer ([`emit::TargetFiles`]), never a search of the files' text.
//!
//! Only `collect` (and `check`) and `whatif` hold a database client; every arrow is a plain
//! serde type, so every stage after `collect` can be tested from JSON fixtures. idxadvise never
//! changes the database it analyses: sessions are read-only and hypothetical indexes live in
//! its own session only.

pub mod analyze;
pub mod candidates;
pub mod check;
pub mod cli;
pub mod collect;
pub mod config;
pub mod cost;
pub mod demo;
pub mod emit;
pub mod error;
pub mod example;
pub mod model;
pub mod naming;
pub mod parse;
pub mod pg;
pub mod preflight;
pub mod pyproject;
pub mod report;
pub mod sandbox;
pub mod select;
pub mod verify;
pub mod whatif;
