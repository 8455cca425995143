//! The entry point of selection: from shapes, candidates, the snapshot and candidate sizes to a
//! [`Recommendation`] with its frontier, asking a [`WhatIf`] for planner costs.
//!
//! Pure apart from the what-if calls. Invariant: the recommendation's costs (before → after per
//! statement) are planner answers, not estimates: the chosen configuration is always verified.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::bound::bound;
use super::drops::propose_drops;
use super::exchange::exchange;
use super::frontier::{frontier, ladder, make_monotone, point, set_shares, FrontierPoint};
use super::greedy::greedy;
use super::limits::{left_out, LimitsUsed};
use super::problem::{Limits, Problem};
use super::prune::{credit, prune, Bar, MEASURABLE_SHARE};
use super::recommendation::{Helped, Proposed, Recommendation, Rejected, StatementEffect};
use super::repair::{repair, useful_pool};
use super::slower::{mend, slower as made_slower};
use super::threshold::floor;
use crate::candidates::CandidateSet;
use crate::config::{MinBenefit, MinImprovement, StorageBudget};
use crate::cost::{ReadUnit, WriteCalibration, WriteModel, CALIBRATION};
use crate::error::Error;
use crate::model::Snapshot;
use crate::parse::shape::QueryShape;
use crate::whatif::WhatIf;

/// What selection works from.
#[derive(Debug, Clone, Copy)]
pub struct SelectInput<'a> {
    /// Parsed statements (skipped ones left out).
    pub shapes: &'a [QueryShape],
    /// Candidates; a candidate's index is its id in every [`crate::whatif::Request`].
    pub candidates: &'a CandidateSet,
    /// The snapshot (workload calls and mean time, write statistics, catalog).
    pub snapshot: &'a Snapshot,
    /// Estimated size in bytes of each candidate, same order as `candidates`
    /// (`whatif::size::estimate_index_size`).
    pub sizes: &'a [i64],
}

/// Limits and units of selection. `Default` gives what a DBA would accept without thinking:
/// a budget of a quarter of the database, at most 10 new indexes, 3 per table, a statement
/// counts as helped from 10% cheaper, an index must save 0.5% of the workload net of writes
/// (judged on the set: [`super::threshold`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelectOptions {
    /// Storage for new indexes.
    pub budget: StorageBudget,
    /// New indexes in all.
    pub max_indexes: usize,
    /// New indexes per table.
    pub max_per_table: usize,
    /// Least improvement per statement.
    pub min_improvement: MinImprovement,
    /// Least net benefit per index.
    pub min_benefit: MinBenefit,
    /// Rank by time (default) or planner cost (benchmarks).
    pub unit: ReadUnit,
    /// More budgets (bytes) to answer in the frontier from the same run.
    pub frontier_budgets: Vec<i64>,
    /// Write-model constants.
    pub calibration: WriteCalibration,
    /// Verify every frontier point with the planner (the chosen one always is).
    pub verify_frontier: bool,
    /// The engine can hide existing indexes (HypoPG 1.4+), so drops can be verified.
    pub can_hide: bool,
    /// Also answer the budgets of [`super::frontier::LADDER`] around the configured one
    /// (`analyze` sets it, so the report shows what more or less storage buys).
    #[serde(default)]
    pub ladder: bool,
    /// Propose drops of existing indexes (not for one statement's `explain`: drops are the
    /// whole workload's business, and their notes would be about indexes it never reads).
    #[serde(default = "yes")]
    pub drops: bool,
}

fn yes() -> bool {
    true
}

impl Default for SelectOptions {
    fn default() -> Self {
        SelectOptions {
            budget: StorageBudget::default(),
            max_indexes: 10,
            max_per_table: 3,
            min_improvement: MinImprovement::default(),
            min_benefit: MinBenefit::default(),
            unit: ReadUnit::Time,
            frontier_budgets: vec![],
            calibration: CALIBRATION,
            verify_frontier: true,
            can_hide: false,
            ladder: false,
            drops: true,
        }
    }
}

