//! libpq's `sslmode` values and where libpq looks for the user's TLS files.
//!
//! Stage: edge (shared by connecting and TLS set-up, below both). Must not do I/O beyond
//! reading the environment. Invariant: the accepted names are exactly libpq's.

use std::path::PathBuf;

use super::error::PgError;

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// No TLS.
    Disable,
    /// Plaintext only if the server refuses TLS (libpq's `allow` is treated the same).
    Allow,
    /// TLS if possible, without verification; a failed handshake falls back to plaintext.
    Prefer,
    /// TLS, no verification.
    Require,
    /// TLS, certificate chain verified, host name not checked.
    VerifyCa,
    /// TLS, chain and host name verified.
    VerifyFull,
}

impl SslMode {
    pub(crate) fn parse(s: &str) -> Result<SslMode, PgError> {
        Ok(match s {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(PgError::Config(format!(
                    "invalid sslmode {other:?} (expected disable, allow, prefer, require, verify-ca or verify-full)"
                )))
            }
        })
    }
}

/// The user's home directory (`$HOME`, when set and not empty), where libpq keeps
/// `.pgpass` and `.postgresql/root.crt`.
pub(crate) fn home() -> Option<PathBuf> {
    std::env::var("HOME")
        .ok()
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}
