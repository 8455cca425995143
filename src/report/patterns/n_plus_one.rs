//! N+1: many one-row lookups by primary or foreign key, each its own round trip.
//!
//! Problem: a loop or a serializer touching `obj.customer` (or `obj.tags.all()`) runs one query
//! per row; each is fast, so execution time hides them, but the round trips add up.
//! What we do: a SELECT on one table, filtered only by equality on its primary key or a
//! single-column foreign key (Django's `.get()`/related access: `WHERE "x"."id" = $1 LIMIT 21`,
//! or the `IN (…)` of a prefetch), returning about one row per call, called at least
//! [`MIN_CALLS`] times and [`CALLS_VS_MEDIAN`]× the workload's median, and once per row another
//! statement listed ([`super::siblings`]: a list of the parent table with a fraction of its
//! calls, and no per-request fetch of one parent about as often). A lookup run once per
//! request, however often, is not an N+1. The relation is named from the foreign keys that
//! point at the table.
//! Example: `SELECT … FROM "shop_customer" WHERE "shop_customer"."id" = $1 LIMIT 21`, 5,000
//! calls → `Order.objects.select_related("customer")`.

use super::util::{foreign_keys, primary_key, rows_per_call, table};
use super::{Context, Hit, PatternInput};
use crate::parse::StatementKind;

/// At least this many calls…
pub const MIN_CALLS: i64 = 100;
/// …at most this many rows per call on average…
pub const MAX_ROWS_PER_CALL: f64 = 1.5;
/// …and at least this multiple of the median call count.
pub const CALLS_VS_MEDIAN: f64 = 3.0;

pub(super) fn detect(i: &PatternInput<'_>, cx: &Context<'_>) -> Hit {
    let shape = i.shape?;
    let st = i.statement;
    if shape.kind != StatementKind::Select
        || st.calls < MIN_CALLS
        || (st.calls as f64) < CALLS_VS_MEDIAN * cx.median_calls
    {
        return None;
    }
    let [t] = shape.tables.as_slice() else {
        return None;
    };
    let rpc = rows_per_call(st.rows, st.calls);
    if rpc > MAX_ROWS_PER_CALL || t.equality.is_empty() || !t.ranges.is_empty() {
        return None;
    }
    let tbl = table(cx.catalog, t)?;
    let pk = primary_key(tbl);
    let fks = foreign_keys(tbl);
    let by_pk = t.equality.len() == pk.len() && t.equality.iter().all(|c| pk.contains(c));
    let by_fk = t.equality.len() == 1 && fks.contains(&t.equality[0]);
    if !by_pk && !by_fk {
        return None;
    }
    let per_row = cx.siblings.per_row.get(&st.queryid)?;
    let relation = if by_pk {
        // Who points at this table: name the foreign key a select_related would follow.
        let referencing: Vec<String> = cx
            .catalog
            .tables
            .iter()
            // An auto-created many-to-many table (an id and two foreign keys) is reached by
            // prefetch_related from either side, never by select_related: not named here.
            .filter(|other| !is_m2m_table(other))
            .flat_map(|other| {
                other
                    .constraints
                    .iter()
                    .filter(|c| {
                        c.kind == "f"
                            && c.columns.len() == 1
                            && references(&c.definition, &tbl.name)
                    })
                    .map(move |c| {
                        format!(
                            "{}.{} → select_related(\"{}\")",
                            other.name,
                            c.columns[0],
                            c.columns[0].strip_suffix("_id").unwrap_or(&c.columns[0])
                        )
                    })
            })
            .collect();
        match referencing.as_slice() {
            [] => String::new(),
            [one] => format!("; reached through {one}"),
            many => format!("; reached through one of {}", many.join(", ")),
        }
    } else {
        format!(
            "; the rows of one {} at a time → prefetch_related() from the parent",
            t.equality[0].strip_suffix("_id").unwrap_or(&t.equality[0])
        )
    };
    Some(format!(
        "{} calls of {rpc:.1} row each by {} on {}{relation}; one per listed row: {per_row}",
        st.calls,
        if by_pk { "primary key" } else { "foreign key" },
        t.table
    ))
}

