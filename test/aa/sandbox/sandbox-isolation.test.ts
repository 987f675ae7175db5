// What a plugin can reach from inside its worker: its own directories, its own secrets, the
// network; not the gateway's environment, files, processes or other plugins' state.
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import type { HookResult, PluginSandboxOptions } from '../../../src/aa/sandbox/index.js';
import { authenticateArgs, fixtureDir } from './helpers/hook-calls.js';
import { captureLog, loadSandbox } from './helpers/plain-sandbox.js';

const dir = t.testdir({});
const { PluginSandbox } = await loadSandbox(join(dir, 'build'));
const { log, lines } = captureLog();

// Set before any worker starts: a worker that inherited the gateway's environment would see it.
process.env.GATEHOUSE_TEST_SECRET = 'hunter2-from-the-gateway-env';
t.teardown(() => void delete process.env.GATEHOUSE_TEST_SECRET);

const options = (configName: string, secret: PluginSandboxOptions['secret'] = async () => undefined): PluginSandboxOptions => ({
  configName,
  pluginName: 'scripted',
  pluginDir: fixtureDir('scripted'),
  entryPoint: 'main.mjs',
  configText: '',
  // Names that share a prefix: the permission check must not treat "alpha" as a prefix of "alpha-beta".
  stateDir: join(dir, 'plugin-state', configName),
  ephemeralDir: join(dir, 'ephemeral', configName),
  poolSize: 1,
  secret,
  log,
});

function metadata(result: HookResult): Record<string, unknown> {
  if (result.failure || result.additional_metadata === undefined) throw new Error(`no metadata in ${JSON.stringify(result)}`);
  return JSON.parse(result.additional_metadata) as Record<string, unknown>;
}

t.test('the worker environment holds nothing of the gateway', async (t) => {
  const sandbox = await PluginSandbox.start(options('alpha'));
  t.teardown(() => sandbox.close());
  const probed = metadata(await sandbox.call('authenticate', authenticateArgs({ do: 'probe', probe: { names: ['env', 'readGatewayEnviron'] } })));
  t.equal(probed.env, 'ok: {"PATH":"/usr/bin:/bin"}');
  t.equal(probed.readGatewayEnviron, 'ERR_ACCESS_DENIED', "the gateway's /proc/<pid>/environ is out of reach too");
});

t.test('the permission model confines files, processes and threads; signals and Unix sockets are closed too', async (t) => {
  const otherStateDir = join(dir, 'plugin-state', 'alpha-beta');
  await mkdir(otherStateDir, { recursive: true });
  await writeFile(join(otherStateDir, 'token'), 'the other plugin state');
  const unixSocket = join(dir, 'gateway-control.sock');
  const tcp = await listen(createServer((socket) => socket.end()), 0);
  const unix = await listen(createServer((socket) => socket.end()), unixSocket);
  t.teardown(() => Promise.all([tcp, unix].map((server) => new Promise((resolve) => server.close(resolve)))));
  const tcpAddress = tcp.address();
  const tcpPort = typeof tcpAddress === 'object' && tcpAddress ? tcpAddress.port : 0;

  const sandbox = await PluginSandbox.start(options('alpha'));
  t.teardown(() => sandbox.close());
  const denied = [
    'readShadow', 'readPasswd', 'readOtherState', 'listOtherState', 'writeOtherState', 'writePluginDir', 'writeTmp',
    'symlinkOut', 'spawn', 'workerThread', 'importOutside', 'signalGateway', 'unixSocket',
  ];
  const probed = metadata(
    await sandbox.call('authenticate', authenticateArgs({
      do: 'probe',
      probe: {
        names: [...denied, 'writeOwnState', 'tcp'],
        otherStateDir,
        otherStateFile: join(otherStateDir, 'token'),
        outsideModule: pathToFileURL(join(fixtureDir('no-plugin'), 'main.mjs')).href,
        unixSocket,
        tcpPort,
      },
    })),
  );
  for (const name of denied) t.equal(probed[name], 'ERR_ACCESS_DENIED', name);
  t.equal(probed.writeOwnState, 'ok: undefined', 'its own state directory is writable');
  // Not confined, by design: plugins reach their backends over the network.
  t.equal(probed.tcp, 'ok: connected', 'TCP stays open');
  t.notOk(existsSync(join(otherStateDir, 'planted')));
  t.notOk(existsSync('/tmp/gatehouse-sandbox-planted'));
  t.notOk(existsSync(join(fixtureDir('scripted'), 'planted')));
});

t.test('state persists across restarts; the ephemeral directory is emptied at each start', async (t) => {
  const counts: unknown[] = [];
  for (let run = 0; run < 2; run++) {
    const sandbox = await PluginSandbox.start(options('stateful'));
    const state = metadata(await sandbox.call('authenticate', authenticateArgs({ do: 'state' })));
    counts.push(state.count);
    t.strictSame(state.ephemeral, ['scratch'], 'only what this run wrote');
    await sandbox.close();
    t.ok(existsSync(join(dir, 'ephemeral/stateful/scratch')));
  }
  t.strictSame(counts, [1, 2]);
});

