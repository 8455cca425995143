//! Selection scenarios against the table-driven fake engine: brute-force optima, the greedy's
//! blocking failure, frontier monotonicity, re-costing scope and lost HOT updates.

use super::frontier::frontier;
use super::greedy::greedy;
use super::problem::{Limits, Problem};
use super::recommendation::Recommendation;
use super::run::{select, SelectInput, SelectOptions};
use crate::candidates::{Candidate, CandidateSet};
use crate::config::{MinBenefit, MinImprovement, StorageBudget};
use crate::cost::{ReadUnit, WriteModel};
use crate::model::{
    Catalog, IndexKey, IndexSpec, ServerInfo, Snapshot, Statement, Table, TableWrites, Workload,
    WriteSource, WriteStats,
};
use crate::parse::shape::{QueryShape, StatementKind, TableAccess};
use crate::whatif::fake::per_statement;
use crate::whatif::{FakeTable, FakeWhatIf, WhatIf};

/// A small world: tables t0…, statements, candidates (single-column on `c<k>`).
pub(super) struct World {
    pub(super) shapes: Vec<QueryShape>,
    pub(super) cands: CandidateSet,
    pub(super) snap: Snapshot,
    pub(super) sizes: Vec<i64>,
    pub(super) fake: FakeTable,
}

pub(super) fn access(table: &str, cols: &[&str]) -> TableAccess {
    TableAccess {
        schema: "public".into(),
        table: table.into(),
        equality: cols.iter().map(|c| c.to_string()).collect(),
        ..Default::default()
    }
}

pub(super) fn shape(queryid: i64, kind: StatementKind, tables: Vec<TableAccess>) -> QueryShape {
    QueryShape {
        queryid,
        kind,
        plan_text: String::new(),
        param_count: 0,
        tables,
        params: vec![],
        limit: None,
        offset: false,
    }
}

pub(super) fn stmt(queryid: i64, calls: i64, mean_ms: f64) -> Statement {
    Statement {
        queryid,
        query: String::new(),
        calls,
        total_time_ms: calls as f64 * mean_ms,
        mean_time_ms: mean_ms,
        rows: calls,
        shared_blks_hit: 0,
        shared_blks_read: 0,
        stddev_time_ms: None,
    }
}

pub(super) fn table(name: &str, rows: f64) -> Table {
    Table {
        oid: 1,
        rows,
        pages: 100,
        all_visible_frac: 1.0,
        size_bytes: 1 << 30,
        ..Table::named("public", name)
    }
}

pub(super) fn snapshot(
    tables: Vec<Table>,
    statements: Vec<Statement>,
    writes: WriteStats,
) -> Snapshot {
    Snapshot {
        format_version: crate::model::SNAPSHOT_FORMAT_VERSION,
        created_by: "test".into(),
        server: ServerInfo::default(),
        catalog: Catalog {
            tables,
            search_path: vec![],
        },
        workload: Workload {
            statements,
            ..Default::default()
        },
        write_stats: writes,
        observed: Default::default(),
        logs: Default::default(),
        content_types: vec![],
    }
}

pub(super) fn no_writes() -> WriteStats {
    WriteStats {
        source: WriteSource::Unavailable,
        since: None,
        seconds: None,
        tables: vec![],
        statements: vec![],
        window: None,
    }
}

fn cost_opts(budget: i64) -> SelectOptions {
    SelectOptions {
        budget: StorageBudget::Bytes(budget),
        max_indexes: 64,
        max_per_table: 64,
        min_improvement: MinImprovement::new(0.0).expect("valid"),
        min_benefit: MinBenefit::new(0.0).expect("valid"),
        unit: ReadUnit::Cost,
        ..SelectOptions::default()
    }
}

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

impl World {
    /// The selection input over this world.
    fn input(&self) -> SelectInput<'_> {
        SelectInput {
            shapes: &self.shapes,
            candidates: &self.cands,
            snapshot: &self.snap,
            sizes: &self.sizes,
        }
    }

    /// The whole selection on a fresh fake engine over this world's costs; the fake is returned
    /// for its counters.
    pub(super) async fn select(&self, opts: &SelectOptions) -> (Recommendation, FakeWhatIf) {
        let mut fake = FakeWhatIf::table(self.fake.clone());
        let rec = select(self.input(), opts, &mut fake).await.expect("select");
        (rec, fake)
    }
}

/// The candidates a recommendation creates, sorted.
fn chosen(rec: &Recommendation) -> Vec<usize> {
    let mut got: Vec<usize> = rec.create.iter().map(|p| p.candidate).collect();
    got.sort_unstable();
    got
}

/// A candidate set of `specs`, without sources or advice.
pub(super) fn candidate_set(specs: Vec<IndexSpec>) -> CandidateSet {
    CandidateSet {
        candidates: specs
            .into_iter()
            .map(|spec| Candidate {
                spec,
                sources: vec![],
            })
            .collect(),
        advice: vec![],
    }
}

