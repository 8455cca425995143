//! Each finding's example in the application's own names: the model and fields of the
//! statement the finding is about (`Line.objects.select_related("order")` in django-oscar),
//! not a generic shop.
//!
//! Pure. Built from what the finding already knows — its tables, the columns it filters,
//! sorts or searches on, the foreign key it follows, its list page — and the tables' models
//! ([`AppNames`]: the project's, or guessed from `django_content_type`). Invariant: when a
//! piece an example needs is unknown (a table without a model, a relation nobody points
//! along), [`example`] gives `None` and the finding keeps [`Pattern::example`], the generic
//! one; an example never names a model or field the names do not hold.

use std::collections::BTreeMap;

use super::util::{foreign_keys, primary_key, table, upper};
use super::{Context, Pattern, PatternInput};
use crate::emit::django::pystr::python_str_black as py;
use crate::model::{AppNames, ModelName, NameSource, Table};
use crate::parse::{Limit, QueryShape};

/// What examples are named from besides the statement.
#[derive(Debug, Clone, Copy)]
pub struct Names<'a> {
    /// The tables' models.
    pub app: &'a AppNames,
    /// Every statement's shape, by queryid (a paginator count's list page).
    pub shapes: &'a BTreeMap<i64, &'a QueryShape>,
}

/// Collects the models an example names, to say where its names come from.
struct Used<'a> {
    app: &'a AppNames,
    worst: Option<NameSource>,
}

impl<'a> Used<'a> {
    fn model(&mut self, table: &str) -> Option<&'a ModelName> {
        let m = self.app.model(table)?;
        self.worst = Some(self.worst.map_or(m.source, |w| w.max(m.source)));
        Some(m)
    }
}

/// The example of `pattern` for this statement in the application's names, and where its
/// names come from (a guess from `django_content_type`, or the project); `None` when a piece
/// it needs is unknown.
pub fn example(
    pattern: Pattern,
    i: &PatternInput<'_>,
    cx: &Context<'_>,
    names: &Names<'_>,
) -> Option<(String, NameSource)> {
    let shape = i.shape?;
    let mut u = Used {
        app: names.app,
        worst: None,
    };
    let text = match pattern {
        Pattern::NPlusOne => n_plus_one(shape, cx, &mut u),
        Pattern::CountPerRow => count_per_row(shape, cx, &mut u),
        Pattern::PaginatorCount => paginator_count(i, cx, names, &mut u),
        Pattern::DeepOffset => deep_offset(shape, &mut u),
        Pattern::ContainsSearch => contains_search(shape, &mut u),
        Pattern::OverFetching => over_fetching(shape, cx, &mut u),
        Pattern::FanOutSort => fan_out_sort(shape, &mut u),
        Pattern::RandomOrder => random_order(shape, &mut u),
        Pattern::DistinctJoin => distinct_join(shape, cx, &mut u),
        Pattern::Cacheable => cacheable(i, shape, &mut u),
        Pattern::DateLookup => date_lookup(shape, cx, &mut u),
    }?;
    Some((text, u.worst?))
}

/// The table a single-column foreign key points at, from its definition (`FOREIGN KEY (a)
/// REFERENCES x(id) …`, plain or schema-qualified, quoted or not).
fn fk_target(definition: &str) -> Option<&str> {
    let rest = definition.split("REFERENCES ").nth(1)?;
    let target = rest.split('(').next()?.trim();
    Some(
        target
            .rsplit('.')
            .next()
            .unwrap_or(target)
            .trim_matches('"'),
    )
}

/// The single-column foreign keys of `t`: (column, referenced table).
fn fks(t: &Table) -> impl Iterator<Item = (&str, &str)> {
    t.constraints
        .iter()
        .filter(|c| c.kind == "f" && c.columns.len() == 1)
        .filter_map(|c| Some((c.columns[0].as_str(), fk_target(&c.definition)?)))
}

