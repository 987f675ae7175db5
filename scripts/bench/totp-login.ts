// The login path with a second factor: a Gatehouse whose policy runs the built-in TOTP plugin, and
// an `ssh` path that gives a valid code in the login name (`otp=CODE@gu=USER@...`). The plugin
// accepts a code once per user (replay protection), so every login is a new gateway user, all
// enrolled with one seed and allowed by a usermapping rule to log in as the target's account.
import { hotp, timeStep } from '../../src/plugins/totp/hotp.js';
import { generateSeed } from '../../src/plugins/totp/seed.js';
import type { TeardownHost, TestSshd } from '../../test/e2e/helpers/sshd.js';
import { startGatehouse, type GatehouseProcess } from './gatehouse-process.js';
import { viaGatehouse, type SshPath } from './ssh-run.js';
import { enrollTotpUsers, installTotp, totpDefaultConfig } from './totp-plugin.js';

const CONFIGURATION = 'otp';

export interface TotpGatehouse {
  gw: GatehouseProcess;
  /** Each read of `args` is the next login: a fresh user and the current code. */
  path(clientConfig: string): SshPath;
}

/** `logins` bounds how many logins the path can make (one per enrolled user). */
export async function startTotpGatehouse(t: TeardownHost, target: TestSshd, authorizedKey: string, logins: number): Promise<TotpGatehouse> {
  const seed = generateSeed('SHA1');
  const users = Array.from({ length: logins }, (_, i) => `mfa-${i + 1}`);
  const gw = await startGatehouse(t, {
    user: target.user,
    authorizedKey,
    extraUsers: users,
    config: {
      usermappingPolicies: [{ name: 'mfa', rules: [{ gatewayUsers: users, serverUsers: [target.user] }] }],
      aaPluginConfigurations: [{ name: CONFIGURATION, plugin: 'totp', text: await totpDefaultConfig() }],
    },
    policy: { usermappingPolicy: 'mfa', aaPluginConfiguration: CONFIGURATION },
    prepare: async (dataDir) => {
      await installTotp(dataDir);
      await enrollTotpUsers(dataDir, CONFIGURATION, users, seed);
    },
  });
  await target.authorizeKey(gw.upstreamPublicLine);
  let used = 0;
  const nextLogin = (): string => {
    const user = users[used++];
    if (user === undefined) throw new Error(`the TOTP path has only ${logins} enrolled users`);
    return `otp=${hotp(seed, timeStep(Date.now() / 1000, 30), 6)}@gu=${user}@${target.user}@127.0.0.1:${target.port}`;
  };
  return {
    gw,
    path: (clientConfig) => ({
      id: 'gatehouse-totp',
      label: 'Gatehouse + TOTP',
      get args() {
        return viaGatehouse(clientConfig, gw.port, nextLogin());
      },
    }),
  };
}
