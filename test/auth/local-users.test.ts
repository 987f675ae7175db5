// Tests of first-factor checks for local users: scrypt hashes, authorized_keys parsing, key matching.
import { execFileSync } from 'node:child_process';
import { randomBytes, scryptSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import ssh2 from 'ssh2';
import t from 'tap';
import {
  hashPassword,
  LocalUserDirectory,
  parseAuthorizedKey,
  verifyPassword,
  type ParsedAuthorizedKey,
} from '../../src/auth/local-users.js';
import { generateEd25519Key } from '../../src/gateway/ssh/host-key.js';

const { utils } = ssh2;

/** Builds an encoded hash with chosen (cheap) parameters, the way another implementation might. */
function encodeWith(password: string, ln: number, r: number, p: number, keyBytes = 32): string {
  const salt = randomBytes(16);
  const hash = scryptSync(password, salt, keyBytes, { N: 2 ** ln, r, p, maxmem: 256 * 1024 * 1024 });
  const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '');
  return `$scrypt$ln=${ln},r=${r},p=${p}$${b64(salt)}$${b64(hash)}`;
}

function mustParse(line: string): ParsedAuthorizedKey {
  const parsed = parseAuthorizedKey(line);
  if (parsed instanceof Error) throw parsed;
  return parsed;
}

function keyPair(type: 'ed25519' | 'rsa' | 'ecdsa') {
  const pair =
    type === 'rsa'
      ? utils.generateKeyPairSync('rsa', { bits: 2048, comment: 'alice@laptop' })
      : type === 'ecdsa'
        ? utils.generateKeyPairSync('ecdsa', { bits: 256, comment: 'alice@laptop' })
        : generateEd25519Key({ comment: 'alice@laptop' });
  const priv = utils.parseKey(pair.private);
  if (priv instanceof Error) throw priv;
  return { publicLine: pair.public, blob: mustParse(pair.public).blob, priv, privateText: pair.private };
}

t.test('password hashing', async (t) => {
  t.test('round trip and self-describing format', async (t) => {
    const encoded = await hashPassword('correct horse');
    t.match(encoded, /^\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    t.equal(await verifyPassword('correct horse', encoded), true);
    t.equal(await verifyPassword('correct horsE', encoded), false);
    t.equal(await verifyPassword('', encoded), false);
  });

  t.test('salts are random', async (t) => {
    t.not(await hashPassword('same'), await hashPassword('same'));
  });

  t.test('unicode and empty passwords', async (t) => {
    const encoded = await hashPassword('pässwörd 🔑');
    t.equal(await verifyPassword('pässwörd 🔑', encoded), true);
    t.equal(await verifyPassword('', await hashPassword('')), true);
  });

  t.test('accepts other in-bounds parameters and key lengths', async (t) => {
    t.equal(await verifyPassword('pw', encodeWith('pw', 10, 1, 1)), true);
    t.equal(await verifyPassword('pw', encodeWith('pw', 11, 2, 3, 64)), true);
    t.equal(await verifyPassword('nope', encodeWith('pw', 10, 1, 1)), false);
  });

  t.test('refuses out-of-bounds parameters without computing them', async (t) => {
    const valid = encodeWith('pw', 10, 1, 1);
    const withParams = (params: string) => valid.replace('ln=10,r=1,p=1', params);
    for (const params of [
      'ln=9,r=1,p=1',
      'ln=21,r=1,p=1',
      'ln=99,r=1,p=1',
      'ln=10,r=0,p=1',
      'ln=10,r=33,p=1',
      'ln=10,r=1,p=0',
      'ln=10,r=1,p=17',
      'ln=20,r=32,p=1', // each in bounds, but 4 GiB together
      'ln=010,r=1,p=1',
      'ln=10,p=1,r=1',
    ]) {
      const started = Date.now();
      t.equal(await verifyPassword('pw', withParams(params)), false, params);
      t.ok(Date.now() - started < 200, `${params} refused quickly`);
    }
  });

  t.test('refuses malformed encodings', async (t) => {
    const valid = encodeWith('pw', 10, 1, 1);
    const [, , params, salt, hash] = valid.split('$');
    const shortKey = encodeWith('pw', 10, 1, 1, 16);
    for (const encoded of [
      '',
      '$scrypt$',
      'pw',
      valid.slice(0, -1) + '$',
      `$argon2id$${params}$${salt}$${hash}`,
      `$scrypt$${params}$${salt}$${hash}$`,
      `$scrypt$${params}$${salt}`,
      `$scrypt$${params}$${salt}=$${hash}`,
      `$scrypt$${params}$${salt}$${hash}==`,
      `$scrypt$${params}$${salt}$${hash!.replace(/.$/, '-')}`,
      `$scrypt$${params}$$${hash}`,
      `$scrypt$${params}$QUJD$${hash}`, // 3-byte salt
      ` ${valid}`,
      `${valid}\n`,
      shortKey, // 16-byte key
    ]) {
      t.equal(await verifyPassword('pw', encoded), false, JSON.stringify(encoded));
    }
  });

  t.test('arbitrary strings never throw and never verify', async (t) => {
    const scryptish = fc
      .tuple(fc.string(), fc.string(), fc.string(), fc.string())
      .map(([a, b, c, d]) => `$scrypt$${a}$${b}$${c}$${d}`);
    await t.resolves(async () => {
      await fc.assert(
        fc.asyncProperty(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), scryptish), fc.string(), async (encoded, pw) => {
          return (await verifyPassword(pw, encoded)) === false;
        }),
        { numRuns: 500 },
      );
    }, 'property held');
  });

  t.test('non-strings are programmer errors', async (t) => {
    await t.rejects(hashPassword(undefined as unknown as string), TypeError);
    await t.rejects(verifyPassword('pw', null as unknown as string), TypeError);
  });
});

