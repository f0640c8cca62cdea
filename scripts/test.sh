#!/usr/bin/env bash
# The whole check behind `make test`: static checks, then the suite on SQLite, then on
# PostgreSQL. With CI=true PostgreSQL is required; without it a missing server is one line.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export BIZLOOM_TESTING=1
export BIZLOOM_SECRET_KEY=${BIZLOOM_SECRET_KEY:-test-secret-key-for-the-test-suite-only-0123456789abcdef}
CI=${CI:-false}

step() { printf '\n== %s\n' "$*"; }

step "ruff"
$BIN/ruff check .
step "mypy"
$BIN/mypy bizloom
step "import-linter (layer contract)"
$BIN/lint-imports
step "migrations are up to date"
$BIN/python manage.py makemigrations --check --dry-run
step "translation catalogues compiled and complete"
$BIN/python scripts/compile_messages.py --check
[ "${1:-}" = "--lint-only" ] && exit 0

step "browser for UI tests"
scripts/ensure-chromium.sh

PYTEST_ARGS=(-q -n "${BIZLOOM_TEST_WORKERS:-2}" --dist loadfile)

step "tests on SQLite"
env -u DATABASE_URL $BIN/pytest "${PYTEST_ARGS[@]}"

step "tests on PostgreSQL"
if pg_url=$(scripts/find-postgres.sh); then
  echo "using ${pg_url}"
  DATABASE_URL="$pg_url" $BIN/pytest "${PYTEST_ARGS[@]}"
elif [ "$CI" = "true" ]; then
  echo "FAIL: CI=true requires PostgreSQL (set DATABASE_URL or run a server on 127.0.0.1:5432)" >&2
  exit 1
else
  echo "SKIPPED: no PostgreSQL reachable (set DATABASE_URL or start one on 127.0.0.1:5432); CI requires it"
fi
