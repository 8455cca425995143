//! `check`: does `track_activity_query_size` hold the texts of the statements idxadvise
//! analyses?
//!
//! Stage: check (pure; the texts are read by [`super::facts`] with `sql/check_activity.sql`).
//!
//! Problem: running texts in `pg_stat_activity` are cut at `track_activity_query_size`, so the
//! parameter values after the cut cannot be observed. Only the statements idxadvise analyses
//! need their values; `migrate`'s long `CREATE TABLE` texts, other utility statements and
//! idxadvise's own statements are in pg_stat_statements too, and counting them warned about a
//! setting that cut nothing idxadvise needs.
//! What we do: count only texts the parser accepts as one SELECT, INSERT, UPDATE or DELETE
//! ([`crate::parse::analysable_text`]), leaving out idxadvise's own
//! ([`crate::collect::sql::is_ours`]).
//! Example: a 3 kB `CREATE TABLE` and 300-byte SELECTs under the 1 kB default → no warning; a
//! 2 kB SELECT → the warning.

/// What the setting is measured against: `(track_activity_query_size, statements longer
/// than it, statements counted, longest counted text)`, sizes in bytes.
pub type ActivityText = (i32, i64, i64, i64);

/// Measure the texts idxadvise would analyse against `size` (bytes). `texts` are this
/// database's pg_stat_statements texts; `None` entries (no statement at all) are ignored.
pub fn measure<'a>(size: i32, texts: impl IntoIterator<Item = Option<&'a str>>) -> ActivityText {
    let (mut longer, mut counted, mut longest) = (0i64, 0i64, 0i64);
    for text in texts.into_iter().flatten() {
        if crate::collect::sql::is_ours(text) || !crate::parse::analysable_text(text) {
            continue;
        }
        let len = text.len() as i64;
        counted += 1;
        longest = longest.max(len);
        if len >= i64::from(size) {
            longer += 1;
        }
    }
    (size, longer, counted, longest)
}

#[cfg(test)]
mod tests {
    use super::measure;

    fn select(bytes: usize) -> String {
        let mut s =
            "SELECT \"shop_order\".\"id\" FROM \"shop_order\" WHERE \"shop_order\".\"status\" = $1"
                .to_string();
        while s.len() < bytes {
            s.push_str(" AND \"shop_order\".\"total\" > $2");
        }
        s
    }

    fn create_table(bytes: usize) -> String {
        let mut s = "CREATE TABLE \"shop_wide\" (\"id\" bigint NOT NULL PRIMARY KEY".to_string();
        let mut i = 0;
        while s.len() < bytes {
            s.push_str(&format!(", \"column_{i}\" varchar(200) NULL"));
            i += 1;
        }
        s.push(')');
        s
    }

    #[test]
    fn long_ddl_from_migrate_does_not_count() {
        let ddl = create_table(3000);
        let short = select(300);
        let m = measure(1024, [Some(ddl.as_str()), Some(short.as_str()), None]);
        assert_eq!(m, (1024, 0, 1, short.len() as i64));
    }

    #[test]
    fn a_long_select_counts() {
        let long = select(2000);
        let m = measure(1024, [Some(long.as_str()), Some("SAVEPOINT $1")]);
        assert_eq!(m, (1024, 1, 1, long.len() as i64));
    }

    #[test]
    fn idxadvise_own_statements_and_utility_statements_do_not_count() {
        let ours = format!(
            "-- idxadvise: something long\nSELECT /* idxadvise */ {}",
            "1 + ".repeat(400) + "1"
        );
        let m = measure(
            100,
            [
                Some(ours.as_str()),
                Some("SET search_path TO \"public\", \"shop\", \"reporting\", \"archive\", \"staging\", \"more\""),
                Some("SELECT oid, typarray FROM pg_type WHERE typname = $1 AND typnamespace = $2 AND typlen > $3"),
            ],
        );
        assert_eq!(m, (100, 0, 0, 0));
    }
}
