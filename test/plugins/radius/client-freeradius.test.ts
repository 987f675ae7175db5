// RadiusClient against a real FreeRADIUS (test/helpers/freeradius.ts): PAP and CHAP, accept,
// reject, challenge and answer; a wrong shared secret; a server that sends no
// Message-Authenticator (3.2.1 as shipped); a server that is down.
import t, { type Test } from 'tap';
import { RadiusClient, RadiusTimeoutError, type RadiusClientSettings } from '../../../src/plugins/radius/protocol/index.js';
import { freeUdpPort, RADIUS_USERS, startFreeRadius, type TestFreeRadius } from '../../helpers/freeradius.js';
import { errorOf } from '../../helpers/errors.js';

const { alice, bob, carol } = RADIUS_USERS;

function clientOf(server: Pick<TestFreeRadius, 'host' | 'port' | 'secret'>, settings: Partial<RadiusClientSettings> = {}): RadiusClient {
  return new RadiusClient({ host: server.host, port: server.port, secret: server.secret, authType: 'pap', retries: 2, timeoutMs: 1000, nasIdentifier: 'gatehouse-test', ...settings });
}

t.test('with FreeRADIUS', async (t: Test) => {
  const server = await startFreeRadius(t);

  for (const authType of ['pap', 'chap'] as const) {
    t.test(`${authType}: accept, reject, challenge`, async (t) => {
      const client = clientOf(server, { authType });
      t.same(await client.authenticate({ username: alice.username, password: alice.password }), { kind: 'accept', replyMessage: alice.replyMessage });
      t.match(await client.authenticate({ username: alice.username, password: 'wrong' }), { kind: 'reject' });
      t.same(await client.authenticate({ username: carol.username, password: carol.password }), { kind: 'reject', replyMessage: carol.replyMessage });

      const challenge = await client.authenticate({ username: bob.username, password: 'first factor' });
      t.same(challenge, { kind: 'challenge', replyMessage: bob.challenge, echo: false, state: bob.state });
      const state = challenge.kind === 'challenge' ? challenge.state : undefined;
      t.same(await client.authenticate({ username: bob.username, password: bob.answer, state }), { kind: 'accept' });
      t.same(await client.authenticate({ username: bob.username, password: '41', state }), { kind: 'reject' });
      t.same(await client.authenticate({ username: bob.username, password: bob.answer, state: Buffer.from('forged') }), { kind: 'reject' });
    });
  }

  t.test('a wrong shared secret: FreeRADIUS drops the request (bad Message-Authenticator), so a timeout', async (t) => {
    const err = await errorOf(clientOf(server, { secret: 'not-the-secret', timeoutMs: 300 }).authenticate({ username: alice.username, password: alice.password }));
    t.type(err, RadiusTimeoutError);
    t.equal((err as RadiusTimeoutError).discardedReplies, 0);
    t.notOk(err.message.includes('not-the-secret'));
    t.match(server.logs(), /invalid Message-Authenticator/);
  });
});

t.test('FreeRADIUS 3.2.1 as shipped sends no Message-Authenticator: every reply is discarded', async (t) => {
  const server = await startFreeRadius(t, { messageAuthenticatorInReplies: false });
  const err = (await errorOf(clientOf(server, { timeoutMs: 300 }).authenticate({ username: alice.username, password: alice.password }))) as RadiusTimeoutError;
  t.type(err, RadiusTimeoutError);
  t.equal(err.discardedReplies, 2);
  t.match(err.message, /the last for no Message-Authenticator$/);
});

t.test('a server that is down: RadiusTimeoutError after retries × timeout', async (t) => {
  const server = await startFreeRadius(t);
  const client = clientOf(server, { retries: 3, timeoutMs: 300 });
  t.match(await client.authenticate({ username: alice.username, password: alice.password }), { kind: 'accept' });
  await server.stop();
  const started = performance.now();
  const err = await errorOf(client.authenticate({ username: alice.username, password: alice.password }));
  const elapsed = performance.now() - started;
  t.type(err, RadiusTimeoutError);
  t.equal(err.message, `no valid reply from RADIUS server 127.0.0.1:${server.port} after 3 attempts`);
  t.ok(elapsed >= 890 && elapsed < 1800, `${Math.round(elapsed)} ms for 3 × 300 ms`);

  // Nothing listening at all (ICMP port unreachable does not shorten the wait either).
  const nobody = clientOf({ host: '127.0.0.1', port: await freeUdpPort(), secret: 's' }, { retries: 1, timeoutMs: 200 });
  t.type(await errorOf(nobody.authenticate({ username: 'x', password: 'y' })), RadiusTimeoutError);
});
