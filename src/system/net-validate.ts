// Checks of what an admin types for network, host name and time settings. Each check is pure (the time
// zone check only reads the zoneinfo directory) and returns undefined when the text is valid, or one
// line the console can show as it is, saying what is wrong ("prefix 33 is out of range: 0-32 for IPv4").
import { closeSync, openSync, readSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';

/** The address as a number (32 bits for IPv4, 128 for IPv6); only for texts `isIP` accepts. */
function addressValue(text: string): { family: 4 | 6; value: bigint } {
  if (isIP(text) === 4) return { family: 4, value: ipv4Value(text) };
  let head = text;
  let tail: bigint[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    // An IPv4 address in the last 32 bits ("::ffff:192.0.2.1").
    const v4 = ipv4Value(text.slice(lastColon + 1));
    head = `${text.slice(0, lastColon + 1)}0:0`;
    tail = [v4];
  }
  const [left, right] = head.includes('::') ? head.split('::') : [head, undefined];
  const groups = (part: string | undefined) => (part ? part.split(':').map((g) => BigInt(`0x${g}`)) : []);
  const l = groups(left);
  const r = groups(right);
  const all = right === undefined ? l : [...l, ...new Array<bigint>(8 - l.length - r.length).fill(0n), ...r];
  let value = all.reduce((acc, g) => (acc << 16n) | g, 0n);
  if (tail.length) value = (value & ~0xffffffffn) | tail[0];
  return { family: 6, value };
}

function ipv4Value(text: string): bigint {
  return text.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function bits(family: 4 | 6): number {
  return family === 4 ? 32 : 128;
}

export function checkIpv4(text: string): string | undefined {
  if (text.trim() === '') return 'enter an IPv4 address, e.g. 192.0.2.10';
  if (/\s/.test(text)) return 'remove the spaces from the address';
  const parts = text.split('.');
  if (parts.length !== 4) return `"${text}" is not an IPv4 address: expected four numbers separated by dots, e.g. 192.0.2.10`;
  for (const part of parts) {
    if (part === '') return `"${text}" has an empty number between dots`;
    if (!/^\d+$/.test(part)) return `"${part}" in "${text}" is not a number`;
    if (part.length > 1 && part.startsWith('0')) return `"${part}" in "${text}" has a leading zero; write it without`;
    if (Number(part) > 255) return `${part} in "${text}" is out of range: 0-255`;
  }
  return isIP(text) === 4 ? undefined : `"${text}" is not an IPv4 address`;
}

export function checkIpAddress(text: string): string | undefined {
  if (text.trim() === '') return 'enter an IPv4 or IPv6 address';
  if (/\s/.test(text)) return 'remove the spaces from the address';
  if (text.includes('/')) return `enter "${text.slice(0, text.indexOf('/'))}" without a prefix length`;
  if (text.includes('%')) return `"${text}": a zone index ("%...") is not supported here`;
  if (isIP(text) !== 0) return undefined;
  if (/^[\d.]+$/.test(text)) return checkIpv4(text) ?? `"${text}" is not an IPv4 address`;
  if (text.includes(':')) return `"${text}" is not an IPv6 address`;
  return `"${text}" is not an IPv4 or IPv6 address`;
}

export function checkPrefix(address: string, prefix: string): string | undefined {
  const family = isIP(address);
  if (family !== 4 && family !== 6) return checkIpAddress(address) ?? `"${address}" is not an IP address`;
  const max = family === 4 ? 32 : 128;
  if (prefix === '') return `enter a prefix length: 0-${max} for IPv${family}`;
  if (!/^\d+$/.test(prefix)) return `prefix "${prefix}" is not a number: 0-${max} for IPv${family}`;
  if (prefix.length > 1 && prefix.startsWith('0')) return `prefix ${prefix} has a leading zero; write it without`;
  if (Number(prefix) > max) return `prefix ${prefix} is out of range: 0-${max} for IPv${family}`;
  return undefined;
}

/** Splits "192.0.2.10/24"; undefined when there is no "/" at all. */
function splitPrefix(text: string): { address: string; prefix: string } | undefined {
  const slash = text.lastIndexOf('/');
  return slash < 0 ? undefined : { address: text.slice(0, slash), prefix: text.slice(slash + 1) };
}

export function checkAddressWithPrefix(text: string): string | undefined {
  if (text.trim() === '') return 'enter an address with prefix length, e.g. 192.0.2.10/24';
  const parts = splitPrefix(text);
  if (!parts) {
    const reason = checkIpAddress(text);
    return reason ?? `add the prefix length to "${text}", e.g. ${isIP(text) === 6 ? `${text}/64` : `${text}/24`}`;
  }
  const reason = checkIpAddress(parts.address) ?? checkPrefix(parts.address, parts.prefix);
  if (reason) return reason;
  const { family, value } = addressValue(parts.address);
  if (value === 0n) return `${parts.address} is the unspecified address; enter the interface's own address`;
  const prefix = Number(parts.prefix);
  if (family === 4 && prefix < 31) {
    const hostMask = (1n << BigInt(32 - prefix)) - 1n;
    const network = `${formatIpv4(value & ~hostMask)}/${prefix}`;
    if ((value & hostMask) === 0n) return `${parts.address} is the network address of ${network}; choose a host address`;
    if ((value & hostMask) === hostMask) return `${parts.address} is the broadcast address of ${network}; choose a host address`;
  }
  return undefined;
}

function formatIpv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
}

export function checkGatewayInSubnet(addressWithPrefix: string, gateway: string): string | undefined {
  const reason = checkAddressWithPrefix(addressWithPrefix);
  if (reason) return reason;
  const gatewayReason = checkIpAddress(gateway);
  if (gatewayReason) return `gateway: ${gatewayReason}`;
  const parts = splitPrefix(addressWithPrefix)!;
  const own = addressValue(parts.address);
  const gw = addressValue(gateway);
  if (own.family !== gw.family) {
    return `gateway ${gateway} is IPv${gw.family} but the address ${addressWithPrefix} is IPv${own.family}`;
  }
  if (gw.value === own.value) return `gateway ${gateway} is the interface's own address`;
  // An IPv6 router is commonly reached by its link-local address (fe80::/10), outside the subnet.
  if (gw.family === 6 && gw.value >> 118n === 0x3fan) return undefined;
  const prefix = Number(parts.prefix);
  const width = bits(own.family);
  const hostMask = (1n << BigInt(width - prefix)) - 1n;
  if ((gw.value & ~hostMask) !== (own.value & ~hostMask)) {
    return `gateway ${gateway} is outside the interface's subnet ${addressWithPrefix}`;
  }
  if (own.family === 4 && prefix < 31) {
    if ((gw.value & hostMask) === 0n) return `gateway ${gateway} is the network address of ${addressWithPrefix}`;
    if ((gw.value & hostMask) === hostMask) return `gateway ${gateway} is the broadcast address of ${addressWithPrefix}`;
  }
  return undefined;
}

/** RFC 1123 host name: labels of letters, digits and "-" (not first or last), each ≤ 63, all ≤ 253. */
export function checkHostname(text: string): string | undefined {
  if (text === '') return 'enter a host name, e.g. gatehouse or gatehouse.example.com';
  if (text.length > 253) return `the host name is ${text.length} characters long: at most 253`;
  const labels = text.split('.');
  for (const label of labels) {
    if (label === '') return `"${text}" has an empty part: no dot at the start or end, no two dots in a row`;
    if (label.length > 63) return `"${label.slice(0, 20)}..." is ${label.length} characters long: at most 63 between dots`;
    const bad = /[^a-z0-9-]/i.exec(label);
    if (bad) return `${JSON.stringify(bad[0])} is not allowed in a host name: use letters, digits and "-"`;
    if (label.startsWith('-') || label.endsWith('-')) return `"${label}" starts or ends with "-"`;
  }
  return undefined;
}

export function checkNtpServer(text: string): string | undefined {
  if (text.trim() === '') return 'enter an NTP server name or address, e.g. pool.ntp.org';
  if (/\s/.test(text)) return 'remove the spaces from the NTP server';
  if (isIP(text) !== 0) return checkIpAddress(text);
  if (/^[\d.]+$/.test(text) || text.includes(':')) return checkIpAddress(text);
  return checkHostname(text);
}

/**
 * A time zone name such as "Europe/Berlin" or "UTC" that exists as a compiled zone (a TZif file) under
 * `zoneinfoDir`. Paths (absolute, "..") are refused before anything is read.
 */
export function checkTimeZone(name: string, zoneinfoDir = '/usr/share/zoneinfo'): string | undefined {
  if (name === '') return 'enter a time zone, e.g. Europe/Berlin or UTC';
  if (name.startsWith('/')) return `enter a time zone name such as Europe/Berlin, not a path`;
  if (name.split('/').some((part) => part === '..' || part === '.')) return `"${name}" is not a time zone name`;
  if (!/^[A-Za-z0-9_+-]+(\/[A-Za-z0-9_+-]+)*$/.test(name)) return `"${name}" is not a time zone name, e.g. Europe/Berlin`;
  let fd: number;
  try {
    fd = openSync(join(zoneinfoDir, name), 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return `unknown time zone "${name}", e.g. Europe/Berlin`;
    if (code === 'EISDIR') return `"${name}" is a region, not a time zone; e.g. ${name}/...`;
    return `cannot read time zone "${name}": ${code ?? (err as Error).message}`;
  }
  try {
    const magic = Buffer.alloc(4);
    readSync(fd, magic, 0, 4, 0);
    return magic.toString('latin1') === 'TZif' ? undefined : `"${name}" is not a time zone, e.g. Europe/Berlin`;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EISDIR') return `"${name}" is a region, not a time zone; e.g. ${name}/...`;
    return `cannot read time zone "${name}": ${code ?? (err as Error).message}`;
  } finally {
    closeSync(fd);
  }
}

export function checkListenPort(text: string): string | undefined {
  if (text === '') return 'enter a port number: 1-65535';
  if (!/^\d+$/.test(text)) return `port "${text}" is not a number: 1-65535`;
  if (text.length > 1 && text.startsWith('0')) return `port ${text} has a leading zero; write it without`;
  const port = Number(text);
  if (port < 1 || port > 65535) return `port ${text} is out of range: 1-65535`;
  return undefined;
}
