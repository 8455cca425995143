//! `check`: pg_qualstats, the optional source of observed parameter values.
//!
//! Stage: check (pure; the facts are read by [`super::facts`] with `sql/check_qualstats.sql`).
//! Invariant: the finding is [`Level::Ok`] or [`Level::Info`], never a warning or a missing
//! piece: idxadvise works without pg_qualstats.
//!
//! Problem: pg_stat_statements keeps no parameter values, and activity sampling catches only
//! statements running at the moment of a sample (fast, frequent ones slip through) and only
//! the part of their text under `track_activity_query_size`. pg_qualstats records the
//! constants of the predicates the server evaluated, per pg_stat_statements queryid, whatever
//! their duration; idxadvise reads them when the extension is created and loaded.
//! What we do: say whether the server offers it (`pg_available_extensions`, the authority for
//! that server and version), whether it is created in the database and loaded
//! (`shared_preload_libraries`), what it brings and how to enable it — on a managed service,
//! through that provider's own way of setting `shared_preload_libraries` (see
//! `docs/managed-services.md`; no provider page read for idxadvise lists pg_qualstats, so
//! whether a provider offers it is taken from the server only).
//! Example: available 2.1.0, not loaded, self-managed → "in postgresql.conf:
//! shared_preload_libraries = 'pg_stat_statements,pg_qualstats', restart, then CREATE
//! EXTENSION pg_qualstats;".

use serde::{Deserialize, Serialize};

use super::finding::{Facts, Finding, Level};
use super::provider::Provider;
use crate::pg::quote::ident;

/// What `sql/check_qualstats.sql` read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Qualstats {
    /// Default version when the server offers the extension.
    pub available: Option<String>,
    /// Version created in this database.
    pub installed: Option<String>,
    /// The library is loaded (its settings exist).
    pub loaded: bool,
    /// `pg_qualstats.sample_rate` (`-1`: 1 / `max_connections`), when loaded.
    pub sample_rate: Option<String>,
}

/// What pg_qualstats brings, one clause.
const BRINGS: &str = "it records the constants of the predicates the server evaluates, per statement, so idxadvise sees parameter values that activity sampling misses (fast statements, texts cut at track_activity_query_size)";

/// How a provider sets `shared_preload_libraries` for a library, when its server offers it.
fn provider_preload(p: Provider) -> String {
    match p {
        Provider::AmazonRds => "add pg_qualstats to shared_preload_libraries in the instance's custom DB parameter group, reboot the instance".into(),
        Provider::AmazonAurora => "add pg_qualstats to shared_preload_libraries in the cluster's custom DB cluster parameter group, reboot the writer and readers".into(),
        Provider::GoogleCloudSql => "set it through the instance's database flags (Cloud SQL restarts the instance when a flag needs it)".into(),
        Provider::AzureFlexibleServer => "allowlist it in the azure.extensions server parameter and add it to the shared_preload_libraries server parameter, restart the server".into(),
        Provider::Supabase | Provider::Neon => format!(
            "{} sets shared_preload_libraries itself: ask its support to load pg_qualstats",
            p.name()
        ),
        Provider::CrunchyBridge => "add pg_qualstats to shared_preload_libraries in the cluster's configuration parameters, restart Postgres".into(),
    }
}

