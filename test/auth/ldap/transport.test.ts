// How LdapDirectory reaches its servers, against a real slapd and hostile TCP listeners: StartTLS
// and ldaps with a CA bundle and host name checks, failover, timeouts, the connection pool.
import tap from 'tap';
import net from 'node:net';
import { LdapDirectory, LdapUnavailableError, type LdapDirectoryOptions } from '../../../src/auth/ldap/index.js';
import { connect, disconnect } from '../../../src/auth/ldap/connection.js';
import type { LdapServerConfig } from '../../../src/config/schema.js';
import { createLogger } from '../../../src/log/logger.js';
import { freePort } from '../../e2e/helpers/ports.js';
import { errorOf } from '../../helpers/errors.js';
import { startSlapd } from '../../helpers/slapd.js';
import { PASSWORDS, SERVICE_PASSWORD, ldapSettings, testTree, userDn } from './tree.js';

const slapd = await startSlapd(tap);
await slapd.add(testTree(slapd));

const warnings: string[] = [];
const log = createLogger('warn', { write: (line: string) => void warnings.push(line) });

function directory(overrides: Partial<LdapServerConfig>, options: Partial<LdapDirectoryOptions> = {}): LdapDirectory {
  const ldap = new LdapDirectory(ldapSettings(slapd, overrides), { bindPassword: async () => SERVICE_PASSWORD, log, ...options });
  tap.teardown(() => ldap.close());
  return ldap;
}

const aliceLogin = { ok: true, dn: userDn(slapd, 'alice'), groups: ['admins', 'ops', 'Admins, EMEA'] };
const port = (url: string): number => Number(new URL(url).port);

/** A TCP listener on 127.0.0.1 that does `onSocket` with each connection; counts and tracks them. */
async function listener(onSocket: (socket: net.Socket) => void): Promise<{ url: string; accepted: () => number; open: () => number; cut: () => void; stall: () => void }> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket)).on('error', () => undefined);
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const cut = (): void => sockets.forEach((socket) => socket.destroy());
  // Stops reading what the open connections send: requests on them go unanswered.
  const stall = (): void => sockets.forEach((socket) => socket.pause());
  tap.teardown(() => {
    cut();
    server.close();
  });
  return { url: `ldap://127.0.0.1:${(server.address() as net.AddressInfo).port}`, accepted: () => accepted, open: () => sockets.size, cut, stall };
}

/** Accepts and never answers. */
const silent = (): ReturnType<typeof listener> => listener(() => undefined);
/** Forwards to slapd's plain port. */
const proxy = (): ReturnType<typeof listener> =>
  listener((socket) => {
    const upstream = net.connect(port(slapd.url), '127.0.0.1');
    upstream.on('error', () => socket.destroy()).on('close', () => socket.destroy());
    socket.on('close', () => upstream.destroy());
    socket.pipe(upstream).pipe(socket);
  });

