// Tamper detection of the credential store: every single-byte change of a store file is refused
// (never a wrong or partial secret), edits that keep the JSON valid are named precisely, and
// foreign stores and missing or damaged appliance key files give clear errors and change nothing.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import t from 'tap';
import { sealGuard } from '../../src/config/sealed.js';
import {
  CredentialStoreError,
  LocalCredentialStore,
  type OpenOptions,
  type UnlockMethod,
} from '../../src/credstore/local-store.js';

const ALTERED = 'failed authentication: the store file was altered';

function setup(t: { testdir(): string }) {
  const dir = t.testdir();
  const options: OpenOptions = {
    file: join(dir, 'credstore.json'),
    keyFile: join(dir, 'appliance.key'),
    applianceId: 'appliance-0001',
    guard: sealGuard(() => false),
    scryptCost: 2 ** 10,
  };
  return { dir, options };
}

/** A small store: two target credentials and a plugin secret. */
async function smallStore(options: OpenOptions, method: UnlockMethod): Promise<void> {
  const store = await LocalCredentialStore.init({ ...options, origin: 'console', method });
  await store.setTargetCredential('console', { hostPattern: 'db1.example.com', username: 'root', password: 'pw-db1' });
  await store.setTargetCredential('console', { hostPattern: '10.0.0.0/8', username: 'root', password: 'pw-ten' });
  await store.setPluginSecret('console', { scope: 'radius-1', section: 'radius', option: 'secret', value: 'r' });
}

/** Everything the store gives out after open + unlock; any step may throw. */
async function readAll(options: OpenOptions, parts?: string[]) {
  const store = await LocalCredentialStore.open(options);
  await store.unlock(parts);
  return {
    list: store.list(),
    db1: store.findTargetCredential('db1.example.com', 'root'),
    ten: store.findTargetCredential('10.1.2.3', 'root'),
    plugin: store.getPluginSecret('radius-1', 'radius', 'secret'),
  };
}

function parsesTo(bytes: Buffer): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return undefined;
  }
}

/**
 * Writes `mutated` as the store file and checks the outcome: when it still parses to the same JSON
 * (only formatting changed) everything reads as before; otherwise a CredentialStoreError is thrown.
 * Returns a description of what went wrong, or undefined.
 */
async function checkMutation(
  options: OpenOptions,
  parts: string[] | undefined,
  original: Buffer,
  mutated: Buffer,
  expected: unknown,
): Promise<string | undefined> {
  await writeFile(options.file, mutated);
  const outcome = await readAll(options, parts).then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (isDeepStrictEqual(parsesTo(mutated), parsesTo(original))) {
    return 'value' in outcome && isDeepStrictEqual(outcome.value, expected) ? undefined : 'formatting change broke the store';
  }
  if ('value' in outcome) return `accepted an altered file: ${JSON.stringify(outcome.value)}`;
  return outcome.error instanceof CredentialStoreError ? undefined : `threw ${String(outcome.error)}`;
}

for (const [name, method, parts] of [
  ['appliance-key', { kind: 'appliance-key' }, undefined],
  ['passphrase', { kind: 'passphrase', parts: ['one', 'two'] }, ['one', 'two']],
] as Array<[string, UnlockMethod, string[] | undefined]>) {
  t.test(`${name} store: flipping any bit of any byte of the file is detected`, async (t) => {
    const { options } = setup(t);
    await smallStore(options, method);
    const original = await readFile(options.file);
    const expected = await readAll(options, parts);
    t.same(expected.db1, { password: 'pw-db1' });

    const failures: string[] = [];
    for (let position = 0; position < original.length; position++) {
      // Low bit everywhere (digits, letters, quotes, braces), and every bit of a sample of positions.
      const masks = position % 16 === 0 ? [1, 2, 4, 8, 16, 32, 64, 128] : [1];
      for (const mask of masks) {
        const mutated = Buffer.from(original);
        mutated[position]! ^= mask;
        const failure = await checkMutation(options, parts, original, mutated, expected);
        if (failure !== undefined) failures.push(`byte ${position} ^ ${mask}: ${failure}`);
      }
    }
    t.same(failures, [], `${original.length} positions`);
  });

  t.test(`${name} store: replacing any byte by any value is detected (property)`, async (t) => {
    const { options } = setup(t);
    await smallStore(options, method);
    const original = await readFile(options.file);
    const expected = await readAll(options, parts);
    await t.resolves(async () => {
      await fc.assert(
        fc.asyncProperty(fc.nat({ max: original.length - 1 }), fc.integer({ min: 1, max: 255 }), async (position, delta) => {
          const mutated = Buffer.from(original);
          mutated[position] = (mutated[position]! + delta) % 256;
          const failure = await checkMutation(options, parts, original, mutated, expected);
          return failure === undefined;
        }),
        { numRuns: 300 },
      );
    }, 'no accepted alteration');
  });
}

type Doc = Record<string, unknown> & {
  applianceId: string;
  version: number;
  keyWrap: Record<string, unknown> & { kdf?: Record<string, unknown> };
  entries: Array<Record<string, unknown>>;
  mac: string;
};

