//! Property tests of the frontier: on random workloads, more budget never gives a lower
//! predicted benefit, and the configured budget's point is the recommendation.
//!
//! Stage `select`, tests only, against the table-driven fake engine (no database). The worlds
//! have 1–3 tables, joins of two tables, indexes that only help together (combinations the
//! per-index rule does not predict), `--min-benefit` of 0, 0.5% or 5% and a cap on new indexes,
//! so the greedy, repair, verification, pruning and the set-level threshold all take part.
//! Run long with `PROPTEST_CASES=5000 cargo test --lib prop_frontier`.

use proptest::prelude::*;

use super::run::SelectOptions;
use super::scenarios::{access, candidate_set, no_writes, shape, snapshot, stmt, table, World};
use crate::config::{MinBenefit, MinImprovement, StorageBudget};
use crate::cost::ReadUnit;
use crate::model::{IndexKey, IndexSpec};
use crate::parse::shape::StatementKind;
use crate::whatif::FakeTable;

/// A candidate: table, leading column, second column (4: none), size.
type CandSpec = (usize, usize, usize, i64);
/// A statement: table, joined table (same: none), column mask, calls, base cost, factors.
type StmtSpec = (usize, usize, u8, i64, u32, Vec<f64>);
/// A combination: statement, two candidates, cost as a share of the base.
type ComboSpec = (usize, usize, usize, f64);

const MAX_CANDS: usize = 12;

fn world(cands: &[CandSpec], stmts: &[StmtSpec], combos: &[ComboSpec]) -> World {
    let mut fake = FakeTable::default();
    let mut specs: Vec<IndexSpec> = Vec::new();
    let mut sizes = Vec::new();
    for &(t, a, b, size) in cands {
        let mut keys = vec![IndexKey::col(&format!("c{a}"))];
        if b < 4 && b != a {
            keys.push(IndexKey::col(&format!("c{b}")));
        }
        let spec = IndexSpec::on("public", &format!("t{t}"), keys);
        if specs.contains(&spec) {
            continue;
        }
        fake.group.insert(specs.len(), t);
        specs.push(spec);
        sizes.push(size);
    }
    let mut shapes = Vec::new();
    let mut statements = Vec::new();
    for (i, (t, u, mask, calls, base, factors)) in stmts.iter().enumerate() {
        let q = i as i64 + 1;
        let cols: Vec<String> = (0..4)
            .filter(|k| mask & (1 << k) != 0)
            .map(|k| format!("c{k}"))
            .collect();
        let refs: Vec<&str> = cols.iter().map(String::as_str).collect();
        let mut tables = vec![format!("t{t}")];
        if u != t {
            tables.push(format!("t{u}"));
        }
        shapes.push(shape(
            q,
            StatementKind::Select,
            tables.iter().map(|n| access(n, &refs)).collect(),
        ));
        statements.push(stmt(q, *calls, 1.0));
        fake.base.insert(q, f64::from(*base));
        for (ci, c) in specs.iter().enumerate() {
            if tables.contains(&c.table) && cols.iter().any(|k| k == c.keys[0].expr.column()) {
                fake.factor.insert((q, ci), factors[ci % factors.len()]);
            }
        }
    }
    for &(s, a, b, share) in combos {
        let n = specs.len();
        let (q, a, b) = ((s % stmts.len()) as i64 + 1, a % n, b % n);
        if a != b {
            let mut set = vec![a, b];
            set.sort_unstable();
            fake.combos.push((q, set, share * fake.base[&q]));
        }
    }
    World {
        shapes,
        cands: candidate_set(specs),
        snap: snapshot(
            (0..3).map(|t| table(&format!("t{t}"), 1e6)).collect(),
            statements,
            no_writes(),
        ),
        sizes,
        fake,
    }
}

fn cand_spec() -> impl Strategy<Value = CandSpec> {
    (0..3usize, 0..4usize, 0..5usize, 1i64..200)
}

fn stmt_spec() -> impl Strategy<Value = StmtSpec> {
    (
        0..3usize,
        0..3usize,
        1u8..16,
        1i64..1000,
        100u32..10_000,
        prop::collection::vec(0.02f64..1.0, MAX_CANDS),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn prop_frontier_more_budget_never_saves_less(
        cands in prop::collection::vec(cand_spec(), 2..MAX_CANDS),
        stmts in prop::collection::vec(stmt_spec(), 1..10),
        combos in prop::collection::vec((0..10usize, 0..MAX_CANDS, 0..MAX_CANDS, 0.01f64..0.5), 0..4),
        budgets in prop::collection::vec(1i64..1500, 1..8),
        budget in 1i64..1500,
        min_benefit in prop::sample::select(vec![0.0, 0.005, 0.05]),
        max_indexes in 1usize..8,
        ladder in any::<bool>(),
    ) {
        let w = world(&cands, &stmts, &combos);
        let opts = SelectOptions {
            budget: StorageBudget::Bytes(budget),
            max_indexes,
            max_per_table: 64,
            min_improvement: MinImprovement::new(0.0).expect("valid"),
            min_benefit: MinBenefit::new(min_benefit).expect("valid"),
            unit: ReadUnit::Cost,
            frontier_budgets: budgets.clone(),
            ladder,
            ..SelectOptions::default()
        };
        let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let (rec, _) = rt.block_on(w.select(&opts));
        let mut want: Vec<i64> = budgets.clone();
        want.push(budget);
        if ladder {
            want.extend(super::frontier::ladder(budget));
        }
        want.sort_unstable();
        want.dedup();
        let got: Vec<i64> = rec.frontier.iter().map(|p| p.budget_bytes).collect();
        prop_assert_eq!(got, want, "one point per budget, ascending");
        for pt in &rec.frontier {
            prop_assert!(pt.size_bytes <= pt.budget_bytes, "{pt:?} over its budget");
            prop_assert!(pt.candidates.len() <= max_indexes);
            prop_assert!(pt.verified, "{pt:?} not verified by the planner");
        }
        for pair in rec.frontier.windows(2) {
            let tol = 1e-9 * pair[0].objective.abs().max(1.0);
            prop_assert!(
                pair[1].objective >= pair[0].objective - tol,
                "more budget saves less: {:?} then {:?}", pair[0], pair[1]
            );
            prop_assert!(pair[1].saved_share >= pair[0].saved_share - 1e-12);
        }
        let chosen = rec.frontier.iter().find(|p| p.budget_bytes == budget).expect("budget's point");
        let mut created: Vec<usize> = rec.create.iter().map(|c| c.candidate).collect();
        created.sort_unstable();
        prop_assert_eq!(&created, &chosen.candidates, "the recommendation is the budget's point");
    }
}
