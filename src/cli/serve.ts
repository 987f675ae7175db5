// `gatehouse serve`: run the gateway until SIGINT/SIGTERM.
import { mkdir } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { thisAppliance } from '../aa/appliance.js';
import { ConfigError } from '../config/load.js';
import { ConfigStoreError } from '../config/store.js';
import { startGateway, type Gateway } from '../gateway/gateway.js';
import { startAuditPipeline } from '../log/audit-pipeline.js';
import { createLogger } from '../log/logger.js';
import { dataDirectory } from './paths.js';
import { openConfigStore } from './stores.js';

const help = `Usage: gatehouse serve [--data DIR]

Runs the SSH gateway. On first start it creates the data directory (default ./var, or
$GATEHOUSE_DATA), writes the embedded default configuration (one policy listening on
127.0.0.1:2222) as version 1 of the configuration store (or imports DIR/config.json when
present) and generates the ed25519 host key, which it keeps. An invalid configuration stops
the gateway with the path of each bad value.
Logs are JSON lines on standard output; the start-up summary goes to standard error.
Security events also go to the audit journal (DIR/audit/journal) and from there to every
configured syslog target; events of CLI commands reach the journal through DIR/audit/inbox.
`;

export async function serveCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { data: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write(help);
    return 0;
  }
  const dataDir = dataDirectory(values.data);
  let current;
  try {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    const store = await openConfigStore(dataDir);
    for (const warning of store.warnings) process.stderr.write(`gatehouse: warning: ${warning}\n`);
    current = store.current();
  } catch (err) {
    if (!(err instanceof ConfigError || err instanceof ConfigStoreError)) throw err;
    process.stderr.write(`gatehouse: ${err.message}\ngatehouse: not started\n`);
    return 1;
  }
  const { config } = current;
  const log = createLogger(config.logging.level);
  const pipeline = await startAuditPipeline(config, dataDir, log, { version: thisAppliance.version });
  const { audit } = pipeline;
  const gateway = await startGateway(config, dataDir, log, { sealed: async () => (await openConfigStore(dataDir)).current().sealed, audit });
  process.stderr.write(summary(gateway, config.users.length, dataDir));
  audit.emit('gateway-started', { version: thisAppliance.version, configVersion: current.version, listeners: gateway.listeners.length, syslogTargets: config.syslogTargets.length });

  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      audit.emit('gateway-stopping', { signal });
      // The journal closes last, so the gateway's own closing events are in it.
      gateway
        .close()
        .finally(() => pipeline.close())
        .then(resolve, resolve);
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
