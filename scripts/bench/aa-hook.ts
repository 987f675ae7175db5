// (d) AA plugin hook calls: the time of one `authenticate` call through a PluginSandbox, from
// `sandbox.call` to its result, in the bench process (no sshd, no root). Two plugins: a trivial one
// that only answers ACCEPT (what the sandbox itself costs: frames, socket, a fresh instance) and the
// built-in TOTP plugin as `npm run build` packages it (dist/plugins/totp-<version>.zip), installed
// through the plugin slots and run with its default.cfg, every call a real code check.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PluginSandbox, type AuthenticateArguments, type PluginSandboxOptions } from '../../src/aa/sandbox/index.js';
import { createLogger } from '../../src/log/logger.js';
import { encodeBase32 } from '../../src/plugins/totp/base32.js';
import { hotp } from '../../src/plugins/totp/hotp.js';
import type { TeardownHost } from '../../test/e2e/helpers/sshd.js';
import { installTotp } from './totp-plugin.js';

type AaPlugin = 'trivial' | 'totp';

export interface AaHookRun {
  plugin: AaPlugin;
  /** Callers issuing calls at once, each waiting for its answer before the next call. */
  callers: number;
  /** Duration of each call (ms), in completion order. */
  ms: number[];
  wallMs: number;
  /** Calls whose verdict was not ACCEPT; expected 0. */
  notAccepted: number;
  /** `context.secret` lookups per call, each a round trip from the worker to the gateway and back. */
  secretLookups: number;
}

export interface AaHookResult {
  warmup: number;
  poolSize: number;
  runs: AaHookRun[];
}

export interface AaHookSettings {
  calls: number;
  warmup: number;
  poolSize: number;
  progress(line: string): void;
}

const TRIVIAL_PLUGIN = "export class Plugin { authenticate() { return { verdict: 'ACCEPT' }; } }\n";
const SEED = new TextEncoder().encode('12345678901234567890');

export async function measureAaHooks(t: TeardownHost, settings: AaHookSettings): Promise<AaHookResult> {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-bench-aa-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const trivialDir = join(dir, 'trivial-plugin');
  await mkdir(trivialDir);
  await writeFile(join(trivialDir, 'main.js'), TRIVIAL_PLUGIN);
  const totp = await installTotp(join(dir, 'data'));
  const plugins: Record<AaPlugin, Pick<PluginSandboxOptions, 'pluginDir' | 'entryPoint' | 'configText'>> = {
    trivial: { pluginDir: trivialDir, entryPoint: 'main.js', configText: '' },
    totp: { pluginDir: totp.dir, entryPoint: totp.manifest.entryPoint, configText: totp.defaultConfig ?? '' },
  };
  const runs: AaHookRun[] = [];
  for (const plugin of ['trivial', 'totp'] as const) {
    let lookups = 0;
    // The users whose calls are under way: the names the appliance's store would have seeds for.
    const inFlight = new Set<string>();
    const sandbox = await PluginSandbox.start({
      configName: `bench-${plugin}`,
      pluginName: plugin,
      ...plugins[plugin],
      stateDir: join(dir, plugin, 'state'),
      ephemeralDir: join(dir, plugin, 'ephemeral'),
      poolSize: settings.poolSize,
      // Every user has the seed; every other option comes from the configuration text.
      secret: async (section) => {
        lookups++;
        return section === 'totp_seed' ? encodeBase32(SEED) : undefined;
      },
      secretNames: () => [...inFlight].map((name) => ['totp_seed', name]),
      // At info, as the gateway runs, but written nowhere.
      log: createLogger('info', { write: () => undefined }),
    });
    t.teardown(() => sandbox.close()); // on failure; closed below otherwise, to free the CPUs for the next plugin
    // A new user for every call: the TOTP plugin accepts each code only once per user (replay).
    let user = 0;
    const call = () => {
      const name = `bench-${user++}`;
      const args = authenticateArgs(name, hotp(SEED, Math.floor(Date.now() / 30_000), 6));
      inFlight.add(name);
      const started = performance.now();
      return sandbox.call('authenticate', args).then((result) => {
        inFlight.delete(name);
        return { ms: performance.now() - started, accepted: result.verdict === 'ACCEPT' };
      });
    };
    await run(call, settings.warmup, 1);
    for (const callers of [1, 2]) {
      settings.progress(`aa: ${plugin}, ${settings.calls} authenticate calls, ${callers} caller(s)`);
      const before = lookups;
      const result = await run(call, settings.calls, callers);
      runs.push({ plugin, callers, ...result, secretLookups: (lookups - before) / settings.calls });
    }
    await sandbox.close();
  }
  return { warmup: settings.warmup, poolSize: settings.poolSize, runs };
}

/** `calls` calls shared by `callers` loops that each wait for one answer before the next call. */
async function run(call: () => Promise<{ ms: number; accepted: boolean }>, calls: number, callers: number): Promise<Pick<AaHookRun, 'ms' | 'wallMs' | 'notAccepted'>> {
  const ms: number[] = [];
  let notAccepted = 0;
  let issued = 0;
  const caller = async (): Promise<void> => {
    while (issued < calls) {
      issued++;
      const result = await call();
      ms.push(result.ms);
      if (!result.accepted) notAccepted++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: callers }, caller));
  return { ms, wallMs: performance.now() - started, notAccepted };
}

function authenticateArgs(gatewayUser: string, otp: string): AuthenticateArguments {
  return {
    cookie: {},
    session_cookie: {},
    session_id: `session-${gatewayUser}`,
    protocol: 'ssh',
    connection_name: 'bench',
    client_ip: '127.0.0.1',
    client_port: 50022,
    client_hostname: null,
    gateway_user: gatewayUser,
    gateway_domain: null,
    server_username: 'root',
    server_domain: null,
    key_value_pairs: { otp },
  };
}
