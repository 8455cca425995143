//! Exit codes and the top-level error type the CLI maps to them.
//!
//! Invariant: every exit code is a documented constant (README, "Exit codes").

/// Success, nothing to recommend (or a command that recommends nothing).
pub const EXIT_OK: i32 = 0;
/// `analyze`: there are recommendations (so CI can use analyze as a check).
pub const EXIT_RECOMMENDATIONS: i32 = 1;
/// Bad usage or invalid input (arguments, snapshot file, configuration).
pub const EXIT_USAGE: i32 = 2;
/// Could not connect (unreachable, refused, authentication, TLS, missing database).
pub const EXIT_CONNECT: i32 = 3;
/// Connected, but the server lacks something idxadvise needs (extension, privilege);
/// `check` found a problem.
pub const EXIT_PREREQUISITE: i32 = 4;
/// A query or the connection failed mid-run.
pub const EXIT_DATABASE: i32 = 5;
/// Output could not be written (permissions, disk full); nothing half-written is left.
pub const EXIT_OUTPUT: i32 = 6;
/// The workload is empty or every statement was skipped (with `--strict`: any skip).
pub const EXIT_WORKLOAD: i32 = 7;
/// Any other failure (a bug: please report it).
pub const EXIT_INTERNAL: i32 = 70;

/// Errors that reach the CLI, each mapped to an exit code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Invalid arguments or input files.
    #[error("{0}")]
    Usage(String),
    /// Could not connect.
    #[error(transparent)]
    Connect(crate::pg::PgError),
    /// The server lacks a prerequisite.
    #[error("{0}")]
    Prerequisite(String),
    /// A database operation failed mid-run.
    #[error("{0}")]
    Database(String),
    /// Output could not be written.
    #[error("{message}")]
    Output {
        /// What failed, with the path.
        message: String,
        /// The I/O error.
        #[source]
        source: Option<std::io::Error>,
    },
    /// Nothing to analyse.
    #[error("{0}")]
    Workload(String),
    /// Anything else.
    #[error("{0}")]
    Internal(String),
}

impl Error {
    /// The documented exit code of this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => EXIT_USAGE,
            Error::Connect(crate::pg::PgError::Query { .. }) => EXIT_DATABASE,
            Error::Connect(crate::pg::PgError::Config(_)) => EXIT_USAGE,
            Error::Connect(_) => EXIT_CONNECT,
            Error::Prerequisite(_) => EXIT_PREREQUISITE,
            Error::Database(_) => EXIT_DATABASE,
            Error::Output { .. } => EXIT_OUTPUT,
            Error::Workload(_) => EXIT_WORKLOAD,
            Error::Internal(_) => EXIT_INTERNAL,
        }
    }

    /// An output error for a path.
    pub fn output(path: &std::path::Path, e: std::io::Error) -> Error {
        Error::Output {
            message: format!("cannot write {:?}: {e}", path.display().to_string()),
            source: Some(e),
        }
    }
}

impl From<crate::pg::PgError> for Error {
    fn from(e: crate::pg::PgError) -> Self {
        match e {
            crate::pg::PgError::Query { .. } => Error::Database(e.to_string()),
            other => Error::Connect(other),
        }
    }
}

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Writing to stdout failed because the reader went away (`idxadvise … | head`).
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Output { source: Some(e), .. } if e.kind() == std::io::ErrorKind::BrokenPipe)
    }

    /// The message for the user: the error and its hint, as printed after `error: `.
    pub fn message(&self) -> String {
        self.to_string()
    }
}

impl From<std::io::Error> for Error {
    /// An I/O error on the output writer (stdout).
    fn from(e: std::io::Error) -> Self {
        Error::Output {
            message: format!("cannot write output: {e}"),
            source: Some(e),
        }
    }
}

impl Error {
    /// A short machine-readable name of the error's kind (`usage`, `connect`, `prerequisite`,
    /// `database`, `output`, `workload`, `internal`).
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Usage(_) => "usage",
            Error::Connect(crate::pg::PgError::Query { .. }) => "database",
            Error::Connect(crate::pg::PgError::Config(_)) => "usage",
            Error::Connect(_) => "connect",
            Error::Prerequisite(_) => "prerequisite",
            Error::Database(_) => "database",
            Error::Output { .. } => "output",
            Error::Workload(_) => "workload",
            Error::Internal(_) => "internal",
        }
    }

    /// The error as JSON, for `--format json` (printed on stdout, where the result would have
    /// been): `{"format_version": 1, "error": {"kind", "exit_code", "message", "hint"}}`, the
    /// hint being the message's parenthesised second line, when it has one.
    pub fn to_json(&self) -> String {
        let full = self.message();
        let (message, hint) = match full.split_once('\n') {
            Some((m, h)) => (
                m.to_string(),
                Some(
                    h.trim()
                        .trim_start_matches('(')
                        .trim_end_matches(')')
                        .to_string(),
                ),
            ),
            None => (full.clone(), None),
        };
        let v = serde_json::json!({
            "format_version": 1,
            "error": {
                "kind": self.kind(),
                "exit_code": self.exit_code(),
                "message": message,
                "hint": hint,
            }
        });
        let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
        s.push('\n');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_errors_carry_kind_code_message_and_hint() {
        let e = Error::Prerequisite(
            "role \"x\" cannot SELECT\n(fix: GRANT pg_read_all_data TO \"x\";)".into(),
        );
        let v: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
        assert_eq!(v["format_version"], 1);
        assert_eq!(v["error"]["kind"], "prerequisite");
        assert_eq!(v["error"]["exit_code"], EXIT_PREREQUISITE);
        assert_eq!(v["error"]["message"], "role \"x\" cannot SELECT");
        assert_eq!(v["error"]["hint"], "fix: GRANT pg_read_all_data TO \"x\";");
        let v: serde_json::Value =
            serde_json::from_str(&Error::Usage("bad".into()).to_json()).unwrap();
        assert!(v["error"]["hint"].is_null());
    }
}
