// `gatehouse firewall [--apply]`: the nft script that opens the gateway's listening ports (and nothing
// else) in the appliance's firewall; --apply runs it with `nft -f -`. Loopback-only policies open nothing.
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { gatewayPorts, renderPortSet } from '../system/firewall.js';
import { dataDirectory } from './paths.js';
import { openConfigStore } from './stores.js';

const help = `Usage: gatehouse firewall [--apply] [--data DIR]

Prints the nft script that makes the appliance firewall's set of gateway ports (inet gatehouse
gateway_tcp_ports) hold exactly the ports the configuration's connection policies listen on outside
loopback. --apply runs it with nft (root only). Everything else inbound stays dropped.
`;

export async function firewallCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { apply: { type: 'boolean' }, data: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write(help);
    return 0;
  }
  const ports = gatewayPorts((await openConfigStore(dataDirectory(values.data))).current().config);
  const script = renderPortSet(ports);
  if (!values.apply) {
    process.stdout.write(script);
    return 0;
  }
  await runNft(script);
  process.stdout.write(`firewall: gateway ports ${ports.length ? ports.join(', ') : '(none)'} open\n`);
  return 0;
}

function runNft(script: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const nft = spawn('nft', ['-f', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    nft.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    nft.on('error', reject);
    nft.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`nft -f - failed: ${stderr.trim() || `exit ${code}`}`))));
    nft.stdin.end(script);
  });
}
