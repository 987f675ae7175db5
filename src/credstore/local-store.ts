// The encrypted local credential store (DESIGN.md §5): target credentials and plugin secrets, each
// sealed with AES-256-GCM under a random data key, which is wrapped by the appliance key or by a
// (compound) master passphrase. Owns the store's life cycle (init, open, unlock, lock, passwd), its
// entries, the best-match lookup used for credential injection, and persistence. The file format
// is described in store-format.ts; the cryptography is in store-crypto.ts.
//
// Wrong passphrase vs. tampering: a failing GCM tag on the wrapped key cannot tell the two apart,
// so the key header stores a key check value, HKDF(KEK secret, "key-check"). It costs an attacker
// nothing (testing a guess still costs one scrypt) and splits the failures:
//   key check differs              -> "wrong passphrase" (or, in appliance-key mode, the key file is not this store's)
//   key check equal, GCM fails     -> the wrapped key or its header was altered
//   an entry's GCM fails           -> that entry was altered (named in the error)
//   every entry fine, MAC fails    -> entries were added, removed, reordered or replayed
// Unlock verifies all of it before the data key is kept, so an altered file never unlocks. A changed
// salt, scrypt cost or key check value changes the derived key, and so reads as a wrong passphrase:
// safe (nothing decrypts), only less precise. The metadata shown by list() while locked is not yet
// authenticated. passwd re-wraps the data key but does not change it: whoever holds an old copy of
// the file and its old passphrase (or the appliance key) can still read entries that existed then.
//
// Secrets leave the store only through findTargetCredential and getPluginSecret. They are never in
// errors, list(), toJSON() or util.inspect(); the key Buffers are wiped on lock. JavaScript strings
// (passphrases, returned secrets) cannot be wiped; they are dropped as soon as possible.
import { randomBytes } from 'node:crypto';
import { access, readFile } from 'node:fs/promises';
import { inspect } from 'node:util';
import ssh2 from 'ssh2';
import { z } from 'zod';
import type { ChangeOrigin, SealGuard } from '../config/sealed.js';
import { writeFileAtomic } from '../system/atomic-file.js';
import { readApplianceKey, readOrCreateApplianceKey } from './appliance-key.js';
import type { UpstreamCredential } from './credential-source.js';
import { moreSpecific, parseHostPattern, type HostPattern } from './host-pattern.js';
import {
  deriveKek,
  documentMac,
  newKey,
  newScryptParams,
  passphraseSecret,
  sameBytes,
  seal,
  unseal,
  wipe,
  wipeKek,
  type KeyEncryptionKey,
} from './store-crypto.js';
import { alteredError, CredentialStoreError, CredentialStoreLockedError } from './store-errors.js';
import {
  canonicalJson,
  entryAad,
  FORMAT,
  FORMAT_VERSION,
  keyHeaderOf,
  keyWrapAad,
  macInput,
  metadataOf,
  parseDocument,
  SCRYPT_MAX_N,
  SCRYPT_MIN_N,
  serialiseDocument,
  type EntryFields,
  type EntryMetadata,
  type KeyHeader,
  type KeyWrap,
  type StoreDocument,
  type StoredEntry,
} from './store-format.js';

export { CredentialStoreError, CredentialStoreLockedError, type CredentialStoreErrorReason } from './store-errors.js';

export type UnlockMethod = { kind: 'appliance-key' } | { kind: 'passphrase'; parts: string[] };

/** What list() shows of an entry: its metadata and a label such as `target root@db1.example.com`. */
export type CredentialEntryInfo = EntryMetadata & { label: string };

export interface TargetCredentialInput {
  /** Hostname, IP, CIDR, "*.domain" or "*" (the connection policies' target syntax). */
  hostPattern: string;
  /** The server user, case-sensitive. */
  username: string;
  password?: string;
  /** An unencrypted OpenSSH/PEM/PPK private key. */
  privateKey?: string;
}

export interface PluginSecretInput {
  /** The AA plugin configuration the secret belongs to; '' for none. */
  scope?: string;
  section: string;
  option: string;
  value: string;
}