t.test("a plugin gets its own configuration's secrets through the host, and only those", async (t) => {
  const stores: Record<string, Record<string, string>> = {
    alpha: { 'duo/skey': 'alpha-skey', 'duo/ikey': 'alpha-ikey' },
    beta: { 'duo/skey': 'beta-skey' },
  };
  const asked: string[] = [];
  // What the gateway would build from each configuration's [credential_store]: a lookup scoped to it.
  const scopedTo = (name: string): PluginSandboxOptions['secret'] => async (section, option) => {
    asked.push(`${name}:${section}/${option}`);
    if (section === 'broken') throw new Error('store is locked: internal detail');
    return stores[name][`${section}/${option}`];
  };
  const alpha = await PluginSandbox.start(options('alpha', scopedTo('alpha')));
  const beta = await PluginSandbox.start(options('beta', scopedTo('beta')));
  t.teardown(() => Promise.all([alpha.close(), beta.close()]));
  const ask = [['duo', 'skey'], ['duo', 'ikey'], ['radius', 'secret']];
  t.strictSame(metadata(await alpha.call('authenticate', authenticateArgs({ do: 'secret', ask }))), {
    'duo/skey': 'alpha-skey',
    'duo/ikey': 'alpha-ikey',
    'radius/secret': null,
  });
  t.strictSame(metadata(await beta.call('authenticate', authenticateArgs({ do: 'secret', ask }))), {
    'duo/skey': 'beta-skey',
    'duo/ikey': null,
    'radius/secret': null,
  });
  t.strictSame(asked, ['alpha:duo/skey', 'alpha:duo/ikey', 'alpha:radius/secret', 'beta:duo/skey', 'beta:duo/ikey', 'beta:radius/secret']);

  const refused = metadata(await alpha.call('authenticate', authenticateArgs({ do: 'secret', ask: [['broken', 'x'], ['s'.repeat(300), 'x']] })));
  t.strictSame(refused, {
    'broken/x': 'rejected: the credential store could not answer',
    [`${'s'.repeat(300)}/x`]: 'rejected: secret request refused',
  });
  t.match(lines.find((line) => line.msg === 'credential store lookup for the plugin failed'), { plugin: 'scripted', aaConfig: 'alpha', section: 'broken' });
  t.notOk(lines.some((line) => JSON.stringify(line).includes('alpha-skey')), 'no secret value in the log');
});

t.test('with the names of its entries, the worker answers lookups of other names itself; without them every lookup asks', async (t) => {
  const asked: string[] = [];
  let names: [string, string][] | undefined = [['duo', 'skey']];
  const sandbox = await PluginSandbox.start({
    ...options('gamma', async (section, option) => {
      asked.push(`${section}/${option}`);
      return section === 'duo' && option === 'skey' ? 'gamma-skey' : undefined;
    }),
    secretNames: () => names,
  });
  t.teardown(() => sandbox.close());
  const ask = [['duo', 'skey'], ['duo', 'ikey'], ['DUO', 'skey'], ['totp', 'digits']];
  const expected = { 'duo/skey': 'gamma-skey', 'duo/ikey': null, 'DUO/skey': null, 'totp/digits': null };
  t.strictSame(metadata(await sandbox.call('authenticate', authenticateArgs({ do: 'secret', ask }))), expected);
  t.strictSame(asked, ['duo/skey'], 'only the name the store has went to the gateway (names compare exactly)');
  names = undefined;
  asked.length = 0;
  t.strictSame(metadata(await sandbox.call('authenticate', authenticateArgs({ do: 'secret', ask }))), expected);
  t.strictSame(asked, ['duo/skey', 'duo/ikey', 'DUO/skey', 'totp/digits'], 'names unknown (a locked store): every lookup asks');
});

t.test('LDAP lookups reach the gateway’s directories, bounded; without directories they fail', async (t) => {
  const asked: string[] = [];
  const ldap = {
    userGroups: async (server: string, user: string) => {
      asked.push(`groups ${server}/${user}`);
      if (server === 'down') throw new Error('ldaps://dc1: connect ETIMEDOUT');
      return user === 'many' ? Array.from({ length: 20_000 }, (_, i) => `g${i}`) : user === 'alice' ? ['ops', 'x'.repeat(300)] : undefined;
    },
    userAttribute: async (server: string, user: string, attribute: string) => {
      asked.push(`attribute ${server}/${user}/${attribute}`);
      return attribute === 'huge' ? 'x'.repeat(100_000) : `${user}@example.com`;
    },
  };
  const sandbox = await PluginSandbox.start({ ...options('delta'), ldap });
  const without = await PluginSandbox.start(options('epsilon'));
  t.teardown(() => Promise.all([sandbox.close(), without.close()]));
  const ask = [['corp', 'alice'], ['corp', 'nobody'], ['corp', 'alice', 'mail'], ['corp', 'alice', 'huge'], ['down', 'alice'], ['corp', 'u'.repeat(300)]];
  const { answers } = metadata(await sandbox.call('authenticate', authenticateArgs({ do: 'ldap', ask }))) as { answers: unknown[] };
  t.strictSame(answers, [['ops'], null, 'alice@example.com', null, 'rejected: the LDAP server could not answer', 'rejected: ldap-groups request refused'], 'overlong names and values are dropped; failures are generic');
  t.notOk(asked.some((line) => line.includes('u'.repeat(300))), 'an overlong argument never reaches the directory');
  const many = metadata(await sandbox.call('authenticate', authenticateArgs({ do: 'ldap', ask: [['corp', 'many']] }))) as { answers: unknown[] };
  t.strictSame(many.answers, [{ count: 10_000 }], 'at most 10,000 groups');
  t.match(lines.find((line) => line.msg === 'LDAP lookup for the plugin failed'), { aaConfig: 'delta', ldapServer: 'down', user: 'alice' });
  const none = metadata(await without.call('authenticate', authenticateArgs({ do: 'ldap', ask: [['corp', 'alice']] }))) as { answers: unknown[] };
  t.strictSame(none.answers, ['rejected: the LDAP server could not answer']);
});

function listen(server: Server, where: number | string): Promise<Server> {
  return new Promise((resolve) => server.listen(where, () => resolve(server)));
}
