// The console menu (issue 9): after the administrator's password, a numbered menu on an 80x24 line.
// Every action reports in one line what happened or why not; Ctrl-C in an action returns to the menu;
// an idle console locks and asks the password again. Seal and unseal happen here and only here: this
// process speaks with origin `console`.
import { verifyPassword } from '../auth/local-users.js';
import type { ApplianceControl } from './appliance.js';
import { gatewayUsersAndServers } from './gateway-users.js';
import { ask, choose, confirm } from './prompts.js';
import { ConsoleIdle, ConsoleInterrupt, type ConsoleTerminal } from './terminal.js';

/** Failed password attempts before the console makes the next one wait. */
const FREE_ATTEMPTS = 3;
const PENALTY_MS = 5000;

export interface MenuOptions {
  /** Runs the network step again (the wizard's), committing and applying it. */
  networkSettings: (term: ConsoleTerminal) => Promise<void>;
  /** Waits between failed logins; tests shorten it. */
  sleep?: (ms: number) => Promise<void>;
}

type Action = 'status' | 'network' | 'credstore' | 'seal' | 'sessions' | 'users' | 'events' | 'firmware' | 'reset' | 'reboot' | 'poweroff' | 'logout';

const ITEMS: { label: string; value: Action }[] = [
  { label: 'Status', value: 'status' },
  { label: 'Network settings', value: 'network' },
  { label: 'Credential store: unlock / lock', value: 'credstore' },
  { label: 'Seal / unseal the appliance', value: 'seal' },
  { label: 'Active sessions (list, end one)', value: 'sessions' },
  { label: 'Gateway users and servers', value: 'users' },
  { label: 'Recent security events', value: 'events' },
  { label: 'Firmware upgrade / rollback', value: 'firmware' },
  { label: 'Factory reset', value: 'reset' },
  { label: 'Reboot', value: 'reboot' },
  { label: 'Shut down', value: 'poweroff' },
  { label: 'Log out', value: 'logout' },
];

/** Asked before a reboot or power-off, here and in the data partition menu. */
export const POWER_QUESTIONS = { reboot: 'Reboot the appliance?', poweroff: 'Shut the appliance down?' } as const;

/**
 * Logs in and runs the menu; after a log-out or an idle lock it asks the password again. Returns only after a
 * factory reset (the caller runs the wizard next).
 */
export async function runMenu(term: ConsoleTerminal, appliance: ApplianceControl, options: MenuOptions): Promise<void> {
  for (;;) {
    await login(term, appliance, options);
    try {
      if ((await menuLoop(term, appliance, options)) === 'reset') return;
      term.write('\nLogged out.\n\n');
    } catch (err) {
      if (!(err instanceof ConsoleIdle)) throw err;
      term.write('\n\nThe console was idle: locked.\n\n');
    }
  }
}

async function login(term: ConsoleTerminal, appliance: ApplianceControl, options: MenuOptions): Promise<void> {
  const sleep = options.sleep ?? ((ms: number) => new Promise((resolve) => setTimeout(resolve, ms)));
  for (let failures = 0; ; ) {
    const { config } = await appliance.current();
    const hash = config.console.adminPasswordHash;
    if (!hash) throw new Error('the console administrator password is not set: run the first-boot wizard');
    let password: string;
    try {
      password = await term.readLine(`${config.network.hostname} console password: `, { secret: true });
    } catch (err) {
      if (err instanceof ConsoleInterrupt || err instanceof ConsoleIdle) continue;
      throw err;
    }
    if (await verifyPassword(password, hash)) return;
    failures += 1;
    term.write('Wrong password.\n');
    if (failures >= FREE_ATTEMPTS) await sleep(PENALTY_MS);
  }
}

/** Items whose changes the running gateway only sees after a restart (sealing is read live). */
const GATEWAY_SETTINGS: ReadonlySet<Action> = new Set(['network', 'users']);

async function menuLoop(term: ConsoleTerminal, appliance: ApplianceControl, options: MenuOptions): Promise<'logout' | 'reset'> {
  for (;;) {
    term.write('\n');
    let action: Action;
    try {
      action = await choose(term, 'Gatehouse console', ITEMS);
    } catch (err) {
      if (err instanceof ConsoleInterrupt) continue;
      throw err;
    }
    if (action === 'logout') return 'logout';
    try {
      const before = (await appliance.current()).version;
      if ((await perform(action, term, appliance, options)) === 'reset') return 'reset';
      if (GATEWAY_SETTINGS.has(action) && (await appliance.current()).version !== before) term.write(`${await appliance.applyToGateway()}\n`);
    } catch (err) {
      if (err instanceof ConsoleInterrupt) {
        term.write('\n(back to the menu)\n');
        continue;
      }
      if (err instanceof ConsoleIdle) throw err;
      term.write(`\n! ${oneLine((err as Error).message)}\n`);
    }
  }
}

