//! Stage `emit/django`: where a model's new `Meta.indexes` entries go, so that pasting them
//! keeps every option the model has today.
//!
//! Pure. Invariant: the snippet never replaces what the model inherits or declares.
//!
//! Problem: a concrete model without a `class Meta` of its own inherits its abstract parent's
//! `Meta` (e.g. `ordering` from a `TimestampedModel`); a plain `class Meta:` added to it drops
//! those options (`makemigrations` then wants `AlterModelOptions`, and queries lose their
//! `ORDER BY`). A new `indexes` list likewise replaces the indexes inherited from a parent.
//! What we do: read how the class statement declares `Meta` (introspection parses its source)
//! and write `class Meta(Parent.Meta):` where the model inherits one, "add to the existing
//! `class Meta`" where it has its own, and start the list with `*Parent.Meta.indexes` where
//! indexes are inherited.
//! Example: `class Article(TimestampedModel)` without a Meta →
//! `class Meta(TimestampedModel.Meta):` / `indexes = [` … `]`.

use super::introspect::DjangoModel;

/// Where the entries go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetaPlace {
    /// The model has no `Meta` and inherits none: a new `class Meta:`.
    New,
    /// The model has no `Meta` of its own and inherits this one (`TimestampedModel.Meta`): a
    /// new `class Meta(TimestampedModel.Meta):`.
    Inheriting(String),
    /// The model has its own `class Meta`: add to it; `has_indexes` when it already assigns
    /// `indexes` (append to that list).
    Own {
        /// The existing `Meta` assigns `indexes`.
        has_indexes: bool,
        /// The bases of that `class Meta(…)` as written (`Timestamped.Meta`): the snippet
        /// shows them, so that pasting its header does not drop what the model inherits.
        bases: Vec<String>,
    },
    /// The source could not be read: merge into whatever `Meta` the model has.
    Unknown,
}

/// Where `model`'s new entries go.
pub fn place(model: &DjangoModel) -> MetaPlace {
    match &model.meta {
        None => MetaPlace::Unknown,
        Some(m) if m.own => MetaPlace::Own {
            has_indexes: m.own_indexes,
            bases: m.own_bases.clone(),
        },
        Some(m) => match &m.parent_meta {
            Some(p) => MetaPlace::Inheriting(p.clone()),
            None => MetaPlace::New,
        },
    }
}

/// The `class Meta` line of the snippet (4 spaces in).
pub fn class_line(place: &MetaPlace) -> String {
    match place {
        MetaPlace::Inheriting(p) => format!("    class Meta({p}):"),
        MetaPlace::Own { bases, .. } if !bases.is_empty() => {
            format!("    class Meta({}):", bases.join(", "))
        }
        _ => "    class Meta:".to_string(),
    }
}

/// The lines that open the `indexes` list (8 spaces in), keeping inherited indexes.
pub fn list_open(model: &DjangoModel) -> Vec<String> {
    let mut out = vec!["        indexes = [".to_string()];
    if let Some(p) = model
        .meta
        .as_ref()
        .and_then(|m| m.inherited_indexes.as_ref())
    {
        out.push(format!("            *{p}.indexes,"));
    }
    out
}

/// One sentence telling where to put the entries.
pub fn instruction(model: &DjangoModel) -> String {
    let label = format!("{}.{}", model.app_label, model.model_name);
    let inherited = model
        .meta
        .as_ref()
        .and_then(|m| m.inherited_indexes.as_ref())
        .map(|p| format!(" Keep the indexes it inherits: the list starts with `*{p}.indexes`."))
        .unwrap_or_default();
    let base = match place(model) {
        MetaPlace::New => format!("{label} has no class Meta: add this one."),
        MetaPlace::Inheriting(p) => format!(
            "{label} has no class Meta of its own and inherits {p}: add `class Meta({p}):` as below, so its inherited options (ordering, …) stay."
        ),
        MetaPlace::Own {
            has_indexes: true, ..
        } => format!(
            "Append these entries to the indexes list of the existing class Meta of {label} (keep its other entries and options)."
        ),
        MetaPlace::Own {
            has_indexes: false,
            ..
        } => format!(
            "Add this indexes list to the existing class Meta of {label} (keep its other options and bases)."
        ),
        MetaPlace::Unknown => format!(
            "Merge this into the class Meta of {label}, keeping its options; if it has no Meta of its own but inherits an abstract parent's, write `class Meta(Parent.Meta):`."
        ),
    };
    format!("{base}{inherited}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emit::django::introspect::MetaSource;

    fn model(meta: Option<MetaSource>) -> DjangoModel {
        DjangoModel {
            app_label: "blog".into(),
            model_name: "Article".into(),
            db_table: "blog_article".into(),
            managed: true,
            proxy: false,
            source_file: None,
            source_line: None,
            fields: vec![],
            indexes: vec![],
            migrated_indexes: None,
            constraints: vec![],
            meta,
        }
    }

    #[test]
    fn inherited_meta_is_kept() {
        let m = model(Some(MetaSource {
            parent_meta: Some("TimestampedModel.Meta".into()),
            inherited_indexes: Some("TimestampedModel.Meta".into()),
            ..MetaSource::default()
        }));
        assert_eq!(
            class_line(&place(&m)),
            "    class Meta(TimestampedModel.Meta):"
        );
        assert_eq!(
            list_open(&m),
            vec![
                "        indexes = [",
                "            *TimestampedModel.Meta.indexes,"
            ]
        );
        assert!(instruction(&m).contains("inherits TimestampedModel.Meta"));
    }

    #[test]
    fn own_and_missing_meta() {
        let own = model(Some(MetaSource {
            own: true,
            own_indexes: true,
            ..MetaSource::default()
        }));
        assert_eq!(
            place(&own),
            MetaPlace::Own {
                has_indexes: true,
                bases: vec![]
            }
        );
        assert!(instruction(&own).starts_with("Append"));
        assert_eq!(class_line(&place(&own)), "    class Meta:");
        let none = model(Some(MetaSource::default()));
        assert_eq!(place(&none), MetaPlace::New);
        assert_eq!(class_line(&place(&none)), "    class Meta:");
        assert_eq!(place(&model(None)), MetaPlace::Unknown);
    }

    /// A model's own `class Meta(Timestamped.Meta):` keeps its bases in the snippet: pasted
    /// as shown, the header must not drop the inherited ordering.
    #[test]
    fn own_meta_with_bases_keeps_them() {
        let own = model(Some(MetaSource {
            own: true,
            own_bases: vec!["Timestamped.Meta".into()],
            ..MetaSource::default()
        }));
        assert_eq!(
            class_line(&place(&own)),
            "    class Meta(Timestamped.Meta):"
        );
        assert!(instruction(&own).contains("keep its other options and bases"));
    }
}
