// RADIUS packet framing: the RFC 2865 §7.1 packet, hostile bytes (only RadiusDecodeError, ever),
// padding, Vendor-Specific pass-through and encode/decode round trips.
import fc from 'fast-check';
import t from 'tap';
import { decodePacket, encodePacket, RadiusDecodeError, type RadiusPacket } from '../../../src/plugins/radius/protocol/packet.js';

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');
// RFC 2865 §7.1: nemo's Access-Request (User-Name, User-Password, NAS-IP-Address, NAS-Port).
const rfcRequest = hex('01 00 00 38 0f 40 3f 94 73 97 80 57 bd 83 d5 cb 98 f4 22 7a 01 06 6e 65 6d 6f 02 12 0d be 70 8d 93 d4 13 ce 31 96 e4 3f 78 2a 0a ee 04 06 c0 a8 01 10 05 06 00 00 00 03');

const decodeError = (bytes: Buffer) => {
  try {
    decodePacket(bytes);
  } catch (err) {
    return err;
  }
  return undefined;
};

t.test('decodes the RFC 2865 example and encodes it back byte for byte', async (t) => {
  const packet = decodePacket(rfcRequest);
  t.equal(packet.code, 1);
  t.equal(packet.identifier, 0);
  t.equal(packet.authenticator.toString('hex'), '0f403f9473978057bd83d5cb98f4227a');
  t.same(
    packet.attributes.map(({ type, value }) => [type, value.toString('hex')]),
    [
      [1, Buffer.from('nemo').toString('hex')],
      [2, '0dbe708d93d413ce3196e43f782a0aee'],
      [4, 'c0a80110'],
      [5, '00000003'],
    ],
  );
  t.ok(encodePacket(packet).equals(rfcRequest));
});

t.test('octets after Length are padding; fewer octets than Length, or a bad attribute, are an error', async (t) => {
  t.ok(encodePacket(decodePacket(Buffer.concat([rfcRequest, Buffer.from('junk')]))).equals(rfcRequest));
  const cases: [string, Buffer][] = [
    ['shorter than a header', rfcRequest.subarray(0, 19)],
    ['Length beyond the datagram', rfcRequest.subarray(0, rfcRequest.length - 1)],
    ['Length below 20', Buffer.concat([hex('0100 0013'), rfcRequest.subarray(4)])],
    ['Length above 4096', Buffer.concat([hex('0100 1001'), rfcRequest.subarray(4), Buffer.alloc(4096)])],
    ['attribute length 0', Buffer.concat([hex('0100 0016'), Buffer.alloc(16), hex('0100')])],
    ['attribute overruns the packet', Buffer.concat([hex('0100 0017'), Buffer.alloc(16), hex('0105 61')])],
    ['a lone type octet', Buffer.concat([hex('0100 0015'), Buffer.alloc(16), hex('01')])],
  ];
  for (const [name, bytes] of cases) t.type(decodeError(bytes), RadiusDecodeError, name);
});

t.test('Vendor-Specific and unknown attributes pass through unchanged, in order', async (t) => {
  const vendorSpecific = hex('00 00 01 37 01 08 73 65 63 72 65 74'); // vendor 311, its attribute 1
  const packet: RadiusPacket = {
    code: 2,
    identifier: 200,
    authenticator: Buffer.alloc(16, 7),
    attributes: [
      { type: 26, value: vendorSpecific },
      { type: 18, value: Buffer.from('one') },
      { type: 241, value: Buffer.from([1, 2, 3]) },
      { type: 18, value: Buffer.from('two') },
    ],
  };
  const decoded = decodePacket(encodePacket(packet));
  t.same(
    decoded.attributes.map(({ type, value }) => [type, value.toString('hex')]),
    packet.attributes.map(({ type, value }) => [type, value.toString('hex')]),
  );
});

t.test('encoding refuses what RADIUS cannot carry', async (t) => {
  const base: RadiusPacket = { code: 1, identifier: 1, authenticator: Buffer.alloc(16), attributes: [] };
  t.throws(() => encodePacket({ ...base, attributes: [{ type: 1, value: Buffer.alloc(254) }] }), RangeError);
  t.throws(() => encodePacket({ ...base, attributes: Array.from({ length: 17 }, () => ({ type: 26, value: Buffer.alloc(253) })) }), RangeError, 'over 4096 bytes');
  t.throws(() => encodePacket({ ...base, authenticator: Buffer.alloc(15) }), RangeError);
  t.throws(() => encodePacket({ ...base, identifier: 256 }), RangeError);
  t.throws(() => encodePacket({ ...base, attributes: [{ type: 300, value: Buffer.alloc(1) }] }), RangeError);
});

const attribute = fc.record({ type: fc.integer({ min: 0, max: 255 }), value: fc.uint8Array({ maxLength: 253 }).map((bytes) => Buffer.from(bytes)) });
const packet = fc.record({
  code: fc.integer({ min: 0, max: 255 }),
  identifier: fc.integer({ min: 0, max: 255 }),
  authenticator: fc.uint8Array({ minLength: 16, maxLength: 16 }).map((bytes) => Buffer.from(bytes)),
  attributes: fc.array(attribute, { maxLength: 15 }),
});

t.test('property: decode(encode(packet)) is the packet', async (t) => {
  t.doesNotThrow(() => fc.assert(
    fc.property(packet, (original) => {
      const decoded = decodePacket(encodePacket(original));
      return (
        decoded.code === original.code &&
        decoded.identifier === original.identifier &&
        decoded.authenticator.equals(original.authenticator) &&
        decoded.attributes.length === original.attributes.length &&
        decoded.attributes.every((item, i) => item.type === original.attributes[i]?.type && item.value.equals(original.attributes[i].value))
      );
    }),
  ), 'random packets round-trip');
});

// Random bytes; random bytes behind a header whose Length mostly fits; valid packets with one octet
// changed: so that every branch of the attribute parser is reached.
const hostile = fc.oneof(
  fc.uint8Array({ maxLength: 600 }),
  fc.tuple(packet, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([valid, at, octet]) => {
    const bytes = encodePacket(valid);
    bytes[at % bytes.length] = octet;
    return bytes;
  }),
  fc.tuple(fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.uint8Array({ maxLength: 400 }), fc.integer({ min: -3, max: 3 })).map(([header, body, skew]) => {
    const bytes = Buffer.concat([header, body]);
    bytes.writeUInt16BE(Math.max(0, bytes.length + skew), 2);
    return bytes;
  }),
);

t.test('property: hostile bytes decode or throw RadiusDecodeError, and what decodes encodes back', async (t) => {
  let decoded = 0;
  fc.assert(
    fc.property(hostile, (bytes) => {
      const buffer = Buffer.from(bytes);
      let result: RadiusPacket;
      try {
        result = decodePacket(buffer);
      } catch (err) {
        return err instanceof RadiusDecodeError;
      }
      decoded++;
      return encodePacket(result).equals(buffer.subarray(0, buffer.readUInt16BE(2)));
    }),
    { numRuns: 2000 },
  );
  t.ok(decoded > 200, `${decoded} of the hostile inputs were valid packets`);
});
