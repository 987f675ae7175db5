// Validation of a configuration value, and the embedded default a fresh appliance starts with.
import { configSchema, type GatehouseConfig } from './schema.js';

/** The configuration a fresh appliance starts with: one policy on loopback, targets on this host. */
export const embeddedDefaultConfig = {
  users: [],
  connectionPolicies: [
    {
      name: 'default',
      listen: { address: '127.0.0.1', port: 2222 },
      targets: [
        { host: 'localhost', ports: '*' },
        { host: '127.0.0.0/8', ports: '*' },
        { host: '::1', ports: '*' },
      ],
      defaultTarget: '127.0.0.1:22',
      channelPolicy: 'default',
      hostKeyPolicy: 'trust-on-first-use',
      credentials: { type: 'passthrough' },
    },
  ],
  channelPolicies: [{ name: 'default', channels: ['shell', 'exec', 'sftp', 'scp'] }],
} as const;

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`invalid configuration ${file}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Validates an already parsed value; every problem names the path of the bad value. */
export function validateConfig(value: unknown, file = '<config>'): GatehouseConfig {
  const result = configSchema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const where = issue.path.length ? issue.path.join('.') : '(top level)';
    return `${where}: ${issue.message}`;
  });
  throw new ConfigError(file, problems);
}
