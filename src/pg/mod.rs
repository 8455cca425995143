//! PostgreSQL plumbing shared by the I/O stages: connecting (TLS, session settings) and quoting.
//!
//! Stage: edge. Only `collect`, `check` and `whatif` use [`connect`]; [`quote`] is pure and used
//! by every stage that writes SQL.

pub mod connect;
pub mod error;
pub mod quote;
mod sslmode;
mod tls;

pub use connect::{connect, ConnectOptions, Connection, PgError};
