//! Stage `parse`: from a pg_stat_statements text to a [`QueryShape`] or a [`Skipped`] record.
//!
//! Must not do I/O. The only module that touches `sqlparser::ast`. Invariant: every statement of
//! the workload ends as exactly one shape or one skip.

pub mod shape;

pub use shape::{
    LikeUse, Limit, OrderKey, ParamOp, ParamUse, QueryShape, StatementKind, TableAccess,
};