/// Add `spec` on table group `t` with a random size, unless it is already there.
fn add_candidate(
    spec: IndexSpec,
    t: usize,
    r: &mut Rng,
    cands: &mut Vec<IndexSpec>,
    sizes: &mut Vec<i64>,
    fake: &mut FakeTable,
) {
    if cands.contains(&spec) {
        return;
    }
    fake.group.insert(cands.len(), t);
    cands.push(spec);
    sizes.push(10 + r.below(90) as i64);
}

/// A random world of single-table statements: 2 tables, 4 columns each, 4–6 statements,
/// 5–9 candidates, best-index-per-table costs.
fn random_world(seed: u64) -> World {
    let mut r = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let n_stmts = 4 + r.below(3) as usize;
    let n_cands = 5 + r.below(5) as usize;
    let mut fake = FakeTable::default();
    let mut cands = Vec::new();
    let mut sizes = Vec::new();
    for i in 0..n_cands {
        let t = i % 2;
        let col = format!("c{}", r.below(4));
        let col2 = format!("c{}", r.below(4));
        let mut keys = vec![IndexKey::col(&col)];
        if col2 != col {
            keys.push(IndexKey::col(&col2));
        }
        let spec = IndexSpec::on("public", &format!("t{t}"), keys);
        add_candidate(spec, t, &mut r, &mut cands, &mut sizes, &mut fake);
    }
    let mut shapes = Vec::new();
    let mut statements = Vec::new();
    for q in 0..n_stmts as i64 {
        let t = (q % 2) as usize;
        let tname = format!("t{t}");
        let cols: Vec<String> = (0..4)
            .filter(|_| r.below(2) == 0)
            .map(|k| format!("c{k}"))
            .collect();
        let colrefs: Vec<&str> = cols.iter().map(|s| s.as_str()).collect();
        shapes.push(shape(
            q + 1,
            StatementKind::Select,
            vec![access(&tname, &colrefs)],
        ));
        statements.push(stmt(q + 1, 1 + r.below(100) as i64, 1.0));
        fake.base.insert(q + 1, 100.0 + r.below(10_000) as f64);
        for (ci, c) in cands.iter().enumerate() {
            let lead = c.keys[0].expr.column().to_string();
            if c.table == tname && cols.contains(&lead) {
                fake.factor.insert((q + 1, ci), 0.05 + 0.9 * r.unit());
            }
        }
    }
    World {
        shapes,
        cands: candidate_set(cands),
        snap: snapshot(
            vec![table("t0", 1e6), table("t1", 1e6)],
            statements,
            no_writes(),
        ),
        sizes,
        fake,
    }
}

/// The problem of `w` ranked by planner cost (no write model), with its baseline and single
/// candidates costed.
async fn cost_problem(w: &World, fake: &mut FakeWhatIf) -> Problem {
    let mut p = Problem::new(
        &w.shapes,
        &w.cands,
        &w.snap,
        &w.sizes,
        WriteModel::unavailable("test"),
        ReadUnit::Cost,
        0.0,
    );
    p.baseline_and_singles(fake).await.expect("costs");
    p
}

/// Brute force: the best Σ calls × (base − cost) over all subsets within the budget.
fn brute_force(w: &World, budget: i64) -> f64 {
    let n = w.cands.candidates.len();
    let mut best = 0.0f64;
    for mask in 0u32..(1 << n) {
        let set: Vec<usize> = (0..n).filter(|i| mask & (1 << i) != 0).collect();
        let size: i64 = set.iter().map(|&i| w.sizes[i]).sum();
        if size > budget {
            continue;
        }
        let mut v = 0.0;
        for st in &w.snap.workload.statements {
            let base = w.fake.base[&st.queryid];
            let (cost, _) = w.fake.cost(st.queryid, &set).expect("costed");
            v += st.calls as f64 * (base - cost);
        }
        best = best.max(v);
    }
    best
}

fn achieved(w: &World, set: &[usize]) -> f64 {
    w.snap
        .workload
        .statements
        .iter()
        .map(|st| {
            let base = w.fake.base[&st.queryid];
            let (cost, _) = w.fake.cost(st.queryid, set).expect("costed");
            st.calls as f64 * (base - cost)
        })
        .sum()
}

