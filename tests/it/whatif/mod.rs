//! The what-if engine against the real example database: every candidate kind, custom vs
//! generic plans, the stale-generic-plan trap, hypothetical vs real indexes (plans, costs,
//! sizes), parallel determinism, no pg_stat_statements pollution, a hot standby, hostile names.

pub mod fixtures;

mod accuracy;
mod engine;
mod limits;
mod safety;
mod sizes;
mod value_risk;
