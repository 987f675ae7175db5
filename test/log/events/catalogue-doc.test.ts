// docs/audit-events.md is the catalogue as the code has it.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { renderAuditEventsDoc } from '../../../scripts/audit-events-doc.js';

t.test('docs/audit-events.md matches the catalogue', async (t) => {
  const doc = readFileSync(new URL('../../../docs/audit-events.md', import.meta.url), 'utf8');
  t.equal(doc, renderAuditEventsDoc(), 'stale: run `npm run build && node dist/scripts/audit-events-doc.js --write`');
});