#[tokio::test]
async fn finds_the_brute_force_optimum_on_random_small_instances() {
    for seed in 1..=25u64 {
        let w = random_world(seed);
        let total: i64 = w.sizes.iter().sum();
        for budget in [total / 4, total / 2, total] {
            let (rec, _) = w.select(&cost_opts(budget)).await;
            let set: Vec<usize> = rec.create.iter().map(|p| p.candidate).collect();
            let size: i64 = set.iter().map(|&c| w.sizes[c]).sum();
            assert!(
                size <= budget,
                "seed {seed}: size {size} over budget {budget}"
            );
            let opt = brute_force(&w, budget);
            let got = achieved(&w, &set);
            assert!(
                (opt - got).abs() <= 1e-9 * opt.max(1.0),
                "seed {seed} budget {budget}: got {got}, optimum {opt}, chose {set:?}"
            );
        }
    }
}

/// A (60 B, saves 60) beats B and C (50 B, save 45 each) per byte; at 100 B the pair is better.
/// Sixteen tiny fillers make the pool too big for exhaustive search, so the swap repair runs.
fn blocking_world() -> World {
    let mut fake = FakeTable::default();
    let mut cands = Vec::new();
    let mut sizes = Vec::new();
    let mut shapes = Vec::new();
    let mut statements = Vec::new();
    let specs = [
        ("ta", "a", 60, 60.0),
        ("tb", "b", 50, 45.0),
        ("tc", "c", 50, 45.0),
    ];
    for (i, (t, col, size, gain)) in specs.iter().enumerate() {
        let q = i as i64 + 1;
        cands.push(IndexSpec::on("public", t, vec![IndexKey::col(col)]));
        sizes.push(*size);
        shapes.push(shape(q, StatementKind::Select, vec![access(t, &[col])]));
        statements.push(stmt(q, 1, 1.0));
        fake.base.insert(q, 100.0);
        fake.factor.insert((q, i), (100.0 - gain) / 100.0);
    }
    for f in 0..16 {
        let q = 100 + f as i64;
        let t = format!("tf{f}");
        let ci = cands.len();
        cands.push(IndexSpec::on("public", &t, vec![IndexKey::col("x")]));
        sizes.push(5);
        shapes.push(shape(q, StatementKind::Select, vec![access(&t, &["x"])]));
        statements.push(stmt(q, 1, 1.0));
        fake.base.insert(q, 100.0);
        fake.factor.insert((q, ci), 0.999);
    }
    World {
        shapes,
        cands: candidate_set(cands),
        snap: snapshot(vec![], statements, no_writes()),
        sizes,
        fake,
    }
}

#[tokio::test]
async fn repair_fixes_the_greedy_blocking_failure_without_new_explains() {
    let w = blocking_world();
    let mut fake = FakeWhatIf::table(w.fake.clone());
    let mut p = cost_problem(&w, &mut fake).await;
    let limits = Limits {
        budget: 100,
        max_indexes: 64,
        max_per_table: 64,
        min_net: 0.0,
    };
    let steps = greedy(&mut p, &mut fake, &limits).await.expect("greedy");
    assert_eq!(steps[0].candidate, 0, "the greedy takes A first: {steps:?}");
    assert!(!steps.iter().any(|s| s.candidate == 1 || s.candidate == 2));
    let explains = fake.explained.len();
    let pts = frontier(&p, &steps, &limits, &[60, 100]);
    assert_eq!(fake.explained.len(), explains, "repair sent no EXPLAIN");
    assert_eq!(
        pts[0].candidates.iter().take(1).collect::<Vec<_>>(),
        vec![&0]
    );
    assert_eq!(
        pts[1].candidates,
        vec![1, 2],
        "the pair replaces A at 100 B"
    );
    assert!((pts[1].objective - 90.0).abs() < 1e-9, "{:?}", pts[1]);
    // Through the whole pipeline, too.
    let (rec, _) = w.select(&cost_opts(100)).await;
    assert_eq!(chosen(&rec), vec![1, 2]);
    assert_eq!(rec.create[0].helps.len(), 1);
    assert!((rec.create[0].helps[0].after_cost - 55.0).abs() < 1e-9);
}

#[tokio::test]
async fn frontier_is_monotone_in_budget_and_comes_from_one_run() {
    for seed in 1..=10u64 {
        let w = random_world(seed);
        let total: i64 = w.sizes.iter().sum();
        let budgets: Vec<i64> = (1..=8).map(|k| total * k / 8).collect();
        let mut fake = FakeWhatIf::table(w.fake.clone());
        let opts = SelectOptions {
            frontier_budgets: budgets.clone(),
            ..cost_opts(total / 8)
        };
        let input = w.input();
        let rec = select(input, &opts, &mut fake).await.expect("select");
        assert_eq!(rec.frontier.len(), budgets.len());
        for pair in rec.frontier.windows(2) {
            assert!(
                pair[1].objective >= pair[0].objective - 1e-9,
                "seed {seed}: {pair:?}"
            );
            assert!(
                pair[1].workload_cost <= pair[0].workload_cost + 1e-9,
                "seed {seed}"
            );
            assert!(pair[1].size_bytes <= pair[1].budget_bytes);
        }
        assert!(rec.frontier.iter().all(|p| p.verified));
        // Every answer is exact and no (statement, configuration) was asked twice.
        let c = fake.counters();
        assert_eq!(c.explains as usize, fake.explained.len());
        for pt in &rec.frontier {
            let opt = brute_force(&w, pt.budget_bytes);
            assert!(
                (achieved(&w, &pt.candidates) - opt).abs() <= 1e-9 * opt.max(1.0),
                "seed {seed}"
            );
        }
    }
}

