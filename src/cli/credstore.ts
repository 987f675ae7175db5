// `gatehouse credstore ...`: the encrypted local credential store. Requests go to the running
// gateway over its control socket (it holds the unlocked store); when the gateway is not running,
// the CLI opens the store itself and makes the change the same way.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { sealGuard } from '../config/sealed.js';
import { cliAudit } from './audit.js';
import { CredentialStoreService, credentialStoreFiles } from '../credstore/service.js';
import { applianceId } from '../system/appliance-id.js';
import { callControl, controlSocketPath, type ControlAnswer, type ControlRequest } from '../system/control-socket.js';
import { changeOrigin } from './origin.js';
import { dataDirectory } from './paths.js';
import { askGateway } from './gateway-call.js';
import { readParts, readSecret } from './secret-input.js';
import { openConfigStore } from './stores.js';

const help = `Usage: gatehouse credstore <action> [options]

  init [--passphrase [--parts N]]     create the store; the data key is wrapped by the appliance key
                                      (unlocked automatically at start) or by a master passphrase,
                                      optionally in N parts entered by different people
  status                              whether the store exists, its mode, whether it is unlocked
  unlock                              unlock the store in the running gateway (asks for the passphrase)
  lock                                forget the data key in the running gateway
  passwd [--passphrase [--parts N] | --appliance-key]
                                      re-wrap the data key (entries are not re-encrypted)
  add target --host PATTERN --user NAME [--password] [--key FILE]
                                      store the password (asked) and/or private key the gateway logs in
                                      to PATTERN (hostname, IP, CIDR, *.domain, *) as NAME with
  add secret --section S --option O [--scope CONFIG]
                                      store a plugin secret (the value of a "$" option; asked)
  list                                list entries (never their secrets)
  remove ID                           remove an entry

Passphrases, passwords and secret values are read from a no-echo prompt, or one per line from
standard input; never from the command line. While the appliance is sealed, only the local
console may change the store.
`;

export async function credstoreCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      passphrase: { type: 'boolean' },
      'appliance-key': { type: 'boolean' },
      parts: { type: 'string', default: '1' },
      host: { type: 'string' },
      user: { type: 'string' },
      password: { type: 'boolean' },
      key: { type: 'string' },
      section: { type: 'string' },
      option: { type: 'string' },
      scope: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [action, kind] = positionals;
  if (values.help || !action) {
    process.stdout.write(help);
    return values.help ? 0 : 2;
  }
  const origin = changeOrigin();
  const partCount = Number(values.parts);
  if (!Number.isInteger(partCount) || partCount < 1 || partCount > 9) throw new Error('--parts must be a whole number from 1 to 9');
  const dataDir = dataDirectory();

  switch (action) {
    case 'status':
      return print(await send(dataDir, { op: 'credstore-status' }));
    case 'init':
    case 'passwd': {
      const parts = values.passphrase && !values['appliance-key'] ? await readNewParts(partCount) : undefined;
      return print(await send(dataDir, { op: `credstore-${action}`, origin, ...(parts ? { parts } : {}) }));
    }
    case 'unlock': {
      const status = await gatewayOnly(dataDir, { op: 'credstore-status' });
      if (status.mode !== 'passphrase') return print(await gatewayOnly(dataDir, { op: 'credstore-unlock' }));
      const parts = await readParts(Number(status.parts), 'Credential store passphrase');
      return print(await gatewayOnly(dataDir, { op: 'credstore-unlock', parts }));
    }
    case 'lock':
      return print(await gatewayOnly(dataDir, { op: 'credstore-lock' }));
    case 'list': {
      const answer = await send(dataDir, { op: 'credstore-list' });
      for (const entry of (answer.entries ?? []) as { id: string; label: string; updated?: string }[]) {
        process.stdout.write(`${entry.id}\t${entry.label}\t${entry.updated ?? ''}\n`);
      }
      return 0;
    }
    case 'add':
      if (kind === 'target') return print(await send(dataDir, () => targetRequest(values, origin)));
      if (kind === 'secret') {
        const { section, option } = values;
        if (!section || !option) throw new Error('add secret needs --section and --option');
        return print(
          await send(dataDir, async () => {
            const value = await readSecret(`Value of [${section}] ${option}: `);
            return { op: 'credstore-set-secret', origin, section, option, scope: values.scope ?? '', value };
          }),
        );
      }
      throw new Error('add what? "add target" or "add secret"');
    case 'remove':
      if (!kind) throw new Error('remove needs an entry ID (see `gatehouse credstore list`)');
      return print(await send(dataDir, { op: 'credstore-remove', origin, id: kind }));
    default:
      throw new Error(`unknown credstore action "${action}"`);
  }
}

