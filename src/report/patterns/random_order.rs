//! `ORDER BY RANDOM()`: Django's `order_by("?")` sorts every matching row to pick a few.
//!
//! What we do: a SELECT whose text orders by `RANDOM()`. Example: "three random products"
//! on a home page → pick random ids in Python, or `TABLESAMPLE`.

use super::util::{largest_rows, per_call, rows, upper};
use super::{Context, Hit, PatternInput};

pub(super) fn detect(i: &PatternInput<'_>, cx: &Context<'_>) -> Hit {
    let shape = i.shape?;
    if !upper(&i.statement.query).contains("ORDER BY RANDOM()") {
        return None;
    }
    Some(format!(
        "order_by(\"?\") sorts {} rows of {} per call{}",
        rows(largest_rows(cx.catalog, shape)),
        shape
            .tables
            .first()
            .map(|t| t.table.as_str())
            .unwrap_or("?"),
        per_call(i.statement)
    ))
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{shop, World};
    use super::super::Pattern;

    #[test]
    fn order_by_question_mark_is_found() {
        // Django 5.2: Product.objects.filter(is_active=True).order_by("?")[:3]
        let q = "SELECT \"shop_product\".\"id\", \"shop_product\".\"name\", \"shop_product\".\"sku\", \"shop_product\".\"price\", \"shop_product\".\"is_active\" FROM \"shop_product\" WHERE \"shop_product\".\"is_active\" ORDER BY RANDOM() ASC LIMIT $1";
        let (p, e) = World::new(shop())
            .finding(q, 300, 900, 600.0)
            .expect("found");
        assert_eq!(p, Pattern::RandomOrder);
        assert!(e.contains("5000 rows of shop_product"), "{e}");
    }
}