#[tokio::test]
async fn only_statements_on_the_chosen_table_are_re_costed() {
    // q1, q2 on t0 (candidates 0, 1 compete); q3 on t1 (candidate 2).
    let mut fake = FakeTable::default();
    let cands = vec![
        IndexSpec::on("public", "t0", vec![IndexKey::col("a")]),
        IndexSpec::on("public", "t0", vec![IndexKey::col("a"), IndexKey::col("b")]),
        IndexSpec::on("public", "t1", vec![IndexKey::col("x")]),
    ];
    for (i, _) in cands.iter().enumerate() {
        fake.group.insert(i, if i < 2 { 0 } else { 1 });
    }
    for q in 1..=3 {
        fake.base.insert(q, 1000.0);
    }
    fake.factor.insert((1, 0), 0.1);
    fake.factor.insert((1, 1), 0.12);
    fake.factor.insert((2, 0), 0.5);
    fake.factor.insert((2, 1), 0.05);
    fake.factor.insert((3, 2), 0.2);
    let w = World {
        shapes: vec![
            shape(1, StatementKind::Select, vec![access("t0", &["a"])]),
            shape(2, StatementKind::Select, vec![access("t0", &["a", "b"])]),
            shape(3, StatementKind::Select, vec![access("t1", &["x"])]),
        ],
        cands: candidate_set(cands),
        snap: snapshot(
            vec![],
            vec![stmt(1, 10, 1.0), stmt(2, 10, 1.0), stmt(3, 10, 1.0)],
            no_writes(),
        ),
        sizes: vec![10, 20, 10],
        fake,
    };
    let (rec, f) = w.select(&cost_opts(1000)).await;
    // (a, b) alone serves both statements on t0 almost as well as both indexes: one index
    // serving several statements is counted on all of them.
    assert_eq!(chosen(&rec), vec![0, 1, 2]);
    let per = per_statement(&f.explained);
    // q3: baseline + its single; never re-costed for choices on t0.
    assert_eq!(per[&3], 2, "{:?}", f.explained);
    assert!(per[&1] >= 3, "q1 is re-costed with the competing index");
}

/// The example shop: `UPDATE "shop_order" SET "status" = $1 WHERE "shop_order"."id" = $2` at a
/// high rate, and a SELECT filtering on status.
fn hot_world(updates_per_s: f64) -> World {
    let seconds = 3600.0;
    let mut update = access("shop_order", &["id"]);
    update.set_columns = vec!["status".into()];
    update.is_target = true;
    let mut select_status = access("shop_order", &["status"]);
    select_status.columns_read = vec!["id".into(), "status".into(), "total".into()];
    let mut shapes = vec![shape(20, StatementKind::Select, vec![select_status])];
    let mut statements = vec![stmt(20, 360, 10.0)];
    if updates_per_s > 0.0 {
        shapes.push(shape(10, StatementKind::Update, vec![update]));
        statements.push(stmt(10, (updates_per_s * seconds) as i64, 0.05));
    }
    let upd = (updates_per_s * seconds) as i64;
    let writes = WriteStats {
        source: WriteSource::Local,
        since: Some("2026-11-25 00:00:00+00".into()),
        seconds: Some(seconds),
        tables: vec![TableWrites {
            schema: "public".into(),
            table: "shop_order".into(),
            n_tup_ins: (5.0 * seconds) as i64,
            n_tup_upd: upd,
            n_tup_hot_upd: upd * 95 / 100,
            n_tup_del: 0,
            n_live_tup: 300_000,
            n_dead_tup: 0,
        }],
        statements: vec![],
        window: None,
    };
    let mut t = table("shop_order", 300_000.0);
    t.indexes = vec![
        existing("shop_order_pkey", "id"),
        existing("shop_order_customer_id_idx", "customer_id"),
    ];
    let mut fake = FakeTable::default();
    fake.base.insert(20, 5000.0);
    fake.base.insert(10, 8.0);
    fake.factor.insert((20, 0), 0.1);
    World {
        shapes,
        cands: candidate_set(vec![IndexSpec::on(
            "public",
            "shop_order",
            vec![IndexKey::col("status")],
        )]),
        snap: snapshot(vec![t], statements, writes),
        sizes: vec![2_400_000],
        fake,
    }
}

