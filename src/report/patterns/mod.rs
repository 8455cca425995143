//! Django patterns recognised from the SQL Django writes: the findings that answer "cache,
//! index, or fix the queries — where do we start?" in Django's words.
//!
//! Pure. One pattern per file, its tests beside it, each on SQL Django really generated (the
//! corpus in `tests/fixtures/django_corpus_*.json` and the example shop). A pattern looks at one
//! statement (its pg_stat_statements counters, its parsed shape, its baseline plan and the
//! catalog) and either says nothing or gives its evidence; the fix and a short example are the
//! pattern's own.
//!
//! Weighting: a statement's weight is its execution time plus a per-call round-trip overhead
//! (client, network, ORM: [`DEFAULT_PER_CALL_OVERHEAD_MS`], `--per-call-overhead`), so 20,000
//! one-row lookups weigh what they cost the request, not only what they cost the server.
//!
//! Invariant: findings are sorted by weight share, largest first (then pattern, then queryid),
//! and the "after these indexes" view uses the same weights with each statement's execution
//! time scaled by its predicted cost ratio.

use serde::{Deserialize, Serialize};

use crate::model::{AppNames, Catalog, NameSource, Statement};
use crate::parse::{QueryShape, StatementKind};
use crate::whatif::PlanSummary;

mod cacheable;
mod contains_search;
mod count_per_row;
pub(crate) mod date_lookup;
mod deep_offset;
mod distinct_join;
pub mod examples;
mod fan_out_sort;
mod n_plus_one;
mod over_fetching;
mod paginator_count;
mod random_order;
pub mod render;
pub mod siblings;

pub use siblings::Siblings;

#[cfg(test)]
mod fixtures;

/// The round-trip overhead of one ORM call outside the database (psycopg2 send/receive over
/// loopback, Django's SQL compiler and model instantiation of one row), in ms. Measured on the
/// example shop over loopback with `manage.py measure_overhead` (5,000 calls of
/// `Customer.objects.filter(pk=…).first()`, wall time minus the execution time
/// pg_stat_statements recorded): 0.36–0.42 ms per call with Django 4.2, 5.2 and 6.1 (README,
/// "Triage in Django's terms"). Real networks add their round trip: set `--per-call-overhead`.
pub const DEFAULT_PER_CALL_OVERHEAD_MS: f64 = 0.4;

/// The patterns idxadvise recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pattern {
    /// Many one-row lookups by primary or foreign key: an N+1 from a loop or a serializer.
    NPlusOne,
    /// A `COUNT(*)` per parent row, called very often: an N+1 of counts.
    CountPerRow,
    /// Django's paginator counting a large table on every page.
    PaginatorCount,
    /// `OFFSET` pagination over a large table.
    DeepOffset,
    /// `icontains`-style search (`LIKE '%…%'`) that no B-tree serves.
    ContainsSearch,
    /// A list statement fetching wide columns (`text`/`jsonb`) for many rows.
    OverFetching,
    /// `ORDER BY … LIMIT` sorted after a join that multiplies rows.
    FanOutSort,
    /// `order_by("?")`: `ORDER BY RANDOM()` sorts the whole table.
    RandomOrder,
    /// `DISTINCT` over a join of a multi-valued relation.
    DistinctJoin,
    /// Hot, identical, read-mostly: cache it.
    Cacheable,
    /// `col__date=d`: `(col AT TIME ZONE 'UTC')::date = d`, which no index on the column serves.
    DateLookup,
}

impl Pattern {
    /// Every pattern, in the order findings are checked.
    pub const ALL: [Pattern; 11] = [
        Pattern::CountPerRow,
        Pattern::NPlusOne,
        Pattern::DateLookup,
        Pattern::PaginatorCount,
        Pattern::DeepOffset,
        Pattern::ContainsSearch,
        Pattern::OverFetching,
        Pattern::DistinctJoin,
        Pattern::FanOutSort,
        Pattern::RandomOrder,
        Pattern::Cacheable,
    ];