t.test('parseAuthorizedKey', async (t) => {
  t.test('parses generated keys with their comments', async (t) => {
    for (const type of ['ed25519', 'rsa', 'ecdsa'] as const) {
      const { publicLine } = keyPair(type);
      const parsed = mustParse(`  ${publicLine}  `);
      t.equal(parsed.type, publicLine.split(' ')[0], type);
      t.equal(parsed.comment, 'alice@laptop');
      t.same(parsed.blob, Buffer.from(publicLine.split(' ')[1]!, 'base64'));
    }
    const { publicLine } = keyPair('ed25519');
    const [type, data] = publicLine.split(' ');
    t.equal(mustParse(`${type} ${data}`).comment, '');
    t.equal(mustParse(`${type} ${data} two words`).comment, 'two words');
  });

  t.test('refuses options, unsupported types and garbage', async (t) => {
    const { publicLine } = keyPair('ed25519');
    const [, data] = publicLine.split(' ');
    const rsaData = keyPair('rsa').publicLine.split(' ')[1];
    const cases: [string, RegExp][] = [
      [`from="10.0.0.1" ${publicLine}`, /options are not supported/],
      [`no-pty ${publicLine}`, /options are not supported/],
      [`command="/bin/true",no-pty ${publicLine}`, /options are not supported/],
      [`ssh-dss ${data}`, /unsupported key type "ssh-dss"/],
      [`ssh-ed25519-cert-v01@openssh.com ${data}`, /unsupported key type/],
      [`sk-ssh-ed25519@openssh.com ${data}`, /unsupported key type/],
      ['', /empty or comment/],
      ['# ssh-ed25519 AAAA', /empty or comment/],
      ['ssh-ed25519', /malformed ssh-ed25519 key/],
      ['ssh-ed25519 not*base64', /malformed ssh-ed25519 key/],
      [`ssh-ed25519 ${Buffer.from('garbage').toString('base64')}`, /malformed|does not match/],
      [`ssh-ed25519 ${rsaData}`, /malformed|does not match/],
      [`ssh-rsa ${data}`, /malformed|does not match/],
      ['-----BEGIN OPENSSH PRIVATE KEY-----', /options are not supported/],
    ];
    for (const [line, message] of cases) {
      const parsed = parseAuthorizedKey(line);
      t.type(parsed, Error, line);
      t.match((parsed as Error).message, message, line);
    }
  });

  t.test('arbitrary lines never throw', async (t) => {
    t.doesNotThrow(() => {
      fc.assert(
        fc.property(fc.string(), (line) => {
          parseAuthorizedKey(line);
          parseAuthorizedKey(`ssh-ed25519 ${line}`);
        }),
      );
    }, 'property held');
  });
});

