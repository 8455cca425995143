//! Errors of the what-if engine that stop the run (a statement that cannot be planned is a
//! `Skipped`, not an error).
//!
//! Stage `whatif`. Invariant: every variant says what we were doing and keeps the driver's error.

/// A failure of the what-if engine as a whole.
#[derive(Debug, thiserror::Error)]
pub enum WhatIfError {
    /// Could not open a session.
    #[error(transparent)]
    Connect(#[from] crate::pg::PgError),
    /// HypoPG is not installed in the database.
    #[error("hypopg is not installed in this database\n(as a superuser on the primary: CREATE EXTENSION hypopg;)")]
    NoHypoPg,
    /// A session query failed (not a single statement's EXPLAIN).
    #[error("what-if session: {context}: {message}")]
    Session {
        /// What we were doing.
        context: String,
        /// The server's message.
        message: String,
        /// The driver's error.
        #[source]
        source: Option<tokio_postgres::Error>,
    },
    /// HypoPG refused a candidate definition.
    #[error("hypopg cannot simulate candidate {id} ({label}): {message}")]
    Candidate {
        /// Candidate id.
        id: usize,
        /// Its label.
        label: String,
        /// The server's message.
        message: String,
    },
    /// A configuration has more indexes than one session may hold.
    #[error(
        "a configuration of {count} hypothetical indexes exceeds the per-session limit of {max}"
    )]
    TooManyIndexes {
        /// Indexes in the configuration.
        count: usize,
        /// The per-session limit.
        max: usize,
    },
    /// A request names a statement or candidate the engine was not given.
    #[error("unknown {what} {id} in a what-if request")]
    UnknownRequest {
        /// `statement` or `candidate`.
        what: &'static str,
        /// The id.
        id: i64,
    },
    /// Invalid engine options.
    #[error("invalid what-if options: {0}")]
    Options(String),
}

impl WhatIfError {
    /// A session query failure.
    pub fn session(context: impl Into<String>, e: tokio_postgres::Error) -> WhatIfError {
        WhatIfError::Session {
            context: context.into(),
            message: crate::pg::connect::db_message(&e),
            source: Some(e),
        }
    }
}

/// Whether a session error means the connection is gone (terminated, server restart).
fn session_lost(message: &str) -> bool {
    [
        "connection closed",
        "terminating connection",
        "server closed the connection",
    ]
    .iter()
    .any(|m| message.contains(m))
}

impl From<WhatIfError> for crate::error::Error {
    /// The same message (with a hint when the session was lost), the engine's error kept as
    /// the source.
    fn from(e: WhatIfError) -> Self {
        use crate::error::{Error, Kind};
        let kind = match e {
            WhatIfError::Connect(p) => return p.into(),
            WhatIfError::NoHypoPg => Kind::Prerequisite,
            WhatIfError::Options(_) => Kind::Usage,
            WhatIfError::UnknownRequest { .. } => Kind::Internal,
            _ => Kind::Database,
        };
        let message = match &e {
            WhatIfError::Session { message, .. } if session_lost(message) => format!(
                "{e}\n(the server ended the session or restarted during the what-if stage; nothing was written: run idxadvise again)"
            ),
            _ => e.to_string(),
        };
        Error::caused(kind, message, e)
    }
}
