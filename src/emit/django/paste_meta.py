# idxadvise: paste Meta.indexes snippets into a project's models (a copy of it: the user's own
# files are never edited). Used to check, with `makemigrations --check --dry-run`, that what
# meta_indexes.md tells the user to paste leaves Django with no change to make.
#
# Usage: python paste_meta.py EDITS.json   (run in the project folder)
# EDITS.json: {"edits": [{"file", "class", "class_line", "list_open", "entries", "imports"}],
#              "remove_index": [{"file", "class", "name"}],
#              "no_db_index": [{"file", "class", "field"}]}
# Classes are top-level (4-space body, Meta body at 8, list entries at 12), as Django writes
# them. Each edit re-parses the file, so line numbers are always current.
import ast
import json
import sys


def _read(path):
    with open(path) as fh:
        return fh.read().split("\n")


def _write(path, lines):
    with open(path, "w") as fh:
        fh.write("\n".join(lines))


def _class(tree, name):
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            return node
    raise SystemExit(f"paste_meta: class {name} not found")


def _meta(cls):
    return next((n for n in cls.body if isinstance(n, ast.ClassDef) and n.name == "Meta"), None)


def _indexes(meta):
    for n in meta.body:
        if isinstance(n, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "indexes" for t in n.targets
        ):
            return n.value
    return None


def add(edit):
    lines = _read(edit["file"])
    cls = _class(ast.parse("\n".join(lines)), edit["class"])
    meta = _meta(cls)
    block = list(edit["list_open"]) + list(edit["entries"]) + ["        ]"]
    if meta is None:
        lines[cls.end_lineno:cls.end_lineno] = ["", edit["class_line"]] + block
    else:
        listing = _indexes(meta)
        if listing is None:
            lines[meta.end_lineno:meta.end_lineno] = block
        else:
            # Before the line that closes the list.
            at = listing.end_lineno - 1
            lines[at:at] = list(edit["entries"])
    for imp in edit.get("imports", []):
        if imp not in lines:
            # After the last top-level import (never before `from __future__ import …`).
            tops = [n for n in ast.parse("\n".join(lines)).body
                    if isinstance(n, (ast.Import, ast.ImportFrom))]
            lines.insert(tops[-1].end_lineno if tops else 0, imp)
    _write(edit["file"], lines)


def remove_index(edit):
    lines = _read(edit["file"])
    listing = _indexes(_meta(_class(ast.parse("\n".join(lines)), edit["class"])))
    for elt in listing.elts:
        if any(k.arg == "name" and getattr(k.value, "value", None) == edit["name"]
               for k in getattr(elt, "keywords", [])):
            del lines[elt.lineno - 1:elt.end_lineno]
            _write(edit["file"], lines)
            return
    raise SystemExit(f"paste_meta: no index {edit['name']} in {edit['class']}.Meta")


def no_db_index(edit):
    lines = _read(edit["file"])
    cls = _class(ast.parse("\n".join(lines)), edit["class"])
    for n in cls.body:
        if isinstance(n, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == edit["field"] for t in n.targets
        ):
            call = n.value
            given = next((k for k in call.keywords if k.arg == "db_index"), None)
            if given is not None:  # db_index=True written out: replace its value
                v = given.value
                row = lines[v.lineno - 1]
                lines[v.lineno - 1] = row[:v.col_offset] + "False" + row[v.end_col_offset:]
                _write(edit["file"], lines)
                return
            row = lines[call.end_lineno - 1]
            col = call.end_col_offset - 1  # the closing parenthesis
            if row[:col].strip():
                lines[call.end_lineno - 1] = row[:col].rstrip(", ") + ", db_index=False" + row[col:]
            else:  # exploded: one argument per line
                lines.insert(call.end_lineno - 1, row[:col] + "    db_index=False,")
            _write(edit["file"], lines)
            return
    raise SystemExit(f"paste_meta: no field {edit['field']} in {edit['class']}")


spec = json.load(open(sys.argv[1]))
for e in spec.get("remove_index", []):
    remove_index(e)
for e in spec.get("no_db_index", []):
    no_db_index(e)
for e in spec.get("edits", []):
    add(e)
