//! Stage `cost`: what an index is worth (read gain) and what it costs (write maintenance),
//! in units that can be compared.
//!
//! Pure: no database, no what-if calls (costs come in as numbers). Invariant: read gain and
//! write cost are both expressed in milliseconds of database time per second of workload, so
//! `net = read − write` is meaningful; planner cost units are reported beside them.

pub mod read;
pub mod value_risk;
pub mod write;

pub use read::{ReadGain, ReadUnit, StatementWeight};
pub use write::{TableWriteModel, WriteCalibration, WriteCost, WriteModel, CALIBRATION};
