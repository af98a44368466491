/*
 * How each kind of service is dumped, counted and checked: commands and
 * scripts as values (constant text; names reach them as environment
 * variables, never spliced in), and the parsers of what they print.
 */

/** Each table's rows, one query, in the transaction's snapshot: "schema.table<TAB>count" lines. */
export const POSTGRES_COUNTS_SQL = `SELECT n.nspname || '.' || c.relname,
  (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
ORDER BY 1;`;

/**
 * A postgres dump in one snapshot: a repeatable-read transaction exports
 * its snapshot, counts each table's rows in it, and pg_dump (run from that
 * same session, which holds the snapshot) dumps exactly that state. Files
 * go to $SKIFF_DIR: counts.tsv, dump (custom format), failed when pg_dump
 * failed. $SKIFF_DB names the database.
 */
export const POSTGRES_DUMP_SCRIPT = `set -eu
umask 077
rm -rf "$SKIFF_DIR" && mkdir -p "$SKIFF_DIR"
psql -X -q -A -t -F '\t' -v ON_ERROR_STOP=1 -U postgres -d "$SKIFF_DB" > "$SKIFF_DIR/counts.tsv" <<'SQL'
BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
SELECT pg_export_snapshot() AS skiff_snapshot \\gset
\\setenv SKIFF_SNAPSHOT :skiff_snapshot
${POSTGRES_COUNTS_SQL}
\\! pg_dump -Fc --no-owner --snapshot="$SKIFF_SNAPSHOT" -U postgres -d "$SKIFF_DB" -f "$SKIFF_DIR/dump" || touch "$SKIFF_DIR/failed"
COMMIT;
SQL
test ! -e "$SKIFF_DIR/failed"
test -s "$SKIFF_DIR/dump"`;

/** Restores $SKIFF_FILE into $SKIFF_DB (emptied first with --clean), stopping at the first error. */
export const POSTGRES_RESTORE = ['sh', '-c', 'pg_restore --exit-on-error --no-owner --clean --if-exists -U postgres -d "$SKIFF_DB" "$SKIFF_FILE"'];

/**
 * Restores $SKIFF_DIR/dump into $SKIFF_DB in one transaction: the tables
 * the dump does not have go (pre.sql, written for the dump), those it has
 * are dropped and made again from it. Any error rolls all of it back.
 */
export const POSTGRES_RESTORE_SCRIPT = `set -eu
pg_restore --clean --if-exists --no-owner -f "$SKIFF_DIR/restore.sql" "$SKIFF_DIR/dump"
psql -X -q -v ON_ERROR_STOP=1 --single-transaction -U postgres -d "$SKIFF_DB" -f "$SKIFF_DIR/pre.sql" -f "$SKIFF_DIR/restore.sql"`;

/** SQL that drops every table that is not among the dump's (by their "schema.table" names), quoted as SQL literals. */
export function dropTablesNotIn(tables: readonly string[]): string {
  const literal = (s: string): string => `'${s.replace(/'/g, "''")}'`;
  const keep = tables.length ? `ARRAY[${tables.map(literal).join(', ')}]::text[]` : `ARRAY[]::text[]`;
  return `DO $skiff$
DECLARE t record;
BEGIN
  FOR t IN SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
      AND NOT (n.nspname || '.' || c.relname = ANY (${keep}))
  LOOP
    EXECUTE format('DROP TABLE IF EXISTS %I.%I CASCADE', t.nspname, t.relname);
  END LOOP;
END $skiff$;
`;
}

/** Counts each table's rows, as the dump did. */
export const POSTGRES_COUNT = ['sh', '-c', `psql -X -q -A -t -F '\t' -v ON_ERROR_STOP=1 -U postgres -d "$SKIFF_DB" -c "$SKIFF_SQL"`];

/**
 * A redis dump: the keys per database before and after (the dump counts
 * only when they agree, no key having come or gone meanwhile), and the RDB
 * the server sends a replica, in $SKIFF_DIR.
 */
export const REDIS_DUMP_SCRIPT = `set -eu
umask 077
rm -rf "$SKIFF_DIR" && mkdir -p "$SKIFF_DIR"
redis-cli INFO keyspace > "$SKIFF_DIR/before"
redis-cli --rdb "$SKIFF_DIR/dump" >/dev/null
redis-cli INFO keyspace > "$SKIFF_DIR/after"
test -s "$SKIFF_DIR/dump"`;

export const REDIS_KEYSPACE = ['redis-cli', 'INFO', 'keyspace'];

/** Parses "name<TAB>count" lines. */
export function parseCounts(text: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const tab = line.lastIndexOf('\t');
    const n = Number(line.slice(tab + 1));
    if (tab < 1 || !Number.isInteger(n) || n < 0) throw new Error(`unexpected count line: ${line.slice(0, 80)}`);
    counts[line.slice(0, tab)] = n;
  }
  return counts;
}

/** Keys per database from redis's INFO keyspace ("db0:keys=3,expires=0,avg_ttl=0"). */
export function parseKeyspace(text: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const m of text.matchAll(/^(db\d+):keys=(\d+)/gm)) counts[m[1]] = Number(m[2]);
  return counts;
}

/** What differs between the counts the dump recorded and those of the restored copy, as one line; empty when they agree. */
export function countsDiffer(expected: Record<string, number>, actual: Record<string, number>): string {
  const problems: string[] = [];
  for (const [name, n] of Object.entries(expected)) {
    if (!(name in actual)) problems.push(`${name} is missing`);
    else if (actual[name] !== n) problems.push(`${name} has ${actual[name]} rows, not ${n}`);
  }
  for (const name of Object.keys(actual)) if (!(name in expected)) problems.push(`${name} was not in the dump's counts`);
  return problems.slice(0, 5).join('; ') + (problems.length > 5 ? `; and ${problems.length - 5} more` : '');
}
