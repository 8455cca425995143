//! The shared vocabulary of every stage: server facts, the catalog, the workload, write
//! statistics, index specifications and their access methods.
//!
//! Stage: none (plain data). Must not do I/O or touch `sqlparser::ast`. Invariant: every type
//! here is serde-serialisable so any stage after `collect` can be driven from JSON fixtures.

pub mod app_names;
pub mod catalog;
pub mod index;
pub mod log;
pub mod method;
pub mod observation;
pub mod observed;
pub mod server;
pub mod skip;
pub mod snapshot;
pub mod units;
pub mod versioned;
pub mod workload;
pub mod writes;

pub use app_names::{AppNames, ContentType, ModelName, NameSource};
pub use catalog::{Catalog, Column, ColumnStats, ExistingIndex, Table};
pub use index::{IndexKey, IndexSpec, KeyExpr, PredTerm, Predicate};
pub use log::{LogEntry, LogReading};
pub use method::IndexMethod;
pub use observation::{Basis, Observation, PrimaryStatements, RunsOn, ServerShare, WriteRates};
pub use observed::{ObservedStatement, ObservedValues, ValueSource};
pub use server::ServerInfo;
pub use skip::{SkipReason, Skipped};
pub use snapshot::{Snapshot, SNAPSHOT_FORMAT_VERSION};
pub use units::human_bytes;
pub use workload::{Statement, Workload};
pub use writes::{TableWrites, WindowWrites, WriteSource, WriteStats};
