//! Validated configuration: what the CLI's raw arguments become before any stage sees them.
//!
//! Stage: none. Must not import clap. Invariant: a `Config` value is always valid.

use std::time::Duration;

use crate::error::Error;
use crate::pg::ConnectOptions;

/// Parse a duration such as `10s`, `500ms`, `2min` or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, Error> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: f64 = num.parse().map_err(|_| {
        Error::Usage(format!(
            "invalid duration {s:?} (examples: 10s, 500ms, 2min)"
        ))
    })?;
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "s" | "sec" | "" => n,
        "min" | "m" => n * 60.0,
        "h" => n * 3600.0,
        other => {
            return Err(Error::Usage(format!(
                "invalid duration unit {other:?} in {s:?} (use ms, s, min or h)"
            )))
        }
    };
    if !(secs.is_finite() && secs > 0.0) {
        return Err(Error::Usage(format!("duration {s:?} must be positive")));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Connection settings for the analysed server (and the primary, for write statistics).
#[derive(Debug, Clone)]
pub struct ConnectionConfig {
    /// The analysed server (usually a read replica).
    pub target: ConnectOptions,
    /// The primary, for write statistics, when analysing a replica.
    pub primary: Option<ConnectOptions>,
}

impl ConnectionConfig {
    /// Build from raw arguments.
    pub fn new(
        url: Option<String>,
        primary_url: Option<String>,
        statement_timeout: &str,
    ) -> Result<ConnectionConfig, Error> {
        let timeout = parse_duration(statement_timeout)?;
        let target = ConnectOptions {
            url,
            statement_timeout: timeout,
            ..Default::default()
        };
        let primary = primary_url.map(|u| ConnectOptions {
            url: Some(u),
            statement_timeout: timeout,
            ..Default::default()
        });
        Ok(ConnectionConfig { target, primary })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s").expect("ok"), Duration::from_secs(10));
        assert_eq!(
            parse_duration("250ms").expect("ok"),
            Duration::from_millis(250)
        );
        assert_eq!(
            parse_duration("2min").expect("ok"),
            Duration::from_secs(120)
        );
        assert_eq!(parse_duration("3").expect("ok"), Duration::from_secs(3));
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("10 parsecs").is_err());
    }
}
