// Reads the configuration file, creating the embedded default on first start, and validates it.
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../system/atomic-file.js';
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

/** Loads the configuration file; writes the embedded default there if none exists yet. */
export async function loadConfig(file: string): Promise<{ config: GatehouseConfig; created: boolean }> {
  let text: string;
  let created = false;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    text = `${JSON.stringify(embeddedDefaultConfig, null, 2)}\n`;
    await writeFileAtomic(file, text, 0o600);
    created = true;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(file, [`(file): not valid JSON: ${(err as Error).message}`]);
  }
  return { config: validateConfig(parsed, file), created };
}