async function targetRequest(values: { host?: string; user?: string; password?: boolean; key?: string }, origin: string): Promise<ControlRequest> {
  if (!values.host || !values.user) throw new Error('add target needs --host and --user');
  if (!values.password && !values.key) throw new Error('add target needs --password and/or --key FILE');
  const privateKey = values.key ? await readFile(values.key, 'utf8') : undefined;
  const password = values.password ? await readSecret(`Password of ${values.user} on ${values.host}: `) : undefined;
  return { op: 'credstore-set-target', origin, hostPattern: values.host, username: values.user, ...(password ? { password } : {}), ...(privateKey ? { privateKey } : {}) };
}

async function readNewParts(count: number): Promise<string[]> {
  const parts = await readParts(count, 'New passphrase');
  if (process.stdin.isTTY) {
    const again = await readParts(count, 'Repeat the new passphrase');
    if (again.some((part, i) => part !== parts[i])) throw new Error('the passphrases do not match');
  }
  return parts;
}

/**
 * To the running gateway, or, when it is not running, to a store service in this process. A
 * request that asks for secrets is built only after the local store is unlocked, so the store's
 * passphrase is asked (or read from stdin) before the new secret.
 */
export async function send(dataDir: string, build: ControlRequest | (() => Promise<ControlRequest>)): Promise<Record<string, unknown>> {
  const gatewayRunning = await callControl(controlSocketPath(dataDir), { op: 'credstore-status' }).then(
    () => true,
    (err: Error) => {
      if (/not running/.test(err.message)) return false;
      throw err;
    },
  );
  if (gatewayRunning) return answerOf(await callControl(controlSocketPath(dataDir), typeof build === 'function' ? await build() : build));
  const service = await localService(dataDir);
  const store = service.current();
  const op = typeof build === 'function' ? 'credstore-change' : build.op;
  if (store && !store.isUnlocked() && !['credstore-status', 'credstore-list', 'credstore-init'].includes(op)) {
    await store.unlock(store.mode === 'passphrase' ? await readParts(store.partCount, 'Credential store passphrase') : undefined);
  }
  const request = typeof build === 'function' ? await build() : build;
  const handler = service.handlers()[request.op];
  if (!handler) throw new Error(`unknown operation ${request.op}`);
  return handler(request);
}

function gatewayOnly(dataDir: string, request: ControlRequest): Promise<Record<string, unknown>> {
  return askGateway(dataDir, request, 'the store is unlocked in the running gateway (start it with `gatehouse serve`)');
}

async function localService(dataDir: string): Promise<CredentialStoreService> {
  const sealed = (await openConfigStore(dataDir)).current().sealed;
  const files = credentialStoreFiles(dataDir, await applianceId(dataDir));
  return CredentialStoreService.start(files, sealGuard(() => sealed), cliAudit(dataDir));
}

function answerOf(answer: ControlAnswer): Record<string, unknown> {
  if (!answer.ok) throw new Error(answer.error);
  return answer;
}

function print(answer: Record<string, unknown>): number {
  const { ok: _ok, ...rest } = answer;
  process.stdout.write(Object.keys(rest).length ? `${Object.entries(rest).map(([k, v]) => `${k}: ${String(v)}`).join('\n')}\n` : 'done\n');
  return 0;
}