export interface OpenOptions {
  file: string;
  keyFile: string;
  /** The data directory's appliance id; a store made for another appliance is refused. */
  applianceId: string;
  guard: SealGuard;
  /** scrypt N for passphrases set from now on (a power of 2); default 2^15. */
  scryptCost?: number;
  /** Replaces the store file; writeFileAtomic unless a test injects a failing one. */
  writeFile?: (file: string, data: string) => Promise<void>;
}

export interface InitOptions extends OpenOptions {
  origin: ChangeOrigin;
  method: UnlockMethod;
}

type Settings = Required<Omit<OpenOptions, 'guard'>>;
type TargetEntry = Extract<StoredEntry, { kind: 'target' }>;
type IndexedTarget = { entry: TargetEntry; pattern: HostPattern };

const DEFAULT_SCRYPT_COST = 2 ** 15;
/** What a target entry seals: at least one of the two, exactly what an upstream login takes. */
const targetSecret = z.union([
  z.object({ password: z.string(), privateKey: z.string().optional() }).strict(),
  z.object({ password: z.string().optional(), privateKey: z.string() }).strict(),
]);
const pluginSecret = z.object({ value: z.string() }).strict();

function invalid(message: string): CredentialStoreError {
  return new CredentialStoreError('invalid', message);
}

function labelOf(entry: EntryMetadata): string {
  if (entry.kind === 'target') return `target ${entry.username}@${entry.hostPattern}`;
  return `plugin secret ${entry.scope === '' ? '' : `${entry.scope}:`}[${entry.section}] ${entry.option}`;
}

/** Validates a name-like field; the value is not quoted, so a mistyped secret pasted here cannot leak. */
function checkName(what: string, value: string, allowEmpty = false): string {
  if (!allowEmpty && value.length === 0) throw invalid(`${what} is empty`);
  if (/[\u0000-\u001f\u007f]/.test(value)) throw invalid(`${what} contains control characters`);
  return value;
}

function checkPrivateKey(text: string): void {
  const parsed = ssh2.utils.parseKey(text);
  if (parsed instanceof Error) {
    if (/encrypted.*no passphrase given/i.test(parsed.message)) {
      throw invalid('the private key is encrypted: store it without a passphrase (the credential store encrypts it)');
    }
    throw invalid(`the private key cannot be read: ${parsed.message}`);
  }
  if (!parsed.isPrivateKey()) throw invalid('expected a private key, got a public key');
}

function checkTargetSecret(input: TargetCredentialInput): UpstreamCredential {
  const { password, privateKey } = input;
  if (password === '') throw invalid('the password is empty');
  if (privateKey !== undefined) checkPrivateKey(privateKey);
  if (password !== undefined) return { password, privateKey };
  if (privateKey !== undefined) return { privateKey };
  throw invalid('give a password, a private key or both');
}

function checkParts(parts: string[]): void {
  if (parts.length === 0) throw invalid('the passphrase is empty');
  parts.forEach((part, i) => {
    if (part.length > 0) return;
    throw invalid(parts.length === 1 ? 'the passphrase is empty' : `passphrase part ${i + 1} is empty`);
  });
}

function checkMethod(method: UnlockMethod): void {
  if (method.kind === 'passphrase') checkParts(method.parts);
}

function checkScryptCost(n: number): number {
  if (!Number.isInteger(n) || n < SCRYPT_MIN_N || n > SCRYPT_MAX_N || (n & (n - 1)) !== 0) {
    throw invalid(`scrypt cost must be a power of 2 from 2^10 to 2^20, not ${n}`);
  }
  return n;
}

/** Compiles the host patterns and refuses duplicates, which Gatehouse never writes. */
function indexEntries(file: string, entries: StoredEntry[]): IndexedTarget[] {
  const ids = new Set<string>();
  const identities = new Set<string>();
  const targets: IndexedTarget[] = [];
  for (const entry of entries) {
    const identity = canonicalJson(identityOf(entry));
    if (ids.has(entry.id) || identities.has(identity)) {
      const problem = `"${labelOf(entry)}" appears twice`;
      throw new CredentialStoreError('corrupted', `credential store file ${file} is corrupted: ${problem}`);
    }
    ids.add(entry.id);
    identities.add(identity);
    if (entry.kind === 'target') targets.push({ entry, pattern: storedPattern(file, entry) });
  }
  return targets;
}

