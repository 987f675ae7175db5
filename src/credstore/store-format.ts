// The on-disk format of the encrypted local credential store: schema, parsing, serialisation and
// the canonical byte strings that the cryptography authenticates. No key material is handled here.
//
// One JSON file (written atomically, mode 0600):
//
//   {
//     "format": "gatehouse-credential-store", "version": 1, "applianceId": "<id of the data directory>",
//     "keyWrap": {                          // the 32-byte data key, AES-256-GCM under a key-encryption key (KEK)
//       "method": "appliance-key" | "passphrase",
//       "partCount": 2,                     // passphrase only: how many parts, entered in order
//       "kdf": { "name": "scrypt", "N": 32768, "r": 8, "p": 1, "salt": "<16 bytes>" },   // passphrase only
//       "keyCheck": "<32 bytes>",           // HKDF(KEK secret, "key-check"): tells a wrong passphrase from tampering
//       "iv": "<12 bytes>", "ciphertext": "<32 bytes>", "tag": "<16 bytes>"
//     },
//     "entries": [                          // metadata in clear; secrets AES-256-GCM under the data key
//       { "id": "<12 hex>", "kind": "target", "hostPattern": "*.example.com", "username": "root",
//         "hasPassword": true, "hasPrivateKey": false, "created": "<ISO>", "updated": "<ISO>",
//         "iv": "<12 bytes>", "ciphertext": "...", "tag": "<16 bytes>" },
//       { "id": "...", "kind": "plugin-secret", "scope": "", "section": "radius", "option": "secret", ... }
//     ],
//     "mac": "<32 bytes>"                   // HMAC-SHA256 over the canonical document without "mac"
//   }
//
// Binary values are canonical base64. Canonical JSON (sorted keys, no whitespace) is what is
// authenticated, so the file's formatting does not matter. Additional authenticated data (AAD):
// the key wrap's AAD is format, version, appliance id and the whole key header (method, parts,
// kdf, key check); an entry's AAD is the format and all of the entry's metadata, so moving a
// ciphertext to another entry, or renaming an entry, fails that entry's authentication.
import { z } from 'zod';
import { CredentialStoreError } from './store-errors.js';

export const FORMAT = 'gatehouse-credential-store';
export const FORMAT_VERSION = 1;
export const IV_BYTES = 12;
export const TAG_BYTES = 16;
export const KEY_BYTES = 32;
export const SALT_BYTES = 16;

/** Bounds for scrypt parameters, read from the file or asked for: enough for any sane cost, never gigabytes. */
export const SCRYPT_MIN_N = 2 ** 10;
export const SCRYPT_MAX_N = 2 ** 20;
const SCRYPT_MAX_MEMORY = 2 ** 29;

function isCanonicalBase64(text: string): boolean {
  return /^[A-Za-z0-9+/]*={0,2}$/.test(text) && Buffer.from(text, 'base64').toString('base64') === text;
}

/** Node's base64 decoder skips characters it does not know; only the canonical encoding of some bytes passes. */
function base64(bytes?: number) {
  return z
    .string()
    .refine(isCanonicalBase64, 'expected canonical base64')
    .refine((text) => bytes === undefined || Buffer.from(text, 'base64').length === bytes, `expected ${bytes} bytes`);
}

const sealedBox = { iv: base64(IV_BYTES), ciphertext: base64(), tag: base64(TAG_BYTES) };
const wrappedKey = {
  keyCheck: base64(KEY_BYTES),
  iv: base64(IV_BYTES),
  ciphertext: base64(KEY_BYTES),
  tag: base64(TAG_BYTES),
};

const scryptParams = z
  .object({
    name: z.literal('scrypt'),
    N: z
      .number()
      .int()
      .min(SCRYPT_MIN_N)
      .max(SCRYPT_MAX_N)
      .refine((n) => (n & (n - 1)) === 0, 'expected a power of 2'),
    r: z.number().int().min(1).max(32),
    p: z.number().int().min(1).max(16),
    salt: base64(SALT_BYTES),
  })
  .strict()
  // A tampered cost must not make unlock allocate gigabytes: scrypt needs about 128 * N * r bytes.
  .refine((k) => 128 * k.N * k.r <= SCRYPT_MAX_MEMORY, 'scrypt parameters need too much memory');

const keyWrap = z.discriminatedUnion('method', [
  z.object({ method: z.literal('appliance-key'), ...wrappedKey }).strict(),
  z
    .object({
      method: z.literal('passphrase'),
      partCount: z.number().int().min(1).max(64),
      kdf: scryptParams,
      ...wrappedKey,
    })
    .strict(),
]);