/** Edits the store file as JSON, the way someone who knows the format would. */
async function edit(file: string, change: (doc: Doc) => void): Promise<void> {
  const doc = JSON.parse(await readFile(file, 'utf8')) as Doc;
  change(doc);
  await writeFile(file, JSON.stringify(doc, null, 2));
}

/** Another valid canonical base64 string of the same length. */
function flipBase64(text: string): string {
  const bytes = Buffer.from(text, 'base64');
  bytes[0]! ^= 1;
  return bytes.toString('base64');
}

/** Flips one bit of the binary value in `record[field]`, keeping the JSON valid. */
function flip(record: Record<string, unknown>, field: string): void {
  record[field] = flipBase64(record[field] as string);
}

t.test('valid-JSON edits are detected and name what was altered', async (t) => {
  const { options } = setup(t);
  await smallStore(options, { kind: 'appliance-key' });
  const pristine = await readFile(options.file);
  const unlock = async () => (await LocalCredentialStore.open(options)).unlock();
  const restore = () => writeFile(options.file, pristine);
  const db1 = `credential store entry "target root@db1.example.com" ${ALTERED}`;
  const keyHeader = `credential store key header ${ALTERED}`;

  const cases: Array<[string, (doc: Doc) => void, string | RegExp]> = [
    ['ciphertext', (doc) => flip(doc.entries[0]!, 'ciphertext'), db1],
    ['tag', (doc) => flip(doc.entries[0]!, 'tag'), db1],
    ['iv', (doc) => flip(doc.entries[0]!, 'iv'), db1],
    [
      'swapped ciphertexts',
      (doc) => {
        const [a, b] = doc.entries as [Record<string, unknown>, Record<string, unknown>];
        for (const field of ['iv', 'ciphertext', 'tag']) [a[field], b[field]] = [b[field], a[field]];
      },
      db1,
    ],
    [
      'renamed user',
      (doc) => void (doc.entries[0]!.username = 'admin'),
      `credential store entry "target admin@db1.example.com" ${ALTERED}`,
    ],
    ['redirected host', (doc) => void (doc.entries[0]!.hostPattern = '*'), `credential store entry "target root@*" ${ALTERED}`],
    [
      'moved plugin secret to another scope',
      (doc) => void (doc.entries[2]!.scope = 'radius-2'),
      `credential store entry "plugin secret radius-2:[radius] secret" ${ALTERED}`,
    ],
    ['flag', (doc) => void (doc.entries[0]!.hasPrivateKey = true), db1],
    ['timestamp', (doc) => void (doc.entries[0]!.updated = '2001-01-01T00:00:00.000Z'), db1],
    ['deleted entry', (doc) => void doc.entries.splice(1, 1), /entries added, removed or reordered\): the store file was altered$/],
    ['reordered entries', (doc) => void doc.entries.reverse(), /entries added, removed or reordered/],
    ['duplicated entry id', (doc) => void doc.entries.push({ ...doc.entries[0]! }), /"target root@db1.example.com" appears twice/],
    ['MAC', (doc) => flip(doc, 'mac'), /entries added, removed or reordered/],
    ['wrapped key', (doc) => flip(doc.keyWrap, 'ciphertext'), keyHeader],
    ['key IV', (doc) => flip(doc.keyWrap, 'iv'), keyHeader],
    ['key tag', (doc) => flip(doc.keyWrap, 'tag'), keyHeader],
    ['key check', (doc) => flip(doc.keyWrap, 'keyCheck'), /appliance key file .* is corrupted or belongs to another store/],
    ['non-canonical base64', (doc) => void (doc.mac = `${doc.mac.slice(0, -1)}!`), /is corrupted: mac: expected canonical base64/],
    ['unknown field', (doc) => void (doc.entries[0]!.note = 'x'), /is corrupted: entries\.0: Unrecognized key/],
  ];
  for (const [what, change, message] of cases) {
    await edit(options.file, change);
    await t.rejects(unlock(), { name: 'CredentialStoreError', message }, what);
    await restore();
  }

  await edit(options.file, (doc) => void (doc.version = 2));
  await t.rejects(unlock(), { reason: 'unsupported', message: /has format version 2; this Gatehouse reads version 1/ });
  await restore();
  await unlock();
});

t.test('replaying an entry removed later is detected', async (t) => {
  const { options } = setup(t);
  await smallStore(options, { kind: 'appliance-key' });
  const old = JSON.parse(await readFile(options.file, 'utf8')) as Doc;
  const store = await LocalCredentialStore.open(options);
  await store.unlock();
  await store.remove('console', old.entries[0]!.id as string);
  await edit(options.file, (doc) => void doc.entries.unshift(old.entries[0]!));
  await t.rejects((await LocalCredentialStore.open(options)).unlock(), {
    reason: 'altered',
    message: /entries added, removed or reordered/,
  });
});

