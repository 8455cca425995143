# idxadvise: read-only introspection of a Django project. Run through the project's own
# `manage.py shell -v 0 -c …`; writes JSON to the file named by IDXADVISE_INTROSPECT_OUT
# (stdout carries Django's own noise on 5.2+). Touches no database: the migration graph is
# read from the files on disk (MigrationLoader without a connection).
import inspect
import json
import os

import django
from django.apps import apps
from django.conf import settings
from django.db.migrations.loader import MigrationLoader


def _src(model):
    try:
        return os.path.realpath(inspect.getsourcefile(model)), inspect.getsourcelines(model)[1]
    except (TypeError, OSError):
        return None, None


def _index(ix):
    _, args, kwargs = ix.deconstruct()
    return {
        "name": ix.name,
        "fields": list(ix.fields),
        "expressions": [repr(e) for e in args],
        "condition": repr(kwargs["condition"]) if "condition" in kwargs else None,
        "include": list(kwargs.get("include") or []),
        "opclasses": list(kwargs.get("opclasses") or []),
    }


def _fields(model):
    out = []
    for f in model._meta.local_fields:
        out.append({
            "name": f.name,
            "attname": f.attname,
            "column": f.column,
            "is_relation": bool(f.is_relation),
            "internal_type": f.get_internal_type(),
        })
    return out


models = []
m2m = []
for model in apps.get_models(include_auto_created=True):
    meta = model._meta
    if meta.auto_created:
        owner = meta.auto_created._meta
        m2m.append({
            "db_table": meta.db_table,
            "app_label": meta.app_label,
            "owner_app": owner.app_label,
            "owner_model": owner.object_name,
            "fields": _fields(model),
        })
        continue
    src, line = _src(model)
    models.append({
        "app_label": meta.app_label,
        "model_name": meta.object_name,
        "db_table": meta.db_table,
        "managed": bool(meta.managed),
        "proxy": bool(meta.proxy),
        "source_file": src,
        "source_line": line,
        "fields": _fields(model),
        "indexes": [_index(ix) for ix in meta.indexes],
        "constraints": [{"name": c.name, "kind": type(c).__name__} for c in meta.constraints],
    })

loader = MigrationLoader(None, ignore_no_migrations=True)
app_list = []
for cfg in apps.get_app_configs():
    module, _explicit = MigrationLoader.migrations_module(cfg.label)
    folder = None
    if module:
        try:
            mod = __import__(module, fromlist=["__name__"])
            folder = os.path.realpath(os.path.dirname(mod.__file__))
        except Exception:
            folder = None
    migs = []
    for (label, name), mig in sorted(loader.disk_migrations.items()):
        if label != cfg.label:
            continue
        migs.append({
            "name": name,
            "dependencies": [list(d) for d in mig.dependencies],
            "replaces": [list(r) for r in (mig.replaces or [])],
        })
    app_list.append({
        "label": cfg.label,
        "path": os.path.realpath(cfg.path),
        "migrations_module": module,
        "migrations_dir": folder,
        "migrations": migs,
        "leaves": sorted(n for _, n in loader.graph.leaf_nodes(cfg.label)),
    })

databases = {}
for alias, conf in sorted(settings.DATABASES.items()):
    databases[alias] = {
        "engine": conf.get("ENGINE", ""),
        "options": json.loads(json.dumps(conf.get("OPTIONS", {}), default=str)),
    }

with open(os.environ["IDXADVISE_INTROSPECT_OUT"], "w") as fh:
    json.dump({
        "django_version": django.get_version(),
        "settings_module": os.environ.get("DJANGO_SETTINGS_MODULE"),
        "models": models,
        "m2m_tables": m2m,
        "apps": app_list,
        "databases": databases,
    }, fh, indent=1, sort_keys=True)
