//! The what-if engine: several HypoPG sessions, a cost cache, and the `WhatIf` trait.
//!
//! Stage `whatif` (I/O). Must not change the database: EXPLAIN only, read-only untracked
//! sessions, hypothetical indexes only. Invariant: requests are grouped by the part of their
//! configuration on the statement's tables and split across sessions, and every answer depends
//! only on (statement, that part): one connection or eight give identical results.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::Ordering;

use futures_util::future::join_all;
use futures_util::stream::{self, StreamExt, TryStreamExt};

pub use super::cache::Cached;
use super::cache::{CacheKey, CostCache};
use super::error::WhatIfError;
use super::hypo::{hypopg_version, simulated};
use super::limit_value::Calls;
use super::progress::Progress;
use super::proxy::Proxies;
use super::worker::{Outcome, Worker};
use super::{Evaluation, Request, WhatIf, WhatIfCounters};
use crate::candidates::CandidateSet;
use crate::cost::value_risk::SetCost;
use crate::model::{Catalog, IndexSpec, ObservedValues, ServerInfo, Skipped, Workload};
use crate::parse::shape::QueryShape;
use crate::pg::ConnectOptions;

/// Statements one session keeps in flight (pipelined on the connection).
const PIPELINE: usize = 8;

/// How to run the engine.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Where and how to connect (read-only, untracked, `statement_timeout` per EXPLAIN).
    pub connect: ConnectOptions,
    /// Sessions in parallel (default: the number of cores).
    pub connections: usize,
    /// Value sets per statement (custom plans), at least 1 (default 4).
    pub value_sets: usize,
    /// Also compute the generic plan (secondary signal; one more EXPLAIN per evaluation).
    pub generic: bool,
    /// Allow a progress bar (still only on a terminal, after a second).
    pub progress: bool,
    /// Keep in the cost cache only the ranking evaluation ([`evaluation_of`] without the plan
    /// text), not every value set's plan; [`Engine::outcomes`] EXPLAINs again what it needs.
    /// `analyze` sets it: with every plan kept, 10,000 statements peaked at 1.1 GB (issue 8).
    /// Off by default, so repeated [`Engine::outcomes`] calls are answered from the cache.
    pub lean_cache: bool,
    /// Count an existing index the planner does not use yet (`planner_ready` false) as present,
    /// through a hypothetical copy: what the plans will be once the older transactions have
    /// ended. On by default; `verify`'s real plans turn it off (they are today's plans).
    pub stand_ins: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            connect: ConnectOptions::default(),
            connections: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            value_sets: 4,
            generic: true,
            progress: true,
            lean_cache: false,
            stand_ins: true,
        }
    }
}

/// The what-if engine.
pub struct Engine {
    workers: Vec<Worker>,
    catalog: Catalog,
    shapes: HashMap<i64, QueryShape>,
    specs: Vec<IndexSpec>,
    /// What HypoPG is given for each candidate ([`super::hypo::simulated`]).
    simulated: Vec<IndexSpec>,
    on_tables: HashMap<i64, BTreeSet<usize>>,
    cache: CostCache,
    opts: EngineOptions,
    /// The analysed server's version and HypoPG's: what it can do.
    server: ServerInfo,
    /// Parameter values observed for the statements ([`Engine::set_observed`]).
    observed: std::sync::Arc<ObservedValues>,
    /// pg_stat_statements' calls and rows per statement ([`Engine::set_workload`]).
    calls: std::sync::Arc<HashMap<i64, Calls>>,
    /// Existing indexes the planner does not use yet, simulated by a hypothetical copy in every
    /// configuration (names), and those HypoPG could not simulate (name, why).
    stand_ins: (Vec<String>, Vec<(String, String)>),
}

/// What a drop evaluation could establish.
#[derive(Debug, Clone, PartialEq)]
pub enum HiddenEvaluation {
    /// HypoPG hid the indexes (and the stand-ins of those the planner does not use yet) and
    /// the planner costed the statement without them: every plan ([`evaluation_of`] ranks).
    Verified(Result<Outcome, Skipped>),
    /// HypoPG cannot hide indexes (before 1.4): the drop's read impact is not verified.
    Unverified {
        /// Why, for the report.
        reason: String,
    },
}