/// Lookups by primary key: `Order.objects.select_related("customer")` from a model whose
/// foreign key points at the table; by foreign key (the rows of one parent at a time):
/// `Customer.objects.prefetch_related("order_set")` from the parent.
fn n_plus_one(shape: &QueryShape, cx: &Context<'_>, u: &mut Used<'_>) -> Option<String> {
    let [t] = shape.tables.as_slice() else {
        return None;
    };
    let tbl = table(cx.catalog, t)?;
    let pk = primary_key(tbl);
    let by_pk = !t.equality.is_empty() && t.equality.iter().all(|c| pk.contains(c));
    if by_pk {
        return cx.catalog.tables.iter().find_map(|other| {
            let (col, _) = fks(other).find(|(_, target)| *target == tbl.name)?;
            let m = u.model(&other.name)?;
            Some(format!(
                "{}.objects.select_related({})",
                m.class,
                py(m.field(col))
            ))
        });
    }
    let col = t.equality.first()?;
    if !foreign_keys(tbl).contains(col) {
        return None;
    }
    let (_, parent_table) = fks(tbl).find(|(c, _)| c == col)?;
    let accessor = u.model(&tbl.name)?.reverse(col)?.accessor.clone()?;
    let parent = u.model(parent_table)?;
    Some(format!(
        "{}.objects.prefetch_related({})",
        parent.class,
        py(&accessor)
    ))
}

/// `Customer.objects.annotate(order_count=Count("order"))`: the parent, counted along the
/// foreign key the count filters on.
fn count_per_row(shape: &QueryShape, cx: &Context<'_>, u: &mut Used<'_>) -> Option<String> {
    let [t] = shape.tables.as_slice() else {
        return None;
    };
    let tbl = table(cx.catalog, t)?;
    let (col, parent_table) = fks(tbl).find(|(c, _)| t.equality.iter().any(|e| e == c))?;
    let reverse = u.model(&tbl.name)?.reverse(col)?.query_name.clone();
    let parent = u.model(parent_table)?;
    Some(format!(
        "{}.objects.annotate({reverse}_count=Count({}))",
        parent.class,
        py(&reverse)
    ))
}

/// A cursor pagination ordered like the count's list page.
fn paginator_count(
    i: &PatternInput<'_>,
    cx: &Context<'_>,
    names: &Names<'_>,
    u: &mut Used<'_>,
) -> Option<String> {
    let page_id = cx.siblings.paginated.get(&i.statement.queryid)?;
    let page = names.shapes.get(page_id)?;
    let t = page.tables.first()?;
    let m = u.model(&t.table)?;
    let ordering = match t.order_by.first() {
        Some(k) => format!("{}{}", if k.desc { "-" } else { "" }, m.field(&k.column)),
        None => "-pk".to_string(),
    };
    Some(format!(
        "class {}Pagination(CursorPagination): ordering = {}",
        m.class,
        py(&ordering)
    ))
}

/// Keyset pagination on the page's own sort key.
fn deep_offset(shape: &QueryShape, u: &mut Used<'_>) -> Option<String> {
    let t = shape.tables.first()?;
    let m = u.model(&t.table)?;
    let (field, desc) = match t.order_by.first() {
        Some(k) => (m.field(&k.column).to_string(), k.desc),
        None => ("pk".to_string(), false),
    };
    let limit = match shape.limit {
        Some(Limit::Const(n)) => n,
        _ => 50,
    };
    Some(format!(
        "{}.objects.filter({field}__{}=last_seen).order_by({})[:{limit}]",
        m.class,
        if desc { "lt" } else { "gt" },
        py(&format!("{}{field}", if desc { "-" } else { "" }))
    ))
}