/// An auto-created many-to-many table: two single-column foreign keys and nothing but an `id`
/// besides them.
fn is_m2m_table(t: &crate::model::Table) -> bool {
    let fks: Vec<&str> = t
        .constraints
        .iter()
        .filter(|c| c.kind == "f" && c.columns.len() == 1)
        .map(|c| c.columns[0].as_str())
        .collect();
    fks.len() == 2
        && t.columns.len() <= 3
        && t.columns
            .iter()
            .all(|c| c.name == "id" || fks.contains(&c.name.as_str()))
}

/// Whether a foreign-key definition (`FOREIGN KEY (a) REFERENCES x(id) …`) references `table`
/// (plain or schema-qualified, quoted or not).
fn references(definition: &str, table: &str) -> bool {
    let Some(rest) = definition.split("REFERENCES ").nth(1) else {
        return false;
    };
    let target = rest.split('(').next().unwrap_or("").trim();
    let last = target
        .rsplit('.')
        .next()
        .unwrap_or(target)
        .trim_matches('"');
    last == table
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{shop, World};
    use super::super::Pattern;

    /// The order feed: 50 pages of 100 orders, each serialized with its customer.
    const ORDER_FEED: &str = "SELECT \"shop_order\".\"id\", \"shop_order\".\"customer_id\" FROM \"shop_order\" ORDER BY \"shop_order\".\"id\" DESC LIMIT $1";

    #[test]
    fn a_customer_fetched_per_order_is_n_plus_one_through_the_order_foreign_key() {
        let w = World::new(shop()).with(&[(ORDER_FEED, 50, 5000)]);
        let f = w.finding(
            "SELECT \"shop_customer\".\"id\", \"shop_customer\".\"email\", \"shop_customer\".\"name\", \"shop_customer\".\"is_active\", \"shop_customer\".\"created_at\", \"shop_customer\".\"deleted_at\" FROM \"shop_customer\" WHERE \"shop_customer\".\"id\" = $1 LIMIT $2",
            5000,
            5000,
            150.0,
        );
        let (p, evidence) = f.expect("found");
        assert_eq!(p, Pattern::NPlusOne);
        assert!(
            evidence.contains("5000 calls of 1.0 row each by primary key on shop_customer"),
            "{evidence}"
        );
        assert!(
            evidence.contains("shop_order.customer_id → select_related(\"customer\")"),
            "{evidence}"
        );
    }

    /// A product fetched by key is reached through order items, never through the
    /// many-to-many table of its tags (select_related cannot follow that).
    #[test]
    fn many_to_many_tables_are_not_named_as_select_related_paths() {
        let mut catalog = shop();
        // shop_product_tags: id, product_id, tag_id; two foreign keys.
        let mut tags = catalog
            .tables
            .iter()
            .find(|t| t.name == "shop_orderitem")
            .expect("order items")
            .clone();
        tags.name = "shop_product_tags".into();
        tags.oid += 1000;
        tags.columns
            .retain(|c| c.name == "id" || c.name == "product_id");
        let mut tag_id = tags.columns[0].clone();
        tag_id.name = "tag_id".into();
        tags.columns.push(tag_id);
        let mut fk = tags
            .constraints
            .iter()
            .find(|c| c.kind == "f" && c.columns == ["product_id"])
            .expect("product foreign key")
            .clone();
        tags.constraints.retain(|c| c.kind == "p");
        tags.constraints.push(fk.clone());
        fk.columns = vec!["tag_id".into()];
        fk.definition = "FOREIGN KEY (tag_id) REFERENCES shop_tag(id)".into();
        tags.constraints.push(fk);
        catalog.tables.push(tags);
        let items = "SELECT \"shop_orderitem\".\"id\", \"shop_orderitem\".\"product_id\" FROM \"shop_orderitem\" WHERE \"shop_orderitem\".\"order_id\" = $1";
        let w = World::new(catalog).with(&[(items, 1000, 5000)]);
        let (_, evidence) = w
            .finding(
                "SELECT \"shop_product\".\"id\", \"shop_product\".\"name\" FROM \"shop_product\" WHERE \"shop_product\".\"id\" = $1 LIMIT $2",
                5000,
                5000,
                150.0,
            )
            .expect("found");
        assert!(
            evidence.contains("select_related(\"product\")"),
            "{evidence}"
        );
        assert!(!evidence.contains("shop_product_tags"), "{evidence}");
    }

    #[test]
    fn a_prefetch_style_lookup_by_foreign_key_names_prefetch_related() {
        let w = World::new(shop()).with(&[(ORDER_FEED, 100, 3000)]);
        let (p, evidence) = w
            .finding(
                "SELECT \"shop_orderitem\".\"id\", \"shop_orderitem\".\"order_id\" FROM \"shop_orderitem\" WHERE \"shop_orderitem\".\"order_id\" = $1",
                3000,
                3000,
                90.0,
            )
            .expect("found");
        assert_eq!(p, Pattern::NPlusOne);
        assert!(evidence.contains("prefetch_related"), "{evidence}");
    }

    #[test]
    fn a_rare_lookup_or_a_list_is_not_n_plus_one() {
        let w = World::new(shop()).with(&[(ORDER_FEED, 50, 5000)]);
        let q = "SELECT \"shop_customer\".\"id\" FROM \"shop_customer\" WHERE \"shop_customer\".\"id\" = $1 LIMIT $2";
        assert_ne!(
            w.finding(q, 20, 20, 1.0).map(|f| f.0),
            Some(Pattern::NPlusOne)
        );
        // Many rows per call: a list, not a lookup.
        let list = "SELECT \"shop_orderitem\".\"id\" FROM \"shop_orderitem\" WHERE \"shop_orderitem\".\"order_id\" = $1";
        assert_ne!(
            w.finding(list, 3000, 30_000, 90.0).map(|f| f.0),
            Some(Pattern::NPlusOne)
        );
    }

    /// The reviewer's product page: the customer looked up once per request, as often as the
    /// request's own order fetch, is no N+1 however often it runs; without any list of orders
    /// in the workload there is no evidence either.
    #[test]
    fn a_lookup_once_per_request_is_not_n_plus_one() {
        let q = "SELECT \"shop_customer\".\"id\" FROM \"shop_customer\" WHERE \"shop_customer\".\"id\" = $1 LIMIT $2";
        let order = "SELECT \"shop_order\".\"id\", \"shop_order\".\"customer_id\" FROM \"shop_order\" WHERE \"shop_order\".\"id\" = $1 LIMIT $2";
        let per_request = World::new(shop()).with(&[(ORDER_FEED, 50, 5000), (order, 5000, 5000)]);
        assert_eq!(per_request.finding(q, 5000, 5000, 150.0), None);
        let alone = World::new(shop());
        assert_eq!(alone.finding(q, 5000, 5000, 150.0), None);
        // The same lookup with the feed as its only parent statement is one.
        let feed = World::new(shop()).with(&[(ORDER_FEED, 50, 5000)]);
        assert_eq!(
            feed.finding(q, 5000, 5000, 150.0).map(|f| f.0),
            Some(Pattern::NPlusOne)
        );
    }

    #[test]
    fn references_reads_quoted_and_qualified_targets() {
        assert!(super::references(
            "FOREIGN KEY (customer_id) REFERENCES shop_customer(id) DEFERRABLE INITIALLY DEFERRED",
            "shop_customer"
        ));
        assert!(super::references(
            "FOREIGN KEY (a) REFERENCES public.\"Weird\"(id)",
            "Weird"
        ));
        assert!(!super::references(
            "FOREIGN KEY (a) REFERENCES shop_customer_x(id)",
            "shop_customer"
        ));
    }
}