const timestamp = z
  .string()
  .refine((s) => /^\d{4}-\d\d-\d\dT/.test(s) && !Number.isNaN(Date.parse(s)), 'expected an ISO time');
const entryId = z.string().regex(/^[0-9a-f]{12}$/, 'expected 12 hex digits');

const targetEntry = z
  .object({
    id: entryId,
    kind: z.literal('target'),
    hostPattern: z.string().min(1),
    username: z.string().min(1),
    hasPassword: z.boolean(),
    hasPrivateKey: z.boolean(),
    created: timestamp,
    updated: timestamp,
    ...sealedBox,
  })
  .strict();

const pluginSecretEntry = z
  .object({
    id: entryId,
    kind: z.literal('plugin-secret'),
    scope: z.string(),
    section: z.string().min(1),
    option: z.string().min(1),
    created: timestamp,
    updated: timestamp,
    ...sealedBox,
  })
  .strict();

const storeDocument = z
  .object({
    format: z.literal(FORMAT),
    version: z.literal(FORMAT_VERSION),
    applianceId: z.string().min(1),
    keyWrap,
    entries: z.array(z.discriminatedUnion('kind', [targetEntry, pluginSecretEntry])),
    mac: base64(KEY_BYTES),
  })
  .strict();

export type StoreDocument = z.infer<typeof storeDocument>;
export type KeyWrap = StoreDocument['keyWrap'];
export type StoredEntry = StoreDocument['entries'][number];
export type SealedBox = { iv: string; ciphertext: string; tag: string };
export type ScryptParams = z.infer<typeof scryptParams>;

/** Entry metadata: everything but the sealed secret. Readable without the data key. */
export type EntryMetadata = DistributiveOmit<StoredEntry, keyof SealedBox>;
/** Entry metadata without its id and times: what a caller gives when adding an entry. */
export type EntryFields = DistributiveOmit<EntryMetadata, 'id' | 'created' | 'updated'>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export function metadataOf(entry: StoredEntry): EntryMetadata {
  const { iv: _iv, ciphertext: _ciphertext, tag: _tag, ...metadata } = entry;
  return metadata;
}

/** JSON with sorted keys and no whitespace: the same value always gives the same bytes. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const fields = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${fields.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The key wrap without the wrapped key: how to derive the KEK and check it. */
export type KeyHeader = DistributiveOmit<KeyWrap, keyof SealedBox>;

export function keyHeaderOf(wrap: KeyWrap): KeyHeader {
  const { iv: _iv, ciphertext: _ciphertext, tag: _tag, ...header } = wrap;
  return header;
}

/** What the key wrap's GCM authenticates besides the data key. */
export function keyWrapAad(applianceId: string, header: KeyHeader): Buffer {
  return Buffer.from(canonicalJson({ format: FORMAT, version: FORMAT_VERSION, applianceId, keyWrap: header }));
}

/** What an entry's GCM authenticates besides its secret: its identity and all its metadata. */
export function entryAad(metadata: EntryMetadata): Buffer {
  return Buffer.from(canonicalJson({ format: FORMAT, entry: metadata }));
}

/** What the document MAC covers: everything but the MAC itself. */
export function macInput(doc: Omit<StoreDocument, 'mac'>): Buffer {
  const { format, version, applianceId, keyWrap: wrap, entries } = doc;
  return Buffer.from(canonicalJson({ format, version, applianceId, keyWrap: wrap, entries }));
}

export function serialiseDocument(doc: StoreDocument): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

function corrupted(file: string, why: string): CredentialStoreError {
  return new CredentialStoreError('corrupted', `credential store file ${file} is corrupted: ${why}`);
}

function decodeJson(file: string, bytes: Buffer): unknown {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw corrupted(file, 'not UTF-8 text');
  }
  try {
    return JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the text around the error; keep it out of the message.
    throw corrupted(file, 'not valid JSON');
  }
}

/** Parses and validates a store file. Authenticity is checked later, at unlock, with the data key. */
export function parseDocument(file: string, bytes: Buffer): StoreDocument {
  const json = decodeJson(file, bytes);
  const header = z.object({ format: z.string(), version: z.unknown() }).safeParse(json);
  if (!header.success || header.data.format !== FORMAT) throw corrupted(file, 'not a Gatehouse credential store');
  if (header.data.version !== FORMAT_VERSION) {
    const found = JSON.stringify(header.data.version);
    throw new CredentialStoreError(
      'unsupported',
      `credential store file ${file} has format version ${found}; this Gatehouse reads version ${FORMAT_VERSION}`,
    );
  }
  const parsed = storeDocument.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw corrupted(file, `${issue.path.map(String).join('.') || '(top)'}: ${issue.message}`);
  }
  return parsed.data;
}
