//! Validated configuration: what the CLI's raw arguments become before any stage sees them.
//!
//! Stage: none. Must not import clap. Invariant: a `Config` value is always valid.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Kind};
use crate::pg::ConnectOptions;

/// Parse a duration such as `10s`, `500ms`, `2min` or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, Error> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: f64 = num.parse().map_err(|e| {
        let message = format!("invalid duration {s:?} (examples: 10s, 500ms, 2min)");
        Error::caused(Kind::Usage, message, e)
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

/// The storage budget for new indexes: bytes, or a share of the database size.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StorageBudget {
    /// An absolute number of bytes (`500MB`, `2GB`, `1048576`).
    Bytes(i64),
    /// A share of the database size (tables and their indexes): `10%` is `Share(0.10)`.
    Share(f64),
}

/// The least a share budget (`--budget 25%`, the default) resolves to, bytes: 16 MiB.
///
/// Problem: on a small database a share admits nothing: 25% of 11 MB kept out a 1.1 MiB index
/// that saved 14.5 of 14.6 ms per call. What we do: a share budget is at least this much (a
/// size no DBA weighs); an absolute budget (`--budget 500kB`) is a hard cap.
pub const SHARE_BUDGET_FLOOR: i64 = 16 << 20;

impl Default for StorageBudget {
    /// A quarter of the database size: enough for a handful of indexes on the hot tables of a
    /// typical OLTP database, small enough that a DBA will not be surprised by the total.
    fn default() -> Self {
        StorageBudget::Share(0.25)
    }
}

impl StorageBudget {
    /// Parse `500MB`, `1.5GB`, `64kB`, `123456` (bytes) or `10%`.
    pub fn parse(s: &str) -> Result<StorageBudget, Error> {
        let t = s.trim();
        let message = || format!("invalid storage budget {s:?}\n(examples: 500MB, 2GB, 10%)");
        let bad = || Error::Usage(message());
        let not_a_number = |e| Error::caused(Kind::Usage, message(), e);
        if let Some(p) = t.strip_suffix('%') {
            let v: f64 = p.trim().parse().map_err(not_a_number)?;
            if !(v.is_finite() && v > 0.0 && v <= 1000.0) {
                return Err(Error::Usage(format!(
                    "storage budget {s:?} must be a share between 0% and 1000%"
                )));
            }
            return Ok(StorageBudget::Share(v / 100.0));
        }
        let split = t
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let v: f64 = num.parse().map_err(not_a_number)?;
        let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1.0,
            "kb" | "k" | "kib" => 1024.0,
            "mb" | "m" | "mib" => 1024.0 * 1024.0,
            "gb" | "g" | "gib" => 1024.0 * 1024.0 * 1024.0,
            "tb" | "t" | "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
            _ => return Err(bad()),
        };
        let bytes = v * mult;
        if !(bytes.is_finite() && (1.0..9.0e18).contains(&bytes)) {
            return Err(Error::Usage(format!(
                "storage budget {s:?} must be positive"
            )));
        }
        Ok(StorageBudget::Bytes(bytes.round() as i64))
    }

    /// The budget in bytes for a database of `database_bytes` (`pg_database_size`): a share
    /// is never below [`SHARE_BUDGET_FLOOR`].
    pub fn resolve(self, database_bytes: i64) -> i64 {
        match self {
            StorageBudget::Bytes(b) => b,
            StorageBudget::Share(f) => {
                ((database_bytes.max(0) as f64 * f).round() as i64).max(SHARE_BUDGET_FLOOR)
            }
        }
    }
}

/// The least improvement a statement must get for an index to count as helping it, as a
/// share of the statement's cost (planner noise and 2% wins are not worth an index).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MinImprovement(f64);

impl Default for MinImprovement {
    /// 10% of the statement's cost.
    fn default() -> Self {
        MinImprovement(0.10)
    }
}

/// Parse a share written `10%` or `0.1`; `what` and `examples` go into the error message.
fn parse_share(s: &str, what: &str, examples: &str) -> Result<f64, Error> {
    let t = s.trim();
    match t.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|v| v / 100.0),
        None => t.parse::<f64>(),
    }
    .map_err(|e| {
        let message = format!("invalid {what} {s:?}\n(examples: {examples})");
        Error::caused(Kind::Usage, message, e)
    })
}

/// Check a share is in `[0, 1)`.
fn check_share(share: f64, what: &str) -> Result<f64, Error> {
    if share.is_finite() && (0.0..1.0).contains(&share) {
        Ok(share)
    } else {
        Err(Error::Usage(format!(
            "{what} {share} must be a share between 0% and 100%"
        )))
    }
}

impl MinImprovement {
    /// Parse `10%` or `0.1`.
    pub fn parse(s: &str) -> Result<MinImprovement, Error> {
        MinImprovement::new(parse_share(s, "minimum improvement", "10%, 0.05")?)
    }

    /// A share in `[0, 1)`.
    pub fn new(share: f64) -> Result<MinImprovement, Error> {
        check_share(share, "minimum improvement").map(MinImprovement)
    }

