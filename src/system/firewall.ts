// The appliance firewall's open ports. The ruleset itself (/etc/nftables.conf in the image) drops every
// new inbound connection except to the ports in the set `inet gatehouse gateway_tcp_ports`; this module
// computes that set from the configuration and renders the nft script that replaces its contents in one
// transaction, so a configuration change never leaves the set half written.
import type { GatehouseConfig } from '../config/schema.js';

export const FIREWALL_TABLE = 'inet gatehouse';
export const GATEWAY_PORT_SET = 'gateway_tcp_ports';

/** The TCP ports of connection policies listening on a non-loopback address, sorted, once each. */
export function gatewayPorts(config: Pick<GatehouseConfig, 'connectionPolicies'>): number[] {
  const ports = config.connectionPolicies.filter((p) => !isLoopback(p.listen.address)).map((p) => p.listen.port);
  return [...new Set(ports)].sort((a, b) => a - b);
}

/** The nft script that makes the set hold exactly `ports` (nft -f runs a file as one transaction). */
export function renderPortSet(ports: number[]): string {
  for (const port of ports) if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`not a TCP port: ${port}`);
  const lines = [`flush set ${FIREWALL_TABLE} ${GATEWAY_PORT_SET}`];
  if (ports.length) lines.push(`add element ${FIREWALL_TABLE} ${GATEWAY_PORT_SET} { ${ports.join(', ')} }`);
  return `${lines.join('\n')}\n`;
}

function isLoopback(address: string): boolean {
  return address === '::1' || /^127\./.test(address) || address.toLowerCase() === 'localhost';
}
