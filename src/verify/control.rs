//! `verify`'s control group: the statements no recommended (or dropped) index touches, whose
//! before/after ratio measures how much the server itself changed between the baseline and the
//! "after" window, and corrects the others' ratios.
//!
//! Problem: `verify` compares a statement's mean time at the baseline with its mean time after
//! the indexes were applied. When the load differs between the two (the baseline taken at a
//! busy hour, the "after" at night), every statement looks faster or slower, indexed or not: a
//! baseline at load ~10 and an "after" at load ~1 reported the feed 2.1× faster where a paired
//! measurement found 1.00×.
//! What we do: the SELECTs predicted unchanged (their plan uses no recommended index, their
//! cost is unchanged, their plan used no dropped index) with at least [`CONTROL_MIN_CALLS`]
//! calls in the "after" window form the control; their ratio `after / before` (a geometric
//! mean weighted by each statement's time in the window at its baseline speed) is the
//! server's own drift, and every other statement's "after" is divided by it. With fewer than
//! [`CONTROL_MIN_STATEMENTS`] such statements there is no control, and the report says so.
//! Example: the control ran 2.1× faster after; a statement measured 2.1× faster is corrected to
//! 1.0×, and a note warns that the load differed (beyond [`CONTROL_WARN_FACTOR`]).
//!
//! Pure: must not do I/O. Writes are not in the control (index maintenance changes them).

use serde::{Deserialize, Serialize};

/// Fewest statements for a control.
pub const CONTROL_MIN_STATEMENTS: usize = 2;

/// Fewest calls in the "after" window for a statement to be in the control.
pub const CONTROL_MIN_CALLS: i64 = 5;

/// Fewest members for the control's spread to be estimated.
pub const CONTROL_MIN_SPREAD_STATEMENTS: usize = 3;

/// A control that moved by more than this factor either way gets a warning: the two windows
/// ran under different load, and the corrected figures are an estimate.
pub const CONTROL_WARN_FACTOR: f64 = 1.5;

/// The control group, measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Control {
    /// The statements in it (queryids, sorted).
    pub statements: Vec<i64>,
    /// Their calls in the "after" window.
    pub calls: i64,
    /// Their mean time per call after / before (1.5: everything ran 1.5× slower after; 0.5:
    /// 2× faster). Every other statement's measured "after" is divided by it.
    pub drift: f64,
    /// Whether it moved by more than [`CONTROL_WARN_FACTOR`] either way.
    pub moved: bool,
    /// How far its members scattered around the drift: the standard deviation of their
    /// `ln(after / before)` around `ln(drift)`, each statement counted once (none with fewer
    /// than [`CONTROL_MIN_SPREAD_STATEMENTS`] members). The noise reference of
    /// [`super::noise`]: a statement's change within it is no slowdown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spread: Option<f64>,
}

impl Control {
    /// The control's own speedup (before / after), as the reports show it.
    pub fn speedup(&self) -> f64 {
        1.0 / self.drift
    }

    /// A measured mean time with the server's drift taken out.
    pub fn correct(&self, after_ms: f64) -> f64 {
        after_ms / self.drift
    }
}

/// One candidate member: a statement predicted unchanged, with its timings.
#[derive(Debug, Clone, Copy)]
pub struct Member {
    /// queryid.
    pub queryid: i64,
    /// Mean time per call at the baseline, ms.
    pub before_ms: f64,
    /// Mean time per call in the "after" window, ms.
    pub after_ms: f64,
    /// Calls in the "after" window.
    pub calls: i64,
}

/// The control from the statements predicted unchanged (the caller chooses them), or `None`
/// when too few have enough calls to time.
pub fn measure(members: &[Member]) -> Option<Control> {
    let usable: Vec<&Member> = members
        .iter()
        .filter(|m| m.calls >= CONTROL_MIN_CALLS && m.before_ms > 0.0 && m.after_ms > 0.0)
        .collect();
    if usable.len() < CONTROL_MIN_STATEMENTS {
        return None;
    }
    let (mut sum_w, mut sum_log) = (0.0, 0.0);
    for m in &usable {
        let w = m.calls as f64 * m.before_ms;
        sum_w += w;
        sum_log += w * (m.after_ms / m.before_ms).ln();
    }
    if sum_w <= 0.0 {
        return None;
    }
    let drift = (sum_log / sum_w).exp();
    let spread = (usable.len() >= CONTROL_MIN_SPREAD_STATEMENTS).then(|| {
        let centre = drift.ln();
        let ss: f64 = usable
            .iter()
            .map(|m| ((m.after_ms / m.before_ms).ln() - centre).powi(2))
            .sum();
        (ss / (usable.len() - 1) as f64).sqrt()
    });
    let mut statements: Vec<i64> = usable.iter().map(|m| m.queryid).collect();
    statements.sort_unstable();
    Some(Control {
        statements,
        calls: usable.iter().map(|m| m.calls).sum(),
        drift,
        moved: !(1.0 / CONTROL_WARN_FACTOR..=CONTROL_WARN_FACTOR).contains(&drift),
        spread,
    })
}

