// First-factor authentication of the local users defined in the configuration: scrypt password hashes and
// OpenSSH public keys.
import type { PasswordAuthenticator } from './password-check.js';
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import ssh2 from 'ssh2';
import type { ParsedKey } from 'ssh2';

const { utils } = ssh2;

export interface LocalUser {
  name: string;
  passwordHash?: string;
  /** OpenSSH authorized_keys lines, e.g. "ssh-ed25519 AAAA... comment". */
  authorizedKeys?: string[];
}

export type FirstFactorResult =
  | { ok: true }
  | { ok: false; reason: 'unknown-user' | 'no-password-set' | 'wrong-password' };

export interface ParsedAuthorizedKey {
  /** Key type from the line, e.g. "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256". */
  type: string;
  /** The public key in SSH wire format, as a client presents it during publickey authentication. */
  blob: Buffer;
  comment: string;
  key: ParsedKey;
}

// ---------------------------------------------------------------------------------------------------------
// Passwords

interface ScryptParams {
  ln: number;
  r: number;
  p: number;
}

interface ScryptHash extends ScryptParams {
  salt: Buffer;
  hash: Buffer;
}

const DEFAULT_PARAMS: ScryptParams = { ln: 15, r: 8, p: 1 };
const SALT_BYTES = 16;
const KEY_BYTES = 32;

// Bounds on what a stored hash may ask for. Besides the per-parameter bounds, the memory scrypt needs
// (128 * N * r bytes) is capped so that even ln=20 with r=32 (4 GiB) is refused rather than attempted.
const BOUNDS = { ln: [10, 20], r: [1, 32], p: [1, 16], saltBytes: [8, 64], keyBytes: [32, 64] } as const;
const MAX_SCRYPT_MEMORY = 256 * 1024 * 1024;

const ENCODED_PATTERN =
  /^\$scrypt\$ln=(0|[1-9][0-9]?),r=(0|[1-9][0-9]?),p=(0|[1-9][0-9]?)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

function scryptMemory(params: ScryptParams): number {
  return 128 * 2 ** params.ln * params.r;
}

function inRange(value: number, [min, max]: readonly [number, number]): boolean {
  return value >= min && value <= max;
}

/** Unpadded standard base64, as used by PHC strings. */
function toB64(buf: Buffer): string {
  return buf.toString('base64').replace(/=+$/, '');
}

/** Decodes unpadded base64, refusing anything that does not round-trip (Buffer.from is lenient). */
function fromB64(text: string): Buffer | undefined {
  const buf = Buffer.from(text, 'base64');
  return toB64(buf) === text ? buf : undefined;
}

