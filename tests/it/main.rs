//! The one integration-test binary: one throwaway cluster for all of it, one database per test.

#[path = "../support/mod.rs"]
mod support;

mod analyze;
mod check;
mod cli;
mod collect;
mod corpus;
mod django;
mod django_declared;
mod django_matrix;
mod drops;
mod example_names;
mod fail_early;
mod faults;
mod harness;
mod layers;
mod logs;
mod migration_retry;
mod observe;
mod patterns;
mod plan_every_statement;
mod providers;
mod proxy;
mod readonly_role;
mod reliability_credentials;
mod reliability_faults;
mod reliability_names;
mod reliability_readonly;
mod reliability_workload;
mod review_verify;
mod select;
mod select_earns;
mod select_slower;
mod sql_files;
mod tls;
mod triage_siblings;
mod verify;
mod verify_load;
mod whatif;
mod wheel;
mod window;