t.test('LocalUserDirectory', async (t) => {
  const aliceHash = await hashPassword('alice-pw');
  const ed = keyPair('ed25519');
  const rsa = keyPair('rsa');
  const ecdsa = keyPair('ecdsa');
  const other = keyPair('ed25519');
  const dir = new LocalUserDirectory([
    { name: 'alice', passwordHash: aliceHash, authorizedKeys: [ed.publicLine, rsa.publicLine, ecdsa.publicLine] },
    { name: 'bob', authorizedKeys: [other.publicLine] },
  ]);

  t.test('has', async (t) => {
    t.equal(dir.has('alice'), true);
    t.equal(dir.has('bob'), true);
    t.equal(dir.has('carol'), false);
    t.equal(dir.has('__proto__'), false);
    t.equal(dir.has('Alice'), false);
  });

  t.test('checkPassword', async (t) => {
    t.same(await dir.checkPassword('alice', 'alice-pw'), { ok: true });
    t.same(await dir.checkPassword('alice', 'wrong'), { ok: false, reason: 'wrong-password' });
    t.same(await dir.checkPassword('bob', 'anything'), { ok: false, reason: 'no-password-set' });
    t.same(await dir.checkPassword('carol', 'alice-pw'), { ok: false, reason: 'unknown-user' });
    t.same(await dir.checkPassword('constructor', 'x'), { ok: false, reason: 'unknown-user' });
  });

  t.test('unknown users cost about as much as known ones', async (t) => {
    const time = async (name: string) => {
      const started = process.hrtime.bigint();
      await dir.checkPassword(name, 'wrong');
      return Number(process.hrtime.bigint() - started) / 1e6;
    };
    await time('carol'); // the dummy hash may still be warming up
    const known = Math.min(await time('alice'), await time('alice'), await time('alice'));
    const unknown = Math.min(await time('carol'), await time('carol'), await time('carol'));
    const noPassword = Math.min(await time('bob'), await time('bob'), await time('bob'));
    t.ok(unknown > known * 0.4 && unknown < known * 2.5, `unknown ${unknown}ms vs known ${known}ms`);
    t.ok(noPassword > known * 0.4 && noPassword < known * 2.5, `no password ${noPassword}ms vs known ${known}ms`);
  });

  t.test('findKey', async (t) => {
    t.equal(dir.findKey('alice', { algo: 'ssh-ed25519', data: ed.blob }), true);
    t.equal(dir.findKey('alice', { algo: 'ssh-rsa', data: rsa.blob }), true);
    t.equal(dir.findKey('alice', { algo: 'rsa-sha2-256', data: rsa.blob }), true);
    t.equal(dir.findKey('alice', { algo: 'rsa-sha2-512', data: rsa.blob }), true);
    t.equal(dir.findKey('alice', { algo: 'ecdsa-sha2-nistp256', data: ecdsa.blob }), true);
    t.equal(dir.findKey('alice', { algo: 'ssh-ed25519', data: other.blob }), false, "bob's key");
    t.equal(dir.findKey('bob', { algo: 'ssh-ed25519', data: other.blob }), true);
    t.equal(dir.findKey('bob', { algo: 'ssh-ed25519', data: ed.blob }), false, "alice's key");
    t.equal(dir.findKey('carol', { algo: 'ssh-ed25519', data: ed.blob }), false, 'unknown user');
    t.equal(dir.findKey('alice', { algo: 'ssh-rsa', data: ed.blob }), false, 'algorithm mismatch');
    t.equal(dir.findKey('alice', { algo: 'rsa-sha2-512', data: ed.blob }), false, 'algorithm mismatch');
    t.equal(dir.findKey('alice', { algo: 'ssh-ed25519', data: rsa.blob }), false, 'algorithm mismatch');
    t.equal(dir.findKey('alice', { algo: 'ssh-ed25519', data: ed.blob.subarray(0, -1) }), false, 'truncated');
    t.equal(dir.findKey('alice', { algo: 'ssh-ed25519', data: Buffer.alloc(0) }), false, 'empty');
  });

  t.test('verifyKeySignature', async (t) => {
    const blob = randomBytes(64); // stands in for session id + userauth request
    const edSig = ed.priv.sign(blob);
    t.equal(dir.verifyKeySignature('alice', { algo: 'ssh-ed25519', data: ed.blob }, blob, edSig), true);
    t.equal(dir.verifyKeySignature('alice', { algo: 'ssh-ed25519', data: ed.blob }, randomBytes(64), edSig), false);
    t.equal(dir.verifyKeySignature('alice', { algo: 'ssh-ed25519', data: ed.blob }, blob, Buffer.alloc(3)), false);
    t.equal(dir.verifyKeySignature('bob', { algo: 'ssh-ed25519', data: ed.blob }, blob, edSig), false, 'not bob key');
    t.equal(dir.verifyKeySignature('carol', { algo: 'ssh-ed25519', data: ed.blob }, blob, edSig), false);
    const forged = other.priv.sign(blob);
    t.equal(dir.verifyKeySignature('alice', { algo: 'ssh-ed25519', data: ed.blob }, blob, forged), false, 'other key');

    const rsa512 = rsa.priv.sign(blob, 'sha512');
    const rsaKey = { algo: 'ssh-rsa', data: rsa.blob };
    t.equal(dir.verifyKeySignature('alice', rsaKey, blob, rsa512, 'sha512'), true);
    t.equal(dir.verifyKeySignature('alice', { algo: 'rsa-sha2-512', data: rsa.blob }, blob, rsa512), true);
    t.equal(dir.verifyKeySignature('alice', rsaKey, blob, rsa512, 'sha256'), false, 'hash mismatch');
    t.equal(dir.verifyKeySignature('alice', rsaKey, blob, rsa.priv.sign(blob, 'sha256'), 'sha256'), true);
    t.equal(dir.verifyKeySignature('alice', rsaKey, blob, rsa.priv.sign(blob, 'sha1')), false, 'SHA-1 refused');
    t.equal(dir.verifyKeySignature('alice', rsaKey, blob, rsa.priv.sign(blob, 'sha1'), 'sha1'), false);

    const ecSig = ecdsa.priv.sign(blob);
    const ecKey = { algo: 'ecdsa-sha2-nistp256', data: ecdsa.blob };
    t.equal(dir.verifyKeySignature('alice', ecKey, blob, ecSig), true);
    t.equal(dir.verifyKeySignature('alice', ecKey, randomBytes(64), ecSig), false);
  });

  t.test('constructor rejects bad configuration', async (t) => {
    t.throws(() => new LocalUserDirectory([{ name: 'dave', authorizedKeys: [ed.publicLine, 'no-pty ' + ed.publicLine] }]), {
      message: /user "dave": authorized key 1: .*options are not supported/,
    });
    t.throws(() => new LocalUserDirectory([{ name: 'dave', authorizedKeys: ['ssh-ed25519 AAAA'] }]), {
      message: /user "dave": authorized key 0: malformed/,
    });
    t.throws(() => new LocalUserDirectory([{ name: 'dave', passwordHash: '$scrypt$ln=99,r=8,p=1$AAAA$BBBB' }]), {
      message: /user "dave": password hash/,
    });
    t.throws(() => new LocalUserDirectory([{ name: 'dave' }, { name: 'dave' }]), { message: /duplicate local user "dave"/ });
    t.doesNotThrow(() => new LocalUserDirectory([]));
  });
});

