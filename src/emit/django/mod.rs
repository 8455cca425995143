//! Stage `emit/django`: the Django target: migrations (`AddIndexConcurrently`, `RunSQL`) and
//! `Meta.indexes` lines for a named recommendation, with Python's quoting ([`pystr`]) and
//! black's formatting ([`pyfmt`]).
//!
//! Pure except [`mod@introspect`] and [`check_meta`], which ask the project's own Django.
//! Invariant: the same `models.Index(...)` text goes into the migration and into the
//! `Meta.indexes` line, so the next `makemigrations` finds no change.

pub mod check_meta;
pub mod declared;
pub mod graph;
pub mod introspect;
pub mod mapping;
pub mod meta;
pub mod migration;
pub mod names;
pub mod plan;
pub mod pyfmt;
pub mod pystr;
pub mod target;

pub use introspect::{introspect, DjangoProject, IntrospectError};
pub use plan::DjangoPlan;
pub use target::{DjangoConfig, DjangoTarget};

/// The `Meta.indexes` entries to add to one model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaIndexes {
    /// App label.
    pub app_label: String,
    /// Model class name.
    pub model_name: String,
    /// `shop/models.py:36`, relative to the project, when known.
    pub source: Option<String>,
    /// Imports the entries need besides `from django.db import models`.
    pub imports: Vec<String>,
    /// Each entry, as in the migration: `models.Index(` … `),` indented by 12 spaces (inside
    /// `class Meta:` → `indexes = [`).
    pub entries: Vec<String>,
    /// The `class Meta` line to write (`    class Meta(TimestampedModel.Meta):` where the model
    /// inherits its parent's Meta), see [`meta`].
    pub class_line: String,
    /// The lines that open the `indexes` list (`*Parent.Meta.indexes,` kept).
    pub list_open: Vec<String>,
    /// Where the entries go, in one sentence.
    pub instruction: String,
}

/// A change to a model's source that a drop's migration assumes (its state already has it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelEdit {
    /// Remove the `Meta.indexes` entry with this name.
    RemoveMetaIndex {
        /// App label.
        app_label: String,
        /// Model class name.
        model_name: String,
        /// Index name.
        name: String,
    },
    /// Set `db_index=False` on this field.
    NoDbIndex {
        /// App label.
        app_label: String,
        /// Model class name.
        model_name: String,
        /// Field name.
        field: String,
    },
}