/// Whether a statement text is a plain read (a SELECT, possibly after `WITH` or parentheses):
/// only those can be in the control.
pub fn is_read(query: &str) -> bool {
    let t = query.trim_start_matches(|c: char| c.is_whitespace() || c == '(');
    let head: String = t
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect::<String>()
        .to_ascii_uppercase();
    head == "SELECT"
        || (head == "WITH"
            && !t.split(|c: char| !c.is_ascii_alphabetic()).any(|w| {
                ["UPDATE", "DELETE", "INSERT"]
                    .iter()
                    .any(|k| w.eq_ignore_ascii_case(k))
            }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(queryid: i64, before_ms: f64, after_ms: f64, calls: i64) -> Member {
        Member {
            queryid,
            before_ms,
            after_ms,
            calls,
        }
    }

    #[test]
    fn drift_is_the_time_weighted_geometric_mean() {
        // Two statements, both 2× faster after: drift 0.5, a speedup of 2.
        let c = measure(&[m(1, 4.0, 2.0, 10), m(2, 1.0, 0.5, 100)]).unwrap();
        assert!((c.drift - 0.5).abs() < 1e-12, "{}", c.drift);
        assert!((c.speedup() - 2.0).abs() < 1e-12);
        assert!(c.moved);
        assert_eq!(c.statements, vec![1, 2]);
        assert_eq!(c.calls, 110);
        assert!((c.correct(1.0) - 2.0).abs() < 1e-12);
        // Two members: no spread.
        assert_eq!(c.spread, None);
        // Weighted by time: the statement holding 90% of the time dominates.
        let c = measure(&[m(1, 9.0, 9.0, 10), m(2, 1.0, 2.0, 10)]).unwrap();
        let want = (0.1f64 * 2f64.ln()).exp();
        assert!((c.drift - want).abs() < 1e-12, "{}", c.drift);
        assert!(!c.moved);
    }

    #[test]
    fn the_spread_is_how_far_members_scatter_around_the_drift() {
        // Equal weights: ratios 0.5, 1, 2 around a drift of 1: ln 2 each side.
        let c = measure(&[m(1, 1.0, 0.5, 10), m(2, 1.0, 1.0, 10), m(3, 1.0, 2.0, 10)]).unwrap();
        assert!((c.drift - 1.0).abs() < 1e-12, "{}", c.drift);
        let want = (2.0 * 2f64.ln().powi(2) / 2.0).sqrt();
        assert!((c.spread.unwrap() - want).abs() < 1e-12, "{:?}", c.spread);
        // All moved alike: no scatter.
        let c = measure(&[m(1, 1.0, 2.0, 10), m(2, 3.0, 6.0, 10), m(3, 0.2, 0.4, 10)]).unwrap();
        assert!(c.spread.unwrap() < 1e-12);
    }

    #[test]
    fn too_few_timed_statements_make_no_control() {
        assert!(measure(&[m(1, 4.0, 2.0, 10)]).is_none());
        assert!(measure(&[m(1, 4.0, 2.0, 10), m(2, 1.0, 0.5, 4)]).is_none());
        assert!(measure(&[m(1, 4.0, 2.0, 10), m(2, 0.0, 0.5, 40)]).is_none());
    }

    #[test]
    fn only_reads_are_controls() {
        assert!(is_read("SELECT 1"));
        assert!(is_read("  (SELECT a FROM t) UNION (SELECT b FROM u)"));
        assert!(is_read("WITH x AS (SELECT 1) SELECT * FROM x"));
        assert!(!is_read(
            "WITH x AS (DELETE FROM t RETURNING id) SELECT * FROM x"
        ));
        assert!(!is_read("UPDATE t SET a = 1"));
        assert!(!is_read("insert into t values (1)"));
    }
}