function storedPattern(file: string, entry: TargetEntry): HostPattern {
  let pattern: HostPattern | undefined;
  try {
    pattern = parseHostPattern(entry.hostPattern);
  } catch {
    // handled below
  }
  if (pattern?.text !== entry.hostPattern) {
    const problem = `invalid host pattern in "${labelOf(entry)}"`;
    throw new CredentialStoreError('corrupted', `credential store file ${file} is corrupted: ${problem}`);
  }
  return pattern;
}

/** What makes two entries the same entry: setting one replaces the other. */
function identityOf(entry: EntryFields): string[] {
  return entry.kind === 'target'
    ? [entry.kind, entry.hostPattern, entry.username]
    : [entry.kind, entry.scope, entry.section, entry.option];
}

function sealEntry(metadata: EntryMetadata, secret: object, dataKey: Buffer): StoredEntry {
  const plaintext = Buffer.from(canonicalJson(secret), 'utf8');
  try {
    return { ...metadata, ...seal(dataKey, plaintext, entryAad(metadata)) };
  } finally {
    wipe(plaintext);
  }
}

/** An entry's secret bytes (the caller wipes them); throws naming the entry when it fails authentication. */
function unsealEntry(entry: StoredEntry, dataKey: Buffer): Buffer {
  const plaintext = unseal(dataKey, entry, entryAad(metadataOf(entry)));
  if (plaintext === undefined) throw alteredError(`credential store entry "${labelOf(entry)}"`);
  return plaintext;
}

/** The decrypted secret JSON of an entry. */
function openEntry(entry: StoredEntry, dataKey: Buffer): unknown {
  const plaintext = unsealEntry(entry, dataKey);
  try {
    return JSON.parse(plaintext.toString('utf8'));
  } finally {
    wipe(plaintext);
  }
}

/** Adds the entry, or replaces the one with the same identity (keeping its id, position and creation time). */
function upsert(entries: StoredEntry[], fields: EntryFields, secret: object, dataKey: Buffer): StoredEntry[] {
  const identity = canonicalJson(identityOf(fields));
  const index = entries.findIndex((e) => canonicalJson(identityOf(e)) === identity);
  const previous = entries[index];
  const now = new Date().toISOString();
  const id = previous?.id ?? randomBytes(6).toString('hex');
  const metadata: EntryMetadata = { id, ...fields, created: previous?.created ?? now, updated: now };
  const entry = sealEntry(metadata, secret, dataKey);
  return index < 0 ? [...entries, entry] : entries.map((e, i) => (i === index ? entry : e));
}

function withMac(body: Omit<StoreDocument, 'mac'>, dataKey: Buffer): StoreDocument {
  return { ...body, mac: documentMac(dataKey, macInput(body)).toString('base64') };
}

async function readStoreFile(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new CredentialStoreError('missing', `credential store file ${file} does not exist`);
    }
    throw err;
  }
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

export class LocalCredentialStore {
  readonly #settings: Settings;
  readonly #guard: SealGuard;
  #doc: StoreDocument;
  #targets: IndexedTarget[];
  #dataKey: Buffer | undefined;
  /** Mutations and unlocks run one at a time, each against the state the previous one left. */
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(settings: Settings, guard: SealGuard, doc: StoreDocument, dataKey?: Buffer) {
    this.#settings = settings;
    this.#guard = guard;
    this.#doc = doc;
    this.#targets = indexEntries(settings.file, doc.entries);
    this.#dataKey = dataKey;
  }

  /** Creates an empty store (refused when the file exists) and returns it unlocked. */
  static async init(options: InitOptions): Promise<LocalCredentialStore> {
    options.guard.assertMayChange(options.origin);
    checkMethod(options.method);
    checkName('the appliance id', options.applianceId);
    const settings = settingsOf(options);
    if (await exists(settings.file)) throw invalid(`credential store file ${settings.file} already exists`);
    const dataKey = newKey();
    try {
      const keyWrap = await newKeyWrap(settings, options.method, dataKey);
      const { applianceId } = settings;
      const doc = withMac({ format: FORMAT, version: FORMAT_VERSION, applianceId, keyWrap, entries: [] as StoredEntry[] }, dataKey);
      await settings.writeFile(settings.file, serialiseDocument(doc));
      return new LocalCredentialStore(settings, options.guard, doc, dataKey);
    } catch (err) {
      wipe(dataKey);
      throw err;
    }
  }

