// Renders docs/audit-events.md from the event catalogue, so the document cannot drift from the code.
// `node dist/scripts/audit-events-doc.js --write` rewrites it; a test fails when it is stale.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AUDIT_EVENTS } from '../src/log/events/catalogue.js';

export const AUDIT_EVENTS_DOC = fileURLToPath(new URL('../../docs/audit-events.md', import.meta.url));

export function renderAuditEventsDoc(): string {
  const rows = Object.entries(AUDIT_EVENTS).map(([id, e]) => `| \`${id}\` | ${e.severity} | ${e.name.replaceAll('|', '\\|')} | ${e.fields.map((f) => `\`${f}\``).join(', ')} |`);
  return `# Security events

Generated from \`src/log/events/catalogue.ts\` by \`node dist/scripts/audit-events-doc.js --write\`; do not edit.

Every event goes to the gateway's log (pino, \`"event": "<id>"\`), to the audit journal
(\`<data>/audit/journal/\`) and from there to every syslog target. Ids are stable: SIEM rules may
match on them. A field that does not apply is \`null\` (left out of RFC 5424 structured data). No
field ever holds a password, one-time password, seed, key or plugin secret.

On the wire (see README "Logs, audit events and syslog"):
- **RFC 5424**: MSGID = id, MSG = description, fields in \`[gatehouse@32473 …]\` plus \`source\`
  (\`gateway\`, \`cli\`, or \`plugin:<name>\`), and \`[meta sequenceId="n"]\` = the journal number
  (1..2147483647, then 1 again).
- **JSON** body: \`{"time", "host", "app", "severity", "eventId", "name", "sequence", "fields"}\`.
- **CEF** body: \`CEF:0|Gatehouse|Gatehouse|<version>|<id>|<description>|<severity 0-10>|rt=… seq=… source=… <fields>\`.

| id | severity | description | fields |
| --- | --- | --- | --- |
${rows.join('\n')}
`;
}

if (process.argv.includes('--write')) {
  writeFileSync(AUDIT_EVENTS_DOC, renderAuditEventsDoc());
  process.stdout.write(`wrote ${AUDIT_EVENTS_DOC}\n`);
}