t.test('keys made by ssh-keygen', async (t) => {
  const dir = t.testdir({});
  const generated = (['ed25519', 'rsa', 'ecdsa'] as const).map((type) => {
    const file = join(dir, `id_${type}`);
    const bits = type === 'rsa' ? ['-b', '3072'] : type === 'ecdsa' ? ['-b', '384'] : [];
    execFileSync('ssh-keygen', ['-q', '-t', type, ...bits, '-N', '', '-C', `${type}@keygen`, '-f', file]);
    const priv = utils.parseKey(readFileSync(file));
    if (priv instanceof Error) throw priv;
    return { type, line: readFileSync(`${file}.pub`, 'utf8'), priv };
  });
  const users = new LocalUserDirectory([{ name: 'erin', authorizedKeys: generated.map((g) => g.line) }]);

  for (const { type, line, priv } of generated) {
    const parsed = mustParse(line);
    t.equal(parsed.comment, `${type}@keygen`);
    t.same(parsed.blob, Buffer.from(line.split(' ')[1]!, 'base64'), `${type}: blob is the keygen blob`);
    const algo = type === 'rsa' ? 'rsa-sha2-256' : parsed.type;
    const key = { algo, data: parsed.blob };
    t.equal(users.findKey('erin', key), true, `${type} found`);
    const blob = randomBytes(48);
    const sig = priv.sign(blob, type === 'rsa' ? 'sha256' : undefined);
    t.equal(users.verifyKeySignature('erin', key, blob, sig), true, `${type} signature`);
    t.equal(users.verifyKeySignature('erin', key, Buffer.concat([blob, Buffer.of(0)]), sig), false, `${type} tampered`);
  }
});