async function perform(action: Exclude<Action, 'logout'>, term: ConsoleTerminal, appliance: ApplianceControl, options: MenuOptions): Promise<'reset' | void> {
  switch (action) {
    case 'status':
      for (const line of await appliance.status()) term.write(`${line}\n`);
      return;
    case 'network':
      return options.networkSettings(term);
    case 'credstore':
      return credentialStore(term, appliance);
    case 'seal': {
      const { sealed } = await appliance.current();
      if (!(await confirm(term, sealed ? 'The appliance is sealed. Unseal it (remote changes allowed again)?' : 'Seal the appliance (remote changes refused until unsealed here)?', false))) return;
      const committed = await appliance.setSealed(!sealed);
      term.write(`${committed.sealed ? 'Sealed' : 'Unsealed'} (configuration version ${committed.version}).\n`);
      return;
    }
    case 'sessions':
      return sessions(term, appliance);
    case 'users':
      return gatewayUsersAndServers(term, appliance);
    case 'events':
      for (const line of await appliance.recentEvents(20)) term.write(`${line}\n`);
      return;
    case 'firmware':
      return firmware(term, appliance);
    case 'reset':
      term.write('Factory reset erases the configuration, the credential store, host keys and recordings.\n');
      if (!(await confirm(term, 'Erase everything?', false))) return;
      if ((await ask(term, 'Type RESET to confirm')) !== 'RESET') {
        term.write('Not confirmed: nothing erased.\n');
        return;
      }
      await appliance.factoryReset();
      term.write('Factory reset done: everything is erased. The first-boot setup starts again.\n\n');
      return 'reset';
    case 'reboot':
    case 'poweroff':
      if (!(await confirm(term, POWER_QUESTIONS[action], false))) return;
      await appliance.power(action);
      return;
  }
}

async function firmware(term: ConsoleTerminal, appliance: ApplianceControl): Promise<void> {
  for (const line of await appliance.firmwareStatus()) term.write(`${line}\n`);
  const action = await choose(term, 'Firmware', [
    { label: 'upgrade from a signed bundle file', value: 'upgrade' as const },
    { label: 'roll back: the other slot boots next', value: 'rollback' as const },
    { label: 'back to the menu', value: 'back' as const },
  ]);
  if (action === 'back') return;
  if (action === 'upgrade') {
    const bundle = await ask(term, 'Bundle file (e.g. /data/upgrade/gatehouse-1.2.0.bundle)');
    if (!(await confirm(term, `Verify and install ${bundle}?`, true))) return;
    await appliance.upgradeFirmware(bundle, (line) => term.write(`${line}\n`));
  } else {
    if (!(await confirm(term, 'Boot the other slot next?', false))) return;
    term.write(`${await appliance.rollbackFirmware()}\n`);
  }
  if (await confirm(term, 'Reboot now?', false)) await appliance.power('reboot');
}

async function credentialStore(term: ConsoleTerminal, appliance: ApplianceControl): Promise<void> {
  const status = await appliance.credentialStore();
  if (!status.exists) {
    term.write('There is no credential store (create it with the first-boot wizard or `gatehouse credstore init`).\n');
    return;
  }
  if (status.unlocked) {
    if (await confirm(term, 'The credential store is unlocked. Lock it (logins that need stored credentials fail until unlocked)?', false)) {
      await appliance.lockCredentialStore();
      term.write('Locked.\n');
    }
    return;
  }
  if (status.mode !== 'passphrase') {
    await appliance.unlockCredentialStore();
    term.write('Unlocked with the appliance key.\n');
    return;
  }
  const count = status.parts ?? 1;
  const parts: string[] = [];
  for (let i = 1; i <= count; i++) parts.push(await term.readLine(count > 1 ? `Passphrase part ${i} of ${count}: ` : 'Master passphrase: ', { secret: true }));
  try {
    await appliance.unlockCredentialStore(parts);
  } catch (err) {
    term.write(`Not unlocked: ${oneLine((err as Error).message)}\n`);
    return;
  }
  term.write('Unlocked.\n');
}

async function sessions(term: ConsoleTerminal, appliance: ApplianceControl): Promise<void> {
  const live = await appliance.sessions();
  if (live.length === 0) {
    term.write('No active sessions.\n');
    return;
  }
  const back = { label: 'back to the menu', value: undefined };
  const chosen = await choose(term, 'Active sessions (choose one to end it)', [...live.map((s) => ({ label: s.line, value: s.id as string | undefined })), back]);
  if (chosen === undefined) return;
  if (!(await confirm(term, `End session ${chosen}?`, false))) return;
  const reason = await ask(term, 'Reason shown to the user', { default: 'ended from the console' });
  await appliance.killSession(chosen, reason);
  term.write(`Session ${chosen} ended.\n`);
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').slice(0, 300);
}
