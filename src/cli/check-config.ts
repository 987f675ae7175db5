// `gatehouse check-config`: validate the configuration without starting anything.
import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import { ConfigError, validateConfig } from '../config/load.js';
import { configFile, dataDirectory } from './paths.js';

const help = `Usage: gatehouse check-config [--config FILE]

Validates the configuration file (default: $GATEHOUSE_DATA/config.json) and prints every problem
with the path of the bad value and what was expected. Exit status 0 when valid, 1 otherwise.
`;

export async function checkConfigCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write(help);
    return 0;
  }
  const file = values.config ?? configFile(dataDirectory());
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
    validateConfig(parsed, file);
  } catch (err) {
    if (err instanceof SyntaxError) process.stderr.write(`gatehouse: ${file}: not valid JSON: ${err.message}\n`);
    else if (err instanceof ConfigError) process.stderr.write(`gatehouse: ${err.message}\n`);
    else throw err;
    return 1;
  }
  process.stdout.write(`${file}: valid\n`);
  return 0;
}
