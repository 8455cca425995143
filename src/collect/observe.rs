//! Observing parameter values: every source that can tell which values the application sends
//! for a statement's `$n`, run against one server and gathered in one [`ObservedValues`].
//!
//! Stage: collect (I/O at the edge). Must not change the server. Invariant: a source that
//! cannot run (not installed, no privilege) leaves a note with the fix and the run goes on.

use std::time::{Duration, Instant};

use tokio_postgres::Client;

use super::activity::{self, ActivitySampler, DEFAULT_INTERVAL};
use crate::model::observed::{ObservationBuilder, ObservedValues};
use crate::model::Workload;
use crate::parse::literals::ShapeIndex;
use crate::pg::PgError;

/// Read pg_qualstats (when installed) and sample `pg_stat_activity` for `sample` (none when
/// zero) on `client`'s server, for the statements of `workload`. Notes land in `warnings`.
pub async fn observe(
    client: &Client,
    version_num: u32,
    workload: &Workload,
    sample: Duration,
    warnings: &mut Vec<String>,
) -> Result<ObservedValues, PgError> {
    let index = ShapeIndex::new(workload);
    let mut out = ObservationBuilder::default();
    super::qualstats::read(client, &index, &mut out).await;
    if !sample.is_zero() {
        let settings = activity::settings(client, version_num).await?;
        let mut sampler = ActivitySampler::new(&index, settings, version_num, DEFAULT_INTERVAL);
        sampler
            .run_until(client, Instant::now() + sample, &mut out)
            .await?;
    }
    warnings.extend(out.summary.notes.iter().cloned());
    Ok(out.finish())
}
