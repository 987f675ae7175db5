// RADIUS packets as bytes (RFC 2865 §3, §5): header and type-length-value attributes, nothing more.
// Attribute values stay raw bytes, so anything this code does not interpret (Vendor-Specific,
// Class, Proxy-State, ...) passes through unchanged. Decoding is bounds-checked and throws only
// RadiusDecodeError, whatever the bytes; encoding refuses values RADIUS cannot carry (RangeError).

export const Code = {
  AccessRequest: 1,
  AccessAccept: 2,
  AccessReject: 3,
  AccessChallenge: 11,
} as const;

export const Attribute = {
  UserName: 1,
  UserPassword: 2,
  ChapPassword: 3,
  ServiceType: 6,
  ReplyMessage: 18,
  State: 24,
  VendorSpecific: 26,
  NasIdentifier: 32,
  Prompt: 76,
  MessageAuthenticator: 80,
} as const;

export const HEADER_LENGTH = 20;
export const MAX_PACKET_LENGTH = 4096;
export const MAX_ATTRIBUTE_VALUE_LENGTH = 253;

export interface RadiusAttribute {
  type: number;
  value: Buffer;
}

export interface RadiusPacket {
  code: number;
  identifier: number;
  /** 16 bytes: the Request Authenticator, or the Response Authenticator of a reply. */
  authenticator: Buffer;
  /** In packet order; a type may repeat (Reply-Message, Proxy-State, Vendor-Specific). */
  attributes: RadiusAttribute[];
}

/** The bytes are not a RADIUS packet; the caller discards them. */
export class RadiusDecodeError extends Error {
  override name = 'RadiusDecodeError';
}

export function encodePacket(packet: RadiusPacket): Buffer {
  const { code, identifier, authenticator, attributes } = packet;
  if (!isOctet(code) || !isOctet(identifier)) throw new RangeError('RADIUS code and identifier are single octets');
  if (authenticator.length !== 16) throw new RangeError('a RADIUS authenticator is 16 bytes');
  const parts = [Buffer.alloc(4), authenticator];
  for (const { type, value } of attributes) {
    if (!isOctet(type)) throw new RangeError(`RADIUS attribute type ${type} is not an octet`);
    if (value.length > MAX_ATTRIBUTE_VALUE_LENGTH) throw new RangeError(`RADIUS attribute ${type} is longer than ${MAX_ATTRIBUTE_VALUE_LENGTH} bytes`);
    parts.push(Buffer.from([type, value.length + 2]), value);
  }
  const bytes = Buffer.concat(parts);
  if (bytes.length > MAX_PACKET_LENGTH) throw new RangeError(`a RADIUS packet is at most ${MAX_PACKET_LENGTH} bytes`);
  bytes.writeUInt8(code, 0);
  bytes.writeUInt8(identifier, 1);
  bytes.writeUInt16BE(bytes.length, 2);
  return bytes;
}

/** Octets after the header's Length are padding and ignored (RFC 2865 §3); fewer octets than it are an error. */
export function decodePacket(bytes: Uint8Array): RadiusPacket {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.length < HEADER_LENGTH) throw new RadiusDecodeError(`${buffer.length} bytes: shorter than a RADIUS header`);
  const length = buffer.readUInt16BE(2);
  if (length < HEADER_LENGTH || length > MAX_PACKET_LENGTH) throw new RadiusDecodeError(`Length field ${length} is outside ${HEADER_LENGTH}..${MAX_PACKET_LENGTH}`);
  if (length > buffer.length) throw new RadiusDecodeError(`Length field ${length} but only ${buffer.length} bytes received`);
  const attributes: RadiusAttribute[] = [];
  for (let offset = HEADER_LENGTH; offset < length; ) {
    if (offset + 2 > length) throw new RadiusDecodeError(`attribute at offset ${offset} is cut off`);
    const type = buffer[offset] as number;
    const attributeLength = buffer[offset + 1] as number;
    if (attributeLength < 2 || offset + attributeLength > length) {
      throw new RadiusDecodeError(`attribute ${type} at offset ${offset} has length ${attributeLength}, which does not fit`);
    }
    attributes.push({ type, value: Buffer.from(buffer.subarray(offset + 2, offset + attributeLength)) });
    offset += attributeLength;
  }
  return { code: buffer[0] as number, identifier: buffer[1] as number, authenticator: Buffer.from(buffer.subarray(4, 20)), attributes };
}

function isOctet(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= 255;
}
