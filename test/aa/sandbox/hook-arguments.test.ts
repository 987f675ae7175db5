import t from 'tap';
import { hookArgumentNames, pickArguments, type AuthorizeArguments } from '../../../src/aa/sandbox/hook-arguments.js';

const authorize: AuthorizeArguments = {
  cookie: { a: 1 },
  session_cookie: {},
  session_id: 'sess-1',
  protocol: 'ssh',
  connection_name: 'default',
  client_ip: '192.0.2.1',
  client_port: 50000,
  client_hostname: null,
  gateway_user: 'alice',
  gateway_domain: null,
  server_username: 'root',
  server_domain: null,
  key_value_pairs: { otp: '123456' },
  gateway_groups: ['ops'],
  server_ip: '192.0.2.9',
  server_port: 22,
  server_hostname: 'db1',
};

t.test('each hook gets exactly the names of the contract', async (t) => {
  t.strictSame(Object.keys(pickArguments('session_ended', authorize)), ['cookie', 'session_cookie', 'session_id']);
  t.strictSame(Object.keys(pickArguments('authenticate', authorize)).sort(), [
    'client_hostname', 'client_ip', 'client_port', 'connection_name', 'cookie', 'gateway_domain',
    'gateway_user', 'key_value_pairs', 'protocol', 'server_domain', 'server_username', 'session_cookie', 'session_id',
  ]);
  t.strictSame(pickArguments('authorize', authorize), authorize);
  t.equal(hookArgumentNames.authorize.length, 17);
});

t.test('names the gateway does not know become null, and its own extras stay home', async (t) => {
  const partial = { ...authorize, server_hostname: undefined, internal_secret: 'x' } as unknown as AuthorizeArguments;
  const picked = pickArguments('authorize', partial);
  t.equal(picked.server_hostname, null);
  t.notOk('internal_secret' in picked);
});
