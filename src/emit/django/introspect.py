# idxadvise: read-only introspection of a Django project. Run through the project's own
# `manage.py shell -v 0 -c …`; writes JSON to the file named by IDXADVISE_INTROSPECT_OUT
# (stdout carries Django's own noise on 5.2+). Touches no database: the migration graph is
# read from the files on disk (MigrationLoader without a connection).
import ast
import inspect
import io
import json
import os
import textwrap
import tokenize

import django
from django.apps import apps
from django.conf import settings
from django.db import connections
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.writer import MigrationWriter


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
        # Any other keyword (db_tablespace, …): such an entry is never taken for a plain index.
        "other": sorted(k for k in kwargs
                        if k not in ("fields", "name", "condition", "include", "opclasses")),
    }


def _index_names(model, f):
    # The names Django's PostgreSQL schema editor gives a field's own indexes (db_index=True,
    # a ForeignKey's index): the plain one and, for varchar/text, the `_like` one. No query.
    if not f.db_index or f.unique or f.primary_key:
        return []
    try:
        editor = connections["default"].schema_editor()
        table = model._meta.db_table
        names = [editor._create_index_name(table, [f.column], suffix="")]
        if f.db_type(connections["default"]) and f.db_type(connections["default"]).split("(")[0] in ("varchar", "text"):
            names.append(editor._create_index_name(table, [f.column], suffix="_like"))
        return names
    except Exception:
        return []


def _black_quotes(code):
    # Black's string quotes: double, unless that needs more escapes.
    out = []
    for tok in tokenize.generate_tokens(io.StringIO(code).readline):
        text = tok.string
        if tok.type == tokenize.STRING and text[:1] == "'" and text[:3] != "'" * 3:
            inner = text[1:-1]
            if '"' not in inner and "\\" not in inner:
                text = '"' + inner + '"'
        out.append(tok._replace(string=text))
    return tokenize.untokenize(out).strip()


def _without_index(f):
    # The field with db_index=False as the migration writer would write it (for the state of
    # a drop): the callable, its keyword arguments in the writer's order (sorted) and the
    # imports they need.
    if not f.db_index or f.unique or f.primary_key or f.auto_created:
        return None
    try:
        clone = f.clone()
        clone.db_index = False
        _, path, args, kwargs = clone.deconstruct()
        if args:
            return None
        imports = set()
        module, _, name = path.rpartition(".")
        if module == "django.db.models":
            func = "models." + name
            imports.add("from django.db import models")
        else:
            func = path
            imports.add("import " + module)
        out = []
        for key in sorted(kwargs):
            code, more = MigrationWriter.serialize(kwargs[key])
            imports |= set(more)
            out.append([key, _black_quotes(code)])
        return {"func": func, "kwargs": out, "imports": sorted(imports)}
    except Exception:
        return None


def _reverse(f):
    # How the model a ForeignKey/OneToOneField points at reaches this one: the lookup name
    # (Count("order")) and the reverse accessor (order_set; None when hidden with "+").
    if not (f.is_relation and (f.many_to_one or f.one_to_one)):
        return None, None
    try:
        query_name = f.related_query_name()
    except Exception:
        query_name = None
    try:
        related_name = f.remote_field.related_name or ""
        accessor = None if related_name.endswith("+") else f.remote_field.get_accessor_name()
    except Exception:
        accessor = None
    return query_name, accessor


def _fields(model):
    out = []
    for f in model._meta.local_fields:
        query_name, accessor = _reverse(f)
        out.append({
            "name": f.name,
            "attname": f.attname,
            "column": f.column,
            "is_relation": bool(f.is_relation),
            "internal_type": f.get_internal_type(),
            "db_index": bool(f.db_index),
            "index_names": _index_names(model, f),
            "without_index": _without_index(f),
            "related_query_name": query_name,
            "accessor": accessor,
        })
    return out


def _meta_source(model):
    # Where and how the class statement declares Meta, read from the source with ast: Django
    # keeps no trace of whether a concrete model's Meta is its own or an abstract parent's.
    out = {"own": False, "own_bases": [], "own_indexes": False, "parent_meta": None,
           "inherited_indexes": None}
    try:
        lines, start = inspect.getsourcelines(model)
        tree = ast.parse(textwrap.dedent("".join(lines)))
    except (TypeError, OSError, SyntaxError):
        return None
    cls = tree.body[0] if tree.body and isinstance(tree.body[0], ast.ClassDef) else None
    if cls is None:
        return None
    meta = next((n for n in cls.body if isinstance(n, ast.ClassDef) and n.name == "Meta"), None)
    if meta is not None:
        out["own"] = True
        out["own_bases"] = [ast.unparse(b) for b in meta.bases]
        out["own_indexes"] = any(
            isinstance(n, (ast.Assign, ast.AnnAssign))
            and any(isinstance(t, ast.Name) and t.id == "indexes"
                    for t in (n.targets if isinstance(n, ast.Assign) else [n.target]))
            for n in meta.body
        )
    # The nearest abstract parent whose Meta a child without its own Meta inherits, named as
    # the class statement names it.
    for expr, base in zip(cls.bases, model.__bases__):
        base_meta = getattr(base, "Meta", None)
        if getattr(getattr(base, "_meta", None), "abstract", False) and base_meta is not None:
            out["parent_meta"] = ast.unparse(expr) + ".Meta"
            if getattr(base_meta, "indexes", None) and not out["own_indexes"]:
                out["inherited_indexes"] = out["parent_meta"]
            break
    return out


def _migrated_indexes(loader):
    # Per model, the names of the indexes its migrations' project state has (what the
    # migrations on disk create); None for everything when the state cannot be built.
    try:
        state = loader.project_state()
    except Exception:
        return None
    return {key: [ix.name for ix in st.options.get("indexes", [])]
            for key, st in state.models.items()}


loader = MigrationLoader(None, ignore_no_migrations=True)
migrated = _migrated_indexes(loader)
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
        "migrated_indexes": None if migrated is None
        else migrated.get((meta.app_label, meta.model_name)),
        "meta": _meta_source(model),
        "constraints": [{"name": c.name, "kind": type(c).__name__} for c in meta.constraints],
    })

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
        "name": cfg.name,
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
