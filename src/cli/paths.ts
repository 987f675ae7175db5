// Where the CLI finds the data directory and the configuration file.
import { resolve, join } from 'node:path';

export function dataDirectory(override?: string): string {
  return resolve(override ?? process.env.GATEHOUSE_DATA ?? 'var');
}

export function configFile(dataDir: string): string {
  return join(dataDir, 'config.json');
}
