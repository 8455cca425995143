//! Selection end to end on the example shop: collect → parse → candidates → sizes → the HypoPG
//! engine → select, with the planner's answers (no fake).

use idxadvise::config::{CollectConfig, ConnectionConfig, StorageBudget, WorkloadFilter};
use idxadvise::select::{select, SelectInput, SelectOptions};
use idxadvise::whatif::{estimate_index_size, Engine, EngineOptions, WhatIf};

use crate::support::{cluster, example_database, replay_workload};

#[test]
fn selects_for_the_example_shop_with_evidence_and_a_monotone_frontier() {
    let c = cluster();
    let db = example_database("select_example_shop");
    replay_workload(&db);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let config = CollectConfig {
        connection: ConnectionConfig::new(Some(c.url(&db)), None, "10s").expect("config"),
        filter: WorkloadFilter::default(),
        window: idxadvise::collect::window::WindowOptions::none(),
    };
    let snap = rt
        .block_on(idxadvise::collect::collect(&config))
        .expect("collect");
    let (shapes, _skipped) = idxadvise::parse::parse_workload(&snap.workload, &snap.catalog);
    let cands = idxadvise::candidates::generate(&shapes, &snap.catalog);
    assert!(
        !cands.candidates.is_empty(),
        "the shop workload has candidates"
    );
    let sizes: Vec<i64> = cands
        .candidates
        .iter()
        .map(|c| estimate_index_size(&c.spec, &snap.catalog).expect("B-tree"))
        .collect();
    let mb = 1024 * 1024;
    let opts = SelectOptions {
        budget: StorageBudget::Bytes(200 * mb),
        frontier_budgets: vec![5 * mb, 20 * mb, 50 * mb, 200 * mb],
        can_hide: snap.server.can_hide_index(),
        ..SelectOptions::default()
    };
    let rec = rt.block_on(async {
        let eopts = EngineOptions {
            connect: config.connection.target.clone(),
            connections: 2,
            progress: false,
            ..EngineOptions::default()
        };
        let mut engine = Engine::new(eopts, &snap.server, &snap.catalog, &shapes, &cands)
            .await
            .expect("engine");
        let rec = select(
            SelectInput {
                shapes: &shapes,
                candidates: &cands,
                snapshot: &snap,
                sizes: &sizes,
            },
            &opts,
            &mut engine,
        )
        .await
        .expect("select");
        assert!(engine.counters().explains > 0);
        engine.close().await.expect("close");
        rec
    });
    assert!(!rec.create.is_empty(), "{rec:#?}");
    let total: i64 = rec.create.iter().map(|p| p.size_bytes).sum();
    assert!(total <= 200 * mb);
    assert!(rec.create.len() <= 10);
    for p in &rec.create {
        assert!(!p.helps.is_empty(), "{} helps nothing", p.spec.label());
        for h in &p.helps {
            assert!(h.after_cost < h.before_cost, "{}: {h:?}", p.spec.label());
            assert!(h.after_ms <= h.before_ms);
        }
        assert!(p.read_gain_ms > 0.0, "{}", p.spec.label());
    }
    assert_eq!(rec.frontier.len(), 4);
    for w in rec.frontier.windows(2) {
        assert!(w[1].objective >= w[0].objective - 1e-9, "{w:?}");
        assert!(w[1].size_bytes <= w[1].budget_bytes);
    }
    assert!(rec.frontier.iter().all(|p| p.verified));
    // Every statement the recommendation changes got cheaper by the planner's own numbers.
    let better = rec
        .statements
        .iter()
        .filter(|s| s.after_cost < s.before_cost)
        .count();
    assert!(better >= rec.create.len(), "{:#?}", rec.statements);
    eprintln!(
        "recommended: {:?}; explains {}",
        rec.create
            .iter()
            .map(|p| p.spec.label())
            .collect::<Vec<_>>(),
        rec.whatif.explains
    );
}
