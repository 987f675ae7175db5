// The one holder of the credential store in a process: it opens the store file, unlocks it at
// start in appliance-key mode, and answers the control requests the CLI sends (unlock, lock,
// list, add, remove, passwd). The gateway runs one; when the gateway is not running, the CLI runs
// its own, so every change takes the same path whichever process makes it.
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChangeOrigin, SealGuard } from '../config/sealed.js';
import type { AuditLog } from '../log/events/audit-log.js';
import type { ControlHandler, ControlRequest } from '../system/control-socket.js';
import { LocalCredentialStore, type UnlockMethod } from './local-store.js';

export interface CredentialStoreFiles {
  file: string;
  keyFile: string;
  applianceId: string;
}

export function credentialStoreFiles(dataDir: string, applianceId: string): CredentialStoreFiles {
  return { file: join(dataDir, 'credstore.json'), keyFile: join(dataDir, 'appliance.key'), applianceId };
}

export class CredentialStoreService {
  private store: LocalCredentialStore | undefined;

  private constructor(
    private readonly files: CredentialStoreFiles,
    private readonly guard: SealGuard,
    private readonly audit: AuditLog,
    private readonly scryptCost?: number,
  ) {}

  /**
   * Opens the store when it exists; in appliance-key mode it is unlocked at once. Its events go to
   * `audit`; the state it starts in is reported with `reportStart` (the gateway's service, not the
   * CLI's short-lived one).
   */
  static async start(files: CredentialStoreFiles, guard: SealGuard, audit: AuditLog, options: { scryptCost?: number; reportStart?: boolean } = {}): Promise<CredentialStoreService> {
    const { scryptCost, reportStart = false } = options;
    const service = new CredentialStoreService(files, guard, audit, scryptCost);
    if (!(await exists(files.file))) return service;
    service.store = await LocalCredentialStore.open({ ...files, guard, ...(scryptCost ? { scryptCost } : {}) });
    if (service.store.mode === 'appliance-key') {
      try {
        await service.store.unlock();
        if (reportStart) audit.emit('credential-store-unlocked', { mode: 'appliance-key' });
      } catch (err) {
        audit.emit('credential-store-failure', { operation: 'unlock', reason: (err as Error).message });
      }
    } else if (reportStart) {
      audit.emit('credential-store-start-locked', { mode: service.store.mode, parts: service.store.partCount });
    }
    return service;
  }

  current(): LocalCredentialStore | undefined {
    return this.store;
  }

  handlers(): Record<string, ControlHandler> {
    return {
      'credstore-status': async () => this.status(),
      'credstore-init': async (request) => {
        if (this.store) throw new Error('the credential store already exists');
        this.store = await LocalCredentialStore.init({ ...this.files, guard: this.guard, origin: origin(request), method: method(request), ...(this.scryptCost ? { scryptCost: this.scryptCost } : {}) });
        this.audit.emit('credential-store-created', { mode: this.store.mode, origin: origin(request) });
        return this.status();
      },
      'credstore-unlock': async (request) => {
        try {
          await this.existing().unlock(strings(request.parts));
        } catch (err) {
          this.audit.emit('credential-store-failure', { operation: 'unlock', reason: (err as Error).message, origin: origin(request) });
          throw err;
        }
        this.audit.emit('credential-store-unlocked', { mode: this.existing().mode, origin: origin(request) });
        return this.status();
      },
      'credstore-lock': async (request) => {
        this.existing().lock();
        this.audit.emit('credential-store-locked', { origin: origin(request) });
        return this.status();
      },
      'credstore-list': async () => ({ entries: this.existing().list() }),
      'credstore-set-target': async (request) => {
        await this.existing().setTargetCredential(origin(request), {
          hostPattern: String(request.hostPattern),
          username: String(request.username),
          ...(typeof request.password === 'string' ? { password: request.password } : {}),
          ...(typeof request.privateKey === 'string' ? { privateKey: request.privateKey } : {}),
        });
        this.audit.emit('credential-store-changed', { change: 'set-target', hostPattern: String(request.hostPattern), username: String(request.username), origin: origin(request) });
        return {};
      },
      'credstore-set-secret': async (request) => {
        const scope = typeof request.scope === 'string' ? request.scope : '';
        await this.existing().setPluginSecret(origin(request), {
          scope,
          section: String(request.section),
          option: String(request.option),
          value: String(request.value),
        });
        // The names of the secret only: its value goes nowhere but the store.
        this.audit.emit('credential-store-changed', { change: 'set-secret', scope, section: String(request.section), option: String(request.option), origin: origin(request) });
        return {};
      },
      'credstore-remove': async (request) => {
        await this.existing().remove(origin(request), String(request.id));
        this.audit.emit('credential-store-changed', { change: 'remove', entry: String(request.id), origin: origin(request) });
        return {};
      },
      'credstore-passwd': async (request) => {
        await this.existing().passwd(origin(request), method(request));
        this.audit.emit('credential-store-changed', { change: 'passwd', mode: this.existing().mode, origin: origin(request) });
        return this.status();
      },
    };
  }

  private status(): Record<string, unknown> {
    if (!this.store) return { exists: false };
    return { exists: true, mode: this.store.mode, parts: this.store.partCount, unlocked: this.store.isUnlocked(), entries: this.store.list().length };
  }

  private existing(): LocalCredentialStore {
    if (!this.store) throw new Error('no credential store yet: create one with `gatehouse credstore init`');
    return this.store;
  }
}

function origin(request: ControlRequest): ChangeOrigin {
  return request.origin === 'console' ? 'console' : 'remote';
}

function strings(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : undefined;
}

function method(request: ControlRequest): UnlockMethod {
  const parts = strings(request.parts);
  return parts ? { kind: 'passphrase', parts } : { kind: 'appliance-key' };
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}