    /// The share.
    pub fn share(self) -> f64 {
        self.0
    }
}

/// The least net benefit (read gain minus write cost) an index must bring, as a share of the
/// workload's total (time, or planner cost when ranking by cost).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MinBenefit(f64);

impl Default for MinBenefit {
    /// 0.5% of the workload: an index that saves less is not worth its maintenance and review.
    fn default() -> Self {
        MinBenefit(0.005)
    }
}

impl MinBenefit {
    /// Parse `0.5%` or `0.005`.
    pub fn parse(s: &str) -> Result<MinBenefit, Error> {
        MinBenefit::new(parse_share(s, "minimum benefit", "0.5%, 0.01")?)
    }

    /// A share in `[0, 1)`.
    pub fn new(share: f64) -> Result<MinBenefit, Error> {
        check_share(share, "minimum benefit").map(MinBenefit)
    }

    /// The share.
    pub fn share(self) -> f64 {
        self.0
    }
}

/// Parameter values the application really uses for a column, when pg_stat_statements cannot
/// say (it keeps no values): `shop_order.status=pending` (`[schema.]table.column=v1,v2`).
/// Statements comparing that column with a parameter are costed with these values only, equally
/// weighted, instead of the column's most common values weighted by their share of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HotValues {
    /// Schema, when given.
    pub schema: Option<String>,
    /// Table.
    pub table: String,
    /// Column.
    pub column: String,
    /// The values, in their text form.
    pub values: Vec<String>,
}

impl HotValues {
    /// Parse `[schema.]table.column=v1[,v2…]`.
    pub fn parse(s: &str) -> Result<HotValues, Error> {
        let bad = |why: &str| {
            Error::Usage(format!(
                "invalid hot values {s:?}: {why}
(example: --hot-values shop_order.status=pending,processing)"
            ))
        };
        let (target, values) = s.split_once('=').ok_or_else(|| bad("no '='"))?;
        let parts: Vec<&str> = target.trim().split('.').collect();
        let (schema, table, column) = match parts.as_slice() {
            [t, c] => (None, *t, *c),
            [sc, t, c] => (Some(sc.to_string()), *t, *c),
            _ => {
                return Err(bad(
                    "name the column as table.column or schema.table.column",
                ))
            }
        };
        if table.is_empty() || column.is_empty() {
            return Err(bad("empty table or column name"));
        }
        let values: Vec<String> = values
            .split(',')
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect();
        if values.is_empty() {
            return Err(bad("no value after '='"));
        }
        Ok(HotValues {
            schema,
            table: table.to_string(),
            column: column.to_string(),
            values,
        })
    }

    /// Put the values on the column's statistics in `catalog` (where the what-if engine draws
    /// parameter values from). An unknown table or column is a usage error.
    pub fn apply(&self, catalog: &mut crate::model::Catalog) -> Result<(), Error> {
        let label = match &self.schema {
            Some(sc) => format!("{sc}.{}", self.table),
            None => self.table.clone(),
        };
        let schema = match &self.schema {
            Some(sc) => sc.clone(),
            None => catalog
                .resolve(&self.table)
                .map(|t| t.schema.clone())
                .ok_or_else(|| Error::Usage(format!("--hot-values: no table {label}")))?,
        };
        let table = catalog
            .tables
            .iter_mut()
            .find(|t| t.schema == schema && t.name == self.table)
            .ok_or_else(|| Error::Usage(format!("--hot-values: no table {label}")))?;
        let column = table
            .columns
            .iter_mut()
            .find(|c| c.name == self.column)
            .ok_or_else(|| {
                Error::Usage(format!(
                    "--hot-values: table {label} has no column {}",
                    self.column
                ))
            })?;
        column
            .stats
            .get_or_insert_with(Default::default)
            .workload_values = self.values.clone();
        Ok(())
    }
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
            min_calls: i64::try_from(min_calls).map_err(|e| {
                let message = format!("--min-calls {min_calls} is too large");
                Error::caused(Kind::Usage, message, e)
            })?,
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
    /// How long to watch the server(s) before the second reading of the counters.
    pub window: WindowOptions,
}

/// The default observation window (see `collect::window`).
pub const DEFAULT_WINDOW: std::time::Duration = std::time::Duration::from_secs(60);

/// How long to watch, and whether to show progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowOptions {
    /// The window's length; zero: no window, the cumulative counters (the behaviour before
    /// windows existed).
    pub length: std::time::Duration,
    /// No progress on stderr.
    pub quiet: bool,
    /// Sample `pg_stat_activity` during the window for the parameter values the application
    /// sends (on with every window).
    pub sample_values: bool,
}

impl WindowOptions {
    /// No window: read the cumulative counters once.
    pub fn none() -> WindowOptions {
        WindowOptions {
            length: std::time::Duration::ZERO,
            quiet: true,
            sample_values: true,
        }
    }

    /// A window of `length`, sampling parameter values during it.
    pub fn of(length: std::time::Duration, quiet: bool) -> WindowOptions {
        WindowOptions {
            length,
            quiet,
            sample_values: true,
        }
    }
}