fn existing(name: &str, col: &str) -> crate::model::ExistingIndex {
    let pkey = name.ends_with("pkey");
    crate::model::ExistingIndex {
        primary: pkey,
        constraint: pkey.then(|| name.to_string()),
        size_bytes: 6_000_000,
        scans: 1000,
        ..crate::model::ExistingIndex::btree(name, col, pkey)
    }
}

#[tokio::test]
async fn status_index_is_rejected_for_lost_hot_updates_and_accepted_without_updates() {
    let opts = SelectOptions::default();
    for (rate, accepted) in [(1000.0, false), (0.0, true)] {
        let w = hot_world(rate);
        let (rec, _) = w.select(&opts).await;
        assert_eq!(
            !rec.create.is_empty(),
            accepted,
            "updates/s {rate}: {rec:#?}"
        );
        if accepted {
            let p = &rec.create[0];
            assert_eq!(p.lost_hot_updates_per_s, 0.0);
            assert!(p.net_benefit_ms_per_s > 0.0);
            assert_eq!(p.helps[0].queryid, 20);
            assert!((p.helps[0].after_ms - 1.045).abs() < 1e-9, "{p:?}");
        } else {
            let r = &rec.rejected[0];
            assert!((r.lost_hot_updates_per_s - 950.0).abs() < 1e-6, "{r:?}");
            assert!(r.write_cost_ms_per_s > r.read_gain_ms_per_s, "{r:?}");
            assert!(r.reason.contains("HOT"), "{}", r.reason);
        }
        assert!(rec.notes.is_empty(), "{:?}", rec.notes);
    }
}

#[tokio::test]
async fn without_write_statistics_ranks_by_read_gain_and_says_so() {
    let mut w = hot_world(1000.0);
    w.snap.write_stats.source = WriteSource::Unavailable;
    let (rec, _) = w.select(&SelectOptions::default()).await;
    assert_eq!(rec.create.len(), 1, "ranked by read gain alone");
    assert_eq!(rec.create[0].write_cost_ms_per_s, 0.0);
    assert!(
        rec.notes
            .iter()
            .any(|n| n.contains("write statistics are unavailable")),
        "{:?}",
        rec.notes
    );
}

#[tokio::test]
async fn empty_workload_gives_an_empty_recommendation_without_explains() {
    let w = World {
        shapes: vec![],
        cands: CandidateSet::default(),
        snap: snapshot(vec![], vec![], no_writes()),
        sizes: vec![],
        fake: FakeTable::default(),
    };
    let (rec, mut fake) = w.select(&SelectOptions::default()).await;
    assert!(rec.create.is_empty() && rec.statements.is_empty());
    assert_eq!(fake.counters().explains, 0);
    // Mismatched sizes are a bug in the caller, reported, not a panic.
    let one = candidate_set(vec![IndexSpec::on("public", "t", vec![IndexKey::col("a")])]);
    let bad = SelectInput {
        candidates: &one,
        ..w.input()
    };
    assert!(select(bad, &SelectOptions::default(), &mut fake)
        .await
        .is_err());
}

/// Without a reset time on the table counters, write rates come from pg_stat_statements' DML
/// over its own window, so the lost-HOT verdict still holds (and a note says where rates came
/// from).
#[test]
fn write_rates_fall_back_to_pg_stat_statements_when_counters_have_no_window() {
    let mut upd = access("shop_order", &["id"]);
    upd.set_columns = vec!["status".into()];
    upd.is_target = true;
    let shapes = vec![shape(2, StatementKind::Update, vec![upd])];
    let mut snap = snapshot(
        vec![table("shop_order", 300_000.0)],
        vec![Statement {
            rows: 36_000,
            ..stmt(2, 36_000, 0.05)
        }],
        WriteStats {
            source: WriteSource::Local,
            since: None,
            seconds: None,
            tables: vec![TableWrites {
                schema: "public".into(),
                table: "shop_order".into(),
                n_tup_ins: 300_000,
                n_tup_upd: 1000,
                n_tup_hot_upd: 950,
                n_tup_del: 0,
                n_live_tup: 300_000,
                n_dead_tup: 0,
            }],
            statements: vec![],
            window: None,
        },
    );
    let no_window = WriteModel::new(&snap, &shapes, crate::cost::CALIBRATION);
    assert!(!no_window.available, "no window at all: not weighed");
    snap.workload.window_seconds = Some(3600.0);
    let m = WriteModel::new(&snap, &shapes, crate::cost::CALIBRATION);
    assert!(m.available);
    assert!(m
        .note
        .as_deref()
        .unwrap_or("")
        .contains("pg_stat_statements"));
    let t = m
        .tables
        .get(&("public".to_string(), "shop_order".to_string()))
        .expect("table modelled");
    assert!((t.upd_per_s - 10.0).abs() < 1e-9, "36,000 rows / 3,600 s");
    assert_eq!(
        t.ins_per_s, 0.0,
        "the data load in the counters is not a rate"
    );
    assert!((t.hot_share - 0.95).abs() < 1e-9);
}

