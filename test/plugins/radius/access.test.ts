// Access-Request layout (Message-Authenticator first, PAP or CHAP, State) and what replies mean.
import { createHash } from 'node:crypto';
import t from 'tap';
import { encodeAccessRequest, readAnswer } from '../../../src/plugins/radius/protocol/access.js';
import { messageAuthenticator } from '../../../src/plugins/radius/protocol/authenticators.js';
import { decodePacket, type RadiusAttribute } from '../../../src/plugins/radius/protocol/packet.js';
import { hideUserPassword } from '../../../src/plugins/radius/protocol/passwords.js';
import { signedReply } from './fixtures/fake-radius-server.js';

const settings = { secret: 'shared-secret', authType: 'pap' as const, nasIdentifier: 'gatehouse-test' };
const authenticator = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
const types = (attributes: RadiusAttribute[]) => attributes.map(({ type }) => type);
const uint32 = (value: number) => Buffer.from([0, 0, 0, value]);

t.test('PAP: Message-Authenticator first, then User-Name, User-Password, Service-Type Login, NAS-Identifier', async (t) => {
  const bytes = encodeAccessRequest({ username: 'alice', password: 'pw' }, settings, 9, authenticator);
  const request = decodePacket(bytes);
  t.match(request, { code: 1, identifier: 9 });
  t.ok(request.authenticator.equals(authenticator));
  t.same(types(request.attributes), [80, 1, 2, 6, 32]);
  const value = (type: number) => request.attributes.find((attribute) => attribute.type === type)?.value.toString('hex');
  t.equal(value(1), Buffer.from('alice').toString('hex'));
  t.equal(value(2), hideUserPassword(Buffer.from('pw'), Buffer.from(settings.secret), authenticator).toString('hex'));
  t.equal(value(6), '00000001');
  t.equal(value(32), Buffer.from('gatehouse-test').toString('hex'));
  t.ok(messageAuthenticator(request, authenticator, Buffer.from(settings.secret)).equals(request.attributes[0]?.value as Buffer), 'signed');
});

t.test('CHAP: CHAP-Password with the Identifier as Ident and the Request Authenticator as challenge; State copied', async (t) => {
  const state = Buffer.from('opaque-state');
  const request = decodePacket(encodeAccessRequest({ username: 'bob', password: '42', state }, { ...settings, authType: 'chap' }, 200, authenticator));
  t.same(types(request.attributes), [80, 1, 3, 6, 32, 24]);
  const chap = request.attributes[2]?.value as Buffer;
  t.equal(chap[0], 200);
  t.equal(chap.subarray(1).toString('hex'), createHash('md5').update(Buffer.concat([Buffer.from([200]), Buffer.from('42'), authenticator])).digest('hex'));
  t.ok(request.attributes[5]?.value.equals(state));
  const withoutState = decodePacket(encodeAccessRequest({ username: 'bob', password: '42', state: Buffer.alloc(0) }, settings, 1, authenticator));
  t.notOk(types(withoutState.attributes).includes(24), 'an empty State (a challenge that had none) is not sent');
});

t.test('a password RADIUS cannot carry is refused before anything is sent', async (t) => {
  t.throws(() => encodeAccessRequest({ username: 'alice', password: 'x'.repeat(129) }, settings, 1, authenticator), RangeError);
  t.throws(() => encodeAccessRequest({ username: 'a'.repeat(254), password: 'x' }, settings, 1, authenticator), RangeError);
});

t.test('readAnswer: accept, reject, challenge with Prompt and State', async (t) => {
  const request = decodePacket(encodeAccessRequest({ username: 'bob', password: 'x' }, settings, 3, authenticator));
  const answer = (code: number, attributes: RadiusAttribute[]) => readAnswer(decodePacket(signedReply(request, code, attributes, settings.secret)));
  const message = (text: string) => ({ type: 18, value: Buffer.from(text) });
  t.same(answer(2, []), { kind: 'accept' });
  t.same(answer(2, [message('Welcome')]), { kind: 'accept', replyMessage: 'Welcome' });
  t.same(answer(3, [message('Denied, '), message('sorry\0')]), { kind: 'reject', replyMessage: 'Denied, sorry' }, 'several in order, NULs dropped');
  const state = { type: 24, value: Buffer.from('s1') };
  t.same(answer(11, [message('6 * 9 = ?'), { type: 76, value: uint32(0) }, state]), { kind: 'challenge', replyMessage: '6 * 9 = ?', echo: false, state: Buffer.from('s1') });
  t.match(answer(11, [message('Code?'), { type: 76, value: uint32(1) }, state]), { echo: true });
  t.match(answer(11, [message('Code?'), state]), { echo: false }, 'no Prompt: no echo');
  t.match(answer(11, [message('Code?'), { type: 76, value: Buffer.from([1]) }, state]), { echo: false }, 'a malformed Prompt: no echo');
  t.same(answer(11, []), { kind: 'challenge', replyMessage: '', echo: false, state: Buffer.alloc(0) });
  t.equal(answer(5, []), undefined, 'an Accounting-Response answers no Access-Request');
});