/** Parses and bounds-checks an encoded hash; undefined for anything malformed or out of bounds. */
function parseScryptHash(encoded: string): ScryptHash | undefined {
  const m = ENCODED_PATTERN.exec(encoded);
  if (m === null) return undefined;
  const [ln, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const salt = fromB64(m[4]!);
  const hash = fromB64(m[5]!);
  if (salt === undefined || hash === undefined) return undefined;
  const ok =
    inRange(ln, BOUNDS.ln) &&
    inRange(r, BOUNDS.r) &&
    inRange(p, BOUNDS.p) &&
    inRange(salt.length, BOUNDS.saltBytes) &&
    inRange(hash.length, BOUNDS.keyBytes) &&
    scryptMemory({ ln, r, p }) <= MAX_SCRYPT_MEMORY;
  return ok ? { ln, r, p, salt, hash } : undefined;
}

function deriveKey(password: string, salt: Buffer, keyBytes: number, params: ScryptParams): Promise<Buffer> {
  const options = {
    N: 2 ** params.ln,
    r: params.r,
    p: params.p,
    // Node's default maxmem (32 MiB) is exactly the need of N=2^15, r=8 and is refused; leave headroom.
    maxmem: scryptMemory(params) * 2,
  };
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keyBytes, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function assertString(value: unknown, what: string): asserts value is string {
  if (typeof value !== 'string') throw new TypeError(`${what} must be a string`);
}

/** Hashes a password into a self-describing "$scrypt$ln=15,r=8,p=1$<salt>$<hash>" string. */
export async function hashPassword(password: string): Promise<string> {
  assertString(password, 'password');
  const salt = randomBytes(SALT_BYTES);
  const hash = await deriveKey(password, salt, KEY_BYTES, DEFAULT_PARAMS);
  const { ln, r, p } = DEFAULT_PARAMS;
  return `$scrypt$ln=${ln},r=${r},p=${p}$${toB64(salt)}$${toB64(hash)}`;
}

/** True only if `encoded` is a well-formed, in-bounds scrypt hash of `password`. Never throws on bad `encoded`. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  assertString(password, 'password');
  assertString(encoded, 'encoded hash');
  const parsed = parseScryptHash(encoded);
  if (parsed === undefined) return false;
  const candidate = await deriveKey(password, parsed.salt, parsed.hash.length, parsed);
  return timingSafeEqual(candidate, parsed.hash);
}

// Verified against when the user is unknown or has no password, so those answers take as long as a real
// check. Computed once per process, on first use.
let dummyHash: Promise<string> | undefined;
function getDummyHash(): Promise<string> {
  dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
  return dummyHash;
}

// ---------------------------------------------------------------------------------------------------------
// Public keys

const SUPPORTED_KEY_TYPES: ReadonlySet<string> = new Set([
  'ssh-ed25519',
  'ssh-rsa',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
]);

// Anything shaped like an OpenSSH key type (incl. certificates, sk- keys, ssh-dss) that we do not accept.
const KEY_TYPE_SHAPE = /^(ssh|ecdsa|sk)-[a-z0-9@.-]+$/;

/**
 * Parses one authorized_keys line of the form "type base64 [comment]". Lines with options ("from=...",
 * "no-pty", ...) are refused rather than half-honoured, as are certificates and DSA keys.
 */
export function parseAuthorizedKey(line: string): ParsedAuthorizedKey | Error {
  const trimmed = line.trim();
  if (trimmed === '' || trimmed.startsWith('#')) return new Error('empty or comment line, expected a public key');
  const [type = '', data = '', ...rest] = trimmed.split(/\s+/);
  if (!SUPPORTED_KEY_TYPES.has(type)) {
    return KEY_TYPE_SHAPE.test(type)
      ? new Error(`unsupported key type "${type}"`)
      : new Error('line does not start with a key type; authorized_keys options are not supported');
  }
  const parsed = utils.parseKey(`${type} ${data}`);
  if (parsed instanceof Error) return new Error(`malformed ${type} key: ${parsed.message}`);
  // ssh2 only checks that the blob's own type starts with the line's; insist on an exact match.
  if (parsed.type !== type || blobType(parsed.getPublicSSH()) !== type) {
    return new Error(`key data does not match key type "${type}"`);
  }
  return { type, blob: parsed.getPublicSSH(), comment: rest.join(' '), key: parsed };
}

/** The type name at the start of an SSH wire-format public key blob. */
function blobType(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const len = blob.readUInt32BE(0);
  return blob.length >= 4 + len ? blob.subarray(4, 4 + len).toString('latin1') : undefined;
}

const RSA_SHA2_HASHES: ReadonlyMap<string, string> = new Map([
  ['rsa-sha2-256', 'sha256'],
  ['rsa-sha2-512', 'sha512'],
]);

/**
 * An RSA key may be reported by the signature algorithm the client chose (rsa-sha2-*) rather than its type;
 * ssh2 1.17 itself reports "ssh-rsa" and puts the hash in ctx.hashAlgo. Both name the "ssh-rsa" family.
 */
function keyFamily(algo: string): string {
  return RSA_SHA2_HASHES.has(algo) ? 'ssh-rsa' : algo;
}

/**
 * The hash to verify a signature with, or undefined to refuse. RSA must use SHA-2 (OpenSSH no longer accepts
 * SHA-1 "ssh-rsa" signatures); the other key types fix their hash themselves, so ssh2's default is used.
 */
function signatureHash(algo: string, hashAlgo: string | undefined): { hash: string | undefined } | undefined {
  if (keyFamily(algo) !== 'ssh-rsa') return { hash: undefined };
  const hash = hashAlgo ?? RSA_SHA2_HASHES.get(algo);
  return hash === 'sha256' || hash === 'sha512' ? { hash } : undefined;
}

function sameBlob(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

// ---------------------------------------------------------------------------------------------------------
// Directory

interface DirectoryEntry {
  passwordHash: string | undefined;
  keys: ParsedAuthorizedKey[];
}

export class LocalUserDirectory implements PasswordAuthenticator {
  readonly name = 'local';
  readonly #users = new Map<string, DirectoryEntry>();

  /** Parses every key and password hash up front so configuration mistakes surface at start. */
  constructor(users: LocalUser[]) {
    for (const user of users) {
      if (this.#users.has(user.name)) throw new Error(`duplicate local user "${user.name}"`);
      if (user.passwordHash !== undefined && parseScryptHash(user.passwordHash) === undefined) {
        throw new Error(`user "${user.name}": password hash is malformed or has out-of-bounds scrypt parameters`);
      }
      const keys = (user.authorizedKeys ?? []).map((line, index) => {
        const parsed = parseAuthorizedKey(line);
        if (parsed instanceof Error) throw new Error(`user "${user.name}": authorized key ${index}: ${parsed.message}`);
        return parsed;
      });
      this.#users.set(user.name, { passwordHash: user.passwordHash, keys });
    }
    void getDummyHash(); // warm up, so the first unknown-user answer is not slower than the rest
  }

  has(name: string): boolean {
    return this.#users.has(name);
  }

  async checkPassword(name: string, password: string): Promise<FirstFactorResult> {
    const user = this.#users.get(name);
    if (user?.passwordHash === undefined) {
      await verifyPassword(password, await getDummyHash());
      return { ok: false, reason: user === undefined ? 'unknown-user' : 'no-password-set' };
    }
    return (await verifyPassword(password, user.passwordHash)) ? { ok: true } : { ok: false, reason: 'wrong-password' };
  }

  /** True if the offered public key is one of the user's authorized keys. */
  findKey(name: string, key: { algo: string; data: Buffer }): boolean {
    return this.#matchKey(name, key) !== undefined;
  }

  /**
   * Verifies a publickey-auth signature (ssh2's ctx.blob / ctx.signature / ctx.hashAlgo) made with one of the
   * user's authorized keys.
   */
  verifyKeySignature(
    name: string,
    key: { algo: string; data: Buffer },
    blob: Buffer,
    signature: Buffer,
    hashAlgo?: string,
  ): boolean {
    const match = this.#matchKey(name, key);
    const hash = signatureHash(key.algo, hashAlgo);
    if (match === undefined || hash === undefined) return false;
    // ssh2's verify returns an Error (despite its typings) when the signature cannot be checked at all.
    const result: unknown = match.key.verify(blob, signature, hash.hash);
    return result === true;
  }

  #matchKey(name: string, key: { algo: string; data: Buffer }): ParsedAuthorizedKey | undefined {
    const user = this.#users.get(name);
    const family = keyFamily(key.algo);
    if (user === undefined || blobType(key.data) !== family) return undefined;
    return user.keys.find((candidate) => candidate.type === family && sameBlob(candidate.blob, key.data));
  }
}