/// Four tables, six candidates each, twelve statements of which every third joins two tables
/// (so candidates on different tables can share a statement).
fn join_world(seed: u64) -> World {
    let mut r = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut fake = FakeTable::default();
    let mut cands = Vec::new();
    let mut sizes = Vec::new();
    for i in 0..24usize {
        let t = i % 4;
        let spec = IndexSpec::on(
            "public",
            &format!("t{t}"),
            vec![IndexKey::col(&format!("c{}", i / 4 % 4))],
        );
        add_candidate(spec, t, &mut r, &mut cands, &mut sizes, &mut fake);
    }
    let mut shapes = Vec::new();
    let mut statements = Vec::new();
    for q in 1..=12i64 {
        let t = r.below(4) as usize;
        let mut tabs = vec![t];
        if q % 3 == 0 {
            tabs.push((t + 1 + r.below(3) as usize) % 4);
        }
        let accesses: Vec<TableAccess> = tabs
            .iter()
            .map(|t| access(&format!("t{t}"), &["c0", "c1", "c2", "c3"]))
            .collect();
        shapes.push(shape(q, StatementKind::Select, accesses));
        statements.push(stmt(q, 1 + r.below(100) as i64, 1.0));
        fake.base.insert(q, 100.0 + r.below(10_000) as f64);
        for (ci, c) in cands.iter().enumerate() {
            if tabs.iter().any(|t| c.table == format!("t{t}")) && r.below(2) == 0 {
                fake.factor.insert((q, ci), 0.05 + 0.9 * r.unit());
            }
        }
    }
    World {
        shapes,
        cands: candidate_set(cands),
        snap: snapshot(
            (0..4).map(|t| table(&format!("t{t}"), 1e6)).collect(),
            statements,
            no_writes(),
        ),
        sizes,
        fake,
    }
}

/// The local search's shortcut: a swap of two candidates with no table and no statement in
/// common changes the objective by exactly removing one plus adding the other, so only
/// interacting pairs need costing together. Checked on every (chosen, unchosen) pair, with the
/// exact estimate and the optimistic one, on worlds with joins (where the shortcut must not
/// apply).
#[tokio::test]
async fn independent_swaps_change_the_objective_by_a_remove_plus_an_add() {
    use super::repair::{delta, independent};
    let (mut shortcut, mut joint) = (0, 0);
    for seed in 1..=10u64 {
        let w = join_world(seed);
        let mut fake = FakeWhatIf::table(w.fake.clone());
        let mut p = cost_problem(&w, &mut fake).await;
        let n = p.cands.len();
        let cur: Vec<usize> = (0..n).filter(|c| c % 3 == 0).collect();
        for optimistic in [false, true] {
            p.optimistic = optimistic;
            for &x in &cur {
                for y in (0..n).filter(|y| !cur.contains(y)) {
                    let (both, _) = delta(&p, &cur, &[x], &[y]);
                    let sum = delta(&p, &cur, &[x], &[]).0 + delta(&p, &cur, &[], &[y]).0;
                    if independent(&p, x, y) {
                        shortcut += 1;
                        assert!(
                            (both - sum).abs() <= 1e-9 * both.abs().max(1.0),
                            "seed {seed}: swap {x} → {y}: {both} vs {sum}"
                        );
                    } else {
                        joint += 1;
                    }
                }
            }
        }
    }
    assert!(shortcut > 100 && joint > 100, "{shortcut} {joint}");
}

/// One table `t0`, candidates `(c0)` (small) and `(c0) INCLUDE (c1)` (wider, a little better on
/// every statement), and statement 3 that the wider index improves by 1.2% only.
fn include_world() -> World {
    let shapes = vec![
        shape(1, StatementKind::Select, vec![access("t0", &["c0"])]),
        shape(2, StatementKind::Select, vec![access("t0", &["c0"])]),
        shape(3, StatementKind::Select, vec![access("t0", &["c0"])]),
    ];
    let statements = vec![stmt(1, 100, 5.0), stmt(2, 100, 5.0), stmt(3, 100, 5.0)];
    let mut fake = FakeTable::default();
    for q in 1..=3 {
        fake.base.insert(q, 1000.0);
        fake.group.insert(0, 0);
        fake.group.insert(1, 0);
    }
    fake.factor.insert((1, 0), 0.10);
    fake.factor.insert((1, 1), 0.09);
    fake.factor.insert((2, 0), 0.50);
    fake.factor.insert((2, 1), 0.49);
    fake.factor.insert((3, 1), 0.988);
    let a = IndexSpec::on("public", "t0", vec![IndexKey::col("c0")]);
    let mut a_inc = a.clone();
    a_inc.include = vec!["c1".into(), "id".into()];
    World {
        shapes,
        cands: candidate_set(vec![a, a_inc]),
        snap: snapshot(vec![table("t0", 1e6)], statements, no_writes()),
        sizes: vec![10, 30],
        fake,
    }
}

