//! The evidence every output shows, gathered once after selection and before anything is
//! written: each analysed statement's cost today and with the recommended indexes, and the
//! plans (per value set) of the statements the new indexes change.
//!
//! Stage `whatif` (I/O through the engine, mostly answered from its cache). Invariant: the
//! baseline and "after" views are costed with the same value sets as selection used.

use std::collections::BTreeMap;

use super::{Engine, Evaluation, Outcome, Request, WhatIf};
use crate::error::Error;
use crate::model::Skipped;
use crate::parse::QueryShape;

/// Evaluate every shape under one configuration (candidate indexes `config`); statements that
/// cannot be costed are added to `skipped`. INSERTs are left out: their cost is writing (the
/// write model's), no index changes how they read.
pub async fn evaluate_all<W: WhatIf>(
    engine: &mut W,
    shapes: &[QueryShape],
    config: &[usize],
    skipped: &mut Vec<Skipped>,
) -> Result<BTreeMap<i64, Evaluation>, Error> {
    let requests: Vec<Request> = shapes
        .iter()
        .filter(|s| s.kind != crate::parse::StatementKind::Insert)
        .map(|s| Request {
            queryid: s.queryid,
            config: config.to_vec(),
        })
        .collect();
    let answers = engine.evaluate(&requests).await?;
    let mut out = BTreeMap::new();
    for (req, ans) in requests.iter().zip(answers) {
        match ans {
            Ok(e) => {
                out.insert(req.queryid, e);
            }
            Err(s) => skipped.push(s),
        }
    }
    Ok(out)
}

/// Each statement's full outcome (every value set's plan) without and with the indexes
/// `chosen`, for the statements that both could be planned for.
pub async fn outcome_pairs(
    engine: &mut Engine,
    queryids: &[i64],
    chosen: &[usize],
) -> Result<Vec<(i64, Outcome, Outcome)>, Error> {
    let mut requests = vec![];
    for q in queryids {
        requests.push(Request {
            queryid: *q,
            config: vec![],
        });
        requests.push(Request {
            queryid: *q,
            config: chosen.to_vec(),
        });
    }
    let mut outcomes = engine.outcomes(&requests).await?.into_iter();
    let mut out = vec![];
    for q in queryids {
        if let (Some(Ok(b)), Some(Ok(a))) = (outcomes.next(), outcomes.next()) {
            out.push((*q, b, a));
        }
    }
    Ok(out)
}
