//! Progress over statements: an indicatif bar on stderr, only when stderr is a terminal, only
//! after about a second (never in tests or CI).
//!
//! Stage `whatif`. Must not write to stdout.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Delay before a bar appears.
pub const DELAY: Duration = Duration::from_secs(1);

/// A bar that stays hidden until [`DELAY`] has passed, and forever when stderr is not a terminal.
pub struct Progress {
    bar: ProgressBar,
    start: Instant,
    allowed: bool,
    shown: AtomicBool,
}

impl Progress {
    /// A bar over `len` items; `enabled` false (e.g. `--quiet`) hides it for good.
    pub fn new(len: u64, enabled: bool) -> Progress {
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden());
        if let Ok(style) =
            ProgressStyle::with_template("what-if {bar:30} {pos}/{len} statements ({per_sec})")
        {
            bar.set_style(style);
        }
        Progress {
            bar,
            start: Instant::now(),
            allowed: enabled && std::io::stderr().is_terminal(),
            shown: AtomicBool::new(false),
        }
    }

    /// Whether the bar may ever be drawn.
    pub fn allowed(&self) -> bool {
        self.allowed
    }

    /// Count `n` finished items.
    pub fn inc(&self, n: u64) {
        if self.allowed
            && !self.shown.load(Ordering::Relaxed)
            && self.start.elapsed() >= DELAY
            && !self.shown.swap(true, Ordering::Relaxed)
        {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
        self.bar.inc(n);
    }

    /// Remove the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disabled_bar_is_never_allowed() {
        let p = Progress::new(10, false);
        p.inc(3);
        assert!(!p.allowed());
        assert!(!p.shown.load(Ordering::Relaxed));
    }
}
