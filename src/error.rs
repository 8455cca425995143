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

/// The error an [`Error`] was made from, kept as its [`source`](std::error::Error::source).
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The exit-code family of an [`Error::Caused`]: the same families as the message-only
/// variants of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// As [`Error::Usage`].
    Usage,
    /// As [`Error::Prerequisite`].
    Prerequisite,
    /// As [`Error::Database`].
    Database,
    /// As [`Error::Workload`].
    Workload,
    /// As [`Error::Internal`].
    Internal,
}

impl Kind {
    /// The documented exit code.
    pub fn exit_code(self) -> i32 {
        match self {
            Kind::Usage => EXIT_USAGE,
            Kind::Prerequisite => EXIT_PREREQUISITE,
            Kind::Database => EXIT_DATABASE,
            Kind::Workload => EXIT_WORKLOAD,
            Kind::Internal => EXIT_INTERNAL,
        }
    }

    /// The name [`Error::kind`] gives.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Usage => "usage",
            Kind::Prerequisite => "prerequisite",
            Kind::Database => "database",
            Kind::Workload => "workload",
            Kind::Internal => "internal",
        }
    }
}

/// Errors that reach the CLI, each mapped to an exit code.
///
/// An error made from another one keeps it as its source ([`Error::Caused`],
/// [`Error::Connect`], [`Error::Output`]): the message the user sees is ours, one line and a
/// hint; the chain below it is there for code (a broken pipe, a driver error).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Invalid arguments or input files.
    #[error("{0}")]
    Usage(String),
    /// A failure of the database edge: could not connect (or a bad connection string), or a
    /// query failed (exit code by the [`PgError`](crate::pg::PgError) variant).
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
    /// An error of kind `kind` made from another error, which stays its source.
    #[error("{message}")]
    Caused {
        /// Which exit code.
        kind: Kind,
        /// What failed, for the user (it may repeat the source's text).
        message: String,
        /// The error it was made from.
        #[source]
        source: Cause,
    },
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
            Error::Caused { kind, .. } => kind.exit_code(),
        }
    }

    /// An error of `kind` saying `message`, made from `source` (kept as its source).
    pub fn caused(kind: Kind, message: impl Into<String>, source: impl Into<Cause>) -> Error {
        Error::Caused {
            kind,
            message: message.into(),
            source: source.into(),
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
    /// Kept whole: a failed query maps to [`EXIT_DATABASE`], the rest as documented on
    /// [`Error::exit_code`].
    fn from(e: crate::pg::PgError) -> Self {
        Error::Connect(e)
    }
}

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Writing to stdout failed because the reader went away (`idxadvise … | head`): an
    /// output error whose chain of sources holds a broken pipe.
    pub fn is_broken_pipe(&self) -> bool {
        if !matches!(self, Error::Output { .. }) {
            return false;
        }
        let mut cause = std::error::Error::source(self);
        while let Some(e) = cause {
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            {
                return true;
            }
            cause = e.source();
        }
        false
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
            Error::Caused { kind, .. } => kind.name(),
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

    /// The sources below an error, outermost first, as their `Display` texts.
    fn chain(e: &dyn std::error::Error) -> Vec<String> {
        let mut out = vec![];
        let mut at = e.source();
        while let Some(s) = at {
            out.push(s.to_string());
            at = s.source();
        }
        out
    }

    #[test]
    fn a_wrapped_error_keeps_its_source_message_and_exit_code() {
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied");
        let e = Error::caused(Kind::Usage, "cannot read \"x.log\": denied", io);
        assert_eq!(e.message(), "cannot read \"x.log\": denied");
        assert_eq!((e.exit_code(), e.kind()), (EXIT_USAGE, "usage"));
        let source = std::error::Error::source(&e).expect("a source");
        let io = source
            .downcast_ref::<std::io::Error>()
            .expect("the io::Error");
        assert_eq!(io.kind(), std::io::ErrorKind::PermissionDenied);
        assert!(!e.is_broken_pipe());
    }

    #[test]
    fn module_errors_converted_at_the_cli_keep_their_chain() {
        // The what-if engine: same message and exit code as before, the engine's error below.
        let e = Error::from(crate::whatif::WhatIfError::NoHypoPg);
        assert_eq!(e.exit_code(), EXIT_PREREQUISITE);
        assert!(e
            .message()
            .starts_with("hypopg is not installed in this database\n("));
        let source = std::error::Error::source(&e).expect("a source");
        assert!(matches!(
            source.downcast_ref::<crate::whatif::WhatIfError>(),
            Some(crate::whatif::WhatIfError::NoHypoPg)
        ));
        // A TLS set-up failure: a connect error whose chain ends at the file error.
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let e = Error::from(crate::pg::PgError::TlsFailed {
            message: "cannot read sslrootcert /x.crt: no such file".into(),
            source: Box::new(io),
        });
        assert_eq!((e.exit_code(), e.kind()), (EXIT_CONNECT, "connect"));
        assert_eq!(
            e.message(),
            "tls: cannot read sslrootcert /x.crt: no such file"
        );
        assert_eq!(chain(&e), vec!["no such file".to_string()]);
        // A file that could not be written: an output error holding the io::Error.
        let e = Error::from(crate::emit::EmitError::Io {
            path: "out/0002_x.py".into(),
            source: std::io::Error::new(std::io::ErrorKind::BrokenPipe, "pipe"),
        });
        assert_eq!(e.exit_code(), EXIT_OUTPUT);
        assert_eq!(e.message(), "cannot write \"out/0002_x.py\": pipe");
        assert!(e.is_broken_pipe(), "found by walking the chain");
    }

    #[test]
    fn a_bad_snapshot_file_is_a_usage_error_down_to_the_json_parser() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("snap.json");
        std::fs::write(&path, "{ not json").expect("write");
        let e = crate::collect::load_snapshot(&path).expect_err("not JSON");
        assert_eq!(e.exit_code(), EXIT_USAGE);
        assert!(
            e.message()
                .starts_with(&format!("{}: not a JSON snapshot: ", path.display())),
            "{}",
            e.message()
        );
        let format = std::error::Error::source(&e).expect("the format error");
        assert!(format
            .downcast_ref::<crate::model::versioned::FormatError>()
            .is_some());
        let json = format.source().expect("the parser's error");
        assert!(json.downcast_ref::<serde_json::Error>().is_some());
    }
}
