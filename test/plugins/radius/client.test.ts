// RadiusClient against a scripted UDP server: retries and timeouts, and the replies it must
// discard (no or wrong Message-Authenticator, wrong Response Authenticator, malformed, another
// Identifier, another port, a stale reply to an earlier request) or ignore (duplicates).
import t, { type Test } from 'tap';
import { RadiusClient, RadiusTimeoutError, type RadiusClientSettings } from '../../../src/plugins/radius/protocol/index.js';
import { errorOf } from '../../helpers/errors.js';
import { signedReply, startFakeRadiusServer, type Received, type ReplyOptions } from './fixtures/fake-radius-server.js';

const secret = 'fake-server-secret';
const ACCEPT = 2;
const REJECT = 3;
const message = (text: string) => [{ type: 18, value: Buffer.from(text) }];

async function setup(t: Test, onRequest: (request: Received, index: number) => void, settings: Partial<RadiusClientSettings> = {}) {
  const server = await startFakeRadiusServer(t, onRequest);
  const client = new RadiusClient({ host: '127.0.0.1', port: server.port, secret, authType: 'pap', retries: 2, timeoutMs: 300, nasIdentifier: 'test', ...settings });
  return { server, login: () => client.authenticate({ username: 'alice', password: 'pw' }) };
}

const reply = (request: Received, code: number, text: string, options: ReplyOptions = {}) => signedReply(request.packet, code, message(text), secret, options);
const later = (ms: number, run: () => void) => setTimeout(run, ms);

t.test('a valid reply answers', async (t) => {
  const { login, server } = await setup(t, (request) => request.respond(reply(request, ACCEPT, 'Welcome')));
  t.same(await login(), { kind: 'accept', replyMessage: 'Welcome' });
  t.equal(server.received.length, 1);
  t.equal(server.received[0]?.packet.attributes[0]?.type, 80, 'Message-Authenticator first');
});

t.test('no reply: every attempt resends the same bytes, then RadiusTimeoutError after about retries × timeout', async (t) => {
  const { login, server } = await setup(t, () => {}, { retries: 3, timeoutMs: 200 });
  const started = performance.now();
  const err = await errorOf(login());
  const elapsed = performance.now() - started;
  t.type(err, RadiusTimeoutError);
  t.equal(err.message, `no valid reply from RADIUS server 127.0.0.1:${server.port} after 3 attempts`);
  t.notOk(err.message.includes(secret));
  t.equal((err as RadiusTimeoutError).discardedReplies, 0);
  t.ok(elapsed >= 590 && elapsed < 1500, `${Math.round(elapsed)} ms`);
  t.equal(server.received.length, 3);
  t.ok(server.received.every(({ bytes }) => bytes.equals(server.received[0]?.bytes as Buffer)), 'same Identifier and Request Authenticator');
});

const badReplies: [string, (request: Received) => Buffer, string][] = [
  ['without Message-Authenticator', (request) => reply(request, ACCEPT, 'forged', { messageAuthenticator: 'none' }), 'no Message-Authenticator'],
  ['with a wrong Message-Authenticator', (request) => reply(request, ACCEPT, 'forged', { messageAuthenticator: Buffer.alloc(16) }), 'wrong Message-Authenticator'],
  ['with a wrong Response Authenticator', (request) => reply(request, ACCEPT, 'forged', { wrongResponseAuthenticator: true }), 'wrong Response Authenticator'],
  ['signed with another secret', (request) => reply(request, ACCEPT, 'forged', { secret: 'other' }), 'wrong Response Authenticator'],
  ['with another Identifier', (request) => signedReply({ ...request.packet, identifier: (request.packet.identifier + 1) % 256 }, ACCEPT, [], secret), 'Identifier'],
  ['cut short', (request) => reply(request, ACCEPT, 'forged').subarray(0, 30), 'malformed packet'],
  ['of the wrong code', (request) => reply(request, 5, 'accounting'), 'unexpected code 5'],
];

for (const [name, forge, problem] of badReplies) {
  t.test(`a reply ${name} is discarded and the wait goes on`, async (t) => {
    const answered = await setup(t, (request) => {
      request.respond(forge(request));
      later(50, () => request.respond(reply(request, REJECT, 'genuine')));
    });
    t.same(await answered.login(), { kind: 'reject', replyMessage: 'genuine' }, 'the valid reply after it counts');

    const onlyBad = await setup(t, (request) => request.respond(forge(request)), { timeoutMs: 150 });
    const err = (await errorOf(onlyBad.login())) as RadiusTimeoutError;
    t.type(err, RadiusTimeoutError);
    t.equal(err.discardedReplies, 2, 'one per attempt');
    t.match(err.message, `discarded 2 replies, the last for ${problem}`);
  });
}

t.test('a reply from another port is no reply at all', async (t) => {
  const { login, server } = await setup(t, (request) => {
    request.respond(reply(request, ACCEPT, 'from elsewhere'), server.other);
    later(50, () => request.respond(reply(request, REJECT, 'genuine')));
  });
  t.same(await login(), { kind: 'reject', replyMessage: 'genuine' });

  const elsewhere = await setup(t, (request) => request.respond(reply(request, ACCEPT, 'from elsewhere'), elsewhere.server.other), { timeoutMs: 150 });
  t.equal(((await errorOf(elsewhere.login())) as RadiusTimeoutError).discardedReplies, 0, 'not even counted as discarded');
});

t.test('duplicate replies: the first counts, the rest find the socket closed', async (t) => {
  const { login, server } = await setup(t, (request) => {
    request.respond(reply(request, ACCEPT, 'first'));
    request.respond(reply(request, ACCEPT, 'first'));
    request.respond(reply(request, REJECT, 'second'));
  });
  t.same(await login(), { kind: 'accept', replyMessage: 'first' });
  t.same(await login(), { kind: 'accept', replyMessage: 'first' }, 'and the next request is not confused by them');
  t.equal(server.received.length, 2);
});

t.test('a late reply to an earlier attempt answers: retransmissions are the same request', async (t) => {
  const { login, server } = await setup(t, (request, index) => {
    if (index === 0) later(450, () => request.respond(reply(request, ACCEPT, 'slow')));
  });
  t.same(await login(), { kind: 'accept', replyMessage: 'slow' });
  t.equal(server.received.length, 2, 'it arrived while the second attempt waited');
});

t.test('a stale reply to an earlier request is discarded', async (t) => {
  let first: Buffer | undefined;
  const { login } = await setup(t, (request, index) => {
    if (index === 0) {
      first = reply(request, ACCEPT, 'for the first request');
      return request.respond(first);
    }
    request.respond(first as Buffer); // replayed to the second request
    later(50, () => request.respond(reply(request, REJECT, 'for the second request')));
  });
  t.same(await login(), { kind: 'accept', replyMessage: 'for the first request' });
  t.same(await login(), { kind: 'reject', replyMessage: 'for the second request' });
});

t.test('an abort ends the wait at once', async (t) => {
  const server = await startFakeRadiusServer(t, () => {});
  const client = new RadiusClient({ host: '127.0.0.1', port: server.port, secret, authType: 'chap', retries: 3, timeoutMs: 5000, nasIdentifier: 'test' });
  const controller = new AbortController();
  later(50, () => controller.abort(new Error('hook timed out')));
  const started = performance.now();
  t.equal((await errorOf(client.authenticate({ username: 'alice', password: 'pw', signal: controller.signal }))).message, 'hook timed out');
  t.ok(performance.now() - started < 1000);
});
