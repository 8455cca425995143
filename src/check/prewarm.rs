//! `check`: pg_prewarm, which the cache advice asks for.
//!
//! Stage: check (pure; the facts are read by [`super`] with `sql/check_prewarm.sql`).
//! Invariant: the finding is [`Level::Ok`] or [`Level::Info`], never a warning or a missing
//! piece: idxadvise works without pg_prewarm.
//!
//! Problem: when the new indexes crowd `shared_buffers`, `analyze`'s cache note says to warm
//! each new index after it is built with `SELECT pg_prewarm('<index>')`, and a drop whose
//! reads would go to a larger index names it too ([`crate::select::cache`]). On a
//! django-oscar shop the server offered the extension but it was not created, and `check` did
//! not say so: the advice could not be followed as written (review 4, G6).
//! What we do: say whether the server offers pg_prewarm (`pg_available_extensions`) and whether
//! it is created in the database, and how to create it. `pg_prewarm()` itself needs no
//! `shared_preload_libraries` (only its autoprewarm worker does), and it warms the cache of the
//! server it runs on: on a read replica, run it there, after `CREATE EXTENSION` on the primary.
//! Example: offered 1.2, not created → "CREATE EXTENSION pg_prewarm;".

use serde::{Deserialize, Serialize};

use super::finding::{Facts, Finding, Level};
use crate::pg::quote::ident;

/// What `sql/check_prewarm.sql` read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Prewarm {
    /// Default version when the server offers the extension.
    pub available: Option<String>,
    /// Version created in this database.
    pub installed: Option<String>,
}

/// What pg_prewarm brings, one clause.
const BRINGS: &str = "it loads an index into shared_buffers, so the lookups a new index takes over do not read it from disk first; the cache notes of analyze ask for it when the new indexes crowd shared_buffers";

/// The pg_prewarm finding; `None` when its facts could not be read.
pub fn finding(x: &Facts) -> Option<Finding> {
    let p = x.prewarm.as_ref()?;
    let s = &x.server;
    let f = |level, what: String, fix: Option<String>| Finding {
        id: "prewarm".into(),
        level,
        what,
        fix,
    };
    Some(match (&p.installed, &p.available) {
        (Some(v), _) => f(
            Level::Ok,
            format!("pg_prewarm {v} created: SELECT pg_prewarm('<index>') warms a new index after it is built ({BRINGS})"),
            None,
        ),
        (None, Some(v)) => f(
            Level::Info,
            format!(
                "pg_prewarm {v} is offered by this server but not created in database {} (optional): {BRINGS}",
                ident(&s.database)
            ),
            Some(if s.in_recovery {
                "on the primary, in this database: CREATE EXTENSION pg_prewarm; then run SELECT pg_prewarm('<index>') here, on the replica that serves the reads".to_string()
            } else {
                "CREATE EXTENSION pg_prewarm;".to_string()
            }),
        ),
        (None, None) => f(
            Level::Info,
            format!("pg_prewarm is not offered by this server (optional): {BRINGS}"),
            Some(match x.provider.as_ref() {
                Some(d) => format!(
                    "{} does not offer it on this server: new indexes warm as statements read them; apply the migrations a few at a time",
                    d.provider.name()
                ),
                None => format!(
                    "it ships with PostgreSQL's contrib modules: install them for PostgreSQL {} (Debian's postgresql-{} includes them; RHEL: postgresql{}-contrib), then CREATE EXTENSION pg_prewarm;",
                    s.major(),
                    s.major(),
                    s.major()
                ),
            }),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(available: Option<&str>, installed: Option<&str>) -> Facts {
        let mut x = Facts {
            prewarm: Some(Prewarm {
                available: available.map(String::from),
                installed: installed.map(String::from),
            }),
            ..Facts::default()
        };
        x.server.database = "shop".into();
        x.server.version_num = 150_018;
        x
    }

    #[test]
    fn offered_created_or_absent_is_information_with_the_fix() {
        let created = finding(&with(Some("1.2"), Some("1.2"))).expect("finding");
        assert_eq!(created.level, Level::Ok);
        assert!(
            created.what.starts_with("pg_prewarm 1.2 created"),
            "{created:?}"
        );
        assert_eq!(created.fix, None);

        let offered = finding(&with(Some("1.2"), None)).expect("finding");
        assert_eq!(offered.level, Level::Info);
        assert!(offered.what.contains("(optional)"), "{offered:?}");
        assert_eq!(offered.fix.as_deref(), Some("CREATE EXTENSION pg_prewarm;"));

        let mut replica = with(Some("1.2"), None);
        replica.server.in_recovery = true;
        let on_replica = finding(&replica).expect("finding");
        assert!(
            on_replica.fix.as_deref().is_some_and(|f| f
                .starts_with("on the primary, in this database: CREATE EXTENSION pg_prewarm;")
                && f.contains("on the replica that serves the reads")),
            "{on_replica:?}"
        );

        let absent = finding(&with(None, None)).expect("finding");
        assert_eq!(absent.level, Level::Info);
        assert!(
            absent
                .fix
                .as_deref()
                .is_some_and(|f| f.contains("contrib modules: install them for PostgreSQL 15")),
            "{absent:?}"
        );
        // Not read: no finding at all.
        assert_eq!(finding(&Facts::default()), None);
    }
}
