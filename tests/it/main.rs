//! The one integration-test binary: one throwaway cluster for all of it, one database per test.

#[path = "../support/mod.rs"]
mod support;

mod harness;
mod whatif;
