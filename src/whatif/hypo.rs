//! One connection's HypoPG state: which candidates exist as hypothetical indexes right now, and
//! the map from HypoPG's generated names back to candidate ids.
//!
//! Stage `whatif` (I/O). Must not create real objects: only `hypopg_*` functions. Invariant: the
//! hypothetical indexes of a session are exactly its stand-ins (copies of existing indexes the
//! planner does not use yet, [`stand_ins`]), created first, then `self.current`, created in
//! ascending candidate id order, so the planner's index list (and its tie-breaking) depends only
//! on the configuration, never on what the session simulated before.

use std::collections::BTreeMap;

use tokio_postgres::Client;

use super::error::WhatIfError;
use crate::model::{Catalog, IndexSpec, KeyExpr};
use crate::pg::connect::db_message;

/// Hypothetical indexes one session may hold at once. HypoPG 1.3 hands out fake OIDs from a
/// range of about 2,800 (docs/postgres-facts.md §4); we stay well below it.
pub const MAX_HYPOTHETICAL: usize = 2000;

/// Values at least this distinct (share of rows) count as unique for [`simulated`].
const DISTINCT_SHARE: f64 = 0.99;

/// The definition to give HypoPG for candidate `spec`: the same index, except that a
/// non-partial index led by `UPPER(col)`, on a column whose values are all distinct, is declared
/// `UNIQUE` on that one key with the other key columns moved to `INCLUDE`.
///
/// Why: the planner takes the selectivity of `UPPER(col) = $1` from the statistics ANALYZE
/// gathers for an index on that expression. A hypothetical index has none (HypoPG 1.3 sets no
/// statistics hook), so the planner assumes 0.5% of the rows match and, behind Django's `iexact`
/// with `.first()` (`ORDER BY id LIMIT 1`), walks the primary key instead: measured on the example,
/// cost 9.22 with or without the hypothetical index, while the real index, once ANALYZE has run,
/// is chosen at 8.31. A unique single-key index on the expression is the one thing the planner
/// takes a selectivity from without statistics (one row in `rows`, which is what a column of
/// distinct values such as emails has): the plan and cost then match the real index (8.06).
/// Once the leading key matches one row, the keys after it order nothing, so they ride along
/// as INCLUDE columns. Declared unique, the index could also let the planner prove a join on
/// `UPPER(col)` unique (join removal); Django joins on keys and filters with `UPPER`, so we
/// accept that.
///
/// Partial indexes are left as they are: the planner never reads statistics of a partial index
/// (even after ANALYZE the real `UPPER(email) WHERE deleted_at IS NULL` is not used behind the
/// LIMIT, measured), so the plain hypothetical is the honest answer for them. The recommendation
/// and the size estimate use the candidate as it is; the emitted SQL and migration run ANALYZE
/// after building an expression index, without which the real index is not used either.
pub fn simulated(spec: &IndexSpec, catalog: &Catalog) -> IndexSpec {
    let mut sim = spec.clone();
    // UNIQUE and INCLUDE are B-tree's.
    if spec.predicate.is_some() || !spec.method.is_btree() {
        return sim;
    }
    let Some((first, rest)) = spec.keys.split_first() else {
        return sim;
    };
    let KeyExpr::Upper(col) = &first.expr else {
        return sim;
    };
    let Some(rest) = rest
        .iter()
        .map(|k| match &k.expr {
            KeyExpr::Column(c) => Some(c.clone()),
            KeyExpr::Upper(_) => None,
        })
        .collect::<Option<Vec<String>>>()
    else {
        return sim;
    };
    let Some(table) = catalog.table(&spec.schema, &spec.table) else {
        return sim;
    };
    let unique_column = table.indexes.iter().any(|i| {
        i.unique
            && i.valid
            && i.predicate.is_none()
            && matches!(i.keys.as_slice(), [k] if !k.is_expression && k.expr == *col)
    });
    let distinct_stats = table
        .column(col)
        .and_then(|c| c.stats.as_ref())
        .is_some_and(|s| table.rows > 0.0 && s.distinct(table.rows) >= DISTINCT_SHARE * table.rows);
    if unique_column || distinct_stats {
        sim.unique = true;
        sim.keys.truncate(1);
        sim.include = rest
            .into_iter()
            .chain(spec.include.iter().cloned())
            .collect();
        sim.include.dedup();
    }
    sim
}