impl Default for WindowOptions {
    fn default() -> Self {
        WindowOptions::of(DEFAULT_WINDOW, false)
    }
}

/// `--observe-values SECONDS` (deprecated, it sets the window) as a duration: finite, 0 to
/// 3600.
pub fn observe_duration(seconds: f64) -> Result<std::time::Duration, Error> {
    if !seconds.is_finite() || !(0.0..=3600.0).contains(&seconds) {
        return Err(Error::Usage(format!(
            "invalid --observe-values {seconds}: expected seconds between 0 and 3600"
        )));
    }
    Ok(std::time::Duration::from_secs_f64(seconds))
}

/// What a command prints on stdout (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// Human-readable text (the terminal table and a summary).
    Text,
    /// JSON (`report.json`).
    Json,
    /// Markdown (`report.md`; not for `check`).
    Markdown,
}

impl OutputFormat {
    /// Parse `--format` of `analyze`, `explain` and `verify` (`text`, `json`, `markdown` or
    /// `md`).
    pub fn parse(s: &str) -> Result<OutputFormat, Error> {
        match s {
            "text" => Ok(OutputFormat::Text),
            "json" => Ok(OutputFormat::Json),
            "markdown" | "md" => Ok(OutputFormat::Markdown),
            other => Err(Error::Usage(format!(
                "unknown --format {other:?} (text, json or markdown)"
            ))),
        }
    }

    /// Parse `check`'s `--format`: `text` or `json`.
    pub fn parse_text_or_json(s: &str) -> Result<OutputFormat, Error> {
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
    fn budgets() {
        assert_eq!(
            StorageBudget::parse("500MB").expect("ok"),
            StorageBudget::Bytes(500 * 1024 * 1024)
        );
        assert_eq!(
            StorageBudget::parse("1.5GB").expect("ok"),
            StorageBudget::Bytes(1_610_612_736)
        );
        assert_eq!(
            StorageBudget::parse("10%").expect("ok").resolve(1000),
            SHARE_BUDGET_FLOOR
        );
        assert_eq!(
            StorageBudget::parse("10%").expect("ok").resolve(1 << 30),
            (1 << 30) / 10
        );
        assert_eq!(StorageBudget::parse("4096").expect("ok").resolve(1), 4096);
        for bad in ["", "-1MB", "10 parsecs", "0%", "abc%", "0"] {
            assert!(StorageBudget::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn shares() {
        assert_eq!(MinImprovement::parse("10%").expect("ok").share(), 0.10);
        assert_eq!(MinImprovement::parse("0.05").expect("ok").share(), 0.05);
        assert!(MinImprovement::parse("150%").is_err());
        assert!(MinBenefit::parse("-1").is_err());
        assert_eq!(MinBenefit::parse("0.5%").expect("ok").share(), 0.005);
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
        assert_eq!(
            OutputFormat::parse("md").expect("ok"),
            OutputFormat::Markdown
        );
        assert!(OutputFormat::parse("yaml").is_err());
        assert!(OutputFormat::parse_text_or_json("markdown").is_err());
    }

    #[test]
    fn hot_values_parse_and_land_on_the_column_stats() {
        let h = HotValues::parse(" shop_order.status = pending, processing ").expect("valid");
        assert_eq!(
            (h.schema.as_deref(), h.table.as_str(), h.column.as_str()),
            (None, "shop_order", "status")
        );
        assert_eq!(h.values, vec!["pending", "processing"]);
        let q = HotValues::parse("sales.order.status=x").expect("qualified");
        assert_eq!(q.schema.as_deref(), Some("sales"));
        for bad in [
            "status=pending",
            "shop_order.status",
            "shop_order.status=",
            "a.b.c.d=x",
            ".status=x",
        ] {
            let e = HotValues::parse(bad).expect_err(bad);
            assert_eq!(e.exit_code(), 2, "{bad}");
            assert!(
                e.message().contains("example: --hot-values"),
                "{}",
                e.message()
            );
        }
        let mut catalog = crate::model::Catalog {
            tables: vec![crate::model::Table {
                oid: 1,
                rows: 10.0,
                pages: 1,
                columns: vec![crate::model::Column {
                    name: "status".into(),
                    attnum: 1,
                    type_name: "text".into(),
                    not_null: true,
                    collation: None,
                    stats: None,
                }],
                ..crate::model::Table::named("public", "shop_order")
            }],
            search_path: vec![],
        };
        h.apply(&mut catalog).expect("applies");
        let stats = catalog.tables[0].columns[0]
            .stats
            .as_ref()
            .expect("stats made");
        assert_eq!(stats.workload_values, vec!["pending", "processing"]);
        for (spec, what) in [
            ("shop_order.nope=1", "has no column nope"),
            ("other.status=1", "no table other"),
            ("sales.shop_order.status=1", "no table sales.shop_order"),
        ] {
            let e = HotValues::parse(spec)
                .expect("parses")
                .apply(&mut catalog)
                .expect_err(spec);
            assert!(e.message().contains(what), "{}", e.message());
        }
    }
}
