//! Reading the versioned JSON files idxadvise writes (a snapshot, a baseline): the
//! `format_version` check and the error that says why a file was refused.
//!
//! Stage: none (plain data). Must not do I/O. Invariant: a file of another format version is
//! refused with both versions named, never half-read; the parser's error stays the source.

use serde::de::DeserializeOwned;

/// Why a versioned JSON file could not be read. `what` names the file's kind (`snapshot`).
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// Not JSON at all.
    #[error("not a JSON {what}: {source}")]
    NotJson {
        /// The file's kind.
        what: &'static str,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// JSON without a `format_version`.
    #[error("not an idxadvise {what}: no format_version")]
    NoVersion {
        /// The file's kind.
        what: &'static str,
    },
    /// Another format version.
    #[error("{what} format_version {found} is not supported (this build reads {reads})")]
    Version {
        /// The file's kind.
        what: &'static str,
        /// The file's version.
        found: u64,
        /// The version this build reads.
        reads: u32,
    },
    /// The right version, but the content does not match it.
    #[error("malformed {what}: {source}")]
    Malformed {
        /// The file's kind.
        what: &'static str,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
}

/// Parse `text` as a `what` of format version `reads`.
pub fn from_json<T: DeserializeOwned>(
    text: &str,
    what: &'static str,
    reads: u32,
) -> Result<T, FormatError> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|source| FormatError::NotJson { what, source })?;
    match v.get("format_version").and_then(|f| f.as_u64()) {
        Some(n) if n == u64::from(reads) => {}
        Some(found) => return Err(FormatError::Version { what, found, reads }),
        None => return Err(FormatError::NoVersion { what }),
    }
    serde_json::from_value(v).map_err(|source| FormatError::Malformed { what, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_file_kind_and_keep_the_parser_error() {
        let e = from_json::<serde_json::Value>("{", "snapshot", 1).unwrap_err();
        assert!(e.to_string().starts_with("not a JSON snapshot: "), "{e}");
        assert!(std::error::Error::source(&e)
            .is_some_and(|s| s.downcast_ref::<serde_json::Error>().is_some()));
        let e = from_json::<serde_json::Value>(r#"{"format_version": 9}"#, "baseline", 1);
        assert_eq!(
            e.unwrap_err().to_string(),
            "baseline format_version 9 is not supported (this build reads 1)"
        );
        let e = from_json::<serde_json::Value>("{}", "snapshot", 1).unwrap_err();
        assert_eq!(
            e.to_string(),
            "not an idxadvise snapshot: no format_version"
        );
        let e = from_json::<Vec<u8>>(r#"{"format_version": 1}"#, "snapshot", 1).unwrap_err();
        assert!(e.to_string().starts_with("malformed snapshot: "), "{e}");
    }
}
