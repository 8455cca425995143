//! Plan diffs: the EXPLAIN text of a statement before and after the recommendation, as a unified
//! diff, with HypoPG's generated names replaced by the proposed index names.

use similar::TextDiff;

/// What the diff's header says about the statement.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanDiffHeader {
    /// The statement.
    pub queryid: i64,
    /// Its text (normalised, `$n`).
    pub query: String,
    /// Calls (0 for a statement given by hand: no calls or times are shown).
    pub calls: i64,
    /// Mean time per call, ms.
    pub mean_ms: f64,
    /// Planner cost before.
    pub before_cost: f64,
    /// Planner cost after.
    pub after_cost: f64,
    /// Predicted mean time after, ms.
    pub after_ms: f64,
    /// The parameter values of the plans shown, with their weight (`$1 = '42'; weight 1.2%`).
    pub values: Option<String>,
    /// Generic-plan cost before → after, when computed (what server-side prepared statements
    /// would run).
    pub generic: Option<(f64, f64)>,
    /// The observed values the costing used, when observed (see [`super::values::evidence`]).
    pub observed: Option<String>,
}

/// Replace HypoPG's generated index names (`<13543>btree_shop_order_customer_id`) with the names
/// the recommendation proposes. `names` maps a HypoPG name to the proposed one.
///
/// Problem: HypoPG names are long, carry an OID and differ between runs, so the diff would be
/// unreadable and non-deterministic. What we do: replace every known name, longest first (one
/// name can be a prefix of another). Example: `Index Scan using <13543>btree_shop_order_customer_id_created_at on shop_order`
/// becomes `Index Scan using shop_order_custome_da1929_idx on shop_order`.
pub fn rename_hypothetical(text: &str, names: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = names.iter().collect();
    sorted.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
    let mut out = text.to_string();
    for (from, to) in sorted {
        out = out.replace(from.as_str(), to);
    }
    out
}

/// Replace the what-if engine's stable hypothetical names (`<hypo:3>btree_shop_order_…`, the
/// candidate id between the brackets) with the proposed names; `names` maps candidate id → name.
/// A hypothetical index without a proposed name keeps its text.
pub fn rename_stable(text: &str, names: &std::collections::BTreeMap<usize, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("<hypo:") {
        out.push_str(&rest[..start]);
        let tail = &rest[start + 6..];
        let id_end = tail.find('>');
        let id = id_end.and_then(|e| tail[..e].parse::<usize>().ok());
        match (id, id_end) {
            (Some(id), Some(e)) if names.contains_key(&id) => {
                let after = &tail[e + 1..];
                let name_end = after
                    .find(|c: char| c.is_whitespace() || c == ')' || c == ',')
                    .unwrap_or(after.len());
                out.push_str(&names[&id]);
                rest = &after[name_end..];
            }
            _ => {
                out.push_str("<hypo:");
                rest = tail;
            }
        }
    }
    out.push_str(rest);
    out
}

/// One statement's plan diff file: a header (as `#` comment lines) then the unified diff.
pub fn plan_diff(
    header: &PlanDiffHeader,
    before: &str,
    after: &str,
    names: &[(String, String)],
) -> String {
    let before = normalise(&rename_hypothetical(before, names));
    let after = normalise(&rename_hypothetical(after, names));
    let mut s = String::new();
    s.push_str(&format!("# queryid: {}\n", header.queryid));
    for line in one_line(&header.query).lines() {
        s.push_str(&format!("# query: {line}\n"));
    }
    // calls 0: a statement given by hand (`explain`), with no measured calls or time.
    let measured = header.calls > 0;
    if measured {
        s.push_str(&format!(
            "# calls: {}, mean time: {:.3} ms\n",
            header.calls, header.mean_ms
        ));
    }
    let pct = if header.before_cost > 0.0 {
        100.0 * (header.before_cost - header.after_cost) / header.before_cost
    } else {
        0.0
    };
    s.push_str(&format!(
        "# predicted: cost {:.2} -> {:.2} ({pct:.1}% less)",
        header.before_cost, header.after_cost
    ));
    if measured {
        s.push_str(&format!(
            ", mean time {:.3} ms -> {:.3} ms",
            header.mean_ms, header.after_ms
        ));
    }
    s.push('\n');
    if let Some(v) = &header.values {
        s.push_str(&format!("# plans shown for: {}\n", one_line(v)));
    }
    if let Some(o) = &header.observed {
        s.push_str(&format!("# observed values: {}\n", one_line(o)));
    }
    if let Some((gb, ga)) = header.generic {
        s.push_str(&format!("# generic plan: cost {gb:.2} -> {ga:.2}\n"));
    }
    if proxied(&header.query, &before, &after) {
        s.push_str(PROXY_NOTE);
    }
    let diff = TextDiff::from_lines(&before, &after);
    s.push_str(
        &diff
            .unified_diff()
            .context_radius(50)
            .header("before", "after")
            .to_string(),
    );
    s
}

/// The header line of a statement costed through the column proxy (`whatif::proxy`).
const PROXY_NOTE: &str = "# costed through the column proxy: UPPER(col) = UPPER(v) is planned as col = v in the C collation, to use the column's statistics (docs/expression-selectivity.md); the real plan compares upper(col), through the index on upper(col)\n";