/// One hypothetical index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HypoIndex {
    /// Candidate id.
    pub candidate: usize,
    /// HypoPG's `indexrelid`.
    pub oid: u32,
    /// HypoPG's generated name, e.g. `<13543>btree_shop_order_customer_id_created_at`.
    pub name: String,
    /// The candidate's twin for proxied statements ([`super::proxy`]): its `indexrelid` and
    /// name.
    pub twin: Option<(u32, String)>,
}

/// The HypoPG state of one session.
#[derive(Debug, Default)]
pub struct HypoSession {
    current: Vec<HypoIndex>,
    by_name: BTreeMap<String, usize>,
    /// `hypopg_create_index` calls made (for counters and tests).
    pub creates: u64,
    /// Per candidate id, the DDL of its twin for proxied statements ([`super::proxy`]), created
    /// and dropped with it.
    pub twins: std::sync::Arc<Vec<Option<String>>>,
    /// Stand-ins: (definition, real name) of existing indexes the planner does not use yet
    /// ([`crate::model::ExistingIndex::planner_ready`]), each simulated by a hypothetical copy
    /// that every configuration keeps, created before any candidate.
    standing: Vec<(String, String)>,
    /// HypoPG name of each stand-in → the real index's name.
    stand_in_names: BTreeMap<String, String>,
    /// The real index's name → its stand-in's `indexrelid` (what [`HypoSession::stand_in_oid`]
    /// answers, so that a drop check can hide the copy with the index).
    stand_in_oids: BTreeMap<String, u32>,
}

/// The existing indexes the planner leaves out for now (valid, `planner_ready` false) as
/// (`pg_get_indexdef`, name): plans simulate them with a hypothetical copy, since the planner
/// will use them once the older transactions have ended.
pub fn stand_ins(catalog: &Catalog) -> Vec<(String, String)> {
    catalog
        .tables
        .iter()
        .flat_map(|t| &t.indexes)
        .filter(|i| i.waiting() && !i.definition.is_empty())
        .map(|i| (i.definition.clone(), i.name.clone()))
        .collect()
}

/// HypoPG's installed version in the connected database, or `None` when not installed.
pub async fn hypopg_version(client: &Client) -> Result<Option<String>, WhatIfError> {
    let row = client
        .query_opt(
            "SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'hypopg'",
            &[],
        )
        .await
        .map_err(|e| WhatIfError::session("reading the hypopg version", e))?;
    Ok(row.map(|r| r.get::<_, String>(0)))
}

impl HypoSession {
    /// A session after `hypopg_reset()`: whatever a previous user of the connection left is gone.
    pub async fn new(client: &Client) -> Result<HypoSession, WhatIfError> {
        client
            .batch_execute("SELECT hypopg_reset()")
            .await
            .map_err(|e| WhatIfError::session("hypopg_reset()", e))?;
        Ok(HypoSession::default())
    }

    /// Remove every candidate's hypothetical index (`hypopg_reset()`, then the stand-ins again).
    pub async fn reset(&mut self, client: &Client) -> Result<(), WhatIfError> {
        self.clear(client).await?;
        self.create_stand_ins(client).await.map(|_| ())
    }

    /// Remove every hypothetical index, stand-ins included (`hypopg_reset()`).
    pub async fn clear(&mut self, client: &Client) -> Result<(), WhatIfError> {
        client
            .batch_execute("SELECT hypopg_reset()")
            .await
            .map_err(|e| WhatIfError::session("hypopg_reset()", e))?;
        self.current.clear();
        self.by_name.clear();
        self.stand_in_names.clear();
        self.stand_in_oids.clear();
        Ok(())
    }

    /// Keep a hypothetical copy of each of `standing` (definition, real name) in every
    /// configuration from now on. Returns the ones HypoPG could not simulate, with its message
    /// (they stay out of the plans, as the planner leaves them today).
    pub async fn stand_in(
        &mut self,
        client: &Client,
        standing: Vec<(String, String)>,
    ) -> Result<Vec<(String, String)>, WhatIfError> {
        self.clear(client).await?;
        self.standing = standing;
        self.create_stand_ins(client).await
    }

