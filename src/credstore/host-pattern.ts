// Host patterns of target credentials: validated with the connection policies' own target-rule
// syntax (hostname, IP, CIDR, "*.domain", "*"), reduced to a canonical text that identifies the
// entry, and ranked by specificity for the best-match lookup that credential injection uses.
import { isIP } from 'node:net';
import { compileTargetRule } from '../config/target-rules.js';

export interface HostPattern {
  /** Canonical text: names lower-case without a trailing dot, IP addresses in their shortest form, no brackets. */
  readonly text: string;
  /** Higher is more specific: exact host > longest CIDR prefix or longest "*.domain" > "*". */
  readonly specificity: number;
  matches(host: string): boolean;
}

/** Above any CIDR (at most 1 + 128) or wildcard (at most 127 labels) score. */
const EXACT = 1000;
const ANY = 0;

function canonicalIp(address: string): string {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  // The WHATWG URL parser prints IPv6 in its shortest, lower-case form ("2001:DB8:0::5" -> "2001:db8::5").
  return isIP(bare) === 6 ? new URL(`http://[${bare}]`).hostname.slice(1, -1) : bare;
}

function canonicalName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

function canonicalText(spec: string): string {
  if (spec === '*') return spec;
  if (spec.startsWith('*.')) return `*.${canonicalName(spec.slice(2))}`;
  const slash = spec.indexOf('/');
  if (slash >= 0) return `${canonicalIp(spec.slice(0, slash))}/${Number(spec.slice(slash + 1))}`;
  return isIP(canonicalIp(spec)) !== 0 ? canonicalIp(spec) : canonicalName(spec);
}

function specificityOf(text: string): number {
  if (text === '*') return ANY;
  if (text.startsWith('*.')) return 1 + text.slice(2).split('.').length;
  const slash = text.indexOf('/');
  if (slash < 0) return EXACT;
  // An IPv4 /n covers what its IPv4-mapped IPv6 form /(n + 96) covers, and the matcher equates the two.
  const prefix = Number(text.slice(slash + 1));
  return 1 + (isIP(text.slice(0, slash)) === 4 ? prefix + 96 : prefix);
}

/** Throws the target-rule syntax error (which quotes the pattern) when `spec` is not a valid host pattern. */
export function parseHostPattern(spec: string): HostPattern {
  compileTargetRule({ host: spec, ports: '*' });
  const text = canonicalText(spec.trim());
  const rule = compileTargetRule({ host: text, ports: '*' });
  return { text, specificity: specificityOf(text), matches: (host) => rule.matches(host, 22) };
}

/** Whether `a` beats `b` in a lookup. Equal scores fall back to the canonical text, so entry order never decides. */
export function moreSpecific(a: HostPattern, b: HostPattern): boolean {
  return a.specificity !== b.specificity ? a.specificity > b.specificity : a.text < b.text;
}
