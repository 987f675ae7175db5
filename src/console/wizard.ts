// The first-boot wizard (issue 9): asks everything an appliance needs before it has a network, shows a summary,
// and on confirmation applies it in an order that never leaves half a setup: every answer is checked as it
// is typed and the whole configuration is validated before anything is written; then the credential store
// is created (the one step that cannot be part of a config commit), then ONE config commit with origin
// `console`, then the OS settings. It ends by showing the gateway's host key fingerprints.
import { hashPassword } from '../auth/local-users.js';
import { validateConfig } from '../config/load.js';
import type { GatehouseConfig } from '../config/schema.js';
import { checkAddressWithPrefix, checkGatewayInSubnet, checkHostname, checkIpAddress, checkListenPort, checkNtpServer, checkTimeZone } from '../system/net-validate.js';
import type { OsSettings } from '../system/os-settings.js';
import type { ApplianceControl } from './appliance.js';
import { ask, askNewSecret, choose, confirm, type Check } from './prompts.js';
import type { ConsoleTerminal } from './terminal.js';

/** A console password guards seal/unseal and the credential store: long, and not one kind of character. */
export function checkAdminPassword(password: string): string | undefined {
  if (password.length < 12) return 'at least 12 characters';
  if (password.length > 1024) return 'at most 1024 characters';
  const kinds = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((kind) => kind.test(password)).length;
  if (kinds < 2) return 'mix at least two of: lower case, upper case, digits, other characters';
  return undefined;
}

export interface WizardAnswers {
  adminPasswordHash: string;
  os: OsSettings;
  credentialStore: { keep: true } | { parts?: string[] };
  syslog?: { host: string; port: number; transport: 'udp' | 'tcp' | 'tls' };
  listen: { address: string; port: number };
}

export interface WizardOptions {
  /** Where time zone names are checked (the appliance's /usr/share/zoneinfo). */
  zoneinfoDir?: string;
}

/** Runs the wizard until the setup is applied; returns the committed version. */
export async function runWizard(term: ConsoleTerminal, appliance: ApplianceControl, options: WizardOptions = {}): Promise<number> {
  term.clear();
  term.write('Gatehouse first-boot setup\n\nAnswer each question; Enter takes the [default]. Nothing is changed until you confirm the summary.\n\n');
  for (;;) {
    const answers = await askAll(term, appliance, options);
    term.write(`\n${summary(answers).join('\n')}\n\n`);
    if (!(await confirm(term, 'Apply this setup?', true))) {
      term.write('\nStarting over.\n\n');
      continue;
    }
    try {
      return await applySetup(term, appliance, answers);
    } catch (err) {
      term.write(`\n! The setup was not applied: ${(err as Error).message}\n  Nothing was changed; answer again.\n\n`);
    }
  }
}

async function askAll(term: ConsoleTerminal, appliance: ApplianceControl, options: WizardOptions): Promise<WizardAnswers> {
  const current = (await appliance.current()).config;
  term.write('1/8 Console administrator password (asked twice, not shown)\n');
  const password = await askNewSecret(term, 'Password: ', checkAdminPassword);
  const adminPasswordHash = await hashPassword(password);
  term.write('\n2/8 Host name\n');
  const hostname = await ask(term, 'Host name', { default: current.network.hostname, check: checkHostname });
  term.write('\n3/8 Network\n');
  const network = await askNetwork(term, appliance, current);
  term.write('\n4/8 Time\n');
  const ntp = list(await ask(term, 'NTP servers, comma-separated (- for none)', { default: current.network.ntp.join(', ') || 'pool.ntp.org', check: eachOf(checkNtpServer) }));
  const timeZone = await ask(term, 'Time zone', { default: current.network.timeZone, check: (zone) => checkTimeZone(zone, options.zoneinfoDir) });
  term.write('\n5/8 Credential store\n');
  const credentialStore = await askCredentialStore(term, appliance);
  term.write('\n6/8 Syslog target\n');
  const syslog = (await confirm(term, 'Forward security events to a syslog server?', current.syslogTargets.length > 0)) ? await askSyslog(term, current) : undefined;
  term.write('\n7/8 Gateway\n');
  const address = await ask(term, 'Address the gateway listens on (0.0.0.0: all of them)', { default: '0.0.0.0', check: checkIpAddress });
  const port = Number(await ask(term, 'Port the gateway listens on', { default: String(current.connectionPolicies[0]?.listen.port ?? 22), check: checkListenPort }));
  term.write('\n8/8 Summary\n');
  return {
    adminPasswordHash,
    os: { hostname, interfaces: network.interfaces, dns: network.dns, ntp, timeZone },
    credentialStore,
    ...(syslog ? { syslog } : {}),
    listen: { address, port },
  };
}