    async fn create_stand_ins(
        &mut self,
        client: &Client,
    ) -> Result<Vec<(String, String)>, WhatIfError> {
        let mut failed = vec![];
        let mut kept = vec![];
        for (ddl, name) in std::mem::take(&mut self.standing) {
            match client
                .query_one(
                    "SELECT indexrelid, indexname FROM hypopg_create_index($1)",
                    &[&ddl],
                )
                .await
            {
                Ok(row) => {
                    self.stand_in_oids.insert(name.clone(), row.get(0));
                    self.stand_in_names.insert(row.get(1), name.clone());
                    kept.push((ddl, name));
                }
                Err(e) => failed.push((name, db_message(&e))),
            }
        }
        self.standing = kept;
        Ok(failed)
    }

    /// The real index a stand-in's HypoPG name stands for.
    pub fn stand_in_of(&self, index_name: &str) -> Option<&str> {
        self.stand_in_names.get(index_name).map(String::as_str)
    }

    /// The `indexrelid` of the stand-in of the real index `index_name`, if it has one: HypoPG
    /// 1.4 hides it like a real index (`hypopg_hide_index`, docs/postgres-facts.md §14).
    pub fn stand_in_oid(&self, index_name: &str) -> Option<u32> {
        self.stand_in_oids.get(index_name).copied()
    }

    /// The hypothetical indexes in force, in candidate id order.
    pub fn current(&self) -> &[HypoIndex] {
        &self.current
    }

    /// The candidate behind a HypoPG index name as EXPLAIN prints it.
    pub fn candidate_of(&self, index_name: &str) -> Option<usize> {
        self.by_name.get(index_name).copied()
    }

    /// Make the session hold exactly `config` (candidate ids, sorted ascending). Keeps the
    /// longest common prefix with the current state, drops the rest and creates the missing ones
    /// in order, so the state is canonical. `specs[id]` is candidate `id`'s spec.
    pub async fn set(
        &mut self,
        client: &Client,
        config: &[usize],
        specs: &[IndexSpec],
    ) -> Result<(), WhatIfError> {
        if config.len() > MAX_HYPOTHETICAL {
            return Err(WhatIfError::TooManyIndexes {
                count: config.len(),
                max: MAX_HYPOTHETICAL,
            });
        }
        let keep = self
            .current
            .iter()
            .zip(config)
            .take_while(|(h, id)| h.candidate == **id)
            .count();
        if keep == 0 && !self.current.is_empty() {
            // Every candidate goes: dropping them one by one would cost a call each.
            self.reset(client).await?;
        } else {
            while self.current.len() > keep {
                if let Some(h) = self.current.pop() {
                    self.by_name.remove(&h.name);
                    let twin = h.twin.iter().map(|(oid, name)| (*oid, Some(name)));
                    for (oid, name) in std::iter::once((h.oid, None)).chain(twin) {
                        if let Some(name) = name {
                            self.by_name.remove(name);
                        }
                        client
                            .execute("SELECT hypopg_drop_index($1)", &[&oid])
                            .await
                            .map_err(|e| WhatIfError::session("hypopg_drop_index", e))?;
                    }
                }
            }
        }
        for &id in &config[keep..] {
            let spec = specs.get(id).ok_or(WhatIfError::UnknownRequest {
                what: "candidate",
                id: id as i64,
            })?;
            let h = self.create(client, id, spec).await?;
            self.by_name.insert(h.name.clone(), id);
            if let Some((_, twin)) = &h.twin {
                self.by_name.insert(twin.clone(), id);
            }
            self.current.push(h);
        }
        Ok(())
    }

    /// Create one hypothetical index. The DDL is bound as a parameter, never spliced into the
    /// outer statement.
    async fn create(
        &mut self,
        client: &Client,
        id: usize,
        spec: &IndexSpec,
    ) -> Result<HypoIndex, WhatIfError> {
        let (oid, name) = self
            .create_ddl(client, id, spec, &spec.hypothetical_sql())
            .await?;
        let twin = match self.twins.get(id).cloned().flatten() {
            Some(ddl) => Some(self.create_ddl(client, id, spec, &ddl).await?),
            None => None,
        };
        Ok(HypoIndex {
            candidate: id,
            oid,
            name,
            twin,
        })
    }

    /// `hypopg_create_index(ddl)` for candidate `id`: its `indexrelid` and name.
    async fn create_ddl(
        &mut self,
        client: &Client,
        id: usize,
        spec: &IndexSpec,
        ddl: &str,
    ) -> Result<(u32, String), WhatIfError> {
        self.creates += 1;
        let row = client
            .query_one(
                "SELECT indexrelid, indexname FROM hypopg_create_index($1)",
                &[&ddl],
            )
            .await
            .map_err(|e| WhatIfError::Candidate {
                id,
                label: spec.label(),
                message: db_message(&e),
            })?;
        Ok((row.get(0), row.get(1)))
    }

