//! Stage `emit/django`: Django migrations (`AddIndexConcurrently`, `RunSQL`) and
//! `Meta.indexes` lines for a recommendation.
//!
//! Pure except [`introspect`], which asks the project's own Django. Invariant: the same
//! `models.Index(...)` text goes into the migration and into the `Meta.indexes` line, so the
//! next `makemigrations` finds no change.

pub mod check_meta;
pub mod graph;
pub mod introspect;
pub mod mapping;
pub mod meta;
pub mod migration;
pub mod naming;
pub mod pyfmt;

pub use introspect::{introspect, DjangoProject, IntrospectError};
