// JSON body formatting.
import t from 'tap';
import { formatJson } from '../../../src/log/syslog/json.js';
import type { AuditRecord } from '../../../src/log/syslog/record.js';

const record: AuditRecord = {
  eventId: 'login-failed', name: 'Login failed', severity: 'warning', time: new Date('2024-05-06T07:08:09.010Z'),
  fields: { user: 'bob\n\0"x', attempts: 3, mfa: false, target: null, bad: 'a\uDC00b' }, sequence: 7,
};

t.test('one JSON object on one line', async (t) => {
  const out = formatJson(record, { hostname: 'gw1', appName: 'gatehouse' });
  t.equal(out, '{"time":"2024-05-06T07:08:09.010Z","host":"gw1","app":"gatehouse","severity":"warning","eventId":"login-failed","name":"Login failed","sequence":7,"fields":{"user":"bob\\n\\u0000\\"x","attempts":3,"mfa":false,"target":null,"bad":"a\uFFFDb"}}');
  t.notMatch(out, /\n/);
  t.same(JSON.parse(out).fields.user, 'bob\n\0"x');
});
