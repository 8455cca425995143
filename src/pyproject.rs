//! `[tool.idxadvise]` in the Django project's `pyproject.toml`: team-wide defaults for
//! `analyze` (budget, thresholds, excluded tables, migrations app).
//!
//! Pure apart from reading the one file. Precedence: command-line flags, then environment
//! variables, then this table, then built-in defaults. Unknown keys are an error, so a typo
//! does not silently fall back to a default.

use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Kind};

/// The `[tool.idxadvise]` table.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ProjectConfig {
    /// Storage budget for new indexes (`"500MB"`, `"10%"`).
    pub budget: Option<String>,
    /// Most new indexes in all.
    pub max_indexes: Option<usize>,
    /// Most new indexes per table.
    pub max_per_table: Option<usize>,
    /// Least improvement for a statement to count as helped (`"10%"`).
    pub min_improvement: Option<String>,
    /// Least net benefit of an index (`"0.5%"`).
    pub min_benefit: Option<String>,
    /// Tables to leave out (`"django_session"`, `"public.audit_log"`).
    #[serde(default)]
    pub exclude_tables: Vec<String>,
    /// App for RunSQL migrations on tables without an editable model.
    pub migrations_app: Option<String>,
    /// Values the application compares columns with (`"shop_order.status=pending"`).
    #[serde(default)]
    pub hot_values: Vec<String>,
    /// Observation window of `analyze`, `collect` and `verify` (`"60s"`, `"0"`).
    pub window: Option<String>,
}

#[derive(Debug, Deserialize)]
struct PyProject {
    tool: Option<Tool>,
}

#[derive(Debug, Deserialize)]
struct Tool {
    idxadvise: Option<ProjectConfig>,
}

/// Read `[tool.idxadvise]` from `<project>/pyproject.toml`; absent file or table → defaults.
pub fn load(project: &Path) -> Result<ProjectConfig, Error> {
    let path = project.join("pyproject.toml");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ProjectConfig::default()),
        Err(e) => {
            let message = format!("cannot read {}: {e}", path.display());
            return Err(Error::caused(Kind::Usage, message, e));
        }
    };
    parse(&text).map_err(|e| Error::caused(Kind::Usage, format!("{}: {e}", path.display()), e))
}

/// A `pyproject.toml` that is not valid TOML, or whose `[tool.idxadvise]` has an unknown key
/// or a value of the wrong type. The message is the first line of TOML's own.
#[derive(Debug, thiserror::Error)]
#[error("invalid [tool.idxadvise]: {}", .source.message().lines().next().unwrap_or(""))]
pub struct InvalidPyProject {
    /// The TOML parser's error.
    #[source]
    source: toml::de::Error,
}

/// Parse the text of a `pyproject.toml`.
pub fn parse(text: &str) -> Result<ProjectConfig, InvalidPyProject> {
    let doc: PyProject = toml::from_str(text).map_err(|source| InvalidPyProject { source })?;
    Ok(doc.tool.and_then(|t| t.idxadvise).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_table_and_ignores_other_tools() {
        let c = parse(
            "[project]\nname = \"shop\"\n[tool.black]\nline-length = 88\n[tool.idxadvise]\nbudget = \"200MB\"\nmax-indexes = 4\nhot-values = [\"shop_order.status=pending\"]\nexclude-tables = [\"django_session\"]\nmigrations-app = \"shop\"\nwindow = \"30s\"\n",
        )
        .expect("valid");
        assert_eq!(c.budget.as_deref(), Some("200MB"));
        assert_eq!(c.max_indexes, Some(4));
        assert_eq!(c.exclude_tables, vec!["django_session"]);
        assert_eq!(c.migrations_app.as_deref(), Some("shop"));
        assert_eq!(c.hot_values, vec!["shop_order.status=pending"]);
        assert_eq!(c.window.as_deref(), Some("30s"));
        assert_eq!(
            parse("[project]\nname='x'\n").expect("ok"),
            ProjectConfig::default()
        );
    }

    #[test]
    fn unknown_keys_are_errors() {
        let e = parse("[tool.idxadvise]\nbudgett = \"1GB\"\n").expect_err("typo");
        assert!(e.to_string().contains("budgett"), "{e}");
    }
}
