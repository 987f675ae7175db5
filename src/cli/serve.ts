// `gatehouse serve`: run the gateway until SIGINT/SIGTERM.
import { mkdir } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/load.js';
import { startGateway, type Gateway } from '../gateway/gateway.js';
import { createLogger } from '../log/logger.js';
import { configFile, dataDirectory } from './paths.js';

const help = `Usage: gatehouse serve [--data DIR]

Runs the SSH gateway. On first start it creates the data directory (default ./var, or
$GATEHOUSE_DATA), writes the embedded default configuration (one policy listening on
127.0.0.1:2222) to DIR/config.json and generates the ed25519 host key, which it keeps.
An invalid configuration stops the gateway with the path of each bad value.
Logs are JSON lines on standard output; the start-up summary goes to standard error.
`;

export async function serveCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { data: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write(help);
    return 0;
  }
  const dataDir = dataDirectory(values.data);
  const file = configFile(dataDir);
  let loaded;
  try {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    loaded = await loadConfig(file);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`gatehouse: ${err.message}\ngatehouse: not started\n`);
    return 1;
  }
  const log = createLogger(loaded.config.logging.level);
  if (loaded.created) log.info({ file }, 'wrote the embedded default configuration');
  const gateway = await startGateway(loaded.config, dataDir, log);
  process.stderr.write(summary(gateway, loaded.config.users.length, dataDir));
  log.info({ event: 'gateway-start', dataDir }, 'gateway started');

  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log.info({ event: 'gateway-stop', signal }, 'gateway stopping');
      gateway.close().then(resolve, resolve);
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  return 0;
}

function summary(gateway: Gateway, userCount: number, dataDir: string): string {
  const lines = [
    '',
    `Gatehouse is running. Data directory: ${dataDir}`,
    `Host key fingerprint: ${gateway.hostKey.fingerprint} (ssh-ed25519)`,
    `Upstream login key (authorize it on targets of "gateway-key" policies):`,
    `  ${gateway.upstreamKey.publicLine} gatehouse`,
  ];
  for (const listener of gateway.listeners) {
    const host = listener.address.includes(':') ? `[${listener.address}]` : listener.address;
    lines.push(`Policy "${listener.policy}" listens on ${host}:${listener.port}. Connect with:`);
    lines.push(`  ssh -p ${listener.port} SERVER_USER@TARGET@${listener.address}`);
  }
  if (userCount === 0) {
    lines.push('No gateway users yet. Add one, then restart:');
    lines.push(`  GATEHOUSE_DATA=${dataDir} node dist/src/cli/main.js user add NAME --password-stdin`);
  }
  return `${lines.join('\n')}\n\n`;
}