t.test('header edits in passphrase mode', async (t) => {
  const { options } = setup(t);
  await smallStore(options, { kind: 'passphrase', parts: ['pp'] });
  const pristine = await readFile(options.file);
  const unlock = async (parts: string[]) => (await LocalCredentialStore.open(options)).unlock(parts);

  // A different salt or cost derives a different key: indistinguishable from a wrong passphrase (documented).
  await edit(options.file, (doc) => flip(doc.keyWrap.kdf!, 'salt'));
  await t.rejects(unlock(['pp']), { reason: 'wrong-passphrase', message: 'wrong passphrase' });
  await writeFile(options.file, pristine);
  await edit(options.file, (doc) => void (doc.keyWrap.kdf!.N = 2 ** 11));
  await t.rejects(unlock(['pp']), { name: 'CredentialStoreError', reason: 'wrong-passphrase' });
  await writeFile(options.file, pristine);
  await edit(options.file, (doc) => void (doc.keyWrap.kdf!.N = 2 ** 30));
  await t.rejects(unlock(['pp']), { reason: 'corrupted', message: /kdf\.N/ });
  await writeFile(options.file, pristine);
  await edit(options.file, (doc) => void (doc.keyWrap.partCount = 2));
  await t.rejects(unlock(['pp']), { reason: 'invalid', message: /has 2 part\(s\), 1 given/ });
  await writeFile(options.file, pristine);
  await unlock(['pp']);
});

t.test('a store from another appliance is refused', async (t) => {
  const { options } = setup(t);
  await smallStore(options, { kind: 'appliance-key' });
  await t.rejects(LocalCredentialStore.open({ ...options, applianceId: 'appliance-0002' }), {
    name: 'CredentialStoreError',
    reason: 'foreign-store',
    message:
      `credential store file ${options.file} belongs to appliance "appliance-0001", ` +
      'not to this one ("appliance-0002"): it cannot be used here',
  });

  // Rewriting the id so that it opens here does not make it unlock: the id is authenticated.
  await edit(options.file, (doc) => void (doc.applianceId = 'appliance-0002'));
  const store = await LocalCredentialStore.open({ ...options, applianceId: 'appliance-0002' });
  await t.rejects(store.unlock(), { reason: 'altered', message: `credential store key header ${ALTERED}` });
});

t.test('a missing or damaged appliance key file is reported and never replaced', async (t) => {
  const { options } = setup(t);
  await smallStore(options, { kind: 'appliance-key' });
  const storeBytes = await readFile(options.file);
  const key = await readFile(options.keyFile);
  const cannot = 'the credential store cannot be unlocked';

  await rm(options.keyFile);
  const store = await LocalCredentialStore.open(options);
  await t.rejects(store.unlock(), {
    reason: 'appliance-key',
    message: `appliance key file ${options.keyFile} is missing: ${cannot}`,
  });
  await t.rejects(readFile(options.keyFile), { code: 'ENOENT' }, 'not recreated');

  await writeFile(options.keyFile, key.subarray(0, 16));
  await t.rejects(store.unlock(), { message: `appliance key file ${options.keyFile} is corrupted (16 bytes instead of 32): ${cannot}` });
  t.equal((await readFile(options.keyFile)).length, 16, 'not replaced');

  const flipped = Buffer.from(key);
  flipped[5]! ^= 0x40;
  await writeFile(options.keyFile, flipped);
  await t.rejects(store.unlock(), {
    message: `appliance key file ${options.keyFile} is corrupted or belongs to another store: ${cannot}`,
  });
  t.same(await readFile(options.keyFile), flipped, 'not replaced');
  t.same(await readFile(options.file), storeBytes, 'store file untouched');

  await writeFile(options.keyFile, key);
  await store.unlock();
  t.same(store.findTargetCredential('db1.example.com', 'root'), { password: 'pw-db1' });
});

t.test('init and passwd never replace an existing key file, even a damaged one', async (t) => {
  const { dir, options } = setup(t);
  await writeFile(options.keyFile, 'short');
  await t.rejects(LocalCredentialStore.init({ ...options, origin: 'console', method: { kind: 'appliance-key' } }), {
    reason: 'appliance-key',
    message: /is corrupted \(5 bytes instead of 32\)/,
  });
  t.equal(await readFile(options.keyFile, 'utf8'), 'short');
  await t.rejects(readFile(options.file), { code: 'ENOENT' }, 'no store written');

  const store = await LocalCredentialStore.init({ ...options, origin: 'console', method: { kind: 'passphrase', parts: ['pp'] } });
  await t.rejects(store.passwd('console', { kind: 'appliance-key' }), { name: 'CredentialStoreError', reason: 'appliance-key' });
  t.equal(await readFile(options.keyFile, 'utf8'), 'short');
  t.equal(store.mode, 'passphrase');

  // Two stores in one data directory share the appliance key.
  await rm(options.keyFile);
  await store.passwd('console', { kind: 'appliance-key' });
  const other = { ...options, file: join(dir, 'other.json') };
  await LocalCredentialStore.init({ ...other, origin: 'console', method: { kind: 'appliance-key' } });
  await (await LocalCredentialStore.open(options)).unlock();
  await (await LocalCredentialStore.open(other)).unlock();
});
