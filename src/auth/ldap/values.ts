// Attribute values of a search entry, with a size bound: a directory is not trusted to keep them small.
import type { Entry } from 'ldapts';
import type { Logger } from '../../log/logger.js';

export const MAX_VALUE_BYTES = 64 * 1024;

/**
 * The values of `attribute` in `entry` (attribute names compare case-insensitively, as in LDAP).
 * A value over MAX_VALUE_BYTES is left out with a warning.
 */
export function attributeValues(entry: Entry, attribute: string, log: Logger): string[] {
  const key = Object.keys(entry).find((name) => name !== 'dn' && name.toLowerCase() === attribute.toLowerCase());
  if (key === undefined) return [];
  const raw = entry[key] as Entry[string];
  const values = (Array.isArray(raw) ? raw : [raw]).map((value) => (Buffer.isBuffer(value) ? value.toString('utf8') : value));
  return values.filter((value) => {
    const bytes = Buffer.byteLength(value);
    if (bytes <= MAX_VALUE_BYTES) return true;
    log.warn({ dn: entry.dn, attribute, bytes }, `LDAP value over ${MAX_VALUE_BYTES} bytes ignored`);
    return false;
  });
}
