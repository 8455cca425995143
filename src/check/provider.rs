//! Which managed service runs the server, told from what the server itself shows, and that
//! provider's way of fixing each missing piece.
//!
//! Stage: check. Pure (the signals are read by [`super::facts`] with `sql/check_provider.sql`).
//! Invariant: a provider is named only from a role or setting that provider creates; nothing is
//! inferred from host names. The facts behind every recipe, with their sources, are in
//! `docs/managed-services.md`.
//!
//! Problem: on a managed service there is no postgresql.conf and no superuser, so "in
//! postgresql.conf: shared_preload_libraries = …" is advice nobody can follow.
//! What we do: recognise the provider from its roles (`rds_superuser`, `cloudsqlsuperuser`,
//! `azure_pg_admin`, `supabase_admin`, `neon_superuser`, `crunchy_write`) and settings
//! (`rds.extensions`, `cloudsql.*`, `azure.extensions`, `neon.*`), and replace the generic fix
//! of each missing piece with the provider's (a parameter group, a database flag, a server
//! parameter), name the admin role that can grant what is missing, and say where its logs are.
//! Example: `rds_superuser` exists and pg_stat_statements is not loaded → "add
//! pg_stat_statements to shared_preload_libraries in the instance's DB parameter group, then
//! reboot".

use serde::{Deserialize, Serialize};

use super::finding::{Finding, Level};

/// A managed PostgreSQL service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    /// Amazon RDS for PostgreSQL.
    AmazonRds,
    /// Amazon Aurora PostgreSQL-Compatible Edition.
    AmazonAurora,
    /// Google Cloud SQL for PostgreSQL.
    GoogleCloudSql,
    /// Azure Database for PostgreSQL flexible server.
    AzureFlexibleServer,
    /// Supabase.
    Supabase,
    /// Neon.
    Neon,
    /// Crunchy Bridge.
    CrunchyBridge,
}

/// What `sql/check_provider.sql` read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Signals {
    /// Provider roles that exist.
    pub roles: Vec<String>,
    /// Provider settings that are set.
    pub settings: Vec<String>,
    /// Aurora's `aurora_version()` function exists.
    pub aurora: bool,
}

/// A recognised provider and what it was recognised by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Detected {
    /// The provider.
    pub provider: Provider,
    /// The roles, settings or functions that named it.
    pub evidence: Vec<String>,
}

/// Recognise the provider from its signals; `None` for a self-managed server.
pub fn detect(s: &Signals) -> Option<Detected> {
    let role = |r: &str| s.roles.iter().any(|x| x == r);
    let setting = |prefix: &str| s.settings.iter().any(|x| x.starts_with(prefix));
    let evidence = |roles: &[&str], prefix: &str| -> Vec<String> {
        let mut e: Vec<String> = s
            .roles
            .iter()
            .filter(|r| roles.contains(&r.as_str()))
            .map(|r| format!("role {r}"))
            .collect();
        e.extend(
            s.settings
                .iter()
                .filter(|x| x.starts_with(prefix))
                .map(|x| format!("setting {x}")),
        );
        e
    };
    let rds = role("rds_superuser") || role("rdsadmin") || setting("rds.");
    let (provider, mut ev) = if rds && s.aurora {
        (
            Provider::AmazonAurora,
            evidence(&["rds_superuser", "rdsadmin"], "rds."),
        )
    } else if rds {
        (
            Provider::AmazonRds,
            evidence(&["rds_superuser", "rdsadmin"], "rds."),
        )
    } else if role("cloudsqlsuperuser") || role("cloudsqladmin") || setting("cloudsql.") {
        (
            Provider::GoogleCloudSql,
            evidence(&["cloudsqlsuperuser", "cloudsqladmin"], "cloudsql."),
        )
    } else if role("azure_pg_admin") || role("azuresu") || setting("azure.") {
        (
            Provider::AzureFlexibleServer,
            evidence(&["azure_pg_admin", "azuresu"], "azure."),
        )
    } else if role("supabase_admin") || setting("supautils.") {
        (
            Provider::Supabase,
            evidence(
                &["supabase_admin", "service_role", "authenticator"],
                "supautils.",
            ),
        )
    } else if role("neon_superuser") || setting("neon.") {
        (Provider::Neon, evidence(&["neon_superuser"], "neon."))
    } else if role("crunchy_write") || role("crunchy_read") {
        (
            Provider::CrunchyBridge,
            evidence(&["crunchy_write", "crunchy_read"], "crunchy."),
        )
    } else {
        return None;
    };
    if provider == Provider::AmazonAurora {
        ev.push("function aurora_version()".to_string());
    }
    Some(Detected {
        provider,
        evidence: ev,
    })
}

