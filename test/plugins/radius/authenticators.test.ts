// The shared-secret cryptography: RFC 2865 §7.1 vectors (User-Password, Response Authenticator),
// CHAP-Password, and Message-Authenticator in requests and replies (RFC 3579 §3.2).
import { createHash, createHmac } from 'node:crypto';
import t from 'tap';
import { messageAuthenticator, replyProblem, signRequest } from '../../../src/plugins/radius/protocol/authenticators.js';
import { decodePacket, type RadiusPacket } from '../../../src/plugins/radius/protocol/packet.js';
import { chapPassword, hideUserPassword } from '../../../src/plugins/radius/protocol/passwords.js';
import { signedReply } from './fixtures/fake-radius-server.js';

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const rfcSecret = Buffer.from('xyzzy5461');
const rfcRequestAuthenticator = hex('0f 40 3f 94 73 97 80 57 bd 83 d5 cb 98 f4 22 7a');
// RFC 2865 §7.1: the Access-Accept to nemo's request (Service-Type, Login-Service, Login-IP-Host).
const rfcAccept = hex('02 00 00 26 86 fe 22 0e 76 24 ba 2a 10 05 f6 bf 9b 55 e0 b2 06 06 00 00 00 01 0f 06 00 00 00 00 0e 06 c0 a8 01 03');

/** RFC 2865 §5.2 backwards, written out here to check the hiding of long passwords. */
function reveal(hidden: Buffer, secret: Buffer, requestAuthenticator: Buffer): string {
  const plain = Buffer.alloc(hidden.length);
  for (let block = 0; block < hidden.length; block += 16) {
    const key = createHash('md5').update(secret).update(block === 0 ? requestAuthenticator : hidden.subarray(block - 16, block)).digest();
    for (let i = 0; i < 16; i++) plain[block + i] = (hidden[block + i] as number) ^ (key[i] as number);
  }
  return plain.toString().replace(/\0+$/, '');
}

t.test('User-Password: the RFC 2865 §7.1 vector, padding, several blocks, at most 128 bytes', async (t) => {
  t.equal(hideUserPassword(Buffer.from('arctangent'), rfcSecret, rfcRequestAuthenticator).toString('hex'), '0dbe708d93d413ce3196e43f782a0aee');
  t.equal(hideUserPassword(Buffer.alloc(0), rfcSecret, rfcRequestAuthenticator).length, 16, 'an empty password is one block of NULs');
  for (const length of [15, 16, 17, 100, 128]) {
    const password = 'p'.repeat(length);
    const hidden = hideUserPassword(Buffer.from(password), rfcSecret, rfcRequestAuthenticator);
    t.equal(hidden.length, Math.ceil(length / 16) * 16, `${length} bytes: padded to 16-byte blocks`);
    t.equal(reveal(hidden, rfcSecret, rfcRequestAuthenticator), password);
  }
  t.throws(() => hideUserPassword(Buffer.alloc(129, 1), rfcSecret, rfcRequestAuthenticator), RangeError);
});

t.test('CHAP-Password: Ident, then MD5(Ident ‖ password ‖ challenge)', async (t) => {
  const challenge = Buffer.alloc(16, 0xab);
  const value = chapPassword(7, Buffer.from('secret'), challenge);
  t.equal(value.length, 17);
  t.equal(value[0], 7);
  t.equal(value.subarray(1).toString('hex'), createHash('md5').update(Buffer.concat([Buffer.from([7]), Buffer.from('secret'), challenge])).digest('hex'));
});

t.test('the Response Authenticator of the RFC 2865 §7.1 Access-Accept checks out; any change does not', async (t) => {
  const accept = decodePacket(rfcAccept);
  // The RFC's reply predates Message-Authenticator: the Response Authenticator passed.
  t.equal(replyProblem(accept, rfcRequestAuthenticator, rfcSecret), 'no Message-Authenticator');
  t.equal(replyProblem(accept, Buffer.alloc(16), rfcSecret), 'wrong Response Authenticator', 'another request');
  t.equal(replyProblem(accept, rfcRequestAuthenticator, Buffer.from('xyzzy5462')), 'wrong Response Authenticator', 'another secret');
  const tampered = Buffer.from(rfcAccept);
  tampered[rfcAccept.length - 1] = 4; // Login-IP-Host 192.168.1.4
  t.equal(replyProblem(decodePacket(tampered), rfcRequestAuthenticator, rfcSecret), 'wrong Response Authenticator');
});

const secret = 'shared-secret';
const request: RadiusPacket = {
  code: 1,
  identifier: 42,
  authenticator: hex('00112233445566778899aabbccddeeff'),
  attributes: [
    { type: 80, value: Buffer.alloc(16, 0xee) },
    { type: 1, value: Buffer.from('alice') },
  ],
};

t.test('signRequest: HMAC-MD5 over the request with its Message-Authenticator zeroed', async (t) => {
  const signed = signRequest(request, Buffer.from(secret));
  const zeroed = Buffer.from(signed);
  zeroed.fill(0, 22, 38);
  t.equal(signed.subarray(20, 22).toString('hex'), '5012', 'the first attribute, 18 bytes long');
  t.equal(signed.subarray(22, 38).toString('hex'), createHmac('md5', secret).update(zeroed).digest('hex'));
  t.ok(messageAuthenticator(decodePacket(signed), request.authenticator, Buffer.from(secret)).equals(signed.subarray(22, 38)));
});

t.test('replies: Message-Authenticator is required, with the right value, once', async (t) => {
  const attributes = [{ type: 18, value: Buffer.from('hello') }];
  const problem = (bytes: Buffer) => replyProblem(decodePacket(bytes), request.authenticator, Buffer.from(secret));
  t.equal(problem(signedReply(request, 2, attributes, secret)), undefined);
  t.equal(problem(signedReply(request, 2, attributes, secret, { messageAuthenticator: 'none' })), 'no Message-Authenticator');
  t.equal(problem(signedReply(request, 2, attributes, secret, { messageAuthenticator: Buffer.alloc(16, 1) })), 'wrong Message-Authenticator');
  t.equal(problem(signedReply(request, 2, attributes, secret, { wrongResponseAuthenticator: true })), 'wrong Response Authenticator');
  t.equal(problem(signedReply(request, 2, attributes, secret, { secret: 'other' })), 'wrong Response Authenticator');
  const twice = signedReply(request, 2, [{ type: 80, value: Buffer.alloc(16) }, ...attributes], secret);
  t.equal(problem(twice), 'malformed Message-Authenticator', 'two of them');
  const short = signedReply(request, 2, [{ type: 80, value: Buffer.alloc(15) }, ...attributes], secret, { messageAuthenticator: 'none' });
  t.equal(problem(short), 'malformed Message-Authenticator', '15 bytes');
  // Required, not required first: servers that append it are verified too.
  t.equal(problem(signedReply(request, 2, attributes, secret, { messageAuthenticatorLast: true })), undefined, 'Message-Authenticator last');
});