    /// Short label for tables.
    pub fn label(self) -> &'static str {
        match self {
            Pattern::NPlusOne => "N+1 queries",
            Pattern::CountPerRow => "count per row",
            Pattern::PaginatorCount => "paginator count",
            Pattern::DeepOffset => "deep OFFSET",
            Pattern::ContainsSearch => "contains search",
            Pattern::OverFetching => "over-fetching",
            Pattern::FanOutSort => "sort after fan-out join",
            Pattern::RandomOrder => "ORDER BY RANDOM()",
            Pattern::DistinctJoin => "DISTINCT over a join",
            Pattern::Cacheable => "cache candidate",
            Pattern::DateLookup => "date lookup on a timestamp",
        }
    }

    /// The fix, in Django's words.
    pub fn fix(self) -> &'static str {
        match self {
            Pattern::NPlusOne => "fetch the related rows in the list query: select_related() for a foreign key, prefetch_related() for a reverse or many-to-many relation",
            Pattern::CountPerRow => "count in the list query with annotate(Count(...)), or use .exists() where only presence matters",
            Pattern::PaginatorCount => "stop counting the whole table per page: DRF CursorPagination, a cached or estimated count (pg_class.reltuples), or a paginator without a total",
            Pattern::DeepOffset => "keyset pagination: filter on the last row's sort key instead of OFFSET (DRF CursorPagination)",
            Pattern::ContainsSearch => "a trigram GIN index (pg_trgm) or full-text search; a B-tree cannot serve a leading wildcard",
            Pattern::OverFetching => "select only what the list shows: only(), defer() or values()",
            Pattern::FanOutSort => "sort before the join multiplies rows: denormalise the sort key onto the driving table, or pick the page's ids in a subquery first",
            Pattern::RandomOrder => "pick random ids in Python (or TABLESAMPLE) instead of order_by(\"?\"), which sorts the whole table",
            Pattern::DistinctJoin => "filter with Exists() (or __in on a subquery) instead of joining a multi-valued relation and calling distinct()",
            Pattern::DateLookup => "filter the day as a range on the column (__gte the day's start, __lt the next day's), which an index on the column serves; or add an expression index on the date in the same time zone",
            Pattern::Cacheable => "cache the result (cache.get_or_set, cached_property, @cache_page): the same read-mostly answer is computed again and again",
        }
    }

    /// A short example of the fix, in a generic shop's names (a finding shows the
    /// application's own when its models are known: [`examples`]).
    pub fn example(self) -> &'static str {
        match self {
            Pattern::NPlusOne => "Order.objects.select_related(\"customer\")  /  Product.objects.prefetch_related(\"tags\")",
            Pattern::CountPerRow => "Customer.objects.annotate(order_count=Count(\"order\"))",
            Pattern::PaginatorCount => "class Pagination(CursorPagination): ordering = \"-created_at\"",
            Pattern::DeepOffset => "Order.objects.filter(created_at__lt=last_seen).order_by(\"-created_at\")[:50]",
            Pattern::ContainsSearch => "GinIndex(OpClass(Upper(\"name\"), name=\"gin_trgm_ops\"), name=\"…\")  (TrigramExtension() first)",
            Pattern::OverFetching => "Article.objects.defer(\"body\")  /  .only(\"id\", \"title\")",
            Pattern::FanOutSort => "Tag.objects.order_by(\"-article_count\")  (a counter kept on Tag)",
            Pattern::RandomOrder => "random.sample(list(qs.values_list(\"id\", flat=True)), k)",
            Pattern::DistinctJoin => "Product.objects.filter(Exists(Tag.objects.filter(product=OuterRef(\"pk\"), …)))",
            Pattern::DateLookup => "Ticket.objects.filter(created__gte=start, created__lt=start + timedelta(days=1))  (start: the day's midnight, aware)",
            Pattern::Cacheable => "cache.get_or_set(\"key\", lambda: list(qs), timeout=60)",
        }
    }
}

/// What the patterns need to know about one statement.
#[derive(Debug, Clone)]
pub struct PatternInput<'a> {
    /// The pg_stat_statements entry.
    pub statement: &'a Statement,
    /// Its shape, when parsed.
    pub shape: Option<&'a QueryShape>,
    /// The baseline plan, when planned.
    pub baseline: Option<&'a PlanSummary>,
    /// The plan with the recommended indexes, when planned.
    pub after: Option<&'a PlanSummary>,
    /// Cost before and after the recommended indexes, when planned.
    pub before_after: Option<(f64, f64)>,
    /// Rows written per second to the tables it reads (inserts, updates, deletes), when known.
    pub writes_per_s: Option<f64>,
    /// Observed parameter values: the share of samples that showed the most frequent value
    /// tuple, and the number of samples (pg_stat_activity, pg_qualstats, logs), when observed.
    pub top_values: Option<(f64, u64)>,
    /// LIKE patterns observed among its parameter values, weighted by samples: (starting
    /// with `%`, a contains search; ending with `%` only, a prefix search), when observed.
    pub like_values: Option<(u64, u64)>,
}

