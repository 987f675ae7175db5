// A `SessionQuery` as the WHERE and ORDER BY of a query over `sessions s`, with every user value bound as a
// parameter. Text is searched literally: it is handed to FTS5 as one quoted string (a `"` doubled), so
// quotes, `*`, `NEAR`, `-`, `:` and parentheses are just characters to find.
import type { SessionQuery, SortKey } from './session-row.js';

export type SqlValue = string | number;

export interface SearchSql {
  where: string;
  params: SqlValue[];
  order: string;
  /** The text whose first appearance each result shows, when the query searches text. */
  snippetOf: string | undefined;
}

/** The trigram index finds substrings of three characters or more; shorter text is scanned for. */
const INDEXED_TEXT_MIN = 3;

const ORDER: Record<SortKey, string> = {
  started: 's.started_at',
  ended: 'coalesce(s.ended_at, 9e15)',
  duration: '(coalesce(s.ended_at, s.started_at) - s.started_at)',
  bytes: '(s.bytes_from_client + s.bytes_to_client)',
  user: 's.gateway_user',
  target: 's.target',
};

export function buildSearch(query: SessionQuery): SearchSql {
  const clauses: string[] = [];
  const params: SqlValue[] = [];
  const match = (column: string, value: string | undefined): void => {
    if (value === undefined) return;
    const { operator, operand } = pattern(value);
    clauses.push(`${column} ${operator} ?`);
    params.push(operand);
  };
  match('s.gateway_user', query.gatewayUser);
  match('s.server_user', query.serverUser);
  match('s.target', query.target);
  match('s.client_ip', query.clientIp);
  match('s.policy', query.policy);
  if (query.since !== undefined) {
    clauses.push('s.started_at >= ?');
    params.push(query.since);
  }
  if (query.until !== undefined) {
    clauses.push('s.started_at < ?');
    params.push(query.until);
  }
  if (query.result && query.result.length > 0) {
    clauses.push(`s.result IN (${query.result.map(() => '?').join(', ')})`);
    params.push(...query.result);
  }
  for (const { key, value } of query.metadata ?? []) {
    const { operator, operand } = pattern(value);
    clauses.push(`EXISTS (SELECT 1 FROM session_metadata m WHERE m.session_id = s.session_id AND m.key = ? AND m.value ${operator} ?)`);
    params.push(key, operand);
  }
  const texts = (query.text ?? []).filter((t) => t.length > 0);
  for (const text of texts) {
    if ([...text].length >= INDEXED_TEXT_MIN) {
      clauses.push(
        's.session_id IN (SELECT rt.session_id FROM recording_text_index JOIN recording_text rt ON rt.id = recording_text_index.rowid WHERE recording_text_index MATCH ?)',
      );
      params.push(ftsLiteral(text));
    } else {
      clauses.push('s.session_id IN (SELECT session_id FROM recording_text WHERE instr(lower(body), lower(?)) > 0)');
      params.push(text);
    }
  }
  const direction = query.descending === false ? 'ASC' : 'DESC';
  return {
    where: clauses.length > 0 ? clauses.join(' AND ') : '1',
    params,
    order: `${ORDER[query.sort ?? 'started']} ${direction}, s.session_id ${direction}`,
    snippetOf: texts[0],
  };
}

/** FTS5 string syntax: the whole text in double quotes, inner quotes doubled; nothing inside is an operator. */
export function ftsLiteral(text: string): string {
  return `"${text.replaceAll('"', '""')}"`;
}

/** `*` and `?` make a value a GLOB (case-sensitive, `[` taken literally); otherwise it must be equal. */
function pattern(value: string): { operator: '=' | 'GLOB'; operand: string } {
  if (!/[*?]/.test(value)) return { operator: '=', operand: value };
  return { operator: 'GLOB', operand: value.replaceAll('[', '[[]') };
}