/// Size of the database, bytes: `pg_database_size` when the snapshot has it, else (older
/// snapshots) the collected tables and their existing indexes, which leaves out the system
/// catalogs and TOAST and so undersized small databases.
pub fn database_size(snapshot: &Snapshot) -> i64 {
    snapshot.server.database_size_bytes.unwrap_or_else(|| {
        snapshot
            .catalog
            .tables
            .iter()
            .map(|t| {
                t.size_bytes.max(0) + t.indexes.iter().map(|i| i.size_bytes.max(0)).sum::<i64>()
            })
            .sum()
    })
}

/// How the budget was set, for the reports.
fn budget_rule(budget: StorageBudget, snapshot: &Snapshot, database_bytes: i64) -> String {
    use crate::model::human_bytes;
    match budget {
        StorageBudget::Bytes(b) => format!("{} (--budget)", human_bytes(b)),
        StorageBudget::Share(f) => format!(
            "{}% of the database ({} {}), at least {}",
            trim_float(100.0 * f),
            if snapshot.server.database_size_bytes.is_some() {
                "pg_database_size"
            } else {
                "tables and indexes"
            },
            human_bytes(database_bytes),
            human_bytes(crate::config::SHARE_BUDGET_FLOOR)
        ),
    }
}

/// `25`, `2.5`: a share without trailing zeros.
fn trim_float(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Choose the indexes for the whole workload.
pub async fn select<W: WhatIf>(
    input: SelectInput<'_>,
    opts: &SelectOptions,
    whatif: &mut W,
) -> Result<Recommendation, Error> {
    let snapshot = input.snapshot;
    let write = WriteModel::new(snapshot, input.shapes, opts.calibration);
    let mut notes: Vec<String> = Vec::new();
    match opts.unit {
        ReadUnit::Cost => notes.push(
            "indexes are ranked by planner cost (calls × cost saved); write cost is not weighed"
                .to_string(),
        ),
        ReadUnit::Time => {
            if let Some(r) = &write.unavailable_reason {
                notes.push(r.clone());
            }
            if let Some(n) = &write.note {
                notes.push(n.clone());
            }
        }
    }
    if input.sizes.len() != input.candidates.candidates.len() {
        return Err(Error::Internal(format!(
            "{} sizes for {} candidates",
            input.sizes.len(),
            input.candidates.candidates.len()
        )));
    }
    let database_bytes = database_size(snapshot);
    let budget = opts.budget.resolve(database_bytes);
    let mut p = Problem::new(
        input.shapes,
        input.candidates,
        snapshot,
        input.sizes,
        write.clone(),
        opts.unit,
        opts.min_improvement.share(),
    );
    p.baseline_and_singles(whatif).await?;
    let total: f64 = p
        .stmts
        .iter()
        .map(|s| match opts.unit {
            ReadUnit::Cost => s.weight.calls * s.weight.baseline_cost,
            ReadUnit::Time => {
                s.weight.calls * s.weight.mean_time_ms / write.window_s.unwrap_or(1.0)
            }
        })
        .sum();
    let min_net = opts.min_benefit.share() * total;
    let mut budgets: Vec<i64> = opts.frontier_budgets.clone();
    if opts.ladder {
        budgets.extend(ladder(budget));
    }
    budgets.push(budget);
    let max_budget = budgets.iter().copied().max().unwrap_or(0).max(budget);
    // The search admits indexes over the floor; pruning judges `min_net` on the set.
    let limits = Limits {
        budget: max_budget,
        max_indexes: opts.max_indexes,
        max_per_table: opts.max_per_table,
        min_net: floor(min_net),
    };
    let steps = greedy(&mut p, whatif, &limits).await?;
    let mut points = frontier(&p, &steps, &limits, &budgets);
    // Alternatives found with the optimistic estimate (indexes on different tables of a join
    // helping independently), verified with the planner before they can replace a point.
    let alternatives = {
        let mut q = p.clone();
        q.optimistic = true;
        frontier(&q, &steps, &limits, &budgets)
    };
    // Verify: the chosen budget always, the others when asked; keep the frontier monotone.
    for (pt, alt) in points.iter_mut().zip(&alternatives) {
        if opts.verify_frontier || pt.budget_bytes == budget {
            p.verify(whatif, &pt.candidates).await?;
            *pt = point(&p, pt.budget_bytes, &pt.candidates);
            if alt.candidates != pt.candidates {
                p.verify(whatif, &alt.candidates).await?;
                let a = point(&p, pt.budget_bytes, &alt.candidates);
                if a.objective > pt.objective {
                    *pt = a;
                }
            }
        }
    }
    // Every index earns its place: leave-one-out on the planner's answers (see `prune`), on
    // each verified point, before the frontier is made monotone again.
    let bar = Bar {
        min_net,
        floor: floor(min_net),
        measurable: MEASURABLE_SHARE * total,
        skip_scan: snapshot.server.has_btree_skip_scan(),
        cache: super::threshold::CacheRoom::of(
            snapshot.server.shared_buffers_bytes,
            snapshot.server.database_size_bytes,
        ),
    };
    let mut pruned = Vec::new();
    for pt in points.iter_mut() {
        if opts.verify_frontier || pt.budget_bytes == budget {
            let (mut kept, mut gone) = prune(&mut p, whatif, &pt.candidates, bar).await?;
            // What pruning freed (and what verification taught the cache) may buy more: repair
            // again from the pruned set, verify and prune that, keep it when it is better.
            let lim = Limits {
                budget: pt.budget_bytes,
                ..limits
            };
            let again = repair(&p, &kept, &lim, &useful_pool(&p, &lim));
            if p.objective(&again) > p.objective(&kept) {
                p.verify(whatif, &again).await?;
                let (k2, g2) = prune(&mut p, whatif, &again, bar).await?;
                if p.objective(&k2) > p.objective(&kept) {
                    kept = k2;
                    gone.extend(g2);
                }
            }
            // Moves repair cannot judge on cached costs, costed with the planner.
            let pool = useful_pool(&p, &lim);
            let kept = exchange(&mut p, whatif, &kept, &lim, &pool, bar).await?;
            // Sets two or three moves away, where few candidates fit (bounded; see `bound`).
            let (kept, _) = bound(&mut p, whatif, &kept, &lim, bar).await?;
            if pt.budget_bytes == budget {
                pruned = gone;
            }
            *pt = point(&p, pt.budget_bytes, &kept);
        }
    }
    make_monotone(&p, &mut points);
    let chosen: FrontierPoint = points
        .iter()
        .find(|pt| pt.budget_bytes == budget)
        .cloned()
        .unwrap_or_else(|| point(&p, budget, &[]));
    if !chosen.verified {
        p.verify(whatif, &chosen.candidates).await?;
    }
    // No statement made markedly dearer in silence: repair it on every verified point, or
    // list it (see `slower`). Not made monotone again: a repair may cost a point a little.
    let mut kept = chosen.candidates.clone();
    for pt in points.iter_mut() {
        if !(pt.verified || pt.budget_bytes == budget) {
            continue;
        }
        let lim = Limits {
            budget: pt.budget_bytes,
            ..limits
        };
        let (mended, repaired) = mend(&mut p, whatif, &pt.candidates, &lim, min_net, total).await?;
        if pt.budget_bytes == budget {
            kept = mended.clone();
            notes.extend(repaired);
        }
        if mended != pt.candidates {
            *pt = point(&p, pt.budget_bytes, &mended);
        }
    }
    for pr in pruned.iter().filter(|pr| !kept.contains(&pr.candidate)) {
        notes.push(format!(
            "{} was left out of the recommendation: {}",
            p.cands[pr.candidate].spec.label(),
            pr.reason
        ));
    }
    let mut rec = build(&p, input.candidates, &steps, &kept, min_net);
    let helped: Vec<bool> = credit(&p, &kept).iter().map(Option::is_some).collect();
    rec.left_out = left_out(
        &p,
        &kept,
        &helped,
        &Limits {
            budget,
            min_net,
            ..limits
        },
        opts.min_benefit.share(),
    );
    rec.limits = LimitsUsed {
        budget_bytes: budget,
        budget_rule: budget_rule(opts.budget, snapshot, database_bytes),
        database_bytes,
        max_indexes: opts.max_indexes,
        max_per_table: opts.max_per_table,
        min_improvement: opts.min_improvement.share(),
        min_benefit: opts.min_benefit.share(),
    };
    if opts.drops {
        rec.drop = propose_drops(&snapshot.catalog, &write, opts.can_hide);
        // Existing indexes the new ones make redundant go in the same run, not the next.
        super::superseded::propose_superseded(
            &mut rec.drop,
            &snapshot.catalog,
            &rec.create,
            &write,
            opts.can_hide,
        );
    }
    if !opts.can_hide && !rec.drop.is_empty() {
        notes.push(
            "drops are not verified: HypoPG < 1.4 cannot hide an existing index from the planner"
                .to_string(),
        );
    }
    let skipped: BTreeSet<i64> = p.skipped.iter().map(|s| s.queryid).collect();
    if !skipped.is_empty() {
        let named: Vec<String> = skipped
            .iter()
            .filter_map(|q| p.skipped.iter().find(|s| s.queryid == *q))
            .map(|s| format!("{} ({}: {})", s.queryid, s.reason.label(), s.detail))
            .collect();
        notes.push(format!(
            "{} statement(s) could not be costed during selection and were left out: {}",
            skipped.len(),
            named.join("; ")
        ));
    }
    rec.notes = notes;
    // Shares of the whole workload (statements no candidate can help included).
    let whole = match opts.unit {
        ReadUnit::Cost => total,
        ReadUnit::Time => {
            (snapshot.workload.total_time_ms() / write.window_s.unwrap_or(1.0)).max(total)
        }
    };
    set_shares(&mut points, whole);
    rec.slower = made_slower(&p, &kept, total, whole);
    rec.frontier = points;
    rec.skipped = p.skipped.clone();
    rec.budget_bytes = budget;
    rec.whatif = whatif.counters();
    rec.write_rates = Some(match opts.unit {
        ReadUnit::Time => write.rates.clone(),
        ReadUnit::Cost => crate::model::WriteRates::Unknown {
            reason: "indexes are ranked by planner cost, write cost is not weighed".into(),
        },
    });
    Ok(rec)
}

/// The recommendation for configuration `set` (verified), with evidence per index.
fn build(
    p: &Problem,
    cands: &CandidateSet,
    steps: &[super::greedy::Step],
    set: &[usize],
    min_net: f64,
) -> Recommendation {
    let window = p.write.window_s;
    let per_s = |ms: f64| ms / window.unwrap_or(1.0);
    let mut order: Vec<usize> = set.to_vec();
    let rank = |c: usize| {
        steps
            .iter()
            .position(|s| s.candidate == c)
            .unwrap_or(usize::MAX)
    };
    order.sort_by_key(|&c| (rank(c), c));
    let mut statements = Vec::new();
    // Each statement is credited to one index: the one its plan uses that serves it best.
    let credits = credit(p, set);
    for s in 0..p.stmts.len() {
        let cfg = p.config_for(s, set);
        let (after, used) = match p.cache[s].get(&cfg) {
            Some(c) => (
                c.cost,
                c.used.iter().copied().filter(|u| set.contains(u)).collect(),
            ),
            None => (p.estimate(s, &cfg), vec![]),
        };
        statements.push(StatementEffect {
            queryid: p.stmts[s].weight.queryid,
            before_cost: p.stmts[s].weight.baseline_cost,
            after_cost: after,
            uses: used,
        });
    }
    let mut create = Vec::new();
    for &c in &order {
        let without: Vec<usize> = set.iter().copied().filter(|&x| x != c).collect();
        let mut helps = Vec::new();
        let mut supported = Vec::new();
        let mut gain_ms = 0.0;
        let mut gain_cost = 0.0;
        for &s in &p.cands[c].stmts {
            let w = &p.stmts[s].weight;
            let now = statements[s].after_cost;
            let before_c = p.estimate(s, &p.config_for(s, &without));
            let g_with = p.read_gain(s, now);
            let g_without = p.read_gain(s, before_c);
            gain_ms += (g_with.ms - g_without.ms).max(0.0);
            gain_cost += (g_with.cost_units - g_without.cost_units).max(0.0);
            // Evidence lists only the statements credited to this index (used by its plan,
            // at least `min_improvement` cheaper): each statement under one index.
            let helped = Helped {
                queryid: w.queryid,
                calls: w.calls as i64,
                before_cost: w.baseline_cost,
                after_cost: now,
                before_ms: w.mean_time_ms,
                after_ms: w.time_at(now),
            };
            if credits[s] == Some(c) {
                helps.push(helped);
            } else if credits[s].is_some()
                && statements[s].uses.contains(&c)
                && before_c > now * (1.0 + 1e-9)
            {
                // Credited to another index, but its plan needs this one too (a join's other
                // keys; the partial index for one rare value of a page credited to another's).
                supported.push(helped);
            }
        }
        // An index no statement is credited to is kept by pruning only when a helped
        // statement's plan needs it: it lists those statements, never none.
        if helps.is_empty() {
            helps = supported;
        }
        let t = p.cands[c].table;
        let write_ms = p.table_write(t, set) - p.table_write(t, &without);
        let lost = lost_hot(p, t, set) - lost_hot(p, t, &without);
        let mut displaced: Vec<(f64, usize)> = (0..p.cands.len())
            .filter(|&o| {
                !set.contains(&o)
                    && p.cands[o].stmts.iter().any(|s| {
                        helps
                            .iter()
                            .any(|h| h.queryid == p.stmts[*s].weight.queryid)
                    })
            })
            .map(|o| (p.marginal(&[], o), o))
            .filter(|(m, _)| *m > 0.0)
            .collect();
        displaced.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut rules: Vec<String> = cands.candidates[c]
            .sources
            .iter()
            .map(|s| {
                serde_json::to_value(s.rule)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            })
            .collect();
        rules.sort();
        rules.dedup();
        let hot_columns = if lost > 0.0 {
            let (schema, table) = &p.tables[t];
            p.write.hot_columns(schema, table, &p.cands[c].spec)
        } else {
            vec![]
        };
        create.push(Proposed {
            candidate: c,
            spec: p.cands[c].spec.clone(),
            size_bytes: p.cands[c].size,
            write_cost_ms_per_s: write_ms,
            read_gain_ms: gain_ms,
            helps,
            rules,
            read_gain_cost: gain_cost,
            net_benefit_ms_per_s: per_s(gain_ms) - write_ms,
            lost_hot_updates_per_s: lost,
            hot_columns,
            displaces: displaced
                .iter()
                .take(3)
                .map(|(_, o)| p.cands[*o].spec.label())
                .collect(),
        });
    }
    // Rejected for writes: helps reads alone by more than the threshold, but not net.
    let mut rejected = Vec::new();
    if p.write.available && p.unit == ReadUnit::Time {
        for c in 0..p.cands.len() {
            if set.contains(&c) || p.cands[c].stmts.is_empty() {
                continue;
            }
            let read: f64 = p.cands[c]
                .stmts
                .iter()
                .map(|&s| p.read_value(s, p.estimate(s, &[c])))
                .sum();
            let w = p.table_write(p.cands[c].table, &[c]);
            if read > min_net && read - w <= min_net {
                let lost = lost_hot(p, p.cands[c].table, &[c]);
                rejected.push(Rejected {
                    candidate: c,
                    spec: p.cands[c].spec.clone(),
                    read_gain_ms_per_s: read,
                    write_cost_ms_per_s: w,
                    lost_hot_updates_per_s: lost,
                    reason: if lost > 0.0 {
                        let (schema, table) = &p.tables[p.cands[c].table];
                        format!(
                            "its write cost ({w:.3} ms/s) exceeds its read gain ({read:.3} ms/s): {lost:.1} updates/s on {} would stop being HOT (an UPDATE sets {}) and write into every index of the table",
                            p.cands[c].spec.table,
                            p.write.hot_columns(schema, table, &p.cands[c].spec).join(", ")
                        )
                    } else {
                        format!("its write cost ({w:.3} ms/s) exceeds its read gain ({read:.3} ms/s)")
                    },
                });
            }
        }
        rejected.sort_by(|a, b| {
            b.read_gain_ms_per_s
                .total_cmp(&a.read_gain_ms_per_s)
                .then(a.candidate.cmp(&b.candidate))
        });
        rejected.truncate(20);
    }
    Recommendation {
        create,
        statements,
        rejected,
        ..Recommendation::default()
    }
}

fn lost_hot(p: &Problem, t: usize, set: &[usize]) -> f64 {
    let new: Vec<_> = set
        .iter()
        .filter(|&&c| p.cands[c].table == t)
        .map(|&c| (&p.cands[c].spec, p.cands[c].selectivity, p.cands[c].size))
        .collect();
    let (schema, table) = &p.tables[t];
    p.write.set_cost(schema, table, &new).lost_hot_per_s
}