impl Provider {
    /// The provider's name.
    pub fn name(self) -> &'static str {
        match self {
            Provider::AmazonRds => "Amazon RDS for PostgreSQL",
            Provider::AmazonAurora => "Amazon Aurora PostgreSQL",
            Provider::GoogleCloudSql => "Google Cloud SQL for PostgreSQL",
            Provider::AzureFlexibleServer => "Azure Database for PostgreSQL flexible server",
            Provider::Supabase => "Supabase",
            Provider::Neon => "Neon",
            Provider::CrunchyBridge => "Crunchy Bridge",
        }
    }

    /// The most privileged role the customer gets, which grants what idxadvise's role lacks.
    pub fn admin_role(self) -> &'static str {
        match self {
            Provider::AmazonRds | Provider::AmazonAurora => {
                "the master user (a member of rds_superuser)"
            }
            Provider::GoogleCloudSql => "the postgres user (a member of cloudsqlsuperuser)",
            Provider::AzureFlexibleServer => "the administrator (a member of azure_pg_admin)",
            Provider::Supabase => "the postgres user",
            Provider::Neon => "the project's owner role (a member of neon_superuser)",
            Provider::CrunchyBridge => "the postgres role (a superuser)",
        }
    }

    /// How to load pg_stat_statements (`shared_preload_libraries`) on this provider.
    pub fn preload_fix(self) -> &'static str {
        match self {
            Provider::AmazonRds => "add pg_stat_statements to shared_preload_libraries in the instance's custom DB parameter group (the default group cannot be edited), then reboot the instance",
            Provider::AmazonAurora => "add pg_stat_statements to shared_preload_libraries in the cluster's custom DB cluster parameter group, then reboot the writer and readers",
            Provider::GoogleCloudSql => "set it through the instance's database flags (Console: Edit > Flags, or gcloud sql instances patch INSTANCE --database-flags=…); Cloud SQL restarts the instance when a flag needs it",
            Provider::AzureFlexibleServer => "add pg_stat_statements to the shared_preload_libraries server parameter (portal: Server parameters, or az postgres flexible-server parameter set --name shared_preload_libraries --value …), then restart the server",
            Provider::Supabase => "Supabase preloads pg_stat_statements; if it is missing here, ask Supabase support",
            Provider::Neon => "Neon preloads pg_stat_statements; CREATE EXTENSION pg_stat_statements; in the database (its statistics are kept in memory and reset when the compute restarts)",
            Provider::CrunchyBridge => "change shared_preload_libraries in the cluster's configuration parameters (dashboard or CLI), then restart Postgres",
        }
    }

    /// How to make HypoPG creatable when the server does not offer it.
    pub fn hypopg_fix(self) -> &'static str {
        match self {
            Provider::AzureFlexibleServer => "allow it first: add hypopg to the azure.extensions server parameter (portal: Server parameters), then CREATE EXTENSION hypopg;",
            Provider::AmazonRds | Provider::AmazonAurora => "SHOW rds.extensions; lists what this version offers: if hypopg is there, CREATE EXTENSION hypopg; as a member of rds_superuser (add it to rds.allowed_extensions when the parameter group sets that); if not, upgrade to a version that offers it",
            Provider::GoogleCloudSql => "only extensions on Cloud SQL's supported list can be created, by a member of cloudsqlsuperuser: CREATE EXTENSION hypopg; (refused: this version does not offer it)",
            Provider::Supabase => "HypoPG is one of Supabase's extensions: enable it in the dashboard (Database > Extensions) or CREATE EXTENSION hypopg;",
            Provider::Neon => "Neon lists the extensions it offers per Postgres version: CREATE EXTENSION hypopg; (refused: this version does not offer it)",
            Provider::CrunchyBridge => "as the postgres role, which may enable extensions: CREATE EXTENSION hypopg; (if the server does not offer it, ask Crunchy Bridge support)",
        }
    }

    /// Where the server's logs are (for `log_min_duration_statement` lines and auto_explain).
    pub fn logs(self) -> &'static str {
        match self {
            Provider::AmazonRds | Provider::AmazonAurora => {
                "the RDS console (Logs & events), or export them to CloudWatch Logs"
            }
            Provider::GoogleCloudSql => {
                "Cloud Logging (Logs Explorer, resource Cloud SQL Database)"
            }
            Provider::AzureFlexibleServer => {
                "the portal's Server logs, or a diagnostic setting that sends them to Log Analytics"
            }
            Provider::Supabase => "the dashboard's Logs Explorer (Postgres logs)",
            Provider::Neon => "the Neon console's monitoring pages",
            Provider::CrunchyBridge => "the Crunchy Bridge dashboard",
        }
    }
}

