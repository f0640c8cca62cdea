#!/usr/bin/env bash
# Print a DATABASE_URL for a reachable PostgreSQL, starting the local cluster if it is
# installed but stopped. Exit 1 (printing nothing) when there is none.
set -uo pipefail
cd "$(dirname "$0")/.."
probe() { .venv/bin/python - "$1" <<'PY' >/dev/null 2>&1
import sys, psycopg
psycopg.connect(sys.argv[1].replace("postgres://", "postgresql://", 1), connect_timeout=3).close()
PY
}
if [ -n "${DATABASE_URL:-}" ] && [[ "$DATABASE_URL" == postgres* ]]; then
  probe "$DATABASE_URL" && { echo "$DATABASE_URL"; exit 0; }
  exit 1
fi
local_url="postgres://postgres@127.0.0.1:5432/postgres"
probe "$local_url" && { echo "$local_url"; exit 0; }
if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  for version in $(ls /etc/postgresql); do
    pg_ctlcluster --skip-systemctl-redirect "$version" main start >/dev/null 2>&1 || true
  done
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    probe "$local_url" && { echo "$local_url"; exit 0; }
    sleep 1
  done
fi
exit 1