#[tokio::test]
async fn r14_an_index_another_one_took_over_is_pruned_and_credit_needs_min_improvement() {
    let w = include_world();
    let mut opts = cost_opts(1000);
    opts.min_improvement = MinImprovement::new(0.10).expect("valid");
    let (rec, _) = w.select(&opts).await;
    assert_eq!(chosen(&rec), vec![1], "{rec:#?}");
    let helps: Vec<i64> = rec.create[0].helps.iter().map(|h| h.queryid).collect();
    assert_eq!(helps, vec![1, 2], "statement 3 improved by 1.2% only");
    assert!(
        rec.notes
            .iter()
            .any(|n| n.contains("t0(c0) was left out") && n.contains("plan uses it")),
        "{:?}",
        rec.notes
    );
    assert!(rec.left_out.is_empty(), "{:?}", rec.left_out);
}

#[tokio::test]
async fn r14_what_a_limit_kept_out_is_named_with_the_option_that_lets_it_in() {
    let w = include_world();
    // The budget binds: neither index fits in 8 bytes.
    let (rec, _) = w.select(&cost_opts(8)).await;
    assert!(rec.create.is_empty());
    let l = &rec.left_out[0];
    assert_eq!(l.limit, super::Limit::Budget);
    assert_eq!(l.raise, "--budget 1MiB");
    assert!(l.statements.iter().any(|s| s.0 == 1), "{l:?}");
    assert_eq!(rec.limits.budget_bytes, 8);
    assert_eq!(rec.limits.budget_rule, "8 B (--budget)");
    // The per-table cap binds: one index on t0, the other statement's index is left out.
    let mut two = include_world();
    two.fake.factor.clear();
    two.fake.group.clear();
    two.fake.factor.insert((1, 0), 0.1);
    two.fake.factor.insert((2, 1), 0.1);
    let mut opts = cost_opts(1000);
    opts.max_per_table = 1;
    let (rec, _) = two.select(&opts).await;
    assert_eq!(rec.create.len(), 1);
    let l = &rec.left_out[0];
    assert_eq!(l.limit, super::Limit::PerTable);
    assert_eq!(l.raise, "--max-per-table 2");
}