/// Rewrite the generic fixes of `findings` into the provider's, and say which provider it is,
/// what named it, who grants what is missing and where its logs are.
pub fn adapt(findings: &mut Vec<Finding>, d: &Detected) {
    let p = d.provider;
    for f in findings.iter_mut() {
        if f.level == Level::Ok || f.level == Level::Info {
            continue;
        }
        if f.id == "pgss_not_loaded" {
            f.fix = Some(p.preload_fix().to_string());
        } else if f.id == "hypopg_missing"
            && (p == Provider::AzureFlexibleServer
                || f.fix
                    .as_deref()
                    .is_some_and(|x| x.starts_with("install HypoPG")))
        {
            // Azure needs the allowlist even when the package is there.
            f.fix = Some(p.hypopg_fix().to_string());
        } else if let Some(fix) = &f.fix {
            if fix.starts_with("GRANT ") {
                f.fix = Some(format!("{fix} (as {})", p.admin_role()));
            }
        }
    }
    findings.insert(
        1.min(findings.len()),
        Finding {
            id: "managed_service".into(),
            level: Level::Info,
            what: format!(
                "managed service: {} (recognised by {})",
                p.name(),
                d.evidence.join(", ")
            ),
            fix: None,
        },
    );
    findings.push(Finding {
        id: "managed_service_logs".into(),
        level: Level::Info,
        what: format!("{} logs: {}", p.name(), p.logs()),
        fix: None,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signals(roles: &[&str], settings: &[&str], aurora: bool) -> Signals {
        Signals {
            roles: roles.iter().map(|s| s.to_string()).collect(),
            settings: settings.iter().map(|s| s.to_string()).collect(),
            aurora,
        }
    }

    #[test]
    fn each_provider_from_its_roles_or_settings() {
        let p = |s: Signals| detect(&s).map(|d| d.provider);
        assert_eq!(p(signals(&[], &[], false)), None);
        assert_eq!(
            p(signals(&["rds_superuser"], &[], false)),
            Some(Provider::AmazonRds)
        );
        assert_eq!(
            p(signals(&[], &["rds.extensions"], true)),
            Some(Provider::AmazonAurora)
        );
        assert_eq!(
            p(signals(&[], &["cloudsql.iam_authentication"], false)),
            Some(Provider::GoogleCloudSql)
        );
        assert_eq!(
            p(signals(&["azure_pg_admin"], &[], false)),
            Some(Provider::AzureFlexibleServer)
        );
        assert_eq!(
            p(signals(
                &["authenticator", "service_role", "supabase_admin"],
                &[],
                false
            )),
            Some(Provider::Supabase)
        );
        assert_eq!(
            p(signals(&[], &["neon.tenant_id"], false)),
            Some(Provider::Neon)
        );
        assert_eq!(
            p(signals(&["crunchy_write"], &[], false)),
            Some(Provider::CrunchyBridge)
        );
        // Supabase's generic role names alone name nobody.
        assert_eq!(
            p(signals(&["authenticator", "service_role"], &[], false)),
            None
        );
        let d = detect(&signals(&["rds_superuser"], &["rds.extensions"], true)).expect("aurora");
        assert_eq!(
            d.evidence,
            [
                "role rds_superuser",
                "setting rds.extensions",
                "function aurora_version()"
            ]
        );
    }

    #[test]
    fn fixes_become_the_providers() {
        let mut findings = vec![
            Finding { id: "server".into(), level: Level::Ok, what: "PostgreSQL 17.4 on a primary".into(), fix: None },
            Finding {
                id: "pgss_not_loaded".into(),
                level: Level::Missing,
                what: "pg_stat_statements is not loaded (shared_preload_libraries = '')".into(),
                fix: Some("in postgresql.conf: shared_preload_libraries = 'pg_stat_statements', then restart the server".into()),
            },
            Finding {
                id: "role_pg_monitor".into(),
                level: Level::Missing,
                what: "role \"app\" is not a member of pg_monitor".into(),
                fix: Some("GRANT pg_monitor TO \"app\";".into()),
            },
        ];
        let d = detect(&signals(&["azure_pg_admin"], &["azure.extensions"], false)).expect("azure");
        adapt(&mut findings, &d);
        assert_eq!(
            findings[1].what,
            "managed service: Azure Database for PostgreSQL flexible server (recognised by role azure_pg_admin, setting azure.extensions)"
        );
        assert!(findings[2]
            .fix
            .as_deref()
            .unwrap_or("")
            .contains("az postgres flexible-server parameter set"));
        assert_eq!(
            findings[3].fix.as_deref(),
            Some(
                "GRANT pg_monitor TO \"app\"; (as the administrator (a member of azure_pg_admin))"
            )
        );
        assert!(findings.last().expect("logs").what.contains("Server logs"));
    }
}
