#!/usr/bin/env bash
# A proven backup of a postgres service, and a restore, against the bare
# minimum measured in the same run on the same data: pg_dump, then
# pg_restore of that dump into a scratch database (a backup checked by hand),
# and pg_restore --clean into the database itself (a restore by hand), both
# in the service's own container.
#
# Prints each median and the ratios (Skiff / by hand).
# Needs: the set-up (npm test ran once: its local postgres image), hyperfine.
# Usage: bench/backup.sh [MIB] [RUNS]   (default 100 MiB of rows, 5 runs)
set -euo pipefail
cd "$(dirname "$0")/.."
mib="${1:-100}"
runs="${2:-5}"
# shellcheck source=bench/lib.sh
source bench/lib.sh
needs hyperfine
bash scripts/setup.sh --test >/dev/null

work="$(mktemp -d /tmp/skiff-bench.XXXXXX)"
pids=()
service="benchdb"
cleanup() {
  stop_all
  for kind in container network volume; do
    ids="$(docker "$kind" ls -q $([ "$kind" = container ] && echo -a) --filter "label=skiff.service=$service" 2>/dev/null || true)"
    [ -n "$ids" ] && docker "$kind" rm -f $ids >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

ssh-keygen -q -t ed25519 -N '' -f "$work/id"
skiff_port="$(free_port)"
export SKIFF_HOME="$work/home" SKIFF_SSH_PORT="$skiff_port" SKIFF_BIND=127.0.0.1 SKIFF_DOMAIN=localhost \
  SKIFF_ROUTER_PORT="$(free_port)" SKIFF_HTTP_PORT=0 SKIFF_SERVICE_POSTGRES_IMAGE=skiff-test/postgres:15
start_skiff
skiff() { ssh -i "$work/id" -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -p "$skiff_port" git@127.0.0.1 "$@"; }

skiff services:create postgres "$service" >/dev/null
container="$(docker ps -q --filter "label=skiff.service=$service")"
db="$service"
# Rows of about 330 bytes: MIB of them, in one table.
rows=$((mib * 1024 * 1024 / 330))
echo "-----> Filling $service with $rows rows (about $mib MiB)"
docker exec "$container" psql -q -U postgres -d "$db" -c \
  "CREATE TABLE big (id int PRIMARY KEY, body text); INSERT INTO big SELECT g, repeat(md5(g::text), 10) FROM generate_series(1, $rows) g;"
echo "       size on disk: $(docker exec "$container" psql -At -U postgres -d "$db" -c "SELECT pg_size_pretty(pg_database_size('$db'))")"

# By hand: a dump, and a restore of it into a scratch database to check it; then a restore into the database.
cat > "$work/by-hand-backup.sh" <<HAND
set -e
docker exec $container sh -c 'pg_dump -Fc -U postgres -d $db -f /tmp/hand.dump && createdb -U postgres scratch && pg_restore -U postgres -d scratch /tmp/hand.dump && dropdb -U postgres scratch'
HAND
cat > "$work/by-hand-restore.sh" <<HAND
set -e
docker exec $container sh -c 'pg_restore --clean --if-exists -U postgres -d $db /tmp/hand.dump'
HAND
bash "$work/by-hand-backup.sh"

# Skiff's restores put back its first backup each time.
skiff services:backup "$service" >/dev/null
first="$(skiff services:backups "$service" --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s)[0].id))')"

hyperfine --runs "$runs" --export-json "$work/backup.json" \
  -n 'by hand: pg_dump, pg_restore into a scratch db' "bash $work/by-hand-backup.sh" \
  -n 'skiff: services:backup (dump, seal, restore into a scratch copy, compare counts)' \
  "ssh -i $work/id -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -p $skiff_port git@127.0.0.1 services:backup $service"
hyperfine --runs "$runs" --export-json "$work/restore.json" \
  -n 'by hand: pg_restore --clean' "bash $work/by-hand-restore.sh" \
  -n 'skiff: services:restore --no-pause (a proven backup first, then the restore in one transaction)' \
  "ssh -i $work/id -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -p $skiff_port git@127.0.0.1 services:restore $service $first --no-pause"

node -e '
const fs = require("fs");
for (const [what, file] of [["backup, proven", process.argv[1]], ["restore", process.argv[2]]]) {
  const [hand, skiff] = JSON.parse(fs.readFileSync(file, "utf8")).results.map((r) => r.median);
  console.log(`${what}: skiff ${skiff.toFixed(2)} s, by hand ${hand.toFixed(2)} s, ratio ${(skiff / hand).toFixed(2)}`);
}' "$work/backup.json" "$work/restore.json"
