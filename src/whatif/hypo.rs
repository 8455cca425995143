//! One connection's HypoPG state: which candidates exist as hypothetical indexes right now, and
//! the map from HypoPG's generated names back to candidate ids.
//!
//! Stage `whatif` (I/O). Must not create real objects: only `hypopg_*` functions. Invariant: the
//! hypothetical indexes of a session are exactly `self.current`, created in ascending candidate
//! id order, so the planner's index list (and its tie-breaking) depends only on the
//! configuration, never on what the session simulated before.

use std::collections::BTreeMap;

use tokio_postgres::Client;

use super::error::WhatIfError;
use crate::model::IndexSpec;
use crate::pg::connect::db_message;

/// Hypothetical indexes one session may hold at once. HypoPG 1.3 hands out fake OIDs from a
/// range of about 2,800 (FACTS §4); we stay well below it.
pub const MAX_HYPOTHETICAL: usize = 2000;

/// One hypothetical index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HypoIndex {
    /// Candidate id.
    pub candidate: usize,
    /// HypoPG's `indexrelid`.
    pub oid: u32,
    /// HypoPG's generated name, e.g. `<13543>btree_shop_order_customer_id_created_at`.
    pub name: String,
}

/// The HypoPG state of one session.
#[derive(Debug, Default)]
pub struct HypoSession {
    current: Vec<HypoIndex>,
    by_name: BTreeMap<String, usize>,
    /// `hypopg_create_index` calls made (for counters and tests).
    pub creates: u64,
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

    /// Remove every hypothetical index (`hypopg_reset()`).
    pub async fn reset(&mut self, client: &Client) -> Result<(), WhatIfError> {
        client
            .batch_execute("SELECT hypopg_reset()")
            .await
            .map_err(|e| WhatIfError::session("hypopg_reset()", e))?;
        self.current.clear();
        self.by_name.clear();
        Ok(())
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
            return Err(WhatIfError::TooManyIndexes(config.len()));
        }
        let keep = self
            .current
            .iter()
            .zip(config)
            .take_while(|(h, id)| h.candidate == **id)
            .count();
        if keep == 0 && !self.current.is_empty() {
            self.reset(client).await?;
        } else {
            while self.current.len() > keep {
                if let Some(h) = self.current.pop() {
                    self.by_name.remove(&h.name);
                    client
                        .execute("SELECT hypopg_drop_index($1)", &[&h.oid])
                        .await
                        .map_err(|e| WhatIfError::session("hypopg_drop_index", e))?;
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
        let ddl = spec.hypothetical_sql();
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
        let oid: u32 = row.get(0);
        let name: String = row.get(1);
        Ok(HypoIndex {
            candidate: id,
            oid,
            name,
        })
    }

    /// HypoPG's own size estimate of a hypothetical index (for comparison only: it ignores
    /// B-tree deduplication, FACTS §4).
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

    #[test]
    fn stable_names_drop_the_oid() {
        assert_eq!(
            stable_name("<13543>btree_shop_order_customer_id_created_at", 7),
            "<hypo:7>btree_shop_order_customer_id_created_at"
        );
        assert_eq!(stable_name("odd", 1), "<hypo:1>odd");
    }
}
