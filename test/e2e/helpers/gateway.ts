// Starts a Gatehouse gateway in the test process on a free loopback port, with its log lines
// captured as objects so tests can assert on the real reasons and events.
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { validateConfig } from '../../../src/config/load.js';
import { startGateway, type Gateway, type GatewayOptions } from '../../../src/gateway/gateway.js';
import { AuditLog } from '../../../src/log/events/audit-log.js';
import type { AuditEntry } from '../../../src/log/events/entry.js';
import { createLogger } from '../../../src/log/logger.js';
import { dropTapSpawnHook } from '../../aa/sandbox/helpers/plain-sandbox.js';
import type { TeardownHost } from './sshd.js';

export type LogLine = Record<string, unknown> & { msg?: string };

export interface TestGateway {
  port: number;
  gateway: Gateway;
  dataDir: string;
  logs: LogLine[];
  /** The audit events the gateway reported, as its journal would receive them. */
  events: AuditEntry[];
  /** Resolves with the first log line (already written or yet to come) that matches. */
  waitForLog(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  close(): Promise<void>;
}

export interface TestGatewayConfig {
  users?: unknown[];
  policy?: Record<string, unknown>;
  rateLimit?: Record<string, unknown>;
  userLists?: unknown[];
  /** More top-level configuration: ldapServers, radiusServers, ... */
  more?: Record<string, unknown>;
  /** Makes the gateway run from dist/: plugin workers are started from the compiled worker.js. */
  aaPluginConfigurations?: unknown[];
  aaTimeoutMs?: number;
}

const testRoots = new WeakMap<object, string>();

/**
 * A new, empty directory (a gateway's data, a test file) under the test's testdir. Calling t.testdir() again
 * would empty the whole testdir under a gateway that is still running.
 */
export function freshTestDir(t: { testdir(): string }): string {
  let root = testRoots.get(t);
  if (root === undefined) {
    root = t.testdir();
    testRoots.set(t, root);
  }
  return mkdtempSync(join(root, 'd-'));
}

export async function startTestGateway(t: TeardownHost & { testdir(): string }, config: TestGatewayConfig = {}, dataDir = freshTestDir(t)): Promise<TestGateway> {
  const logs: LogLine[] = [];
  const events: AuditEntry[] = [];
  const waiters = new Set<(line: LogLine) => void>();
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString('utf8').split('\n')) {
        if (!text) continue;
        const line = JSON.parse(text) as LogLine;
        logs.push(line);
        for (const waiter of waiters) waiter(line);
      }
      done();
    },
  });
  // Overrides name the channel and usermapping settings as if they were the connection policy's own.
  const { channels, forwardTargets, envAllow, usermapping, ...policy } = config.policy ?? {};
  const validated = validateConfig({
    users: config.users ?? [],
    rateLimit: config.rateLimit ?? {},
    logging: { level: 'debug' },
    channelPolicies: [{ name: 'test', ...defined({ channels, forwardTargets, envAllow }) }],
    usermappingPolicies: usermapping ? [{ name: 'test', rules: usermapping }] : [],
    userLists: config.userLists ?? [],
    ...config.more,
    aaPluginConfigurations: config.aaPluginConfigurations ?? [],
    connectionPolicies: [
      {
        name: 'test',
        listen: { address: '127.0.0.1', port: 0 },
        targets: [{ host: '127.0.0.1', ports: '*' }, { host: 'localhost', ports: '*' }],
        hostKeyPolicy: 'trust-on-first-use',
        keepaliveSeconds: 0,
        channelPolicy: 'test',
        ...(usermapping ? { usermappingPolicy: 'test' } : {}),
        ...policy,
      },
    ],
  });
  const start = config.aaPluginConfigurations?.length ? await compiledGateway() : startGateway;
  const log = createLogger('debug', sink);
  const audit = new AuditLog(log, { append: (entry) => void events.push(entry) });
  const options: GatewayOptions = { audit, ...(config.aaTimeoutMs !== undefined ? { aaTimeoutMs: config.aaTimeoutMs } : {}) };
  const gateway = await start(validated, dataDir, log, options);
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await gateway.close();
  };
  t.teardown(close);

  return {
    port: gateway.listeners[0]!.port,
    gateway,
    dataDir,
    logs,
    events,
    close,
    waitForLog(match, timeoutMs = 10_000) {
      const found = logs.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no matching gateway log line within ${timeoutMs} ms; last lines:\n${logs.slice(-10).map((l) => JSON.stringify(l)).join('\n')}`));
        }, timeoutMs);
        const waiter = (line: LogLine): void => {
          if (!match(line)) return;
          clearTimeout(timer);
          waiters.delete(waiter);
          resolve(line);
        };
        waiters.add(waiter);
      });
    },
  };
}

/**
 * The sandbox starts its workers from worker.js next to its own module, which exists only in
 * dist/ (`npm test` builds first), and tap must not inject its loader into them.
 */
async function compiledGateway(): Promise<typeof startGateway> {
  dropTapSpawnHook();
  const compiled = (await import(new URL('../../../dist/src/gateway/gateway.js', import.meta.url).href)) as { startGateway: typeof startGateway };
  return compiled.startGateway;
}

function defined(values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined));
}