  /**
   * Reads the store's metadata; the store is locked. An appliance-key store is meant to be unlocked
   * right away (`await store.unlock()` at start); a passphrase store when the console enters it.
   */
  static async open(options: OpenOptions): Promise<LocalCredentialStore> {
    const doc = parseDocument(options.file, await readStoreFile(options.file));
    if (doc.applianceId !== options.applianceId) {
      throw new CredentialStoreError(
        'foreign-store',
        `credential store file ${options.file} belongs to appliance "${doc.applianceId}", ` +
          `not to this one ("${options.applianceId}"): it cannot be used here`,
      );
    }
    return new LocalCredentialStore(settingsOf(options), options.guard, doc);
  }

  get mode(): UnlockMethod['kind'] {
    return this.#doc.keyWrap.method;
  }

  /** How many passphrase parts unlock needs; 0 in appliance-key mode. */
  get partCount(): number {
    return this.#doc.keyWrap.method === 'passphrase' ? this.#doc.keyWrap.partCount : 0;
  }

  isUnlocked(): boolean {
    return this.#dataKey !== undefined;
  }

  /** Verifies the whole file (key, every entry, the document MAC) and keeps the data key. */
  async unlock(parts?: string[]): Promise<void> {
    await this.#serialised(async () => {
      const doc = this.#doc;
      const kek = await this.#storedKek(keyHeaderOf(doc.keyWrap), parts);
      let dataKey: Buffer | undefined;
      try {
        dataKey = this.#unwrapDataKey(doc, kek);
        verifyDocument(this.#settings.file, doc, dataKey);
      } catch (err) {
        wipe(dataKey);
        throw err;
      } finally {
        wipeKek(kek);
      }
      this.lock();
      this.#dataKey = dataKey;
    });
  }

  /** Forgets the data key; secrets are unreadable until the next unlock. */
  lock(): void {
    wipe(this.#dataKey);
    this.#dataKey = undefined;
  }

  /** Re-wraps the data key for a new passphrase, new parts, or the other mode. Entries are not re-encrypted. */
  async passwd(origin: ChangeOrigin, method: UnlockMethod): Promise<void> {
    this.#guard.assertMayChange(origin);
    checkMethod(method);
    await this.#serialised(async () => {
      this.#requireDataKey();
      // The slow part (scrypt, key file) first; #commit then takes the data key without awaiting,
      // so a lock() meanwhile makes passwd fail instead of wrapping a wiped key.
      const { kek, header } = await kekFor(this.#settings, method);
      try {
        await this.#commit((doc, dataKey) => ({ ...doc, keyWrap: wrapWith(doc.applianceId, header, kek, dataKey) }));
      } finally {
        wipeKek(kek);
      }
    });
  }

  /** Metadata of every entry, in file order; no secrets. Unauthenticated until the first unlock. */
  list(): CredentialEntryInfo[] {
    return this.#doc.entries.map((entry) => ({ ...metadataOf(entry), label: labelOf(entry) }));
  }

  /** Adds a target credential or replaces the one for the same host pattern and username (both secrets). */
  async setTargetCredential(origin: ChangeOrigin, input: TargetCredentialInput): Promise<void> {
    this.#guard.assertMayChange(origin);
    const hostPattern = parseHostPatternOrThrow(input.hostPattern).text;
    const username = checkName('the username', input.username);
    const secret = checkTargetSecret(input);
    await this.#serialised(() =>
      this.#commit((doc, dataKey) => {
        const fields: EntryFields = {
          kind: 'target',
          hostPattern,
          username,
          hasPassword: secret.password !== undefined,
          hasPrivateKey: secret.privateKey !== undefined,
        };
        return { ...doc, entries: upsert(doc.entries, fields, secret, dataKey) };
      }),
    );
  }

  /** Adds a plugin secret or replaces the one with the same scope, section and option. */
  async setPluginSecret(origin: ChangeOrigin, input: PluginSecretInput): Promise<void> {
    this.#guard.assertMayChange(origin);
    const scope = checkName('the scope', input.scope ?? '', true);
    const section = checkName('the section', input.section);
    const option = checkName('the option', input.option);
    if (input.value.length === 0) throw invalid('the secret value is empty');
    const secret = { value: input.value };
    await this.#serialised(() =>
      this.#commit((doc, dataKey) => {
        const fields: EntryFields = { kind: 'plugin-secret', scope, section, option };
        return { ...doc, entries: upsert(doc.entries, fields, secret, dataKey) };
      }),
    );
  }

  async remove(origin: ChangeOrigin, id: string): Promise<void> {
    this.#guard.assertMayChange(origin);
    await this.#serialised(() =>
      this.#commit((doc) => {
        if (!doc.entries.some((e) => e.id === id)) throw invalid(`no credential store entry with id "${id}"`);
        return { ...doc, entries: doc.entries.filter((e) => e.id !== id) };
      }),
    );
  }

  /**
   * The credential for logging in as `serverUser` (exact, case-sensitive) on `host`: an exact host
   * beats the most specific CIDR or "*.domain", which beats "*". Undefined when nothing matches.
   */
  findTargetCredential(host: string, serverUser: string): UpstreamCredential | undefined {
    const dataKey = this.#requireDataKey();
    let best: IndexedTarget | undefined;
    for (const candidate of this.#targets) {
      if (candidate.entry.username !== serverUser || !candidate.pattern.matches(host)) continue;
      if (best === undefined || moreSpecific(candidate.pattern, best.pattern)) best = candidate;
    }
    if (best === undefined) return undefined;
    return targetSecret.parse(openEntry(best.entry, dataKey));
  }

  /** `[section, option]` of the plugin configuration's entries (names only); undefined while locked. */
  pluginSecretNames(scope: string): [section: string, option: string][] | undefined {
    if (!this.isUnlocked()) return undefined;
    return this.#doc.entries.flatMap((e) => (e.kind === 'plugin-secret' && e.scope === scope ? [[e.section, e.option] as [string, string]] : []));
  }

  /** The secret of one plugin option, only for the plugin configuration (`scope`) it belongs to. */
  getPluginSecret(scope: string, section: string, option: string): string | undefined {
    const dataKey = this.#requireDataKey();
    const entry = this.#doc.entries.find(
      (e) => e.kind === 'plugin-secret' && e.scope === scope && e.section === section && e.option === option,
    );
    return entry === undefined ? undefined : pluginSecret.parse(openEntry(entry, dataKey)).value;
  }

  /** A summary without secrets, for logs and JSON.stringify. */
  toJSON(): { file: string; mode: UnlockMethod['kind']; partCount: number; unlocked: boolean; entries: number } {
    const entries = this.#doc.entries.length;
    return { file: this.#settings.file, mode: this.mode, partCount: this.partCount, unlocked: this.isUnlocked(), entries };
  }

  [inspect.custom](): string {
    return `LocalCredentialStore ${inspect(this.toJSON())}`;
  }

  #requireDataKey(): Buffer {
    if (this.#dataKey === undefined) throw new CredentialStoreLockedError();
    return this.#dataKey;
  }

  #serialised<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Builds the next document with the data key, writes it, and only then makes it current: a failed
   * write leaves both the file and the in-memory state as they were. `build` must not await.
   */
  async #commit(build: (doc: StoreDocument, dataKey: Buffer) => Omit<StoreDocument, 'mac'>): Promise<void> {
    const dataKey = this.#requireDataKey();
    const next = withMac(build(this.#doc, dataKey), dataKey);
    const targets = indexEntries(this.#settings.file, next.entries);
    await this.#settings.writeFile(this.#settings.file, serialiseDocument(next));
    this.#doc = next;
    this.#targets = targets;
  }

  /** The KEK for unlocking, from the stored header and what the person entered. */
  async #storedKek(header: KeyHeader, parts: string[] | undefined): Promise<KeyEncryptionKey> {
    if (header.method === 'appliance-key') {
      if (parts !== undefined && parts.length > 0) {
        throw invalid('this credential store is unlocked by the appliance key: it takes no passphrase');
      }
      return kekFromSecret(await readApplianceKey(this.#settings.keyFile));
    }
    if (parts === undefined || parts.length === 0) {
      const needed = `a master passphrase in ${header.partCount} part(s)`;
      throw invalid(`this credential store is locked by ${needed}: enter it to unlock`);
    }
    if (parts.length !== header.partCount) {
      throw invalid(`this credential store's master passphrase has ${header.partCount} part(s), ${parts.length} given`);
    }
    checkParts(parts);
    return kekFromSecret(await passphraseSecret(parts, header.kdf));
  }

  #unwrapDataKey(doc: StoreDocument, kek: KeyEncryptionKey): Buffer {
    const header = keyHeaderOf(doc.keyWrap);
    if (!sameBytes(kek.keyCheck, Buffer.from(header.keyCheck, 'base64'))) {
      if (header.method === 'passphrase') throw new CredentialStoreError('wrong-passphrase', 'wrong passphrase');
      const problem = 'is corrupted or belongs to another store: the credential store cannot be unlocked';
      throw new CredentialStoreError('appliance-key', `appliance key file ${this.#settings.keyFile} ${problem}`);
    }
    const dataKey = unseal(kek.wrapKey, doc.keyWrap, keyWrapAad(doc.applianceId, header));
    if (dataKey === undefined) throw alteredError('credential store key header');
    return dataKey;
  }
}

function settingsOf(options: OpenOptions): Settings {
  return {
    file: options.file,
    keyFile: options.keyFile,
    applianceId: options.applianceId,
    scryptCost: checkScryptCost(options.scryptCost ?? DEFAULT_SCRYPT_COST),
    writeFile: options.writeFile ?? writeFileAtomic,
  };
}

/** A fresh KEK and key header for `method` (new salt; the appliance key file is created if missing). */
async function kekFor(settings: Settings, method: UnlockMethod): Promise<{ kek: KeyEncryptionKey; header: KeyHeader }> {
  if (method.kind === 'appliance-key') {
    const kek = kekFromSecret(await readOrCreateApplianceKey(settings.keyFile));
    return { kek, header: { method: 'appliance-key', keyCheck: kek.keyCheck.toString('base64') } };
  }
  const kdf = newScryptParams(settings.scryptCost);
  const kek = kekFromSecret(await passphraseSecret(method.parts, kdf));
  const keyCheck = kek.keyCheck.toString('base64');
  return { kek, header: { method: 'passphrase', partCount: method.parts.length, kdf, keyCheck } };
}

async function newKeyWrap(settings: Settings, method: UnlockMethod, dataKey: Buffer): Promise<KeyWrap> {
  const { kek, header } = await kekFor(settings, method);
  try {
    return wrapWith(settings.applianceId, header, kek, dataKey);
  } finally {
    wipeKek(kek);
  }
}

function kekFromSecret(secret: Buffer): KeyEncryptionKey {
  try {
    return deriveKek(secret);
  } finally {
    wipe(secret);
  }
}

function wrapWith(applianceId: string, header: KeyHeader, kek: KeyEncryptionKey, dataKey: Buffer): KeyWrap {
  return { ...header, ...seal(kek.wrapKey, dataKey, keyWrapAad(applianceId, header)) };
}

/** Every entry first (so a failure names the entry), then the MAC over the whole document. */
function verifyDocument(file: string, doc: StoreDocument, dataKey: Buffer): void {
  for (const entry of doc.entries) wipe(unsealEntry(entry, dataKey));
  if (!sameBytes(documentMac(dataKey, macInput(doc)), Buffer.from(doc.mac, 'base64'))) {
    throw new CredentialStoreError(
      'altered',
      `credential store file ${file} failed authentication (entries added, removed or reordered): ` +
        'the store file was altered',
    );
  }
}

function parseHostPatternOrThrow(spec: string): HostPattern {
  try {
    return parseHostPattern(spec);
  } catch (err) {
    throw invalid((err as Error).message);
  }
}
