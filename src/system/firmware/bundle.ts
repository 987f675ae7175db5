// Upgrade bundles: a zip of stored entries that the appliance trusts only after checking all of it.
//   manifest.json   the BundleManifest, UTF-8 JSON; what is signed, byte for byte
//   manifest.sig    base64 of the Ed25519 signature over the exact bytes of manifest.json
//   manifest.key    the signer's key fingerprint ("SHA256:…"); an unsigned hint used only to say
//                   "unknown key" rather than "bad signature" in a refusal, never to pick a key
//   root.erofs, vmlinuz, initrd.img   the files the manifest lists, with their sizes and SHA-256
// openBundle reads every byte once before returning, so a bundle that is altered, truncated,
// for another machine or older than the running version is refused before anything is written.
// The build side (writeBundle) uses yazl, a devDependency: it runs in the build scripts only.
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, stat, unlink } from 'node:fs/promises';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import yauzl, { type Entry, type ZipFile } from 'yauzl';

export type BundleFileName = 'root.erofs' | 'vmlinuz' | 'initrd.img';

export interface BundleManifest {
  format: 'gatehouse-bundle-v1';
  /** semver x.y.z */
  version: string;
  arch: 'x86_64' | 'aarch64';
  /** ISO 8601 time the bundle was built. */
  created: string;
  files: Record<BundleFileName, { size: number; sha256: string }>;
}

/** A refusal of a bundle; the message says exactly what is wrong with it. */
export class BundleError extends Error {
  override name = 'BundleError';
}

export interface VerifiedBundle {
  manifest: BundleManifest;
  /** Fingerprint of the trusted key whose signature verified ("SHA256:" + unpadded base64 of the SPKI DER). */
  keyFingerprint: string;
  /** Streams the entry again, checking its size and SHA-256 at the end: the stream errors with BundleError on a mismatch. */
  open(name: BundleFileName): Promise<NodeJS.ReadableStream>;
  close(): Promise<void>;
}

export interface BundleExpectations {
  arch: BundleManifest['arch'];
  /** The running version, x.y.z. */
  currentVersion: string;
  /** Accept an older or equal version (a downgrade or reinstall forced from the console). */
  allowOlder: boolean;
}

export const BUNDLE_FILES: readonly BundleFileName[] = ['root.erofs', 'vmlinuz', 'initrd.img'];
const FORMAT = 'gatehouse-bundle-v1';
const MANIFEST = 'manifest.json';
const SIGNATURE = 'manifest.sig';
const SIGNER = 'manifest.key';
const MAX_META_BYTES = 64 * 1024;
/** Local time on purpose: yazl writes DOS times from local fields, so this is 1980-01-01 00:00 everywhere. */
const FIXED_MTIME = new Date(1980, 0, 1);
const VERSION_PATTERN = /^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})$/;

/** "SHA256:" + unpadded base64 of the key's SubjectPublicKeyInfo DER (works for a private key too). */
export function keyFingerprint(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return `SHA256:${createHash('sha256').update(der).digest('base64').replace(/=+$/, '')}`;
}

/** Compares two x.y.z versions: negative, zero or positive. Throws on anything else. */
export function compareVersions(a: string, b: string): number {
  const pa = parseVersion(a);
  const pb = parseVersion(b);
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i] - pb[i];
  return 0;
}

function parseVersion(version: string): number[] {
  const match = VERSION_PATTERN.exec(version);
  if (!match) throw new Error(`"${version}" is not a version of the form x.y.z`);
  return match.slice(1, 4).map(Number);
}

/**
 * Writes the bundle `out` (through a temporary name, renamed when complete) from the three files
 * and signs its manifest with `signingKey` (an Ed25519 private key). Build-side only.
 */