async function askNetwork(term: ConsoleTerminal, appliance: ApplianceControl, current: GatehouseConfig): Promise<Pick<OsSettings, 'interfaces' | 'dns'>> {
  const found = await appliance.interfaces();
  if (found.length === 0) {
    term.write('No network interface found: the gateway will listen once one is configured from the menu.\n');
    return { interfaces: [], dns: [] };
  }
  const previous = current.network.interfaces[0]?.name;
  const name = await choose(term, 'Interface', found.map((i) => ({ label: i.description, value: i.name })), { default: Math.max(0, found.findIndex((i) => i.name === previous)) });
  const dhcp = await choose(term, 'Addressing', [{ label: 'DHCP', value: true }, { label: 'static address', value: false }]);
  if (dhcp) return { interfaces: [{ name, dhcp: true }], dns: [] };
  const address = await ask(term, 'Address with prefix length (e.g. 192.0.2.10/24)', { check: checkAddressWithPrefix });
  const gateway = await ask(term, 'Default gateway (- for none)', { check: (g) => (g === '-' ? undefined : checkIpAddress(g) ?? checkGatewayInSubnet(address, g)) });
  const dns = list(await ask(term, 'DNS servers, comma-separated (- for none)', { default: current.network.dns.join(', ') || '-', check: eachOf(checkIpAddress) }));
  return { interfaces: [{ name, dhcp: false, address, ...(gateway !== '-' ? { gateway } : {}) }], dns };
}

async function askCredentialStore(term: ConsoleTerminal, appliance: ApplianceControl): Promise<WizardAnswers['credentialStore']> {
  const status = await appliance.credentialStore();
  if (status.exists) {
    term.write(`A credential store exists (${status.mode === 'passphrase' ? `master passphrase in ${status.parts} part(s)` : 'appliance key'}): it is kept.\n`);
    return { keep: true };
  }
  const mode = await choose(term, 'Protect the credential store with', [
    { label: 'the built-in appliance key (unlocks itself at boot)', value: 'appliance-key' as const },
    { label: 'a master passphrase (typed at the console after each boot)', value: 'passphrase' as const },
    { label: 'a compound passphrase (2-9 parts, each typed by a different person)', value: 'compound' as const },
  ]);
  if (mode === 'appliance-key') return {};
  const count = mode === 'compound' ? Number(await ask(term, 'Number of parts (2-9)', { default: '2', check: (n) => (/^[2-9]$/.test(n) ? undefined : 'a number from 2 to 9') })) : 1;
  const parts: string[] = [];
  for (let i = 1; i <= count; i++) parts.push(await askNewSecret(term, count > 1 ? `Passphrase part ${i} of ${count}: ` : 'Master passphrase: ', (p) => (p.length < 8 ? 'at least 8 characters' : undefined)));
  return { parts };
}

async function askSyslog(term: ConsoleTerminal, current: GatehouseConfig): Promise<NonNullable<WizardAnswers['syslog']>> {
  const previous = current.syslogTargets[0];
  const host = await ask(term, 'Syslog server (host name or IP address)', { ...(previous ? { default: previous.host } : {}), check: (h) => checkIpAddress(h) && checkHostname(h) });
  const transport = await choose(term, 'Transport', [
    { label: 'TCP (RFC 6587 octet counting)', value: 'tcp' as const },
    { label: 'TLS (RFC 5425, certificate verified)', value: 'tls' as const },
    { label: 'UDP (RFC 5426; may lose events)', value: 'udp' as const },
  ]);
  const port = Number(await ask(term, 'Port', { default: transport === 'tls' ? '6514' : '514', check: checkListenPort }));
  return { host, port, transport };
}

/** The menu's "Network settings": host name, network and time asked again, committed and applied. */
export async function changeNetwork(term: ConsoleTerminal, appliance: ApplianceControl, options: WizardOptions = {}): Promise<void> {
  const current = (await appliance.current()).config;
  const hostname = await ask(term, 'Host name', { default: current.network.hostname, check: checkHostname });
  const network = await askNetwork(term, appliance, current);
  const ntp = list(await ask(term, 'NTP servers, comma-separated (- for none)', { default: current.network.ntp.join(', ') || '-', check: eachOf(checkNtpServer) }));
  const timeZone = await ask(term, 'Time zone', { default: current.network.timeZone, check: (zone) => checkTimeZone(zone, options.zoneinfoDir) });
  const os: OsSettings = { hostname, ...network, ntp, timeZone };
  if (!(await confirm(term, 'Apply these network settings?', true))) return;
  const config = { ...current, network: { ...current.network, hostname, interfaces: os.interfaces, dns: os.dns, ntp, timeZone } };
  const committed = await appliance.commit(validateConfig(config, 'the network settings'), 'network settings');
  const files = await appliance.applyOsSettings(os);
  term.write(`Configuration version ${committed.version} committed; ${files.length} files written.\n`);
}

