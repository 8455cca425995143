#!/usr/bin/env bash
# Regenerate the real Django corpus fixtures from scratch:
#   tests/fixtures/django_corpus_<major.minor>.json  (Django 4.2 LTS and the newest Django)
#   tests/fixtures/django_corpus_catalog.json         (the schema, as `idxadvise collect` reads it)
#
# For each venv of .ci/django-venv the ignored integration test `corpus::write_corpus_fixtures`
# starts the throwaway test cluster, migrates a fresh database with this project, runs
# `manage.py capture_corpus` (the ORM workload; it writes what pg_stat_statements recorded),
# runs ANALYZE with psql and `target/debug/idxadvise collect` for the catalog.
# Afterwards review and accept the snapshots:
#   INSTA_UPDATE=always cargo test --lib parse::django_corpus_tests   (then look at the diffs)
set -euo pipefail
cd "$(dirname "$0")/../.."
bash .ci/django-venv >/dev/null
cargo test --test it corpus::write_corpus_fixtures -- --ignored --exact --nocapture
