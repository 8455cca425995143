//! Connection and query failures of the database edge.
//!
//! Stage: edge. Must not do I/O. Invariant: every variant carries a one-line reason, and the
//! driver's error stays attached as the source where there is one.

/// Connection failures, each with the fix in a hint.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// The URL or conninfo could not be understood.
    #[error("invalid connection string: {0}")]
    Config(String),
    /// The server could not be reached or refused us.
    #[error("cannot connect to {target}: {reason}\n({hint})")]
    Connect {
        /// Redacted target.
        target: String,
        /// What went wrong, one line.
        reason: String,
        /// How to fix it.
        hint: String,
        /// The driver's error.
        #[source]
        source: Option<tokio_postgres::Error>,
    },
    /// TLS could not be set up as asked.
    #[error("tls: {0}")]
    Tls(String),
    /// TLS could not be set up because something failed (a certificate file, the TLS
    /// library): the same message as [`PgError::Tls`], the failure kept as the source.
    #[error("tls: {message}")]
    TlsFailed {
        /// What failed, one line (it may repeat the source's text).
        message: String,
        /// The failure.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// A query failed.
    #[error("query failed: {context}: {message}")]
    Query {
        /// What we were doing.
        context: String,
        /// The server's message.
        message: String,
        /// The driver's error.
        #[source]
        source: tokio_postgres::Error,
    },
}

impl PgError {
    /// Wrap a query error with what we were doing.
    pub fn query(context: impl Into<String>, e: tokio_postgres::Error) -> PgError {
        PgError::Query {
            context: context.into(),
            message: db_message(&e),
            source: e,
        }
    }
}

/// The server's message of an error, or the error's own text.
pub fn db_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => {
            let mut s = e.to_string();
            let mut src = std::error::Error::source(e);
            while let Some(inner) = src {
                s.push_str(": ");
                s.push_str(&inner.to_string());
                src = inner.source();
            }
            s
        }
    }
}