/// The existing indexes any custom plan of `outcome` uses, sorted: real names, a stand-in read
/// as the index it stands for, candidates' hypothetical indexes left out.
pub fn existing_indexes_used(outcome: &Outcome) -> Vec<String> {
    let mut out: Vec<String> = outcome
        .custom
        .iter()
        .flat_map(|v| &v.plan.indexes)
        .filter(|n| !n.starts_with('<'))
        .cloned()
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The ranking evaluation of an outcome: weighted custom cost, generic cost, candidates used,
/// the plan of the heaviest value set.
pub fn evaluation_of(outcome: &Outcome) -> Evaluation {
    let cost: f64 = outcome
        .custom
        .iter()
        .map(|v| v.weight * v.plan.ranking_cost())
        .sum();
    let mut used: Vec<usize> = outcome
        .custom
        .iter()
        .flat_map(|v| v.used.iter().copied())
        .collect();
    used.sort_unstable();
    used.dedup();
    let mut best: Option<&super::worker::ValuePlan> = None;
    for v in &outcome.custom {
        if best.is_none_or(|b| v.weight > b.weight) {
            best = Some(v);
        }
    }
    Evaluation {
        cost,
        generic_cost: outcome
            .generic
            .as_ref()
            .and_then(|g| g.as_ref().ok())
            .map(|g| g.plan.total_cost),
        used,
        plan: best.map(|b| b.plan.clone()),
    }
}

/// Each value set's weight and ranking cost, in the sets' order.
pub fn set_costs(outcome: &Outcome) -> Vec<SetCost> {
    outcome
        .custom
        .iter()
        .map(|v| SetCost {
            weight: v.weight,
            cost: v.plan.ranking_cost(),
            walk: v.plan.walk_risk_cost(),
        })
        .collect()
}

impl Cached {
    /// Keep `outcome` as the options say.
    fn new(outcome: Outcome, lean: bool) -> Cached {
        if lean {
            Cached::Lean(lean_evaluation(&outcome), set_costs(&outcome))
        } else {
            Cached::Full(outcome)
        }
    }

    /// The ranking evaluation (the plan text is empty for a lean entry).
    fn evaluation(&self) -> Evaluation {
        match self {
            Cached::Full(o) => evaluation_of(o),
            Cached::Lean(e, _) => e.clone(),
        }
    }

    /// Each value set's ranking cost.
    fn set_costs(&self) -> Vec<SetCost> {
        match self {
            Cached::Full(o) => set_costs(o),
            Cached::Lean(_, s) => s.clone(),
        }
    }
}

/// [`evaluation_of`] without the plan text: plan texts (the bulk of the memory: 750 MB for
/// 10,000 statements with the heaviest set's text kept) are computed again for the few plans a
/// report shows ([`Engine::outcomes`]).
fn lean_evaluation(outcome: &Outcome) -> Evaluation {
    let mut e = evaluation_of(outcome);
    if let Some(p) = &mut e.plan {
        p.text = String::new();
        p.node_types.shrink_to_fit();
        p.indexes.shrink_to_fit();
    }
    e.used.shrink_to_fit();
    e
}

impl Engine {
    /// Open `opts.connections` sessions on the analysed database (each with a clean HypoPG
    /// state) for these statements and candidates. `server` is what `collect` read about the
    /// analysed server (the snapshot's [`ServerInfo`]); the engine reads only HypoPG's version,
    /// from the database its sessions simulate in.
    pub async fn new(
        opts: EngineOptions,
        server: &ServerInfo,
        catalog: &Catalog,
        shapes: &[QueryShape],
        candidates: &CandidateSet,
    ) -> Result<Engine, WhatIfError> {
        if opts.connections == 0 {
            return Err(WhatIfError::Options(
                "connections must be at least 1".into(),
            ));
        }
        if opts.value_sets == 0 {
            return Err(WhatIfError::Options("value sets must be at least 1".into()));
        }
        let first = crate::pg::connect(&opts.connect).await?;
        let version = hypopg_version(&first.client)
            .await?
            .ok_or(WhatIfError::NoHypoPg)?;
        let server = ServerInfo {
            hypopg_version: Some(version),
            ..server.clone()
        };
        drop(first);
        let workers =
            join_all((0..opts.connections).map(|i| Worker::open(&opts.connect, i, &server)))
                .await
                .into_iter()
                .collect::<Result<Vec<_>, _>>()?;
        let mut workers = workers;
        let specs: Vec<IndexSpec> = candidates
            .candidates
            .iter()
            .map(|c| c.spec.clone())
            .collect();
        let proxies = Proxies::for_shapes(shapes, catalog);
        let twins = std::sync::Arc::new(specs.iter().map(|s| proxies.twin_sql(s)).collect());
        let rows = std::sync::Arc::new(super::worker::table_rows(catalog));
        let standing = if opts.stand_ins {
            super::hypo::stand_ins(catalog)
        } else {
            vec![]
        };
        let mut failed = vec![];
        for w in &mut workers {
            w.table_rows = rows.clone();
            w.hypo.twins = std::sync::Arc::clone(&twins);
            failed = w.hypo.stand_in(&w.conn.client, standing.clone()).await?;
        }
        let stand_ins = (
            standing
                .into_iter()
                .map(|(_, name)| name)
                .filter(|n| failed.iter().all(|(f, _)| f != n))
                .collect(),
            failed,
        );
        let on_tables = shapes
            .iter()
            .map(|s| {
                let ids = specs
                    .iter()
                    .enumerate()
                    .filter(|(_, spec)| {
                        s.tables
                            .iter()
                            .any(|t| t.schema == spec.schema && t.table == spec.table)
                    })
                    .map(|(i, _)| i)
                    .collect();
                (s.queryid, ids)
            })
            .collect();
        Ok(Engine {
            workers,
            catalog: catalog.clone(),
            shapes: shapes
                .iter()
                .map(|s| {
                    let mut s = s.clone();
                    if let Some(text) = proxies.rewrite(&s) {
                        s.plan_text = text;
                    }
                    (s.queryid, s)
                })
                .collect(),
            simulated: specs.iter().map(|s| simulated(s, catalog)).collect(),
            specs,
            on_tables,
            cache: CostCache::default(),
            opts,
            server,
            observed: Default::default(),
            calls: Default::default(),
            stand_ins,
        })
    }

    /// Existing indexes the planner does not use yet that every plan counts as present (a
    /// hypothetical copy), and those HypoPG could not copy, with its message.
    pub fn stand_ins(&self) -> (&[String], &[(String, String)]) {
        (&self.stand_ins.0, &self.stand_ins.1)
    }

    /// Cost statements with the parameter values observed for them (falling back to the
    /// statistics-based sets where nothing was observed). Call before the first evaluation:
    /// a statement prepared already keeps its sets.
    pub fn set_observed(&mut self, observed: std::sync::Arc<ObservedValues>) {
        self.observed = observed;
    }

    /// Read the statements' calls and rows (what a `LIMIT $n` nothing observed is derived from,
    /// [`super::limit_value`]). Call before the first evaluation, like [`Engine::set_observed`].
    pub fn set_workload(&mut self, workload: &Workload) {
        self.calls = std::sync::Arc::new(
            workload
                .statements
                .iter()
                .map(|s| {
                    (
                        s.queryid,
                        Calls {
                            calls: s.calls,
                            rows: s.rows,
                        },
                    )
                })
                .collect(),
        );
    }

    /// Set a planner setting in every session of the engine (`set_config(name, value, false)`),
    /// e.g. a benchmark's `max_parallel_workers_per_gather`. Call before the first evaluation:
    /// costs already cached were planned without it.
    pub async fn set_session(&mut self, name: &str, value: &str) -> Result<(), WhatIfError> {
        for w in &self.workers {
            w.conn
                .client
                .execute("SELECT set_config($1, $2, false)", &[&name, &value])
                .await
                .map_err(|e| WhatIfError::session(format!("setting {name}"), e))?;
        }
        Ok(())
    }

    /// Whether parameter values were observed for `queryid` (any source): its value sets are
    /// then the application's real mix, and the risk rule ([`crate::cost::value_risk`]) does
    /// not apply.
    pub fn is_observed(&self, queryid: i64) -> bool {
        self.observed.get(queryid).is_some_and(|o| o.total() > 0)
    }

    /// HypoPG's version in the analysed database.
    pub fn hypopg_version(&self) -> &str {
        self.server.hypopg_version.as_deref().unwrap_or_default()
    }

    /// What the analysed server can do (its version and HypoPG's).
    pub fn server(&self) -> &ServerInfo {
        &self.server
    }

    /// HypoPG can hide existing indexes (1.4+), so a drop's read impact can be verified.
    pub fn can_hide(&self) -> bool {
        self.server.can_hide_index()
    }

    /// The cache key of a request: the statement and its configuration's candidates on the
    /// statement's tables.
    pub fn cache_key(&self, req: &Request) -> Result<CacheKey, WhatIfError> {
        let on = self
            .on_tables
            .get(&req.queryid)
            .ok_or(WhatIfError::UnknownRequest {
                what: "statement",
                id: req.queryid,
            })?;
        let mut config = Vec::with_capacity(req.config.len());
        for &id in &req.config {
            if id >= self.specs.len() {
                return Err(WhatIfError::UnknownRequest {
                    what: "candidate",
                    id: id as i64,
                });
            }
            if on.contains(&id) {
                config.push(id);
            }
        }
        config.sort_unstable();
        config.dedup();
        Ok((req.queryid, config))
    }

    /// Every plan behind each request (one per value set, and the generic plan), for plan diffs
    /// and evidence. Same order as `requests`. Entries a lean cache holds only as evaluations are
    /// EXPLAINed again (a report shows few plans); the answers refresh the cache.
    pub async fn outcomes(
        &mut self,
        requests: &[Request],
    ) -> Result<Vec<Result<Outcome, Skipped>>, WhatIfError> {
        let keys = self.keys(requests)?;
        let missing = self.count_lookups(&keys, |c| !matches!(c, Ok(Cached::Lean(..))));
        let mut fresh: HashMap<CacheKey, Result<Outcome, Skipped>> = HashMap::new();
        if !missing.is_empty() {
            let lean = self.opts.lean_cache;
            for (key, r) in self.run(missing, false).await? {
                let r = r.map(|c| match c {
                    Cached::Full(o) => o,
                    Cached::Lean(..) => unreachable!("run(.., lean = false) keeps every plan"),
                });
                self.cache
                    .insert(key.clone(), r.clone().map(|o| Cached::new(o, lean)));
                fresh.insert(key, r);
            }
        }
        keys.iter()
            .map(|k| match (fresh.get(k), self.cache.get(k)) {
                (Some(r), _) => Ok(r.clone()),
                (None, Some(Ok(Cached::Full(o)))) => Ok(Ok(o.clone())),
                (None, Some(Err(s))) => Ok(Err(s.clone())),
                _ => Err(no_answer(k)),
            })
            .collect()
    }

    /// The cache keys of `requests`.
    fn keys(&self, requests: &[Request]) -> Result<Vec<CacheKey>, WhatIfError> {
        requests.iter().map(|r| self.cache_key(r)).collect()
    }

    /// Count lookups and hits (an entry `usable` says is enough, or a key asked twice in one
    /// call) and return the (configuration, statement) pairs to EXPLAIN, grouped by
    /// configuration.
    fn count_lookups(
        &mut self,
        keys: &[CacheKey],
        usable: impl Fn(&Result<Cached, Skipped>) -> bool,
    ) -> Vec<(Vec<usize>, i64)> {
        let mut missing: BTreeSet<(Vec<usize>, i64)> = BTreeSet::new();
        for (q, c) in keys {
            self.cache.counters.lookups += 1;
            let cached = self.cache.get(&(*q, c.clone())).is_some_and(&usable);
            if cached || !missing.insert((c.clone(), *q)) {
                self.cache.counters.cache_hits += 1;
            }
        }
        missing.into_iter().collect()
    }

    /// EXPLAIN every (configuration, statement), split into contiguous chunks, one per session;
    /// each answer is kept as `lean` says as soon as it arrives.
    async fn run(
        &mut self,
        work: Vec<(Vec<usize>, i64)>,
        lean: bool,
    ) -> Result<Vec<(CacheKey, Result<Cached, Skipped>)>, WhatIfError> {
        let n = self.workers.len().min(work.len()).max(1);
        let per = work.len().div_ceil(n);
        let chunks: Vec<&[(Vec<usize>, i64)]> = work.chunks(per).collect();
        let progress = Progress::new(work.len() as u64, self.opts.progress);
        let Engine {
            workers,
            catalog,
            shapes,
            simulated,
            opts,
            observed,
            calls,
            ..
        } = self;
        let observed: &ObservedValues = observed;
        let calls: &HashMap<i64, Calls> = calls;
        let results = join_all(workers.iter_mut().zip(chunks).map(|(w, chunk)| {
            run_chunk(
                w,
                chunk,
                shapes,
                catalog,
                simulated,
                opts,
                (observed, calls),
                lean,
                &progress,
            )
        }))
        .await;
        progress.finish();
        self.cache.counters.explains = self
            .workers
            .iter()
            .map(|w| w.explains.load(Ordering::Relaxed))
            .sum();
        let mut out = Vec::with_capacity(work.len());
        for r in results {
            out.extend(r?);
        }
        Ok(out)
    }

    /// Cost `queryid` under `config` with existing indexes `hidden` (`schema.name`, unquoted)
    /// hidden, each with its stand-in if it has one (an index the planner does not use yet).
    /// Before HypoPG 1.4 this says the drop was not verified rather than guessing; so it does
    /// for an index the planner does not use yet that HypoPG could not copy.
    pub async fn evaluate_hidden(
        &mut self,
        queryid: i64,
        config: &[usize],
        hidden: &[(String, String)],
    ) -> Result<HiddenEvaluation, WhatIfError> {
        if !self.can_hide() {
            return Ok(HiddenEvaluation::Unverified {
                reason: format!(
                    "hypopg {} cannot hide indexes (1.4+ can): the read impact of the drop is not verified",
                    self.hypopg_version()
                ),
            });
        }
        let (q, cfg) = self.cache_key(&Request {
            queryid,
            config: config.to_vec(),
        })?;
        let shape = self.shapes.get(&q).ok_or(WhatIfError::UnknownRequest {
            what: "statement",
            id: q,
        })?;
        let w = self
            .workers
            .first_mut()
            .ok_or_else(|| WhatIfError::Options("no session".into()))?;
        w.set_config(&cfg, &self.simulated).await?;
        w.prepare(
            shape,
            &self.catalog,
            self.opts.value_sets,
            self.observed.get(q),
            self.calls.get(&q).copied(),
        )
        .await?;
        let client = &w.conn.client;
        let mut not_hidden = None;
        for (schema, name) in hidden {
            let qualified = format!(
                "{}.{}",
                crate::pg::quote::ident(schema),
                crate::pg::quote::ident(name)
            );
            // An index the planner does not use yet is in the plans only through its stand-in:
            // hidden, the stand-in goes too (HypoPG 1.4 hides a hypothetical index as well).
            // Without a stand-in (HypoPG could not copy it) no plan had it to begin with.
            let stand_in = w.hypo.stand_in_oid(name);
            if stand_in.is_none() && self.catalog.index_waits(schema, name) {
                return Ok(HiddenEvaluation::Unverified {
                    reason: format!(
                        "read impact not verified: the planner does not use {qualified} yet \
                         (pg_index.indcheckxmin) and HypoPG could not copy it, so no plan has it"
                    ),
                });
            }
            // hypopg_hide_index answers whether the index is now hidden: a drop is measured
            // only with every index it names really hidden.
            let row = client
                .query_one(
                    "SELECT hypopg_hide_index($1::text::regclass) \
                     AND $1::text::regclass::oid IN (SELECT * FROM hypopg_hidden_indexes())",
                    &[&qualified],
                )
                .await
                .map_err(|e| WhatIfError::session("hypopg_hide_index", e))?;
            let mut hid = row.get::<_, Option<bool>>(0).unwrap_or(false);
            if let (true, Some(oid)) = (hid, stand_in) {
                let row = client
                    .query_one(
                        "SELECT hypopg_hide_index($1::oid) \
                         AND $1::oid IN (SELECT * FROM hypopg_hidden_indexes())",
                        &[&oid],
                    )
                    .await
                    .map_err(|e| WhatIfError::session("hypopg_hide_index", e))?;
                hid = row.get::<_, Option<bool>>(0).unwrap_or(false);
            }
            if !hid {
                not_hidden = Some(qualified);
                break;
            }
        }
        if let Some(index) = not_hidden {
            w.conn
                .client
                .batch_execute("SELECT hypopg_unhide_all_indexes()")
                .await
                .map_err(|e| WhatIfError::session("hypopg_unhide_all_indexes", e))?;
            return Ok(HiddenEvaluation::Unverified {
                reason: format!(
                    "read impact not verified: HypoPG did not hide {index} from the planner"
                ),
            });
        }
        let out = w.explain(q, self.opts.generic, true).await;
        let unhide = w
            .conn
            .client
            .batch_execute("SELECT hypopg_unhide_all_indexes()")
            .await
            .map_err(|e| WhatIfError::session("hypopg_unhide_all_indexes", e));
        let out = out?;
        unhide?;
        Ok(HiddenEvaluation::Verified(out))
    }

    /// Reset every session's HypoPG state and close the connections.
    pub async fn close(mut self) -> Result<(), WhatIfError> {
        for w in &mut self.workers {
            w.hypo.clear(&w.conn.client).await?;
        }
        Ok(())
    }
}

/// The error for a key the cache should hold and does not (a bug, not a database problem).
fn no_answer(key: &CacheKey) -> WhatIfError {
    WhatIfError::Session {
        context: "the cost cache".into(),
        message: format!("no answer for statement {}", key.0),
        source: None,
    }
}

#[allow(clippy::too_many_arguments)]
async fn run_chunk(
    w: &mut Worker,
    chunk: &[(Vec<usize>, i64)],
    shapes: &HashMap<i64, QueryShape>,
    catalog: &Catalog,
    specs: &[IndexSpec],
    opts: &EngineOptions,
    (observed, calls): (&ObservedValues, &HashMap<i64, Calls>),
    lean: bool,
    progress: &Progress,
) -> Result<Vec<(CacheKey, Result<Cached, Skipped>)>, WhatIfError> {
    let mut groups: BTreeMap<&[usize], Vec<i64>> = BTreeMap::new();
    for (c, q) in chunk {
        groups.entry(c.as_slice()).or_default().push(*q);
    }
    let mut out = Vec::with_capacity(chunk.len());
    for (config, qids) in groups {
        w.set_config(config, specs).await?;
        for q in &qids {
            let shape = shapes.get(q).ok_or(WhatIfError::UnknownRequest {
                what: "statement",
                id: *q,
            })?;
            w.prepare(
                shape,
                catalog,
                opts.value_sets,
                observed.get(*q),
                calls.get(q).copied(),
            )
            .await?;
        }
        let worker: &Worker = w;
        let done: Vec<(i64, Result<Cached, Skipped>)> = stream::iter(qids)
            .map(|q| async move {
                // Keep as lean as asked as soon as an answer arrives, not after the whole batch:
                // a batch of thousands of full outcomes was the peak of memory.
                let r = worker
                    .explain(q, opts.generic, !lean)
                    .await?
                    .map(|o| Cached::new(o, lean));
                progress.inc(1);
                Ok::<_, WhatIfError>((q, r))
            })
            .buffered(PIPELINE)
            .try_collect()
            .await?;
        out.extend(done.into_iter().map(|(q, r)| ((q, config.to_vec()), r)));
    }
    Ok(out)
}

impl WhatIf for Engine {
    async fn evaluate(
        &mut self,
        requests: &[Request],
    ) -> Result<Vec<Result<Evaluation, Skipped>>, crate::error::Error> {
        let keys = self.keys(requests)?;
        let mut missing = self.count_lookups(&keys, |_| true);
        // The risk rule compares a configuration with today's plans: the statements whose
        // values were not observed need their baseline too (usually cached already).
        for (q, c) in &keys {
            let base = (*q, vec![]);
            if !c.is_empty()
                && !self.is_observed(*q)
                && self.cache.get(&base).is_none()
                && !missing.contains(&(vec![], *q))
            {
                missing.push((vec![], *q));
            }
        }
        missing.sort();
        if !missing.is_empty() {
            let lean = self.opts.lean_cache;
            for (key, r) in self.run(missing, lean).await? {
                self.cache.insert(key, r);
            }
        }
        keys.iter()
            .map(|k| {
                let cached = match self.cache.get(k).ok_or_else(|| no_answer(k))? {
                    Ok(c) => c,
                    Err(skip) => return Ok(Err(skip.clone())),
                };
                let mut e = cached.evaluation();
                if !k.1.is_empty() && !self.is_observed(k.0) {
                    if let Some(Ok(base)) = self.cache.get(&(k.0, vec![])) {
                        e.cost = crate::cost::value_risk::ranking_cost(
                            &base.set_costs(),
                            &cached.set_costs(),
                            false,
                        );
                    }
                }
                Ok(Ok(e))
            })
            .collect::<Result<_, WhatIfError>>()
            .map_err(Into::into)
    }

    fn counters(&self) -> WhatIfCounters {
        self.cache.counters
    }
}

#[cfg(test)]
mod tests {
    use super::super::worker::{GenericPlan, ValuePlan};
    use super::*;
    use crate::whatif::PlanSummary;

    fn plan(cost: f64, text: &str) -> PlanSummary {
        PlanSummary {
            total_cost: cost,
            startup_cost: 0.0,
            rows: 1.0,
            node_types: vec!["Index Scan".into()],
            indexes: vec!["<hypo:0>".into()],
            text: text.into(),
            ranking_cost: None,
            walk_risk_cost: None,
            filter_walk: None,
            scan: None,
        }
    }

    /// A lean entry ranks and triages exactly as the full outcome; only the plan text is gone.
    #[test]
    fn lean_entry_keeps_what_evaluation_reads() {
        let set = |w: f64, cost: f64, text: &str, used: Vec<usize>| ValuePlan {
            weight: w,
            values: vec![Some("1".into())],
            plan: plan(cost, text),
            used,
        };
        let full = Outcome {
            custom: vec![
                set(0.2, 10.0, "light", vec![0]),
                set(0.5, 20.0, "heavy", vec![1]),
                set(0.3, 30.0, "middle", vec![]),
            ],
            generic: Some(Ok(GenericPlan {
                plan: plan(99.0, "generic"),
                used: vec![],
            })),
        };
        let l = Cached::new(full.clone(), true).evaluation();
        let f = Cached::new(full, false).evaluation();
        assert_eq!(
            (l.cost, l.generic_cost, &l.used),
            (f.cost, f.generic_cost, &f.used)
        );
        let (lp, fp) = (l.plan.expect("plan"), f.plan.expect("plan"));
        assert_eq!(
            (lp.total_cost, &lp.node_types, &lp.indexes),
            (fp.total_cost, &fp.node_types, &fp.indexes)
        );
        assert_eq!(fp.text, "heavy", "the heaviest value set's plan");
        assert!(
            lp.text.is_empty(),
            "texts are recomputed on demand, not cached"
        );
    }
}
