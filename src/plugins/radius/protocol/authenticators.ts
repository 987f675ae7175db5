// What proves a packet came from a holder of the shared secret: the Response Authenticator
// (RFC 2865 §3) and Message-Authenticator (RFC 3579 §3.2). Since BlastRADIUS (CVE-2024-3596) an
// MD5 chosen-prefix collision can forge a Response Authenticator, so a reply counts only with a
// valid Message-Authenticator too, and every request carries one.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { Attribute, encodePacket, type RadiusPacket } from './packet.js';

/** The request as sent: its Message-Authenticator attribute (present, any value) filled in. */
export function signRequest(request: RadiusPacket, secret: Buffer): Buffer {
  const value = messageAuthenticator(request, request.authenticator, secret);
  const attributes = request.attributes.map((attribute) => (attribute.type === Attribute.MessageAuthenticator ? { type: attribute.type, value } : attribute));
  return encodePacket({ ...request, attributes });
}

/** Why `reply` must be discarded, or undefined when both of its authenticators are right. */
export function replyProblem(reply: RadiusPacket, requestAuthenticator: Buffer, secret: Buffer): string | undefined {
  const expected = createHash('md5')
    .update(encodePacket({ ...reply, authenticator: requestAuthenticator }))
    .update(secret)
    .digest();
  if (!timingSafeEqual(expected, reply.authenticator)) return 'wrong Response Authenticator';
  const found = reply.attributes.filter((attribute) => attribute.type === Attribute.MessageAuthenticator);
  if (found.length === 0) return 'no Message-Authenticator';
  const value = found[0]?.value as Buffer;
  if (found.length > 1 || value.length !== 16) return 'malformed Message-Authenticator';
  // A reply's HMAC covers it with the request's authenticator in place of its own (RFC 3579 §3.2).
  if (!timingSafeEqual(messageAuthenticator(reply, requestAuthenticator, secret), value)) return 'wrong Message-Authenticator';
  return undefined;
}

/** HMAC-MD5 over the packet with `authenticator` in its header and the Message-Authenticator value zeroed. */
export function messageAuthenticator(packet: RadiusPacket, authenticator: Buffer, secret: Buffer): Buffer {
  const attributes = packet.attributes.map((attribute) =>
    attribute.type === Attribute.MessageAuthenticator ? { type: attribute.type, value: Buffer.alloc(16) } : attribute,
  );
  return createHmac('md5', secret)
    .update(encodePacket({ ...packet, authenticator, attributes }))
    .digest();
}
