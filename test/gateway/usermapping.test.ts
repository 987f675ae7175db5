import t from 'tap';
import { UsermappingPolicy } from '../../src/gateway/usermapping.js';

t.test('own name needs no rule; others need a matching rule', async (t) => {
  const none = new UsermappingPolicy([]);
  t.ok(none.allows('root', 'root'));
  t.notOk(none.allows('alice', 'root'));

  const policy = new UsermappingPolicy([
    { gatewayUsers: ['alice', 'bob'], gatewayGroups: [], serverUsers: ['root'] },
    { gatewayUsers: ['*'], gatewayGroups: [], serverUsers: ['readonly'] },
    { gatewayUsers: ['admin'], gatewayGroups: [], serverUsers: ['*'] },
  ]);
  t.ok(policy.allows('alice', 'root'));
  t.ok(policy.allows('bob', 'root'));
  t.notOk(policy.allows('carol', 'root'));
  t.ok(policy.allows('carol', 'readonly'));
  t.ok(policy.allows('admin', 'postgres'));
  t.notOk(policy.allows('Alice', 'root'), 'names are case-sensitive');
  t.notOk(policy.allows('alice', 'postgres'));
});

t.test('gateway groups: a member of a listed group matches; groups compare case-insensitively', async (t) => {
  const policy = new UsermappingPolicy([{ gatewayUsers: [], gatewayGroups: ['DBA', 'ops'], serverUsers: ['postgres'] }]);
  t.ok(policy.allows('carol', 'postgres', ['dba']));
  t.ok(policy.allows('carol', 'postgres', ['staff', 'OPS']));
  t.notOk(policy.allows('carol', 'postgres', ['staff']));
  t.notOk(policy.allows('carol', 'postgres'), 'no groups, no match');
  t.notOk(policy.allows('carol', 'root', ['dba']), 'the server user must match too');
});
