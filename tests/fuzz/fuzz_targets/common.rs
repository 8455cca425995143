//! Shared by the log targets: read, then check what must hold for any input.

use idxadvise::collect::log::{read_bytes_as, LogFormat, LogReading};

/// Read `data` as `format` (for stderr, bytes before a first NUL are the `log_line_prefix`),
/// then check: every entry points to this file and a line inside it, durations are finite and
/// not negative, and the reading survives a JSON round trip (it is stored in snapshots).
pub fn check(format: LogFormat, data: &[u8]) -> LogReading {
    let (prefix, log) = match (format, data.iter().position(|b| *b == 0)) {
        (LogFormat::Stderr, Some(at)) => (Some(String::from_utf8_lossy(&data[..at])), &data[at + 1..]),
        _ => (None, data),
    };
    let r = read_bytes_as(format, log, prefix.as_deref());
    let lines = log.split(|b| *b == b'\n').count() as u64;
    for e in &r.entries {
        assert_eq!(e.file, 0);
        assert!(e.line >= 1 && e.line <= lines, "line {} of {lines}", e.line);
        if let Some(d) = e.duration_ms {
            assert!(d.is_finite() && d >= 0.0, "duration {d}");
        }
    }
    let json = serde_json::to_string(&r).expect("serialise");
    let back: LogReading = serde_json::from_str(&json).expect("deserialise");
    assert_eq!(back, r, "JSON round trip");
    r
}