/// An index that saves more than it costs but less than `--min-benefit` is "left out by the
/// --min-benefit bar" with the bar that lets it in (never "no index helps"), and that bar does.
#[tokio::test]
async fn r14_an_index_under_the_min_benefit_bar_is_left_out_by_it_with_the_bar_that_lets_it_in() {
    let w = include_world();
    let mut opts = cost_opts(1000);
    opts.min_benefit = MinBenefit::new(0.95).expect("valid");
    let (rec, _) = w.select(&opts).await;
    assert!(rec.create.is_empty(), "{rec:#?}");
    let l = rec
        .left_out
        .iter()
        .find(|l| l.statements.iter().any(|s| s.0 == 1))
        .unwrap_or_else(|| panic!("statement 1 is left out: {:?}", rec.left_out));
    assert_eq!(l.limit, super::Limit::MinBenefit);
    let pct: f64 = l
        .raise
        .strip_prefix("--min-benefit ")
        .and_then(|r| r.split('%').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{}", l.raise));
    assert!(pct > 0.0 && pct < 95.0, "{}", l.raise);
    opts.min_benefit = MinBenefit::new(pct / 100.0).expect("valid");
    let (rec, _) = w.select(&opts).await;
    assert!(
        rec.create.iter().any(|c| c.spec == l.spec),
        "--min-benefit {pct}% lets {} in: {rec:#?}",
        l.spec.label()
    );
}

#[tokio::test]
async fn r14_random_worlds_recommend_no_index_that_fails_leave_one_out() {
    for seed in 0..40u64 {
        let w = random_world(seed);
        let mut opts = cost_opts(150);
        opts.min_improvement = MinImprovement::new(0.10).expect("valid");
        opts.min_benefit = MinBenefit::new(0.001).expect("valid");
        let (rec, _) = w.select(&opts).await;
        let set = chosen(&rec);
        let total: f64 = w
            .snap
            .workload
            .statements
            .iter()
            .map(|st| st.calls as f64 * w.fake.base[&st.queryid])
            .sum();
        for p in &rec.create {
            assert!(
                !p.helps.is_empty(),
                "seed {seed}: {} helps nothing",
                p.spec.label()
            );
            let without: Vec<usize> = set.iter().copied().filter(|&c| c != p.candidate).collect();
            let loss = achieved(&w, &set) - achieved(&w, &without);
            assert!(
                loss > 0.001 * total,
                "seed {seed}: leaving {} out costs {loss}",
                p.spec.label()
            );
        }
        let mut credited: Vec<i64> = rec
            .create
            .iter()
            .flat_map(|p| p.helps.iter().map(|h| h.queryid))
            .collect();
        let n = credited.len();
        credited.sort_unstable();
        credited.dedup();
        assert_eq!(credited.len(), n, "seed {seed}: a statement credited twice");
    }
}

/// Issue 13: when the workload is the observation window's, write rates are the table
/// counters' deltas over the same window (a primary never reset gets real rates); a replica
/// without the primary has unknown rates, never zero ones.
#[test]
fn r13_window_rates_come_from_the_counters_deltas_and_unknown_is_said() {
    use crate::model::{Basis, Observation, PrimaryStatements, WindowWrites, WriteRates};
    let mut upd = access("shop_order", &["id"]);
    upd.set_columns = vec!["status".into()];
    upd.is_target = true;
    let shapes = vec![shape(2, StatementKind::Update, vec![upd])];
    let order = |ins: i64, upd: i64, hot: i64| TableWrites {
        schema: "public".into(),
        table: "shop_order".into(),
        n_tup_ins: ins,
        n_tup_upd: upd,
        n_tup_hot_upd: hot,
        n_tup_del: 0,
        n_live_tup: 300_000,
        n_dead_tup: 0,
    };
    let mut snap = snapshot(
        vec![table("shop_order", 300_000.0)],
        vec![Statement {
            rows: 600,
            ..stmt(2, 600, 0.05)
        }],
        WriteStats {
            source: WriteSource::Local,
            since: None,
            seconds: None,
            // A data load of 300,000 rows and years of updates: no rate without a reset time.
            tables: vec![order(300_000, 5_000_000, 4_000_000)],
            statements: vec![],
            window: Some(WindowWrites {
                seconds: 60.0,
                tables: vec![order(120, 600, 540)],
                statements: vec![],
            }),
        },
    );
    snap.workload.observation = Some(Observation {
        window_s: 60.0,
        basis: Basis::Window,
        why: "enough calls".into(),
        window_calls: 600,
        window_statements: 1,
        primary_statements: PrimaryStatements::Analysed,
        runs_on: vec![],
        split: vec![],
        cumulative: vec![],
    });
    let m = WriteModel::new(&snap, &shapes, crate::cost::CALIBRATION);
    assert!(m.available);
    assert_eq!(m.rates, WriteRates::Window { seconds: 60.0 });
    let t = m
        .tables
        .get(&("public".to_string(), "shop_order".to_string()))
        .expect("table modelled");
    assert!((t.upd_per_s - 10.0).abs() < 1e-9, "600 updates / 60 s");
    assert!((t.ins_per_s - 2.0).abs() < 1e-9, "120 inserts / 60 s");
    assert!((t.hot_share - 0.9).abs() < 1e-9);
    let status = IndexSpec::on("public", "shop_order", vec![IndexKey::col("status")]);
    let cost = m.set_cost("public", "shop_order", &[(&status, 1.0, 6_000_000)]);
    assert!(cost.ms_per_s > 0.0 && cost.lost_hot_per_s > 8.0, "{cost:?}");

    // The same counters on a replica without the primary: unknown, and so said.
    snap.write_stats = no_writes();
    let m = WriteModel::new(&snap, &shapes, crate::cost::CALIBRATION);
    assert!(!m.available);
    assert!(
        matches!(m.rates, WriteRates::Unknown { ref reason } if reason.contains("--primary-url"))
    );
}

/// Review 4 (G8): an index accepted although an UPDATE sets a column it reads says which
/// column, and the HOT updates it costs, in its evidence (the migration's header) — not only
/// inside its write cost.
#[tokio::test]
async fn an_accepted_index_that_costs_hot_updates_names_the_column() {
    let w = hot_world(5.0);
    let (rec, _) = w.select(&SelectOptions::default()).await;
    let p = rec.create.first().unwrap_or_else(|| panic!("{rec:#?}"));
    assert!((p.lost_hot_updates_per_s - 4.75).abs() < 1e-6, "{p:?}");
    assert_eq!(p.hot_columns, vec!["status".to_string()]);
    let line = crate::emit::evidence::hot_line(p).expect("a HOT line");
    assert_eq!(
        line,
        "HOT updates: an UPDATE sets status, a column of this index: about 4.8 updates/s stop being HOT and write an entry into every index of the table (counted in the write cost)"
    );
    // Without updates, no line.
    let (rec, _) = hot_world(0.0).select(&SelectOptions::default()).await;
    assert!(rec.create[0].hot_columns.is_empty(), "{rec:#?}");
    assert_eq!(crate::emit::evidence::hot_line(&rec.create[0]), None);
}