export async function writeBundle(
  out: string,
  input: { version: string; arch: BundleManifest['arch']; files: Record<BundleFileName, string> },
  signingKey: KeyObject,
): Promise<BundleManifest> {
  parseVersion(input.version);
  if (signingKey.asymmetricKeyType !== 'ed25519' || signingKey.type !== 'private') throw new Error('the signing key must be an Ed25519 private key');
  const { default: yazl } = await import('yazl');
  const files = {} as BundleManifest['files'];
  for (const name of BUNDLE_FILES) files[name] = await digestFile(input.files[name]);
  const manifest: BundleManifest = { format: FORMAT, version: input.version, arch: input.arch, created: new Date().toISOString(), files };
  const manifestBytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
  const signature = sign(null, manifestBytes, signingKey);
  const zip = new yazl.ZipFile();
  const options = { mtime: FIXED_MTIME, forceDosTimestamp: true, mode: 0o100644, compress: false };
  zip.addBuffer(manifestBytes, MANIFEST, options);
  zip.addBuffer(Buffer.from(`${signature.toString('base64')}\n`), SIGNATURE, options);
  zip.addBuffer(Buffer.from(`${keyFingerprint(signingKey)}\n`), SIGNER, options);
  for (const name of BUNDLE_FILES) zip.addFile(input.files[name], name, options);
  zip.end();
  const temp = `${out}.partial`;
  try {
    await pipeline(zip.outputStream, createWriteStream(temp, { flush: true }));
    await rename(temp, out);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  return manifest;
}

async function digestFile(path: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  if (size !== (await stat(path)).size) throw new Error(`${path} changed while it was read`);
  return { size, sha256: hash.digest('hex') };
}

/**
 * Opens the bundle at `path` and checks all of it: the signature against the trusted keys, the
 * manifest, the architecture, the version, that each listed file is there with its size, and the
 * SHA-256 of every byte. Throws BundleError for anything wrong with the bundle; writes nothing.
 */
export async function openBundle(path: string, trustedKeys: KeyObject[], expect: BundleExpectations): Promise<VerifiedBundle> {
  const current = expect.currentVersion;
  parseVersion(current);
  let zip: ZipFile;
  try {
    zip = await yauzl.openPromise(path, { autoClose: false, lazyEntries: true, strictFileNames: true, validateEntrySizes: true });
  } catch (err) {
    throw asRefusal(err);
  }
  // A late error with no listener would be thrown as an uncaught exception.
  zip.on('error', () => undefined);
  try {
    const entries = await readEntries(zip);
    const manifestBytes = await readSmallEntry(zip, entries, MANIFEST);
    const signerKey = checkSignature(manifestBytes, await readSmallEntry(zip, entries, SIGNATURE), entries.has(SIGNER) ? await readSmallEntry(zip, entries, SIGNER) : undefined, trustedKeys);
    const manifest = parseManifest(manifestBytes);
    if (manifest.arch !== expect.arch) throw new BundleError(`wrong architecture: the bundle is for ${manifest.arch}, this appliance is ${expect.arch}`);
    const order = compareVersions(manifest.version, current);
    if (order <= 0 && !expect.allowOlder) {
      throw new BundleError(
        order === 0
          ? `version ${manifest.version} is already running (a reinstall must be forced from the console)`
          : `older version: the bundle has ${manifest.version}, the appliance runs ${current} (a downgrade must be forced from the console)`,
      );
    }
    const listed = new Set<string>([MANIFEST, SIGNATURE, SIGNER, ...BUNDLE_FILES]);
    for (const name of entries.keys()) if (!listed.has(name)) throw new BundleError(`unexpected entry "${name}" in the bundle`);
    for (const name of BUNDLE_FILES) {
      const entry = entries.get(name);
      const want = manifest.files[name];
      if (!entry) throw new BundleError(`truncated: the bundle has no ${name}`);
      if (entry.uncompressedSize !== want.size) throw new BundleError(`truncated or altered: ${name} is ${entry.uncompressedSize} bytes, the manifest says ${want.size}`);
    }
    const open = async (name: BundleFileName): Promise<NodeJS.ReadableStream> => {
      const entry = entries.get(name);
      if (!entry || !BUNDLE_FILES.includes(name)) throw new Error(`no file "${name}" in the bundle`);
      let source: NodeJS.ReadableStream;
      try {
        source = await zip.openReadStreamPromise(entry);
      } catch (err) {
        throw asRefusal(err);
      }
      const check = new DigestCheck(name, manifest.files[name]);
      source.on('error', (err: unknown) => check.destroy(asRefusal(err)));
      return source.pipe(check);
    };
    for (const name of BUNDLE_FILES) {
      const stream = await open(name);
      try {
        for await (const chunk of stream) void chunk;
      } catch (err) {
        throw asRefusal(err);
      }
    }
    return {
      manifest,
      keyFingerprint: keyFingerprint(signerKey),
      open,
      close: async () => zip.close(),
    };
  } catch (err) {
    zip.close();
    throw asRefusal(err);
  }
}

async function readEntries(zip: ZipFile): Promise<Map<string, Entry>> {
  const entries = new Map<string, Entry>();
  if (zip.entryCount > 16) throw new BundleError(`the bundle has ${zip.entryCount} entries; a bundle has 6`);
  for await (const entry of zip.eachEntry()) {
    if (entries.has(entry.fileName)) throw new BundleError(`entry "${entry.fileName}" appears twice in the bundle`);
    if (entry.isEncrypted()) throw new BundleError(`entry "${entry.fileName}" is encrypted`);
    if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) throw new BundleError(`entry "${entry.fileName}" uses compression method ${entry.compressionMethod}`);
    entries.set(entry.fileName, entry);
  }
  return entries;
}