/// The LIKE patterns among a statement's observed values: sample weights of tuples holding a
/// pattern that starts with `%` (contains), and of those holding only patterns that end with
/// `%` (prefix). `None` when no observed value looks like a pattern.
pub fn like_values(o: &crate::model::ObservedStatement) -> Option<(u64, u64)> {
    let (mut contains, mut prefix) = (0, 0);
    for t in &o.tuples {
        let values = t.values.iter().flatten().filter(|v| v.len() >= 2);
        let (mut c, mut p) = (false, false);
        for v in values {
            if v.starts_with('%') {
                c = true;
            } else if v.ends_with('%') {
                p = true;
            }
        }
        if c {
            contains += t.weight;
        } else if p {
            prefix += t.weight;
        }
    }
    (contains + prefix > 0).then_some((contains, prefix))
}

/// The workload-wide facts a pattern compares a statement with.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The catalog.
    pub catalog: &'a Catalog,
    /// The median number of calls over the workload's SELECTs.
    pub median_calls: f64,
    /// Per-call overhead, ms.
    pub per_call_overhead_ms: f64,
    /// What the other statements of the workload say about each statement: its list page,
    /// its per-row calls.
    pub siblings: &'a Siblings,
}

/// A statement matched by a pattern.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The pattern.
    pub pattern: Pattern,
    /// The statement.
    pub queryid: i64,
    /// Share of the workload's weight before the recommended indexes (0..1).
    pub share: f64,
    /// Share of the workload's weight after the recommended indexes (0..1).
    pub share_after: f64,
    /// Calls.
    pub calls: i64,
    /// The evidence, one line.
    pub evidence: String,
    /// The fix, in Django's words.
    pub fix: String,
    /// A short example of the fix, in the application's names when its models are known.
    pub example: String,
    /// Where the example's model names come from; `None`: the generic example.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub names: Option<NameSource>,
}

/// One line of "after these indexes, the time goes to".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Remaining {
    /// What the time goes to: a pattern's label, or a triage verdict's label for statements no
    /// pattern matched.
    pub what: String,
    /// Share of the remaining weight (0..1).
    pub share: f64,
    /// The heaviest statements of this group (queryids, at most three).
    pub queryids: Vec<i64>,
    /// What to do next.
    pub next: String,
}

/// The findings of a workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Findings {
    /// How statements were weighted, one line.
    pub weighting: String,
    /// Per-call overhead used, ms.
    pub per_call_overhead_ms: f64,
    /// Findings, largest share first.
    pub findings: Vec<Finding>,
    /// Where the weight goes after the recommended indexes, largest first.
    pub after: Vec<Remaining>,
    /// The weight after the recommended indexes, as a share of the weight before (0..1].
    pub after_ratio: f64,
    /// Where the examples' model and field names come from, one line (empty in reports
    /// written before it was said).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub names: String,
}

/// A pattern's verdict on one statement: its evidence.
pub(crate) type Hit = Option<String>;

fn detect(p: Pattern, i: &PatternInput<'_>, cx: &Context<'_>) -> Hit {
    match p {
        Pattern::NPlusOne => n_plus_one::detect(i, cx),
        Pattern::CountPerRow => count_per_row::detect(i, cx),
        Pattern::PaginatorCount => paginator_count::detect(i, cx),
        Pattern::DeepOffset => deep_offset::detect(i, cx),
        Pattern::ContainsSearch => contains_search::detect(i, cx),
        Pattern::OverFetching => over_fetching::detect(i, cx),
        Pattern::FanOutSort => fan_out_sort::detect(i, cx),
        Pattern::RandomOrder => random_order::detect(i, cx),
        Pattern::DistinctJoin => distinct_join::detect(i, cx),
        Pattern::Cacheable => cacheable::detect(i, cx),
        Pattern::DateLookup => date_lookup::detect(i, cx),
    }
}

/// The first pattern that matches one statement, with its evidence.
pub fn classify(i: &PatternInput<'_>, cx: &Context<'_>) -> Option<(Pattern, String)> {
    Pattern::ALL
        .iter()
        .find_map(|p| detect(*p, i, cx).map(|e| (*p, e)))
}