/// The pg_qualstats finding; `None` when its facts could not be read.
pub fn finding(x: &Facts) -> Option<Finding> {
    let q = x.qualstats.as_ref()?;
    let s = &x.server;
    let db = ident(&s.database);
    let on_primary = if s.in_recovery {
        "on the primary, in this database: "
    } else {
        ""
    };
    let provider = x.provider.as_ref().map(|d| d.provider);
    let create = format!("{on_primary}CREATE EXTENSION pg_qualstats;");
    let preload = || match provider {
        Some(p) => format!("{}: {}", p.name(), provider_preload(p)),
        None => {
            let libs = match x.preload.as_deref().map(str::trim) {
                Some("") | None => "'pg_qualstats'".to_string(),
                Some(l) => format!("'{l},pg_qualstats'"),
            };
            format!(
                "in postgresql.conf: shared_preload_libraries = {libs}, then restart the server"
            )
        }
    };
    let f = |level, what: String, fix: Option<String>| Finding {
        id: "qualstats".into(),
        level,
        what,
        fix,
    };
    Some(match (q.loaded, &q.installed, &q.available) {
        (true, Some(v), _) => f(
            Level::Ok,
            format!(
                "pg_qualstats {v} loaded and created (sample_rate {}): {BRINGS}",
                q.sample_rate.as_deref().unwrap_or("unknown")
            ),
            None,
        ),
        (true, None, _) => f(
            Level::Info,
            format!("pg_qualstats is loaded but not created in database {db} (optional): {BRINGS}"),
            Some(create),
        ),
        (false, installed, Some(v)) => f(
            Level::Info,
            format!(
                "pg_qualstats {} but not loaded (optional): {BRINGS}",
                match installed {
                    Some(i) => format!("{i} is created"),
                    None => format!("{v} is offered by this server"),
                }
            ),
            Some(if installed.is_some() {
                preload()
            } else {
                format!("{}; then {create}", preload())
            }),
        ),
        (false, _, None) => match provider {
            Some(p) => f(
                Level::Info,
                format!(
                    "pg_qualstats is not offered by this {} server (pg_available_extensions; unknown whether other versions offer it) (optional): {BRINGS}",
                    p.name()
                ),
                Some(format!(
                    "without it, parameter values come from activity sampling (--window) and the server logs (--log; {})",
                    p.logs()
                )),
            ),
            None => f(
                Level::Info,
                format!("pg_qualstats is not installed on the server (optional): {BRINGS}"),
                Some(format!(
                    "install it (Debian/Ubuntu: apt-get install postgresql-{}-pg-qualstats), {}; then {create}",
                    s.major(),
                    preload()
                )),
            ),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::provider::{detect, Signals};

    fn facts(q: Qualstats) -> Facts {
        let mut x = Facts {
            preload: Some("pg_stat_statements".into()),
            qualstats: Some(q),
            ..Facts::default()
        };
        x.server.database = "shop".into();
        x.server.version_num = 150_018;
        x
    }

    #[test]
    fn loaded_and_created_is_ok() {
        let f = finding(&facts(Qualstats {
            available: Some("2.0.4".into()),
            installed: Some("2.0.4".into()),
            loaded: true,
            sample_rate: Some("-1".into()),
        }))
        .expect("finding");
        assert_eq!(f.level, Level::Ok);
        assert!(
            f.what.starts_with(
                "pg_qualstats 2.0.4 loaded and created (sample_rate -1): it records the constants"
            ),
            "{}",
            f.what
        );
        assert_eq!(f.fix, None);
    }

    #[test]
    fn offered_but_not_loaded_is_information_with_the_preload_and_create() {
        let f = finding(&facts(Qualstats {
            available: Some("2.0.4".into()),
            ..Qualstats::default()
        }))
        .expect("finding");
        assert_eq!(f.level, Level::Info);
        assert!(
            f.what
                .contains("2.0.4 is offered by this server but not loaded (optional)"),
            "{}",
            f.what
        );
        assert_eq!(
            f.fix.as_deref(),
            Some("in postgresql.conf: shared_preload_libraries = 'pg_stat_statements,pg_qualstats', then restart the server; then CREATE EXTENSION pg_qualstats;")
        );
    }

    #[test]
    fn loaded_not_created_and_not_installed() {
        let f = finding(&facts(Qualstats {
            available: Some("2.0.4".into()),
            loaded: true,
            ..Qualstats::default()
        }))
        .expect("finding");
        assert_eq!(f.level, Level::Info);
        assert_eq!(f.fix.as_deref(), Some("CREATE EXTENSION pg_qualstats;"));
        let f = finding(&facts(Qualstats::default())).expect("finding");
        assert_eq!(f.level, Level::Info);
        assert!(f.fix.as_deref().unwrap_or("").starts_with(
            "install it (Debian/Ubuntu: apt-get install postgresql-15-pg-qualstats), in postgresql.conf"
        ));
    }

    #[test]
    fn a_managed_service_gets_its_own_answer() {
        let mut x = facts(Qualstats {
            available: Some("2.1.0".into()),
            ..Qualstats::default()
        });
        x.provider = detect(&Signals {
            roles: vec!["rds_superuser".into()],
            ..Signals::default()
        });
        let f = finding(&x).expect("finding");
        assert!(f.fix.as_deref().unwrap_or("").starts_with(
            "Amazon RDS for PostgreSQL: add pg_qualstats to shared_preload_libraries in the instance's custom DB parameter group"
        ), "{:?}", f.fix);
        // Not offered there: no install recipe, the other sources of values instead.
        x.qualstats = Some(Qualstats::default());
        let f = finding(&x).expect("finding");
        assert_eq!(f.level, Level::Info);
        assert!(
            f.what
                .contains("not offered by this Amazon RDS for PostgreSQL server"),
            "{}",
            f.what
        );
        assert!(!f.fix.as_deref().unwrap_or("").contains("apt-get"));
        // Supabase and Neon set the libraries themselves.
        x.provider = detect(&Signals {
            roles: vec!["neon_superuser".into()],
            ..Signals::default()
        });
        x.qualstats = Some(Qualstats {
            available: Some("2.1.0".into()),
            ..Qualstats::default()
        });
        assert!(finding(&x)
            .and_then(|f| f.fix)
            .unwrap_or_default()
            .starts_with("Neon: Neon sets shared_preload_libraries itself"));
    }

    #[test]
    fn never_more_than_information() {
        for loaded in [false, true] {
            for installed in [None, Some("2.0.4".to_string())] {
                for available in [None, Some("2.0.4".to_string())] {
                    let f = finding(&facts(Qualstats {
                        available: available.clone(),
                        installed: installed.clone(),
                        loaded,
                        sample_rate: None,
                    }))
                    .expect("finding");
                    assert!(f.level <= Level::Info, "{f:?}");
                }
            }
        }
        let mut x = facts(Qualstats::default());
        x.qualstats = None;
        assert_eq!(finding(&x), None);
    }
}
