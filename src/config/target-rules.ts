// Which targets (host and port) a connection policy allows: compiling and matching allowlist rules.
//
// Rules are checked against the host exactly as the user typed it. Name resolution happens later, and the
// caller checks the resolved address against the rules again; that is why CIDR and IP rules match IP literals
// only and never a hostname.
import { BlockList, isIP } from 'node:net';

export type PortRange = { from: number; to: number };

export interface TargetRule {
  /** "db1.example.com" | "10.0.0.5" | "10.0.0.0/8" | "2001:db8::/32" | "*.example.com" | "*" */
  host: string;
  /** "22", "22,2222", "2200-2299", "*" */
  ports: string;
}

export interface CompiledTargetRule {
  matches(host: string, port: number): boolean;
  describe(): string;
}

type HostMatcher = (host: string) => boolean;

const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

/** Lower-cased, one trailing dot removed; undefined unless it is a syntactically valid DNS name. */
function normaliseHostname(host: string): string | undefined {
  const name = host.toLowerCase().replace(/\.$/, '');
  if (name.length === 0 || name.length > 253) return undefined;
  return name.split('.').every((label) => LABEL.test(label)) ? name : undefined;
}

/** The address family of an IP literal ("[...]" brackets allowed for IPv6), or undefined for anything else. */
function ipFamily(host: string): { address: string; family: 'ipv4' | 'ipv6' } | undefined {
  const address = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  // A zone ("fe80::1%eth0") names an interface the rule knows nothing about: never treat it as a match.
  if (address.includes('%')) return undefined;
  const version = isIP(address);
  if (version === 0) return undefined;
  return { address, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** Matches IP literals in a BlockList, which also equates IPv4 with its IPv4-mapped IPv6 forms. */
function ipMatcher(list: BlockList): HostMatcher {
  return (host) => {
    const ip = ipFamily(host);
    return ip !== undefined && list.check(ip.address, ip.family);
  };
}

function compileCidr(spec: string): HostMatcher {
  const slash = spec.indexOf('/');
  const address = spec.slice(0, slash);
  const prefixText = spec.slice(slash + 1);
  const ip = ipFamily(address);
  if (ip === undefined || address.startsWith('[')) throw new Error(`invalid CIDR address "${address}" in "${spec}"`);
  const maxPrefix = ip.family === 'ipv4' ? 32 : 128;
  const prefix = Number(prefixText);
  if (!/^[0-9]{1,3}$/.test(prefixText) || prefix > maxPrefix) {
    throw new Error(`invalid CIDR prefix /${prefixText} in "${spec}"`);
  }
  const list = new BlockList();
  list.addSubnet(ip.address, prefix, ip.family);
  return ipMatcher(list);
}

function compileWildcard(spec: string): HostMatcher {
  const suffix = normaliseHostname(spec.slice(2));
  if (suffix === undefined || ipFamily(suffix) !== undefined) {
    throw new Error(`invalid wildcard "${spec}": expected "*." followed by a domain name`);
  }
  // The leading dot keeps "evilexample.com" and "example.com" itself out of "*.example.com".
  return (host) => normaliseHostname(host)?.endsWith(`.${suffix}`) === true;
}

function compileHostname(spec: string): HostMatcher {
  const name = normaliseHostname(spec);
  // An all-numeric last label ("010.0.0.1", "1.2.3") is an IP in disguise that resolvers read differently.
  if (name === undefined || /^[0-9]+$/.test(name.split('.').at(-1)!)) {
    throw new Error(`invalid host "${spec}": expected a hostname, IP address, CIDR block, "*.domain" or "*"`);
  }
  return (host) => normaliseHostname(host) === name;
}

function compileHost(spec: string): HostMatcher {
  if (spec === '*') return () => true;
  if (spec.includes('/')) return compileCidr(spec);
  if (spec.startsWith('*.')) return compileWildcard(spec);
  if (spec.includes('*')) throw new Error(`invalid host "${spec}": "*" is only allowed alone or as a leading "*."`);
  const ip = ipFamily(spec);
  if (ip !== undefined) {
    const list = new BlockList();
    list.addAddress(ip.address, ip.family);
    return ipMatcher(list);
  }
  return compileHostname(spec);
}

function parsePort(text: string, spec: string): number {
  const port = Number(text);
  if (!/^[0-9]{1,5}$/.test(text) || port < 1 || port > 65535) {
    throw new Error(`invalid port "${text}" in "${spec}": expected 1-65535`);
  }
  return port;
}

/** Parses "22", "22,2222", "2200-2299" or "*" into inclusive ranges. */
export function parsePortList(spec: string): PortRange[] {
  if (spec.trim() === '*') return [{ from: 1, to: 65535 }];
  return spec.split(',').map((item) => {
    const [fromText = '', toText, ...extra] = item.trim().split('-');
    if (extra.length > 0) throw new Error(`invalid port range "${item.trim()}" in "${spec}"`);
    const from = parsePort(fromText, spec);
    const to = toText === undefined ? from : parsePort(toText, spec);
    if (from > to) throw new Error(`invalid port range "${item.trim()}" in "${spec}": start is after end`);
    return { from, to };
  });
}

function describePorts(ranges: PortRange[]): string {
  return ranges.map(({ from, to }) => (from === to ? `${from}` : `${from}-${to}`)).join(',');
}

export function compileTargetRule(rule: TargetRule): CompiledTargetRule {
  const host = rule.host.trim();
  const matchesHost = compileHost(host);
  const ranges = parsePortList(rule.ports);
  const description = `${host} ports ${describePorts(ranges)}`;
  return {
    matches: (target, port) =>
      Number.isInteger(port) && ranges.some((r) => port >= r.from && port <= r.to) && matchesHost(target),
    describe: () => description,
  };
}

export class TargetAllowlist {
  readonly #rules: CompiledTargetRule[];

  /** Throws on the first invalid rule. An empty list allows nothing. */
  constructor(rules: TargetRule[]) {
    this.#rules = rules.map(compileTargetRule);
  }

  allows(host: string, port: number): boolean {
    return this.#rules.some((rule) => rule.matches(host, port));
  }
}