t.test('over a real ssh2 connection', async (t) => {
  const hostKey = generateEd25519Key().private;
  const clientKeys = { ed25519: keyPair('ed25519'), rsa: keyPair('rsa') };
  const users = new LocalUserDirectory([
    { name: 'frank', authorizedKeys: [clientKeys.ed25519.publicLine, clientKeys.rsa.publicLine] },
  ]);
  const stranger = generateEd25519Key().private;

  const server = new ssh2.Server({ hostKeys: [hostKey] }, (client) => {
    client.on('error', () => {});
    client.on('authentication', (ctx) => {
      if (ctx.method !== 'publickey') return ctx.reject(['publickey']);
      if (!users.findKey(ctx.username, ctx.key)) return ctx.reject(['publickey']);
      if (ctx.signature === undefined || ctx.blob === undefined) return ctx.accept();
      const ok = users.verifyKeySignature(ctx.username, ctx.key, ctx.blob, ctx.signature, ctx.hashAlgo);
      return ok ? ctx.accept() : ctx.reject(['publickey']);
    });
    client.on('ready', () => client.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const { port } = server.address() as { port: number };

  const login = (username: string, privateKey: string | Buffer) =>
    new Promise<boolean>((resolve) => {
      const conn = new ssh2.Client();
      conn.on('ready', () => (conn.end(), resolve(true)));
      conn.on('error', () => resolve(false));
      conn.connect({ host: '127.0.0.1', port, username, privateKey });
    });

  t.equal(await login('frank', clientKeys.ed25519.privateText), true, 'ed25519');
  t.equal(await login('frank', clientKeys.rsa.privateText), true, 'rsa');
  t.equal(await login('frank', stranger), false, 'unknown key');
  t.equal(await login('grace', clientKeys.ed25519.privateText), false, 'unknown user');
});