async function readSmallEntry(zip: ZipFile, entries: Map<string, Entry>, name: string): Promise<Buffer> {
  const entry = entries.get(name);
  if (!entry) throw new BundleError(`not a signed bundle: it has no ${name}`);
  if (entry.uncompressedSize > MAX_META_BYTES) throw new BundleError(`${name} is too large (${entry.uncompressedSize} bytes)`);
  const chunks: Buffer[] = [];
  for await (const chunk of await zip.openReadStreamPromise(entry)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The trusted key whose signature over `manifest` verifies; otherwise a refusal saying whether the signer is unknown. */
function checkSignature(manifest: Buffer, sigText: Buffer, signerText: Buffer | undefined, trustedKeys: KeyObject[]): KeyObject {
  const text = sigText.toString('latin1').trim();
  const signature = Buffer.from(text, 'base64');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || signature.length !== 64) throw new BundleError('bad signature: manifest.sig is not a base64 Ed25519 signature');
  for (const key of trustedKeys) {
    if (key.asymmetricKeyType !== 'ed25519') continue;
    if (verify(null, manifest, key, signature)) return key;
  }
  const claimed = signerText?.toString('latin1').trim();
  const trusted = new Set(trustedKeys.map(keyFingerprint));
  if (claimed && !trusted.has(claimed)) throw new BundleError(`unknown key: the bundle is signed by ${claimed.slice(0, 60)}, which is not a trusted key of this appliance`);
  throw new BundleError('bad signature: manifest.json does not match its signature by any trusted key (altered or damaged)');
}

function parseManifest(bytes: Buffer): BundleManifest {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new BundleError('manifest.json is not valid JSON');
  }
  const bad = (why: string) => new BundleError(`manifest.json: ${why}`);
  if (typeof value !== 'object' || value === null) throw bad('not an object');
  const m = value as Record<string, unknown>;
  if (m.format !== FORMAT) throw bad(`format is not "${FORMAT}"`);
  if (typeof m.version !== 'string' || !VERSION_PATTERN.test(m.version)) throw bad('version is not of the form x.y.z');
  if (m.arch !== 'x86_64' && m.arch !== 'aarch64') throw bad('arch is not x86_64 or aarch64');
  if (typeof m.created !== 'string') throw bad('created is missing');
  if (typeof m.files !== 'object' || m.files === null) throw bad('files is missing');
  const files = m.files as Record<string, unknown>;
  for (const name of Object.keys(files)) if (!BUNDLE_FILES.includes(name as BundleFileName)) throw bad(`unexpected file "${name}"`);
  for (const name of BUNDLE_FILES) {
    const f = files[name] as Record<string, unknown> | undefined;
    if (typeof f !== 'object' || f === null) throw bad(`${name} is not listed`);
    if (typeof f.size !== 'number' || !Number.isSafeInteger(f.size) || f.size < 0) throw bad(`${name}.size is not a byte count`);
    if (typeof f.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(f.sha256)) throw bad(`${name}.sha256 is not a lowercase hex SHA-256`);
  }
  return value as BundleManifest;
}

/** Passes the bytes through, failing at the end if their count or SHA-256 differs from the manifest. */
class DigestCheck extends Transform {
  private readonly hash = createHash('sha256');
  private size = 0;

  constructor(
    private readonly fileName: string,
    private readonly want: { size: number; sha256: string },
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > this.want.size) return done(new BundleError(`${this.fileName} is longer than the manifest says (${this.want.size} bytes)`));
    this.hash.update(chunk);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    if (this.size !== this.want.size) return done(new BundleError(`truncated: ${this.fileName} is ${this.size} bytes, the manifest says ${this.want.size}`));
    if (this.hash.digest('hex') !== this.want.sha256) return done(new BundleError(`hash mismatch: ${this.fileName} does not match its SHA-256 in the signed manifest`));
    done();
  }
}

/** Keeps refusals and our own I/O failures; anything else from the zip reader means a damaged bundle. */
function asRefusal(err: unknown): Error {
  if (err instanceof BundleError) return err;
  if (err instanceof Error && 'syscall' in err) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new BundleError(`truncated or damaged: the bundle is not a complete zip (${message.split('\n', 1)[0].slice(0, 200)})`);
}