    /// HypoPG's own size estimate of a hypothetical index (for comparison only: it ignores
    /// B-tree deduplication, docs/postgres-facts.md §4).
    pub async fn hypopg_size(&self, client: &Client, oid: u32) -> Result<i64, WhatIfError> {
        let row = client
            .query_one("SELECT hypopg_relation_size($1)::bigint", &[&oid])
            .await
            .map_err(|e| WhatIfError::session("hypopg_relation_size", e))?;
        Ok(row.get(0))
    }
}

/// Replace HypoPG's `<oid>` name prefix with the candidate id (`<hypo:3>btree_shop_order_…`),
/// so plan texts do not depend on which session (and OID) simulated the index.
pub fn stable_name(name: &str, candidate: usize) -> String {
    match name.strip_prefix('<').and_then(|r| r.split_once('>')) {
        Some((_, rest)) => format!("<hypo:{candidate}>{rest}"),
        None => format!("<hypo:{candidate}>{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Column, ColumnStats, ExistingIndex, IndexKey, Table};

    fn upper(col: &str) -> IndexKey {
        IndexKey {
            expr: KeyExpr::Upper(col.into()),
            ..IndexKey::col(col)
        }
    }

    /// `customer` with 20,000 rows: `email` all distinct, `city` 50 values, `login` without
    /// statistics but with a unique constraint.
    fn catalog() -> Catalog {
        let col = |name: &str, n_distinct: Option<f64>| Column {
            name: name.into(),
            attnum: 1,
            type_name: "character varying(254)".into(),
            not_null: true,
            collation: None,
            stats: n_distinct.map(|n| ColumnStats {
                n_distinct: n,
                ..Default::default()
            }),
        };
        Catalog {
            tables: vec![Table {
                oid: 1,
                rows: 20_000.0,
                columns: vec![
                    col("email", Some(-1.0)),
                    col("city", Some(50.0)),
                    col("login", None),
                ],
                indexes: vec![ExistingIndex {
                    constraint: Some("customer_login_key".into()),
                    ..ExistingIndex::btree("customer_login_key", "login", true)
                }],
                ..Table::named("public", "customer")
            }],
            search_path: vec![],
        }
    }

    #[test]
    fn upper_of_a_distinct_column_is_simulated_unique_and_nothing_else_is() {
        let c = catalog();
        let on = |keys: Vec<IndexKey>| IndexSpec::on("public", "customer", keys);
        assert!(
            simulated(&on(vec![upper("email")]), &c).unique,
            "distinct stats"
        );
        assert!(
            simulated(&on(vec![upper("login")]), &c).unique,
            "unique constraint"
        );
        for spec in [
            on(vec![upper("city")]),
            on(vec![IndexKey::col("email")]),
            on(vec![IndexKey::col("city"), upper("email")]),
            on(vec![upper("email"), upper("login")]),
            IndexSpec::on("public", "other", vec![upper("email")]),
        ] {
            assert_eq!(simulated(&spec, &c), spec, "{spec:?}");
        }
        // Keys after the unique one become INCLUDE columns.
        let mut spec = on(vec![upper("email"), IndexKey::col_desc("id")]);
        spec.include = vec!["name".into()];
        let sim = simulated(&spec, &c);
        assert!(sim.unique);
        assert_eq!(sim.keys, vec![upper("email")]);
        assert_eq!(sim.include, vec!["id".to_string(), "name".to_string()]);
        // A partial index never gets expression statistics, real or hypothetical: unchanged.
        let mut partial = on(vec![upper("email")]);
        partial.predicate = Some(crate::model::Predicate {
            terms: vec![crate::model::PredTerm::IsNull {
                column: "deleted_at".into(),
            }],
        });
        assert_eq!(simulated(&partial, &c), partial);
    }

    #[test]
    fn stable_names_drop_the_oid() {
        assert_eq!(
            stable_name("<13543>btree_shop_order_customer_id_created_at", 7),
            "<hypo:7>btree_shop_order_customer_id_created_at"
        );
        assert_eq!(stable_name("odd", 1), "<hypo:1>odd");
    }
}