/// A statement's weight: execution time plus the per-call overhead.
pub fn weight(total_time_ms: f64, calls: i64, per_call_overhead_ms: f64) -> f64 {
    total_time_ms.max(0.0) + calls.max(0) as f64 * per_call_overhead_ms.max(0.0)
}

/// Its weight after the recommended indexes: execution time scaled by the predicted cost
/// ratio (never above today's), plus the same per-call overhead.
pub fn weight_after(i: &PatternInput<'_>, per_call_overhead_ms: f64) -> f64 {
    let ratio = match i.before_after {
        Some((b, a)) if b > 0.0 && a >= 0.0 => (a / b).min(1.0),
        _ => 1.0,
    };
    weight(
        i.statement.total_time_ms * ratio,
        i.statement.calls,
        per_call_overhead_ms,
    )
}

/// The median call count of the workload's SELECTs (0 when there are none).
pub fn median_select_calls(inputs: &[PatternInput<'_>]) -> f64 {
    let mut calls: Vec<i64> = inputs
        .iter()
        .filter(|i| i.shape.is_some_and(|s| s.kind == StatementKind::Select))
        .map(|i| i.statement.calls)
        .collect();
    calls.sort_unstable();
    if calls.is_empty() {
        0.0
    } else {
        calls[(calls.len() - 1) / 2] as f64
    }
}

/// One group of the "after" view: what, weight after, members (weight after, queryid), next.
type Group = (String, f64, Vec<(f64, i64)>, String);

/// What [`Findings::names`] says for the best source of the examples' names.
pub fn names_line(best: Option<NameSource>) -> String {
    match best {
        Some(NameSource::Project) => "model and field names from the Django project (a finding on a table without a model keeps the generic example)".into(),
        Some(NameSource::ContentTypes) => "model names from the database's django_content_type, matched by Django's default table name <app_label>_<model>: it keeps class names lower-cased, so their capitals are a guess (orderitem → Orderitem); --django-project gives the exact names".into(),
        None => "generic model names (no --django-project given, and no django_content_type row names an analysed table)".into(),
    }
}

/// Run every pattern over the workload. `verdict_of` labels a statement no pattern matched
/// (the triage verdict), for the "after these indexes" view, with the verdict's action.
/// `app` names the tables' models for the examples (empty: generic examples).
pub fn findings(
    inputs: &[PatternInput<'_>],
    catalog: &Catalog,
    per_call_overhead_ms: f64,
    siblings: &Siblings,
    app: &AppNames,
    verdict_of: &dyn Fn(i64) -> Option<(&'static str, &'static str)>,
) -> Findings {
    let cx = Context {
        catalog,
        median_calls: median_select_calls(inputs),
        per_call_overhead_ms,
        siblings,
    };
    let total: f64 = inputs
        .iter()
        .map(|i| {
            weight(
                i.statement.total_time_ms,
                i.statement.calls,
                per_call_overhead_ms,
            )
        })
        .sum();
    let total_after: f64 = inputs
        .iter()
        .map(|i| weight_after(i, per_call_overhead_ms))
        .sum();
    let share = |w: f64, of: f64| if of > 0.0 { w / of } else { 0.0 };
    let shapes: std::collections::BTreeMap<i64, &QueryShape> = inputs
        .iter()
        .filter_map(|i| Some((i.statement.queryid, i.shape?)))
        .collect();
    let names = examples::Names {
        app,
        shapes: &shapes,
    };
    let mut found: Vec<Finding> = vec![];
    // group → (weight after, [(weight after, queryid)], next step)
    let mut groups: Vec<Group> = vec![];
    for i in inputs {
        let w = weight(
            i.statement.total_time_ms,
            i.statement.calls,
            per_call_overhead_ms,
        );
        let wa = weight_after(i, per_call_overhead_ms);
        let hit = classify(i, &cx);
        let (what, next) = match &hit {
            Some((p, _)) => (p.label().to_string(), p.fix().to_string()),
            None => match verdict_of(i.statement.queryid) {
                Some((label, action)) => (label.to_string(), action.to_string()),
                None => ("other".to_string(), "nothing to do".to_string()),
            },
        };
        match groups.iter_mut().find(|g| g.0 == what) {
            Some(g) => {
                g.1 += wa;
                g.2.push((wa, i.statement.queryid));
            }
            None => groups.push((what, wa, vec![(wa, i.statement.queryid)], next)),
        }
        if let Some((pattern, evidence)) = hit {
            let named = examples::example(pattern, i, &cx, &names);
            found.push(Finding {
                pattern,
                queryid: i.statement.queryid,
                share: share(w, total),
                share_after: share(wa, total_after),
                calls: i.statement.calls,
                evidence,
                fix: pattern.fix().to_string(),
                example: named
                    .as_ref()
                    .map_or_else(|| pattern.example().to_string(), |n| n.0.clone()),
                names: named.map(|n| n.1),
            });
        }
    }
    found.sort_by(|a, b| {
        b.share
            .total_cmp(&a.share)
            .then(a.pattern.cmp(&b.pattern))
            .then(a.queryid.cmp(&b.queryid))
    });
    let mut after: Vec<Remaining> = groups
        .into_iter()
        .map(|(what, w, mut members, next)| {
            members.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            Remaining {
                what,
                share: share(w, total_after),
                queryids: members.iter().take(3).map(|m| m.1).collect(),
                next,
            }
        })
        .collect();
    after.sort_by(|a, b| b.share.total_cmp(&a.share).then(a.what.cmp(&b.what)));
    Findings {
        weighting: format!(
            "execution time plus {per_call_overhead_ms:.2} ms per call (round trip, driver and ORM)"
        ),
        per_call_overhead_ms,
        findings: found,
        after,
        after_ratio: share(total_after, total).min(1.0),
        names: names_line(app.best_source()),
    }
}

/// Helpers the patterns share.
pub(crate) mod util {
    use crate::model::{Catalog, Table};
    use crate::parse::{QueryShape, TableAccess};

    /// Rows per call, 0 without calls.
    pub fn rows_per_call(rows: i64, calls: i64) -> f64 {
        if calls > 0 {
            rows as f64 / calls as f64
        } else {
            0.0
        }
    }

    /// The catalog table of one access.
    pub fn table<'c>(catalog: &'c Catalog, t: &TableAccess) -> Option<&'c Table> {
        catalog.table(&t.schema, &t.table)
    }

    /// The largest row count among the tables a statement reads.
    pub fn largest_rows(catalog: &Catalog, shape: &QueryShape) -> f64 {
        shape
            .tables
            .iter()
            .filter_map(|t| table(catalog, t))
            .map(|t| t.rows)
            .fold(0.0, f64::max)
    }

    /// The primary-key columns of a table.
    pub fn primary_key(table: &Table) -> Vec<String> {
        table
            .constraints
            .iter()
            .find(|c| c.kind == "p")
            .map(|c| c.columns.clone())
            .unwrap_or_default()
    }

    /// The foreign-key columns of a table (single-column foreign keys).
    pub fn foreign_keys(table: &Table) -> Vec<String> {
        table
            .constraints
            .iter()
            .filter(|c| c.kind == "f" && c.columns.len() == 1)
            .map(|c| c.columns[0].clone())
            .collect()
    }

    /// Collapse whitespace and uppercase, for keyword tests on pg_stat_statements texts.
    pub fn upper(text: &str) -> String {
        text.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_uppercase()
    }

    /// ", 12.3 ms per call" — or nothing when the timing is unknown (`explain`: no calls).
    pub fn per_call(st: &crate::model::Statement) -> String {
        if st.calls > 0 {
            format!(", {:.1} ms per call", st.mean_time_ms)
        } else {
            String::new()
        }
    }

    /// Whether the statement's timing is unknown (`explain` of one statement: no calls).
    pub fn untimed(st: &crate::model::Statement) -> bool {
        st.calls <= 0
    }

    /// Format a row count for evidence.
    pub fn rows(n: f64) -> String {
        if n >= 1_000_000.0 {
            format!("{:.1}M", n / 1_000_000.0)
        } else if n >= 10_000.0 {
            format!("{:.0}k", n / 1000.0)
        } else {
            format!("{n:.0}")
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_values_weigh_contains_and_prefix_patterns() {
        use crate::model::observed::ObservedTuple;
        use crate::model::{ObservedStatement, ValueSource};
        let tuple = |vals: &[Option<&str>], weight| ObservedTuple {
            values: vals.iter().map(|v| v.map(String::from)).collect(),
            weight,
            source: ValueSource::Activity,
        };
        let o = ObservedStatement {
            queryid: 1,
            tuples: vec![
                tuple(&[Some("%vpn%"), Some("20")], 6),
                tuple(&[Some("abc%"), Some("20")], 3),
                tuple(&[None, Some("20")], 5),
                tuple(&[Some("100%")], 0),
            ],
            ..ObservedStatement::default()
        };
        assert_eq!(super::like_values(&o), Some((6, 3)));
        let plain = ObservedStatement {
            queryid: 2,
            tuples: vec![tuple(&[Some("pending")], 4)],
            ..ObservedStatement::default()
        };
        assert_eq!(super::like_values(&plain), None);
    }

    use super::fixtures::{shop, statement};
    use super::*;

    #[test]
    fn per_call_overhead_ranks_twenty_thousand_fast_lookups_above_a_slow_report() {
        let catalog = shop();
        // 20,000 customer lookups at 0.02 ms (400 ms of execution) vs one report of 1,000 ms.
        let lookups = statement(
            "SELECT \"shop_customer\".\"id\" FROM \"shop_customer\" WHERE \"shop_customer\".\"id\" = $1 LIMIT $2",
            20_000,
            20_000,
            400.0,
        );
        let report = statement(
            "SELECT \"shop_order\".\"status\" AS \"status\", COUNT(\"shop_order\".\"id\") AS \"n\" FROM \"shop_order\" GROUP BY 1",
            1,
            5,
            1000.0,
        );
        let shapes: Vec<_> = [&lookups, &report]
            .iter()
            .map(|s| crate::parse::parse_statement(s, &catalog).expect("parses"))
            .collect();
        let inputs = vec![
            PatternInput {
                statement: &lookups,
                shape: Some(&shapes[0]),
                baseline: None,
                after: None,
                before_after: Some((8.0, 8.0)),
                writes_per_s: None,
                top_values: None,
                like_values: None,
            },
            PatternInput {
                statement: &report,
                shape: Some(&shapes[1]),
                baseline: None,
                after: None,
                before_after: Some((20_000.0, 20_000.0)),
                writes_per_s: None,
                top_values: None,
                like_values: None,
            },
        ];
        let verdict = |_q: i64| Some(("no index helps", "cache, denormalise or change the query"));
        // The order list that makes the lookups one per row (the workload's evidence).
        let siblings = Siblings {
            per_row: [(
                42,
                "20000 calls, 100.0× the 200 calls of the order list".to_string(),
            )]
            .into(),
            ..Siblings::default()
        };
        let f = findings(
            &inputs,
            &catalog,
            0.2,
            &siblings,
            &AppNames::default(),
            &verdict,
        );
        assert_eq!(f.findings.len(), 1);
        assert_eq!(f.findings[0].pattern, Pattern::NPlusOne);
        // (400 + 20,000 × 0.2) / (4,400 + 1,000.2)
        assert!(
            (f.findings[0].share - 4400.0 / 5400.2).abs() < 1e-9,
            "{}",
            f.findings[0].share
        );
        assert_eq!(f.after[0].what, "N+1 queries");
        assert!(f.weighting.contains("0.20 ms per call"));
        // Without the overhead, execution time alone ranks the report first.
        let plain = findings(
            &inputs,
            &catalog,
            0.0,
            &siblings,
            &AppNames::default(),
            &verdict,
        );
        assert_eq!(plain.after[0].what, "no index helps");
    }

    #[test]
    fn the_after_view_scales_helped_statements_by_their_predicted_cost() {
        let catalog = shop();
        let helped = statement(
            "SELECT \"shop_order\".\"id\" FROM \"shop_order\" WHERE \"shop_order\".\"status\" = $1 ORDER BY \"shop_order\".\"created_at\" ASC LIMIT $2",
            100,
            10_000,
            1000.0,
        );
        let shape = crate::parse::parse_statement(&helped, &catalog).expect("parses");
        let input = PatternInput {
            statement: &helped,
            shape: Some(&shape),
            baseline: None,
            after: None,
            before_after: Some((1000.0, 10.0)),
            writes_per_s: None,
            top_values: None,
            like_values: None,
        };
        // 1000 ms × 1% + 100 calls × 0.2 ms = 30 ms after, of 1,020 ms before.
        assert!((weight_after(&input, 0.2) - 30.0).abs() < 1e-9);
        let verdict = |_q: i64| Some(("served by the new indexes", "measure"));
        let f = findings(
            &[input],
            &catalog,
            0.2,
            &Siblings::default(),
            &AppNames::default(),
            &verdict,
        );
        assert!(
            (f.after_ratio - 30.0 / 1020.0).abs() < 1e-9,
            "{}",
            f.after_ratio
        );
        assert_eq!(f.after[0].queryids, vec![42]);
    }
}
