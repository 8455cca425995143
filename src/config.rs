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

/// Which statements of pg_stat_statements make the workload.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadFilter {
    /// Leave out statements called fewer times than this.
    pub min_calls: i64,
    /// Keep at most this many statements (the most expensive by total time).
    pub top: Option<usize>,
    /// Keep the most expensive statements until this share (0 < share ≤ 1) of the total time.
    pub top_share: Option<f64>,
}

impl Default for WorkloadFilter {
    fn default() -> Self {
        WorkloadFilter {
            min_calls: 1,
            top: None,
            top_share: None,
        }
    }
}

impl WorkloadFilter {
    /// Validate raw values.
    pub fn new(
        min_calls: u64,
        top: Option<usize>,
        top_share: Option<f64>,
    ) -> Result<WorkloadFilter, Error> {
        if top == Some(0) {
            return Err(Error::Usage("--top must be at least 1".into()));
        }
        if let Some(s) = top_share {
            if !(s.is_finite() && s > 0.0 && s <= 1.0) {
                return Err(Error::Usage(format!(
                    "--top-share {s} must be a share of the total time, above 0 and at most 1 (e.g. 0.95)"
                )));
            }
        }
        Ok(WorkloadFilter {
            min_calls: i64::try_from(min_calls)
                .map_err(|_| Error::Usage(format!("--min-calls {min_calls} is too large")))?,
            top,
            top_share,
        })
    }
}

/// Everything `collect` needs.
#[derive(Debug, Clone)]
pub struct CollectConfig {
    /// Where to connect.
    pub connection: ConnectionConfig,
    /// Which statements to keep.
    pub filter: WorkloadFilter,
}

/// Output format of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// Human-readable text.
    Text,
    /// JSON.
    Json,
}

impl OutputFormat {
    /// Parse `text` or `json`.
    pub fn parse(s: &str) -> Result<OutputFormat, Error> {
        match s {
            "text" => Ok(OutputFormat::Text),
            "json" => Ok(OutputFormat::Json),
            other => Err(Error::Usage(format!(
                "invalid --format {other:?} (expected text or json)"
            ))),
        }
    }
}

/// Everything `check` needs.
#[derive(Debug, Clone)]
pub struct CheckConfig {
    /// Where to connect.
    pub connection: ConnectionConfig,
    /// How to print the report.
    pub format: OutputFormat,
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

    #[test]
    fn workload_filters_are_validated() {
        assert!(WorkloadFilter::new(1, Some(0), None).is_err());
        assert!(WorkloadFilter::new(1, None, Some(0.0)).is_err());
        assert!(WorkloadFilter::new(1, None, Some(1.5)).is_err());
        assert!(WorkloadFilter::new(1, None, Some(f64::NAN)).is_err());
        let f = WorkloadFilter::new(5, Some(50), Some(0.95)).expect("valid");
        assert_eq!(f.min_calls, 5);
        assert_eq!(OutputFormat::parse("json").expect("ok"), OutputFormat::Json);
        assert!(OutputFormat::parse("yaml").is_err());
    }
}
