//! Count per row: a `COUNT(*)` filtered by one parent's key, called once per parent.
//!
//! Problem: `{{ customer.order_set.count }}` in a list template or a serializer's
//! `get_order_count` runs one `SELECT COUNT(*) … WHERE "x"."parent_id" = $1` per row.
//! What we do: a `COUNT(*)` filtered by equality on a foreign key, called at least
//! [`super::n_plus_one::MIN_CALLS`] times and at least as often as the median statement, and
//! once per row another statement listed ([`super::siblings`]: the list of the parent table
//! has a fraction of its calls, and no per-request fetch of one parent is called about as
//! often). A count run once per request (a product page's "viewed 12 times this week") is not
//! a count per row, however often the page is served.
//! Example: `SELECT COUNT(*) AS "__count" FROM "shop_order" WHERE "shop_order"."customer_id" =
//! $1` × 2,000 → `Customer.objects.annotate(order_count=Count("order"))`.

use super::n_plus_one::MIN_CALLS;
use super::util::{foreign_keys, table, upper};
use super::{Context, Hit, PatternInput};
use crate::parse::StatementKind;

pub(super) fn detect(i: &PatternInput<'_>, cx: &Context<'_>) -> Hit {
    let shape = i.shape?;
    let st = i.statement;
    if shape.kind != StatementKind::Select
        || st.calls < MIN_CALLS
        || (st.calls as f64) < cx.median_calls
        || !upper(&st.query).starts_with("SELECT COUNT(")
    {
        return None;
    }
    let [t] = shape.tables.as_slice() else {
        return None;
    };
    let tbl = table(cx.catalog, t)?;
    let fks = foreign_keys(tbl);
    let key = t.equality.iter().find(|c| fks.contains(c))?;
    let per_row = cx.siblings.per_row.get(&st.queryid)?;
    Some(format!(
        "{} counts of {} by {key}, one per parent row: {per_row}",
        st.calls, t.table
    ))
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{shop, tracker, World};
    use super::super::Pattern;

    #[test]
    fn a_count_per_customer_called_per_row_is_found() {
        // 100 pages of 20 customers.
        let w = World::new(shop()).with(&[(CUSTOMERS, 100, 2000)]);
        let (p, e) = w.finding(COUNT, 2000, 2000, 400.0).expect("found");
        assert_eq!(p, Pattern::CountPerRow);
        assert!(e.contains("by customer_id"), "{e}");
    }

    const CUSTOMERS: &str = "SELECT \"shop_customer\".\"id\" FROM \"shop_customer\" ORDER BY \"shop_customer\".\"id\" ASC LIMIT $1 OFFSET $2";
    const COUNT: &str = "SELECT COUNT(*) AS \"__count\" FROM \"shop_order\" WHERE \"shop_order\".\"customer_id\" = $1";

    /// A count on the customer's own page, as often as the page fetches its customer: once
    /// per request, not per row, even with a customer list elsewhere in the workload.
    #[test]
    fn a_count_once_per_request_is_not_count_per_row() {
        let page = "SELECT \"shop_customer\".\"id\" FROM \"shop_customer\" WHERE \"shop_customer\".\"email\" = $1 LIMIT $2";
        let w = World::new(shop()).with(&[(CUSTOMERS, 100, 2000), (page, 2000, 2000)]);
        assert_eq!(w.finding(COUNT, 2000, 2000, 400.0), None);
        assert_eq!(World::new(shop()).finding(COUNT, 2000, 2000, 400.0), None);
    }

    #[test]
    fn the_corpus_counts_called_once_are_not_count_per_row() {
        let w = World::new(tracker());
        let f = w.finding(
            "SELECT COUNT(*) AS \"__count\" FROM \"tracker_comments\" INNER JOIN \"tracker_issue\" ON (\"tracker_comments\".\"issue_id\" = \"tracker_issue\".\"id\") WHERE \"tracker_issue\".\"project_id\" = $1",
            1,
            1,
            30.0,
        );
        assert_ne!(f.map(|f| f.0), Some(Pattern::CountPerRow));
    }
}