/// A trigram GIN index on the searched field, in the model's `Meta.indexes`.
fn contains_search(shape: &QueryShape, u: &mut Used<'_>) -> Option<String> {
    let (t, like) = shape
        .tables
        .iter()
        .flat_map(|t| t.likes.iter().map(move |l| (t, l)))
        .find(|(_, l)| !l.prefix)?;
    let m = u.model(&t.table)?;
    let field = py(m.field(&like.column));
    let index = if like.upper {
        format!("GinIndex(OpClass(Upper({field}), name=\"gin_trgm_ops\"), name=\"…\")")
    } else {
        format!("GinIndex(fields=[{field}], opclasses=[\"gin_trgm_ops\"], name=\"…\")")
    };
    Some(format!(
        "{}.Meta.indexes: {index}  (TrigramExtension() first)",
        m.class
    ))
}

/// `defer()` of the wide fields the list loads.
fn over_fetching(shape: &QueryShape, cx: &Context<'_>, u: &mut Used<'_>) -> Option<String> {
    shape.tables.iter().find_map(|t| {
        let tbl = table(cx.catalog, t)?;
        let wide: Vec<&str> = tbl
            .columns
            .iter()
            .filter(|c| {
                c.stats
                    .as_ref()
                    .is_some_and(|s| s.avg_width >= super::over_fetching::WIDE_BYTES)
            })
            .map(|c| c.name.as_str())
            .collect();
        if wide.is_empty() || !tbl.columns.iter().all(|c| t.columns_read.contains(&c.name)) {
            return None;
        }
        let m = u.model(&t.table)?;
        Some(format!(
            "{}.objects.defer({})",
            m.class,
            wide.iter()
                .map(|c| py(m.field(c)))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })
}

/// A counter kept on the driving model, sorted on directly.
fn fan_out_sort(shape: &QueryShape, u: &mut Used<'_>) -> Option<String> {
    let first = shape.tables.first()?;
    let counted = shape
        .tables
        .iter()
        .rev()
        .filter(|t| t.table != first.table)
        .find_map(|t| u.model(&t.table))?;
    let counted = counted.class.clone();
    let m = u.model(&first.table)?;
    Some(format!(
        "{}.objects.order_by({})  (a counter kept on {}, updated when {counted} rows change)",
        m.class,
        py(&format!("-{}_count", counted.to_lowercase())),
        m.class
    ))
}

/// Random keys picked in Python.
fn random_order(shape: &QueryShape, u: &mut Used<'_>) -> Option<String> {
    let m = u.model(&shape.tables.first()?.table)?;
    Some(format!(
        "random.sample(list({}.objects.values_list(\"pk\", flat=True)), k)",
        m.class
    ))
}

/// `Exists()` over the joined model whose foreign key points at the listed one.
fn distinct_join(shape: &QueryShape, cx: &Context<'_>, u: &mut Used<'_>) -> Option<String> {
    let first = shape.tables.first()?;
    let (joined, col) = shape
        .tables
        .iter()
        .skip(1)
        .filter(|t| t.table != first.table)
        .find_map(|t| {
            let tbl = table(cx.catalog, t)?;
            let (col, _) = fks(tbl).find(|(_, target)| *target == first.table)?;
            Some((t.table.clone(), col.to_string()))
        })?;
    let inner = u.model(&joined)?;
    let field = inner.field(&col).to_string();
    let inner = inner.class.clone();
    let outer = u.model(&first.table)?;
    Some(format!(
        "{}.objects.filter(Exists({inner}.objects.filter({field}=OuterRef(\"pk\"), …)))",
        outer.class
    ))
}

/// The same answer from the cache.
fn cacheable(i: &PatternInput<'_>, shape: &QueryShape, u: &mut Used<'_>) -> Option<String> {
    let m = u.model(&shape.tables.first()?.table)?;
    let count = upper(&i.statement.query).starts_with("SELECT COUNT(");
    let key = format!(
        "{}_{}",
        m.class.to_lowercase(),
        if count { "count" } else { "list" }
    );
    Some(format!(
        "cache.get_or_set({}, lambda: {}, timeout=60)",
        py(&key),
        if count {
            format!("{}.objects.filter(…).count()", m.class)
        } else {
            format!("list({}.objects.filter(…))", m.class)
        }
    ))
}

/// A range on the timestamp field instead of `__date`.
fn date_lookup(shape: &QueryShape, cx: &Context<'_>, u: &mut Used<'_>) -> Option<String> {
    let (column, _) = super::date_lookup::date_of_column(&shape.plan_text)?;
    let t = shape
        .tables
        .iter()
        .find(|t| table(cx.catalog, t).is_some_and(|tb| tb.column(&column).is_some()))?;
    let m = u.model(&t.table)?;
    let f = m.field(&column);
    Some(format!(
        "{}.objects.filter({f}__gte=start, {f}__lt=start + timedelta(days=1))  (start: the day's midnight, aware)",
        m.class
    ))
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::shop;
    use super::*;
    use crate::model::app_names::{ContentType, Reverse};
    use crate::report::patterns::Siblings;

    fn content_types(pairs: &[(&str, &str)]) -> Vec<ContentType> {
        pairs
            .iter()
            .map(|(a, m)| ContentType {
                app_label: a.to_string(),
                model: m.to_string(),
            })
            .collect()
    }

    /// The shop's tables named as `django_content_type` would name them.
    fn guessed() -> AppNames {
        AppNames::from_content_types(
            &content_types(&[
                ("shop", "customer"),
                ("shop", "order"),
                ("shop", "orderitem"),
                ("shop", "product"),
                ("shop", "tag"),
            ]),
            &shop(),
        )
    }

    fn run(
        pattern: Pattern,
        sql: &str,
        app: &AppNames,
        siblings: &Siblings,
    ) -> Option<(String, NameSource)> {
        let catalog = shop();
        let st = super::super::fixtures::statement(sql, 100, 100, 100.0);
        let shape = crate::parse::parse_statement(&st, &catalog).expect("parses");
        let shapes: BTreeMap<i64, &QueryShape> = BTreeMap::new();
        let input = PatternInput {
            statement: &st,
            shape: Some(&shape),
            baseline: None,
            after: None,
            before_after: None,
            writes_per_s: None,
            top_values: None,
            like_values: None,
        };
        let cx = Context {
            catalog: &catalog,
            median_calls: 1.0,
            per_call_overhead_ms: 0.4,
            siblings,
        };
        example(
            pattern,
            &input,
            &cx,
            &Names {
                app,
                shapes: &shapes,
            },
        )
    }

    const CUSTOMER_BY_PK: &str = "SELECT \"shop_customer\".\"id\" FROM \"shop_customer\" WHERE \"shop_customer\".\"id\" = $1 LIMIT $2";
    const COUNT_BY_CUSTOMER: &str = "SELECT COUNT(*) AS \"__count\" FROM \"shop_order\" WHERE \"shop_order\".\"customer_id\" = $1";

    #[test]
    fn n_plus_one_and_count_per_row_name_the_relation() {
        let s = Siblings::default();
        let (e, src) = run(Pattern::NPlusOne, CUSTOMER_BY_PK, &guessed(), &s).expect("example");
        assert_eq!(e, "Order.objects.select_related(\"customer\")");
        assert_eq!(src, NameSource::ContentTypes);
        let (e, _) = run(Pattern::CountPerRow, COUNT_BY_CUSTOMER, &guessed(), &s).expect("example");
        assert_eq!(e, "Customer.objects.annotate(order_count=Count(\"order\"))");
        let (e, _) = run(
            Pattern::NPlusOne,
            "SELECT \"shop_order\".\"id\" FROM \"shop_order\" WHERE \"shop_order\".\"customer_id\" = $1",
            &guessed(),
            &s,
        )
        .expect("example");
        assert_eq!(e, "Customer.objects.prefetch_related(\"order_set\")");
    }

    #[test]
    fn the_projects_names_win_and_a_related_name_is_followed() {
        let mut app = guessed();
        app.extend(AppNames {
            tables: [(
                "shop_order".to_string(),
                ModelName {
                    class: "Purchase".into(),
                    source: NameSource::Project,
                    fields: [("customer_id".to_string(), "buyer".to_string())].into(),
                    reverse: [(
                        "customer_id".to_string(),
                        Reverse {
                            query_name: "purchases".into(),
                            accessor: Some("purchases".into()),
                        },
                    )]
                    .into(),
                },
            )]
            .into(),
        });
        let s = Siblings::default();
        let (e, src) = run(Pattern::CountPerRow, COUNT_BY_CUSTOMER, &app, &s).expect("example");
        assert_eq!(
            e,
            "Customer.objects.annotate(purchases_count=Count(\"purchases\"))"
        );
        // Customer's name is still a guess: the example says the worst of its sources.
        assert_eq!(src, NameSource::ContentTypes);
        let (e, _) = run(Pattern::NPlusOne, CUSTOMER_BY_PK, &app, &s).expect("example");
        assert_eq!(e, "Purchase.objects.select_related(\"buyer\")");
    }

    #[test]
    fn keyset_pagination_date_ranges_and_search_use_the_statements_columns() {
        let s = Siblings::default();
        let (e, _) = run(
            Pattern::DeepOffset,
            "SELECT \"shop_order\".\"id\" FROM \"shop_order\" ORDER BY \"shop_order\".\"created_at\" DESC LIMIT 20 OFFSET $1",
            &guessed(),
            &s,
        )
        .expect("example");
        assert_eq!(
            e,
            "Order.objects.filter(created_at__lt=last_seen).order_by(\"-created_at\")[:20]"
        );
        let (e, _) = run(
            Pattern::DateLookup,
            "SELECT \"shop_order\".\"id\" FROM \"shop_order\" WHERE (\"shop_order\".\"created_at\" AT TIME ZONE 'UTC')::date = $1",
            &guessed(),
            &s,
        )
        .expect("example");
        assert!(
            e.starts_with("Order.objects.filter(created_at__gte=start, created_at__lt=start + timedelta(days=1))"),
            "{e}"
        );
        let (e, _) = run(
            Pattern::ContainsSearch,
            "SELECT \"shop_customer\".\"id\" FROM \"shop_customer\" WHERE UPPER(\"shop_customer\".\"name\"::text) LIKE UPPER($1)",
            &guessed(),
            &s,
        )
        .expect("example");
        assert_eq!(
            e,
            "Customer.Meta.indexes: GinIndex(OpClass(Upper(\"name\"), name=\"gin_trgm_ops\"), name=\"…\")  (TrigramExtension() first)"
        );
    }

    #[test]
    fn an_unknown_model_keeps_the_generic_example() {
        let s = Siblings::default();
        assert_eq!(
            run(Pattern::NPlusOne, CUSTOMER_BY_PK, &AppNames::default(), &s),
            None
        );
        // The customer is known but no model points at it.
        let only_customer =
            AppNames::from_content_types(&content_types(&[("shop", "customer")]), &shop());
        assert_eq!(
            run(Pattern::NPlusOne, CUSTOMER_BY_PK, &only_customer, &s),
            None
        );
        assert_eq!(
            run(Pattern::CountPerRow, COUNT_BY_CUSTOMER, &only_customer, &s),
            None
        );
        // A paginator count without its list page.
        assert_eq!(
            run(Pattern::PaginatorCount, COUNT_BY_CUSTOMER, &guessed(), &s),
            None
        );
    }

    #[test]
    fn foreign_key_targets_are_read_quoted_or_qualified() {
        assert_eq!(fk_target("FOREIGN KEY (a) REFERENCES x(id)"), Some("x"));
        assert_eq!(
            fk_target("FOREIGN KEY (order_id) REFERENCES public.\"order_order\"(id) DEFERRABLE INITIALLY DEFERRED"),
            Some("order_order")
        );
        assert_eq!(fk_target("CHECK (a > 0)"), None);
    }
}
