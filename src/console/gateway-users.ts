// The menu's "Gateway users and servers": the local users who log in through the gateway (first factor) and
// the servers they may reach (the first connection policy's targets). Every change is ONE configuration
// commit with origin console, and the configuration schema judges names and targets, as it does for
// `gatehouse user` and `gatehouse config`: a refused commit shows its problems and changes nothing.
import { hashPassword } from '../auth/local-users.js';
import { ConfigError, validateConfig } from '../config/load.js';
import type { GatehouseConfig, TargetRuleConfig } from '../config/schema.js';
import type { ApplianceControl } from './appliance.js';
import { ask, askNewSecret, choose, confirm } from './prompts.js';
import type { ConsoleTerminal } from './terminal.js';

type Action = 'list' | 'add' | 'remove' | 'passwd' | 'servers' | 'back';

/** One action of the submenu, then back to the menu. */
export async function gatewayUsersAndServers(term: ConsoleTerminal, appliance: ApplianceControl): Promise<void> {
  const action = await choose<Action>(term, 'Gateway users and servers', [
    { label: 'list gateway users', value: 'list' },
    { label: 'add a user', value: 'add' },
    { label: 'remove a user', value: 'remove' },
    { label: "set a user's password", value: 'passwd' },
    { label: 'servers users may reach through the gateway', value: 'servers' },
    { label: 'back to the menu', value: 'back' },
  ]);
  const { config } = await appliance.current();
  switch (action) {
    case 'list':
      if (config.users.length === 0) term.write('No gateway users.\n');
      for (const user of config.users) term.write(`  ${user.name}  password: ${user.passwordHash ? 'yes' : 'no'}  keys: ${user.authorizedKeys.length}\n`);
      return;
    case 'add':
      return addUser(term, appliance, config);
    case 'remove': {
      const name = await chooseUser(term, config, 'Remove which user?');
      if (name === undefined || !(await confirm(term, `Remove user ${name}?`, false))) return;
      const version = await commitOrShowProblems(term, appliance, { ...config, users: config.users.filter((u) => u.name !== name) }, `user remove ${name}`);
      if (version !== undefined) term.write(`User ${name} removed (configuration version ${version}).\n`);
      return;
    }
    case 'passwd': {
      const name = await chooseUser(term, config, 'Set the password of which user?');
      if (name === undefined) return;
      const passwordHash = await hashPassword(await askNewSecret(term, 'New password', checkGatewayPassword));
      const users = config.users.map((u) => (u.name === name ? { ...u, passwordHash } : u));
      const version = await commitOrShowProblems(term, appliance, { ...config, users }, `user passwd ${name}`);
      if (version !== undefined) term.write(`Password of ${name} set (configuration version ${version}).\n`);
      return;
    }
    case 'servers':
      return changeServers(term, appliance, config);
    case 'back':
      return;
  }
}

/** Gateway passwords guard every server behind the gateway: long ones only. */
export function checkGatewayPassword(password: string): string | undefined {
  return password.length < 12 ? 'at least 12 characters' : undefined;
}

async function addUser(term: ConsoleTerminal, appliance: ApplianceControl, config: GatehouseConfig): Promise<void> {
  const name = await ask(term, 'User name', { check: (candidate) => userNameProblem(config, candidate) });
  const passwordHash = await hashPassword(await askNewSecret(term, 'Password', checkGatewayPassword));
  const version = await commitOrShowProblems(term, appliance, { ...config, users: [...config.users, { name, passwordHash, authorizedKeys: [] }] }, `user add ${name}`);
  if (version !== undefined) term.write(`User ${name} added (configuration version ${version}).\n`);
}

/** Why `name` cannot be added: taken, or refused by the schema (asked before the password, not after it). */
function userNameProblem(config: GatehouseConfig, name: string): string | undefined {
  if (name === '') return 'enter a user name';
  if (config.users.some((u) => u.name === name)) return `user "${name}" already exists`;
  try {
    validateConfig({ ...config, users: [...config.users, { name, authorizedKeys: [] }] });
    return undefined;
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.join('; ');
    throw err;
  }
}

async function chooseUser(term: ConsoleTerminal, config: GatehouseConfig, title: string): Promise<string | undefined> {
  if (config.users.length === 0) {
    term.write('No gateway users.\n');
    return undefined;
  }
  return choose<string | undefined>(term, title, [...config.users.map((u) => ({ label: u.name, value: u.name })), { label: 'back to the menu', value: undefined }]);
}

async function changeServers(term: ConsoleTerminal, appliance: ApplianceControl, config: GatehouseConfig): Promise<void> {
  const [policy, ...others] = config.connectionPolicies;
  if (!policy) throw new Error('the configuration has no connection policy');
  term.write(`Servers users may reach (connection policy ${policy.name}):\n`);
  for (const rule of policy.targets) term.write(`  ${rule.host}  ports ${rule.ports}\n`);
  const current = formatTargets(policy.targets);
  const answer = await ask(term, 'Servers, comma-separated host-or-CIDR[:ports] (ports * by default)', { default: current });
  if (answer === current) {
    term.write('No change.\n');
    return;
  }
  const targets = parseTargets(answer);
  const version = await commitOrShowProblems(term, appliance, { ...config, connectionPolicies: [{ ...policy, targets }, ...others] }, 'gateway servers');
  if (version !== undefined) term.write(`Servers set (configuration version ${version}).\n`);
}

/**
 * "host:ports" items, comma-separated; IPv6 hosts in brackets. A rule's port list ("22,2222") becomes one
 * item per entry, since commas separate the items: the same servers, read back the same way.
 */
export function formatTargets(rules: readonly TargetRuleConfig[]): string {
  return rules.flatMap((r) => r.ports.split(',').map((ports) => `${r.host.includes(':') ? `[${r.host}]` : r.host}:${ports.trim()}`)).join(', ');
}

/** "db1:22, 10.0.0.0/8, [2001:db8::/32]:2200-2299" → target rules; ports are * when not given. */
export function parseTargets(text: string): TargetRuleConfig[] {
  return text.split(',').map((item) => item.trim()).filter(Boolean).map((item) => {
    const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(item);
    if (bracketed) return { host: bracketed[1]!, ports: bracketed[2] || '*' };
    const [host, ports, ...more] = item.split(':');
    // A bare IPv6 address or CIDR has several colons: all of it is the host.
    if (more.length > 0) return { host: item, ports: '*' };
    return { host: host!, ports: ports || '*' };
  });
}

/** Commits, returning the new version; a configuration the schema refuses is shown problem by problem. */
async function commitOrShowProblems(term: ConsoleTerminal, appliance: ApplianceControl, config: unknown, message: string): Promise<number | undefined> {
  try {
    return (await appliance.commit(config, message)).version;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    term.write(`Refused, nothing was changed:\n${err.problems.map((problem) => `  - ${problem}\n`).join('')}`);
    return undefined;
  }
}
