import t from 'tap';
import { UsermappingPolicy } from '../../src/gateway/usermapping.js';

t.test('own name needs no rule; others need a matching rule', async (t) => {
  const none = new UsermappingPolicy([]);
  t.ok(none.allows('root', 'root'));
  t.notOk(none.allows('alice', 'root'));

  const policy = new UsermappingPolicy([
    { gatewayUsers: ['alice', 'bob'], serverUsers: ['root'] },
    { gatewayUsers: ['*'], serverUsers: ['readonly'] },
    { gatewayUsers: ['admin'], serverUsers: ['*'] },
  ]);
  t.ok(policy.allows('alice', 'root'));
  t.ok(policy.allows('bob', 'root'));
  t.notOk(policy.allows('carol', 'root'));
  t.ok(policy.allows('carol', 'readonly'));
  t.ok(policy.allows('admin', 'postgres'));
  t.notOk(policy.allows('Alice', 'root'), 'names are case-sensitive');
  t.notOk(policy.allows('alice', 'postgres'));
});