/** The configuration the answers make, from the current one: only what the wizard asked changes. */
export function configFromAnswers(current: GatehouseConfig, answers: WizardAnswers): unknown {
  const [first, ...others] = current.connectionPolicies;
  return {
    ...current,
    console: { ...current.console, adminPasswordHash: answers.adminPasswordHash },
    network: { ...current.network, hostname: answers.os.hostname, interfaces: answers.os.interfaces, dns: answers.os.dns, ntp: answers.os.ntp, timeZone: answers.os.timeZone ?? 'UTC' },
    syslogTargets: answers.syslog ? [{ name: 'syslog', ...answers.syslog }] : [],
    // The first policy is the one the wizard sets up; others keep their own listeners.
    connectionPolicies: first ? [{ ...first, listen: answers.listen }, ...others] : [],
  };
}

async function applySetup(term: ConsoleTerminal, appliance: ApplianceControl, answers: WizardAnswers): Promise<number> {
  const current = await appliance.current();
  const config = configFromAnswers(current.config, answers);
  validateConfig(config, 'the setup');
  const newStore = !('keep' in answers.credentialStore);
  if (!('keep' in answers.credentialStore)) {
    term.write('Creating the credential store…\n');
    await appliance.initCredentialStore(answers.credentialStore.parts);
  }
  term.write('Committing the configuration…\n');
  let committed;
  try {
    committed = await appliance.commit(config, 'first-boot setup');
  } catch (err) {
    // Nothing half-applied: the store made a moment ago goes again, so the next attempt starts clean.
    if (newStore) await appliance.discardNewCredentialStore();
    throw err;
  }
  term.write(`Configuration version ${committed.version} committed.\n`);
  try {
    const files = await appliance.applyOsSettings(answers.os);
    term.write(`Network, host name and time applied (${files.length} files).\n`);
  } catch (err) {
    // The commit stands (it is the record of what was asked); the OS settings are retried from the menu.
    term.write(`! The network, host name and time could not be applied: ${(err as Error).message}\n  Apply them again from the menu (Network settings).\n`);
  }
  term.write('\nGateway host key fingerprints (compare them on the first connection):\n');
  for (const fingerprint of await appliance.hostKeyFingerprints()) term.write(`  ${fingerprint}\n`);
  await startGateway(term, appliance);
  term.write('\nSetup complete.\n');
  return committed.version;
}

/** The gateway waits for the setup (its unit's start condition); a failure to start it is reported, not fatal. */
async function startGateway(term: ConsoleTerminal, appliance: ApplianceControl): Promise<void> {
  try {
    if (await appliance.startGateway()) term.write('\nThe gateway is started.\n');
  } catch (err) {
    term.write(`\n! The gateway did not start: ${(err as Error).message}\n  See Status in the menu.\n`);
  }
}

export function summary(a: WizardAnswers): string[] {
  const iface = a.os.interfaces[0];
  return [
    'Summary',
    `  Host name          ${a.os.hostname}`,
    `  Network            ${iface ? `${iface.name}: ${iface.dhcp ? 'DHCP' : `${iface.address}${iface.gateway ? ` via ${iface.gateway}` : ''}`}` : 'none'}`,
    `  DNS                ${a.os.dns.join(', ') || (iface?.dhcp ? 'from DHCP' : 'none')}`,
    `  NTP                ${a.os.ntp.join(', ') || 'none'}`,
    `  Time zone          ${a.os.timeZone ?? 'UTC'}`,
    `  Credential store   ${'keep' in a.credentialStore ? 'keep the existing one' : a.credentialStore.parts ? `new, master passphrase in ${a.credentialStore.parts.length} part(s)` : 'new, appliance key'}`,
    `  Syslog             ${a.syslog ? `${a.syslog.transport}://${a.syslog.host}:${a.syslog.port}` : 'none'}`,
    `  Gateway listens    ${a.listen.address}:${a.listen.port}`,
    '  Admin password     set (not shown)',
  ];
}

/** "a, b" → ["a", "b"]; "-" or "" → []. */
function list(answer: string): string[] {
  return answer.trim() === '-' ? [] : answer.split(',').map((item) => item.trim()).filter(Boolean);
}

/** A check of a comma-separated list: every item must pass; "-" means none. */
function eachOf(check: Check): Check {
  return (answer) => {
    for (const item of list(answer)) {
      const problem = check(item);
      if (problem) return `${item}: ${problem}`;
    }
    return undefined;
  };
}
