//! `verify`'s EXPLAINs after the change: the plans of the statements on the real database with
//! the real new indexes, read through the what-if engine with no hypothetical index (the same
//! prepared `EXPLAIN`, the same value sets: observed values where `collect` saw them, else
//! representative ones from the statistics), and the index builds still running.
//!
//! I/O. Must not change the database: EXPLAIN only (never ANALYZE), in the engine's read-only,
//! untracked sessions, and one read of `pg_stat_progress_create_index`. Invariant: a statement
//! that cannot be parsed or planned is recorded with its reason, never dropped silently.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::baseline::Baseline;
use super::real_plan::{PlanRead, RealPlans};
use crate::candidates::CandidateSet;
use crate::error::{Error, Kind, Result};
use crate::model::{Snapshot, Workload};
use crate::parse::QueryShape;
use crate::pg::ConnectOptions;
use crate::whatif::{Engine, EngineOptions, Outcome, Request};

/// The index builds running in this database (`sql/index_builds.sql`).
pub use crate::collect::sql::INDEX_BUILDS;

/// Sessions the EXPLAINs use (verify plans few statements; the server is the production one).
const CONNECTIONS: usize = 2;

/// Value sets per statement, as `analyze` plans them by default.
const VALUE_SETS: usize = 4;

/// The real plans of `must` and of every baseline statement on a table that got a recommended
/// index (its plan is the only one that can use one), on the server at `connect`, whose state
/// `now` was read from.
pub async fn read(
    connect: &ConnectOptions,
    baseline: &Baseline,
    now: &Snapshot,
    must: &BTreeSet<i64>,
) -> Result<RealPlans> {
    let tables: BTreeSet<(&str, &str)> = baseline
        .indexes
        .iter()
        .map(|i| (i.schema.as_str(), i.table.as_str()))
        .collect();
    let workload = Workload {
        statements: baseline.statements.clone(),
        ..Workload::default()
    };
    let (shapes, skipped) = crate::parse::parse_workload(&workload, &now.catalog);
    let mut statements: BTreeMap<i64, std::result::Result<PlanRead, String>> = skipped
        .into_iter()
        .filter(|s| must.contains(&s.queryid))
        .map(|s| {
            (
                s.queryid,
                Err(format!("{}: {}", s.reason.label(), s.detail)),
            )
        })
        .collect();
    let shapes: Vec<QueryShape> = shapes
        .into_iter()
        .filter(|s| {
            must.contains(&s.queryid)
                || s.tables
                    .iter()
                    .any(|t| tables.contains(&(t.schema.as_str(), t.table.as_str())))
        })
        .collect();
    if !shapes.is_empty() {
        let opts = EngineOptions {
            connect: connect.clone(),
            connections: CONNECTIONS,
            value_sets: VALUE_SETS,
            // The plans the application runs: custom plans for the values it sends (Django
            // binds parameters client-side, or prepares per call).
            generic: false,
            progress: false,
            lean_cache: false,
            // Today's plans: an index the planner does not use yet stays out of them.
            stand_ins: false,
        };
        let mut engine = Engine::new(
            opts,
            &now.server,
            &now.catalog,
            &shapes,
            &CandidateSet::default(),
        )
        .await?;
        let mut observed = now.observed.clone();
        crate::whatif::rows_per_call::add_inferred(
            &mut observed,
            &shapes,
            &now.workload,
            &now.catalog,
        );
        engine.set_observed(Arc::new(observed));
        let requests: Vec<Request> = shapes
            .iter()
            .map(|s| Request {
                queryid: s.queryid,
                config: vec![],
            })
            .collect();
        let outcomes = engine.outcomes(&requests).await?;
        engine.close().await?;
        for (shape, outcome) in shapes.iter().zip(outcomes) {
            let read = outcome
                .map(|o| plan_read(&o))
                .map_err(|s| format!("{}: {}", s.reason.label(), s.detail));
            statements.insert(shape.queryid, read);
        }
    }
    let building = builds(connect, baseline).await?;
    Ok(RealPlans {
        statements,
        building,
    })
}

/// What the plans of one statement use: every index of every value set's plan, whether one
/// reads a table sequentially, the heaviest set's plan text.
fn plan_read(o: &Outcome) -> PlanRead {
    let mut indexes: Vec<String> = o
        .custom
        .iter()
        .flat_map(|v| v.plan.indexes.iter().cloned())
        .collect();
    indexes.sort();
    indexes.dedup();
    let heaviest = o
        .custom
        .iter()
        .fold(None::<&crate::whatif::ValuePlan>, |best, v| match best {
            Some(b) if b.weight >= v.weight => Some(b),
            _ => Some(v),
        });
    PlanRead {
        indexes,
        seq_scan: o
            .custom
            .iter()
            .any(|v| v.plan.node_types.iter().any(|t| t == "Seq Scan")),
        plans: o.custom.len(),
        text: heaviest.map(|v| v.plan.text.clone()).unwrap_or_default(),
    }
}

/// The recommended indexes with a `CREATE INDEX` running now: name → phase.
async fn builds(connect: &ConnectOptions, baseline: &Baseline) -> Result<BTreeMap<String, String>> {
    let conn = crate::pg::connect(connect).await?;
    let rows = conn.client.query(INDEX_BUILDS, &[]).await.map_err(|e| {
        Error::caused(
            Kind::Database,
            format!(
                "reading the index builds in progress: {}",
                crate::pg::connect::db_message(&e)
            ),
            e,
        )
    })?;
    let mut out = BTreeMap::new();
    for r in rows {
        let (schema, name, phase): (String, String, String) = (r.get(0), r.get(1), r.get(2));
        if baseline
            .indexes
            .iter()
            .any(|i| i.schema == schema && i.name == name)
        {
            out.insert(name, phase);
        }
    }
    Ok(out)
}
