//! Read benefit of a configuration for one statement, in planner cost and in time.
//!
//! Pure. Invariant: a gain below the statement's minimum improvement counts as zero (planner
//! noise is not a reason to build an index); a regression counts in full, as a negative gain.
//!
//! Problem: planner cost units are not time, and one unit is not worth the same on every
//! statement (cached pages, CPU-heavy functions, the planner's own estimation errors).
//! What we do: rank by time. A statement's measured mean time (pg_stat_statements) divided by
//! its baseline planner cost gives milliseconds per cost unit for that statement; the cost a
//! configuration saves, times that rate, times calls, is the database time saved. This keeps
//! the planner's *relative* judgement (which index helps, by what factor) and anchors the
//! absolute value on what the statement really costs in production, which is also the unit of
//! the write model, so the two can be subtracted.
//! Example: 1,000 calls of a 4 ms statement whose cost drops from 2,000 to 200: 3.6 s saved
//! (cost units saved: 1.8 M).

use serde::{Deserialize, Serialize};

/// What ranks candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadUnit {
    /// Measured time (mean time ÷ baseline cost × cost saved × calls). The default.
    #[default]
    Time,
    /// Planner cost × calls, for benchmarks whose metric is planner cost (TPC-H). Write cost
    /// cannot be weighed in this unit and is ignored.
    Cost,
}

/// How much one cost unit of a statement is worth.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StatementWeight {
    /// The statement.
    pub queryid: i64,
    /// Calls in the window.
    pub calls: f64,
    /// Measured mean time, ms.
    pub mean_time_ms: f64,
    /// Planner cost with the existing indexes only.
    pub baseline_cost: f64,
}

/// A read gain in both units.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct ReadGain {
    /// calls × (cost before − cost after).
    pub cost_units: f64,
    /// Database time saved over the window, ms.
    pub ms: f64,
}

impl ReadGain {
    /// The value in the ranking unit.
    pub fn in_unit(&self, unit: ReadUnit) -> f64 {
        match unit {
            ReadUnit::Time => self.ms,
            ReadUnit::Cost => self.cost_units,
        }
    }
}

impl std::ops::Add for ReadGain {
    type Output = ReadGain;
    fn add(self, o: ReadGain) -> ReadGain {
        ReadGain {
            cost_units: self.cost_units + o.cost_units,
            ms: self.ms + o.ms,
        }
    }
}

impl StatementWeight {
    /// Milliseconds per planner cost unit for this statement (0 when the baseline is 0).
    pub fn ms_per_cost(&self) -> f64 {
        if self.baseline_cost > 0.0 && self.mean_time_ms.is_finite() {
            self.mean_time_ms.max(0.0) / self.baseline_cost
        } else {
            0.0
        }
    }

    /// Predicted mean time at `cost`, ms.
    pub fn time_at(&self, cost: f64) -> f64 {
        self.ms_per_cost() * cost
    }

    /// The gain of running the statement at `after` instead of its baseline: zero when the
    /// improvement is below `min_improvement` (a share of the baseline cost), negative when the
    /// planner says the statement gets dearer (weighted over parameter values, an index can
    /// win for some values and lose for the mix): a regression always counts.
    pub fn gain(&self, after: f64, min_improvement: f64) -> ReadGain {
        let saved = self.baseline_cost - after;
        if saved.is_nan() || (saved >= 0.0 && saved < min_improvement * self.baseline_cost) {
            return ReadGain::default();
        }
        ReadGain {
            cost_units: self.calls * saved,
            ms: self.calls * self.ms_per_cost() * saved,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w() -> StatementWeight {
        StatementWeight {
            queryid: 1,
            calls: 1000.0,
            mean_time_ms: 4.0,
            baseline_cost: 2000.0,
        }
    }

    #[test]
    fn time_and_cost_units() {
        let g = w().gain(200.0, 0.1);
        assert!((g.ms - 3600.0).abs() < 1e-9, "{g:?}");
        assert!((g.cost_units - 1_800_000.0).abs() < 1e-9);
        assert_eq!(g.in_unit(ReadUnit::Time), g.ms);
        assert!((w().time_at(200.0) - 0.4).abs() < 1e-12);
    }

    #[test]
    fn below_min_improvement_is_zero_and_worse_is_negative() {
        assert_eq!(w().gain(1900.0, 0.1), ReadGain::default());
        assert!(w().gain(1790.0, 0.1).ms > 0.0);
        let worse = w().gain(2500.0, 0.1);
        assert!((worse.cost_units + 500_000.0).abs() < 1e-9, "{worse:?}");
        assert!(worse.ms < 0.0);
        let zero = StatementWeight {
            baseline_cost: 0.0,
            ..w()
        };
        assert_eq!(zero.gain(0.0, 0.0), ReadGain::default());
    }
}
