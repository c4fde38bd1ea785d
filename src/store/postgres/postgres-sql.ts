import type { PoolClient, QueryConfig, QueryResult, QueryResultRow } from 'pg';

/**
 * Several statements sent as one simple query: one round trip instead of one each. A change that
 * holds the seat lock sends its reads in one batch and its writes and COMMIT in another, so the
 * lock is held for about one round trip plus the commit's flush (docs/performance.md#writes).
 *
 * The simple query protocol takes no parameters, so values are written in as literals by
 * `literal()`: strings through escapeLiteral (pg's rule), numbers only when finite, dates as ISO
 * text. Nothing else can be written in, so a value can never become SQL.
 */
export type SqlValue = string | number | boolean | null | Date | readonly string[] | Raw;

/** SQL text written in as it is: only for this store's own constants (column lists). */
export class Raw {
  constructor(readonly text: string) {}
}

/**
 * A string as an SQL literal, exactly as pg's `escapeLiteral` writes it: quotes doubled, and when
 * the string holds a backslash, backslashes doubled and an `E` prefix (so the text means the same
 * whatever `standard_conforming_strings` is). Not pg's own function: it builds its result one
 * character at a time, about 10 µs per kilobyte, and a license add writes its key, its claims and
 * its event's copy of both (docs/performance.md#license-adds); two native replaceAll calls give
 * the same text (a property test compares them) in well under a microsecond.
 */
export function escapeLiteral(text: string): string {
  const quoted = text.includes("'") ? text.replaceAll("'", "''") : text;
  return quoted.includes('\\') ? ` E'${quoted.replaceAll('\\', '\\\\')}'` : `'${quoted}'`;
}

export function literal(value: SqlValue): string {
  if (value === null) return 'NULL';
  if (value instanceof Raw) return value.text;
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`not a finite number: ${value}`);
    return String(value);
  }
  if (value instanceof Date) return `${escapeLiteral(value.toISOString())}::timestamptz`;
  if (typeof value === 'string') return escapeLiteral(value);
  return `ARRAY[${value.map((v) => escapeLiteral(v)).join(', ')}]::text[]`;
}

/** A statement with its values written in: sql`SELECT ${a}` gives `SELECT 'a'`. */
export function sql(strings: TemplateStringsArray, ...values: SqlValue[]): string {
  let text = strings[0] ?? '';
  values.forEach((value, i) => {
    text += literal(value) + (strings[i + 1] ?? '');
  });
  return text;
}

/**
 * Runs the statements in one round trip and answers each one's rows, in order. An empty statement
 * list sends nothing. `timeoutMs` replaces the pool's query timeout for this round trip (a batch
 * whose size has no bound: docs/deployment.md#database-timeouts).
 */
export async function batch(
  client: PoolClient,
  statements: readonly string[],
  timeoutMs?: number,
): Promise<QueryResultRow[][]> {
  if (statements.length === 0) return [];
  const text = statements.join(';\n');
  // pg reads query_timeout per query; its types omit it.
  const query = timeoutMs === undefined ? text : ({ text, query_timeout: timeoutMs } as QueryConfig);
  const result = (await client.query(query)) as unknown as QueryResult | QueryResult[];
  return (Array.isArray(result) ? result : [result]).map((r): QueryResultRow[] => r.rows as QueryResultRow[]);
}
