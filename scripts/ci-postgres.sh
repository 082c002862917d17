#!/usr/bin/env bash
# Installs and starts a local PostgreSQL for CI (fresh Debian, run as root), then prints the
# URL to export as TEST_DATABASE_URL. Idempotent: an installed or running server is reused.
#   eval "$(bash scripts/ci-postgres.sh | tail -n 1)"
set -euo pipefail

PGPORT="${PGPORT:-5432}"
PGPASSWORD_VALUE="${PGPASSWORD_VALUE:-postgres}"
PGDATABASE_NAME="${PGDATABASE_NAME:-acme_test}"

log() { echo "ci-postgres: $*" >&2; }

if ! command -v pg_lsclusters >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  log "installing postgresql"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
fi

VERSION="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
CLUSTER=main
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$VERSION $CLUSTER"; then
  log "creating cluster $VERSION/$CLUSTER on port $PGPORT"
  pg_createcluster "$VERSION" "$CLUSTER" --port "$PGPORT" >&2
fi

CONF_DIR="/etc/postgresql/$VERSION/$CLUSTER"
# Loopback only, on the wanted port, password auth over TCP.
sed -i -E "s/^#?listen_addresses\s*=.*/listen_addresses = '127.0.0.1'/" "$CONF_DIR/postgresql.conf"
sed -i -E "s/^#?port\s*=.*/port = $PGPORT/" "$CONF_DIR/postgresql.conf"

STATUS="$(pg_lsclusters -h | awk -v v="$VERSION" -v c="$CLUSTER" '$1==v && $2==c {print $4}')"
if [ "$STATUS" != "online" ]; then
  log "starting cluster $VERSION/$CLUSTER"
  pg_ctlcluster "$VERSION" "$CLUSTER" start >&2
fi

for _ in $(seq 1 30); do
  if su postgres -c "psql -p $PGPORT -tAc 'SELECT 1'" >/dev/null 2>&1; then break; fi
  sleep 1
done

su postgres -c "psql -p $PGPORT -v ON_ERROR_STOP=1 -qc \"ALTER USER postgres PASSWORD '$PGPASSWORD_VALUE'\"" >&2
if ! su postgres -c "psql -p $PGPORT -tAc \"SELECT 1 FROM pg_database WHERE datname = '$PGDATABASE_NAME'\"" | grep -q 1; then
  log "creating database $PGDATABASE_NAME"
  su postgres -c "createdb -p $PGPORT $PGDATABASE_NAME" >&2
fi

log "ready"
echo "export TEST_DATABASE_URL=postgres://postgres:${PGPASSWORD_VALUE}@127.0.0.1:${PGPORT}/${PGDATABASE_NAME}"
