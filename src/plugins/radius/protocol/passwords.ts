// The two ways an Access-Request carries a password: User-Password hidden with the shared secret
// (PAP, RFC 2865 §5.2) and CHAP-Password (RFC 2865 §5.3 over RFC 1994 MD5-CHAP).
import { createHash } from 'node:crypto';

export const MAX_USER_PASSWORD_LENGTH = 128;

/** c1 = p1 ⊕ MD5(S ‖ RA), ci = pi ⊕ MD5(S ‖ c(i−1)), over the password NUL-padded to 16-byte blocks. */
export function hideUserPassword(password: Buffer, secret: Buffer, requestAuthenticator: Buffer): Buffer {
  if (password.length > MAX_USER_PASSWORD_LENGTH) throw new RangeError(`a RADIUS User-Password is at most ${MAX_USER_PASSWORD_LENGTH} bytes`);
  const hidden = Buffer.alloc(Math.max(16, Math.ceil(password.length / 16) * 16));
  password.copy(hidden);
  let previous = requestAuthenticator;
  for (let block = 0; block < hidden.length; block += 16) {
    const key = createHash('md5').update(secret).update(previous).digest();
    for (let i = 0; i < 16; i++) hidden[block + i] = (hidden[block + i] as number) ^ (key[i] as number);
    previous = hidden.subarray(block, block + 16);
  }
  return hidden;
}

/** The CHAP Ident octet, then MD5(Ident ‖ password ‖ challenge): 17 bytes. */
export function chapPassword(ident: number, password: Buffer, challenge: Buffer): Buffer {
  const id = Buffer.from([ident]);
  return Buffer.concat([id, createHash('md5').update(id).update(password).update(challenge).digest()]);
}
