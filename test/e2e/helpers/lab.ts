// One real sshd behind one in-process gateway, with a client key the gateway accepts: the usual
// starting point of a gateway end-to-end test.
import { hashPassword } from '../../../src/auth/local-users.js';
import { freshTestDir, startTestGateway, type TestGateway } from './gateway.js';
import { makeClientKey, type ClientKey, type SshTarget } from './ssh-client.js';
import { startSshd, type TeardownHost, type TestSshd } from './sshd.js';

export interface Lab {
  sshd: TestSshd;
  gw: TestGateway;
  key: ClientKey;
  /** The login through the gateway to the lab's sshd as its account ("user@127.0.0.1:port"). */
  viaGateway(user?: string): SshTarget;
}

export interface LabOptions {
  credentials?: 'gateway-key' | 'passthrough';
  policy?: Record<string, unknown>;
  rateLimit?: Record<string, unknown>;
  /** More gateway users who authenticate with the lab's client key. */
  extraUsers?: string[];
  /** More top-level configuration (ldapServers, radiusServers). */
  more?: Record<string, unknown>;
  /** Runs on the data directory before the gateway starts (credential-store entries). */
  prepare?(dataDir: string): Promise<void>;
  /** AA plugins: installed into the data directory by `prepare` before the gateway starts. */
  aa?: {
    configurations: unknown[];
    userLists?: unknown[];
    timeoutMs?: number;
    prepare(dataDir: string): Promise<void>;
  };
}

export async function startLab(t: TeardownHost & { testdir(): string }, options: LabOptions = {}): Promise<Lab> {
  const sshd = await startSshd(t);
  const key = await makeClientKey(t);
  const dataDir = freshTestDir(t);
  await options.prepare?.(dataDir);
  await options.aa?.prepare(dataDir);
  const gw = await startTestGateway(t, {
    users: [
      { name: sshd.user, passwordHash: await hashPassword(sshd.password), authorizedKeys: [key.publicLine] },
      ...(options.extraUsers ?? []).map((name) => ({ name, authorizedKeys: [key.publicLine] })),
    ],
    policy: { credentials: { type: options.credentials ?? 'gateway-key' }, ...options.policy },
    ...(options.rateLimit ? { rateLimit: options.rateLimit } : {}),
    ...(options.more ? { more: options.more } : {}),
    ...(options.aa ? { aaPluginConfigurations: options.aa.configurations, userLists: options.aa.userLists ?? [] } : {}),
    ...(options.aa?.timeoutMs !== undefined ? { aaTimeoutMs: options.aa.timeoutMs } : {}),
  }, dataDir);
  await sshd.authorizeKey(gw.gateway.upstreamKey.publicLine);
  return {
    sshd,
    gw,
    key,
    viaGateway: (user = sshd.user) => ({ port: gw.port, user: `${user}@127.0.0.1:${sshd.port}` }),
  };
}