async function eventually(condition: () => boolean): Promise<boolean> {
  for (let i = 0; i < 100 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  return condition();
}

const sortedGroups = <T extends { ok: boolean; groups?: string[] }>(login: T): T => (login.groups ? { ...login, groups: [...login.groups].sort() } : login);

tap.test('StartTLS and ldaps with the test CA; the certificate names 127.0.0.1 and localhost', async (t) => {
  const localhost = slapd.url.replace('127.0.0.1', 'localhost');
  const cases: [string, Partial<LdapServerConfig>][] = [
    ['StartTLS', { urls: [slapd.url], startTls: true, caFile: slapd.caFile }],
    ['StartTLS to localhost', { urls: [localhost], startTls: true, caFile: slapd.caFile }],
    ['ldaps', { urls: [slapd.ldapsUrl], caFile: slapd.caFile }],
  ];
  for (const [what, settings] of cases) {
    t.same(sortedGroups(await directory(settings).authenticate('alice', PASSWORDS.alice)), sortedGroups(aliceLogin), what);
  }
});

tap.test('certificates: an unknown CA or a host name the certificate lacks is no server', async (t) => {
  const unknownCa = await errorOf(directory({ urls: [slapd.ldapsUrl] }).authenticate('alice', PASSWORDS.alice));
  t.type(unknownCa, LdapUnavailableError);
  t.match(unknownCa.message, /ldaps:\/\/127\.0\.0\.1:\d+: certificate not accepted: .*(self-signed|issuer)/);

  const startTlsUnknownCa = await errorOf(directory({ startTls: true }).authenticate('alice', PASSWORDS.alice));
  t.match(startTlsUnknownCa.message, /certificate not accepted/);

  const mismatch = await errorOf(directory({ urls: [slapd.mismatchLdapsUrl], caFile: slapd.caFile }).authenticate('alice', PASSWORDS.alice));
  t.type(mismatch, LdapUnavailableError);
  t.match(mismatch.message, /ldaps:\/\/127\.0\.0\.2:\d+: certificate not accepted: .*127\.0\.0\.2 is not in the cert's list/);

  // slapd hangs up on a TLS ClientHello sent to its plain port.
  const plainPort = slapd.url.replace('ldap:', 'ldaps:');
  const noTls = await errorOf(directory({ urls: [plainPort], caFile: slapd.caFile, timeoutSeconds: 1 }).authenticate('alice', PASSWORDS.alice));
  t.equal(noTls.message, `LDAP server "corp" unavailable: ${plainPort}: connection closed during the TLS handshake`);

  const chatty = await listener((socket) => socket.end('HTTP/1.0 400 Bad Request\r\n\r\n'));
  const garbled = await errorOf(directory({ urls: [chatty.url.replace('ldap:', 'ldaps:')], caFile: slapd.caFile }).authenticate('alice', PASSWORDS.alice));
  t.match(garbled.message, /: TLS handshake failed: .*wrong version number/);
});

tap.test('failover: a dead URL first, then a live one; the live one stays preferred', async (t) => {
  const refused = `ldap://127.0.0.1:${await freePort()}`;
  t.same(sortedGroups(await directory({ urls: [refused, slapd.url] }).authenticate('alice', PASSWORDS.alice)), sortedGroups(aliceLogin), 'refused, then slapd');

  const hangUp = await listener((socket) => socket.destroy());
  const ldap = directory({ urls: [hangUp.url, slapd.url] });
  const from = warnings.length;
  t.same(sortedGroups(await ldap.authenticate('alice', PASSWORDS.alice)), sortedGroups(aliceLogin), 'a server that hangs up, then slapd');
  t.match(JSON.parse(warnings[from] as string), { msg: `LDAP failover: now using ${slapd.url}`, failures: [{ url: hangUp.url, reason: 'connection closed by the server' }] });
  const tried = hangUp.accepted();
  await ldap.authenticate('bob', PASSWORDS.bob);
  await ldap.userAttribute('alice', 'mail');
  t.equal(hangUp.accepted(), tried, 'the first URL is not tried again while slapd answers');
});

tap.test('every URL dead: LdapUnavailableError naming each URL and why', async (t) => {
  const [a, b] = [`ldap://127.0.0.1:${await freePort()}`, `ldap://127.0.0.1:${await freePort()}`];
  const err = await errorOf(directory({ urls: [a, b] }).authenticate('alice', PASSWORDS.alice));
  t.type(err, LdapUnavailableError);
  t.equal(err.message, `LDAP server "corp" unavailable: ${a}, ${b}: connection refused`);

  const hangUp = await listener((socket) => socket.destroy());
  const mixed = await errorOf(directory({ urls: [a, hangUp.url] }).userGroups('alice'));
  t.equal(mixed.message, `LDAP server "corp" unavailable: ${a}: connection refused; ${hangUp.url}: connection closed by the server`);
});

tap.test('timeouts: a server that accepts and never answers', async (t) => {
  const quiet = await silent();
  const quietTls = quiet.url.replace('ldap:', 'ldaps:');
  const cases: [string, Partial<LdapServerConfig>][] = [
    ['bind', { urls: [quiet.url] }],
    ['anonymous search', { urls: [quiet.url], bindDn: undefined }],
    ['StartTLS', { urls: [quiet.url], startTls: true, caFile: slapd.caFile }],
    ['ldaps handshake', { urls: [quietTls], caFile: slapd.caFile }],
  ];
  await Promise.all(
    cases.map(async ([what, settings]) => {
      const started = Date.now();
      const err = await errorOf(directory({ ...settings, timeoutSeconds: 1 }).authenticate('alice', PASSWORDS.alice));
      const elapsed = Date.now() - started;
      t.type(err, LdapUnavailableError, what);
      t.match(err.message, /: no answer within 1 s$/, what);
      t.ok(elapsed >= 900 && elapsed < 3000, `${what}: gave up after ${elapsed} ms`);
    }),
  );
  const started = Date.now();
  t.same(sortedGroups(await directory({ urls: [quiet.url, slapd.url], timeoutSeconds: 1 }).authenticate('alice', PASSWORDS.alice)), sortedGroups(aliceLogin), 'then the next URL');
  t.ok(Date.now() - started < 3000);
});

tap.test('the pool: searches share a connection, each login binds on its own, broken ones are replaced', async (t) => {
  const link = await proxy();
  const ldap = directory({ urls: [link.url] }, { poolSize: 2 });
  for (let i = 0; i < 5; i++) t.ok(await ldap.userGroups('alice'));
  t.equal(link.accepted(), 1, 'five searches, one connection');

  t.same(sortedGroups(await ldap.authenticate('alice', PASSWORDS.alice)), sortedGroups(aliceLogin));
  t.equal(link.accepted(), 2, 'the user bind had a connection of its own');
  t.ok(await eventually(() => link.open() === 1), 'and closed it');

  link.cut();
  t.equal(await ldap.userAttribute('alice', 'mail'), 'alice@example.test', 'after the server dropped the idle connection');
  t.equal(link.accepted(), 3);

  const slow = directory({ urls: [link.url], timeoutSeconds: 1 }, { poolSize: 2 });
  t.ok(await slow.userGroups('alice'));
  link.stall();
  t.ok(await slow.userGroups('alice'), 'a pooled connection that stopped answering is replaced');
  t.equal(link.accepted(), 5);

  link.cut();
  await Promise.all(Array.from({ length: 10 }, () => ldap.userGroups('bob')));
  t.ok(await eventually(() => link.open() === 2), 'ten at once, then poolSize (2) stay open');

  await ldap.close();
  t.ok(await eventually(() => link.open() === 0), 'close() closes them');
});

tap.test('a connection that dropped is not silently reopened (it would be unbound, and clear text under StartTLS)', async (t) => {
  const link = await proxy();
  const client = await connect(link.url, { startTls: false, caFile: undefined, timeoutMs: 5000 });
  t.teardown(() => disconnect(client));
  await client.search(slapd.baseDn, { scope: 'base' });
  link.cut();
  t.ok(await eventually(() => !client.isConnected));
  await t.rejects(client.search(slapd.baseDn, { scope: 'base' }), /Connection closed/);
  t.equal(link.accepted(), 1);
});
