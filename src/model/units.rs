//! Units every stage prints the same way: sizes in binary units.
//!
//! Stage: none (plain functions). Invariant: one spelling of a size in every report,
//! migration header and note.

/// Human size in binary units, the one unit of every report, migration header and note:
/// `12.3 MiB` (1 MiB = 1,048,576 bytes; one decimal from KiB up).
pub fn human_bytes(b: i64) -> String {
    let v = b.max(0) as f64;
    const K: f64 = 1024.0;
    if v >= K * K * K {
        format!("{:.1} GiB", v / (K * K * K))
    } else if v >= K * K {
        format!("{:.1} MiB", v / (K * K))
    } else if v >= K {
        format!("{:.1} KiB", v / K)
    } else {
        format!("{} B", b.max(0))
    }
}

#[cfg(test)]
mod tests {
    use super::human_bytes;

    #[test]
    fn sizes_are_binary() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(75_776), "74.0 KiB");
        assert_eq!(human_bytes(1_153_434), "1.1 MiB");
        assert_eq!(human_bytes(6_710_886), "6.4 MiB");
        assert_eq!(human_bytes(3 << 30), "3.0 GiB");
    }
}
