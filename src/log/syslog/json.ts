// JSON body for an audit record: one JSON object per event, one line, valid UTF-8.
import type { AuditRecord } from './record.js';
import { wellFormed } from './text.js';

export interface JsonSource {
  hostname: string;
  appName: string;
}

export function formatJson(record: AuditRecord, source: JsonSource): string {
  const fields = Object.fromEntries(
    Object.entries(record.fields).map(([k, v]) => [wellFormed(k), typeof v === 'string' ? wellFormed(v) : v]),
  );
  // JSON.stringify already escapes C0 controls; U+2028/2029 are left raw but are not line breaks to syslog.
  return JSON.stringify({
    time: record.time.toISOString(),
    host: wellFormed(source.hostname),
    app: wellFormed(source.appName),
    severity: record.severity,
    eventId: wellFormed(record.eventId),
    name: wellFormed(record.name),
    sequence: record.sequence,
    fields,
  });
}