/// Whether the plans are the column proxy's: the statement compares `UPPER(…) = UPPER(…)`, and
/// neither plan shows `upper(` (the proxy plans `col COLLATE "C" = v`, which EXPLAIN prints as
/// `col = v`).
fn proxied(query: &str, before: &str, after: &str) -> bool {
    let q: String = query.to_ascii_uppercase().split_whitespace().collect();
    q.contains("=UPPER(")
        && !before.to_ascii_lowercase().contains("upper(")
        && !after.to_ascii_lowercase().contains("upper(")
}

/// Collapse whitespace runs in a statement text so the header stays on one line.
fn one_line(q: &str) -> String {
    q.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Trailing newline and no trailing spaces, so diffs are stable.
fn normalise(text: &str) -> String {
    let mut s: String = text
        .lines()
        .map(|l| l.trim_end())
        .collect::<Vec<_>>()
        .join("\n");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_replaces_hypothetical_names_and_shows_the_change() {
        let before = "Limit  (cost=1000.00..1100.00 rows=20 width=50)\n  ->  Sort  (cost=1000.00..1050.00 rows=300 width=50)\n        Sort Key: created_at DESC\n        ->  Seq Scan on shop_order  (cost=0.00..900.00 rows=300 width=50)\n              Filter: (customer_id = 42)\n";
        let after = "Limit  (cost=0.42..20.00 rows=20 width=50)\n  ->  Index Scan using <13543>btree_shop_order_customer_id_created_at on shop_order  (cost=0.42..300.00 rows=300 width=50)\n        Index Cond: (customer_id = 42)\n";
        let names = vec![(
            "<13543>btree_shop_order_customer_id_created_at".to_string(),
            "shop_order_custome_da1929_idx".to_string(),
        )];
        let h = PlanDiffHeader {
            queryid: 7,
            query: "SELECT *\n  FROM shop_order WHERE customer_id = $1".into(),
            calls: 100,
            mean_ms: 12.5,
            before_cost: 1100.0,
            after_cost: 20.0,
            after_ms: 0.227,
            values: Some("$1 = '42' (weight 1.0%)".into()),
            generic: None,
            observed: None,
        };
        let d = plan_diff(&h, before, after, &names);
        assert!(d.starts_with(
            "# queryid: 7\n# query: SELECT * FROM shop_order WHERE customer_id = $1\n"
        ));
        assert!(d.contains("-        ->  Seq Scan on shop_order"), "{d}");
        assert!(
            d.contains("+  ->  Index Scan using shop_order_custome_da1929_idx on shop_order"),
            "{d}"
        );
        assert!(!d.contains("<13543>"), "{d}");
        assert!(d.contains("1100.00 -> 20.00 (98.2% less)"), "{d}");
        // Deterministic.
        assert_eq!(d, plan_diff(&h, before, after, &names));
        insta::assert_snapshot!(d);
    }

    #[test]
    fn stable_names_become_proposed_names() {
        let mut names = std::collections::BTreeMap::new();
        names.insert(3usize, "shop_order_custome_da1929_idx".to_string());
        assert_eq!(
            rename_stable(
                "Index Scan using <hypo:3>btree_shop_order_customer_id_created_at on shop_order\n  <hypo:4>btree_x (other)",
                &names
            ),
            "Index Scan using shop_order_custome_da1929_idx on shop_order\n  <hypo:4>btree_x (other)"
        );
    }

    #[test]
    fn longer_names_replaced_first() {
        let names = vec![
            ("<1>btree_t_a".to_string(), "short".to_string()),
            ("<1>btree_t_a_b".to_string(), "long".to_string()),
        ];
        assert_eq!(
            rename_hypothetical("using <1>btree_t_a_b and <1>btree_t_a", &names),
            "using long and short"
        );
    }

    #[test]
    fn a_proxied_statement_says_its_plans_are_the_proxys() {
        let h = |query: &str| PlanDiffHeader {
            queryid: 9,
            query: query.into(),
            calls: 10,
            mean_ms: 40.0,
            before_cost: 6789.0,
            after_cost: 35.0,
            after_ms: 0.2,
            values: None,
            generic: None,
            observed: None,
        };
        let before = "Seq Scan on t  (cost=0.00..6789.00 rows=8 width=50)\n  Filter: ((email)::text = 'a@b'::text)\n";
        let after = "Index Scan using <1>btree_t_email on t  (cost=0.42..35.00 rows=8 width=50)\n  Index Cond: ((email)::text = 'a@b'::text)\n";
        let iexact = h("SELECT * FROM t WHERE UPPER(t.email::text) = UPPER($1)");
        assert!(plan_diff(&iexact, before, after, &[]).contains(PROXY_NOTE));
        // A plain equality, or a plan that shows upper(): not the proxy.
        let plain = h("SELECT UPPER(t.name) FROM t WHERE t.email = $1");
        assert!(!plan_diff(&plain, before, after, &[]).contains("column proxy"));
        let real = after.replace("(email)::text", "upper((email)::text)");
        assert!(!plan_diff(&iexact, before, &real, &[]).contains("column proxy"));
    }
}
