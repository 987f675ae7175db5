// The gateway process: loads its keys and stores from the data directory and opens one listener
// per connection policy.
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { LocalUserDirectory } from '../auth/local-users.js';
import type { GatehouseConfig, ConnectionPolicy } from '../config/schema.js';
import { sealGuard } from '../config/sealed.js';
import { GatewayKeySource, PasswordPassthrough, type CredentialSource } from '../credstore/credential-source.js';
import { CredentialStoreService, credentialStoreFiles } from '../credstore/service.js';
import { StoredCredentialSource } from '../credstore/store-source.js';
import { applianceId } from '../system/appliance-id.js';
import { controlSocketPath, serveControl, type ControlRequest } from '../system/control-socket.js';
import { AuditLog } from '../log/events/audit-log.js';
import type { Logger } from '../log/logger.js';
import { AaPluginHost } from './aa/plugin-host.js';
import { Directories } from './directories.js';
import { ChannelPolicy } from './channel-policy.js';
import { ClientRateLimiter } from './rate-limit.js';
import { loadOrCreateKey, type HostKey } from './ssh/host-key.js';
import { KnownHostsStore } from './ssh/known-hosts.js';
import { listenSsh, type SshListener } from './ssh/listener.js';
import { TargetAllowlist } from '../config/target-rules.js';
import { UsermappingPolicy } from './usermapping.js';
import { LiveSessions } from './live-sessions.js';
import { loadOrCreateRecordingKey } from '../audit/recording/signing-key.js';
import type { RecordingStore } from './ssh/channel-recorder.js';
import { applyRetention, effectiveSizeCap, fileSystemBytes } from '../audit/recording/retention.js';
import { EmbeddedConnectionStore } from '../audit/connections/embedded-store.js';
import { CONNECTION_DATABASE_FILE } from '../audit/connections/sqlite-database.js';
import { recoverInterruptedSessions } from '../audit/connections/recovery.js';
import type { ConnectionStore } from '../audit/connections/session-row.js';

const RETENTION_INTERVAL_MS = 60 * 60_000;

export interface Gateway {
  hostKey: HostKey;
  credentialStore: CredentialStoreService;
  /** The key the gateway logs in to targets with under `gateway-key` policies. */
  upstreamKey: HostKey;
  listeners: SshListener[];
  /** The live client connections (`gatehouse sessions`). */
  liveSessions: LiveSessions;
  /** The connection database; undefined when it could not be opened (reported, and the gateway runs on). */
  connections: ConnectionStore | undefined;
  close(): Promise<void>;
}

export interface GatewayOptions {
  /** Reads the current sealed flag (the config store's); changes made through the control socket ask it first. */
  sealed?: () => Promise<boolean>;
  /** scrypt cost for passphrases set through this gateway (tests lower it). */
  scryptCost?: number;
  /** Time limit of one AA plugin hook call; tests lower it. Default 10 s. */
  aaTimeoutMs?: number;
  /** Where security events go besides the log (the journal); default: the log only. */
  audit?: AuditLog;
}

export async function startGateway(config: GatehouseConfig, dataDir: string, log: Logger, options: GatewayOptions = {}): Promise<Gateway> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const audit = options.audit ?? new AuditLog(log, undefined);
  const hostKey = await loadOrCreateKey(join(dataDir, 'ssh_host_ed25519_key'), 'gatehouse host key');
  const upstreamKey = await loadOrCreateKey(join(dataDir, 'upstream_ed25519_key'), 'gatehouse upstream login key');
  if (hostKey.created) log.info({ fingerprint: hostKey.fingerprint }, 'generated a new host key');
  const recordingKey = await loadOrCreateRecordingKey(dataDir);
  if (recordingKey.created) log.info({ fingerprint: recordingKey.fingerprint }, 'generated a new recording signing key');
  const recordingsDirectory = join(dataDir, 'recordings');
  await mkdir(recordingsDirectory, { recursive: true, mode: 0o700 });
  const binding = nativeCryptoLoaded();
  log[binding ? 'info' : 'warn']({ sshCryptoBinding: binding }, binding ? 'ssh2 native crypto binding loaded' : 'ssh2 native crypto binding NOT loaded: throughput will be several times lower');

  let sealedNow = false;
  const guard = sealGuard(() => sealedNow);
  const credentialStore = await CredentialStoreService.start(credentialStoreFiles(dataDir, await applianceId(dataDir)), guard, audit, { reportStart: true, ...(options.scryptCost !== undefined ? { scryptCost: options.scryptCost } : {}) });
  // The sealed flag can change while the gateway runs: read it afresh before every control request.
  const handlers = Object.fromEntries(
    Object.entries(credentialStore.handlers()).map(([op, handle]) => [
      op,
      async (request: ControlRequest) => {
        sealedNow = (await options.sealed?.()) ?? false;
        return handle(request);
      },
    ]),
  );
  // Ending a live session is an operational act: its handlers do not ask the sealed flag.
  const liveSessions = new LiveSessions();
  const control = await serveControl(controlSocketPath(dataDir), { ...handlers, ...liveSessions.handlers() }, log);

  const users = new LocalUserDirectory(config.users);
  const limiter = new ClientRateLimiter(config.rateLimit);
  const knownHosts = new KnownHostsStore(join(dataDir, 'known_hosts'));
  const credentialsFor = (policy: ConnectionPolicy): CredentialSource => {
    const { credentials } = policy;
    if (credentials.type === 'gateway-key') return new GatewayKeySource(upstreamKey.privateKey);
    if (credentials.type === 'credential-store') return new StoredCredentialSource(() => credentialStore.current(), credentials.allowPassthrough);
    return new PasswordPassthrough();
  };

  const directories = new Directories(config, () => credentialStore.current(), log);
  const aaHost = await AaPluginHost.start({
    config,
    dataDir,
    guard,
    ldap: directories.forPlugins,
    credentialStore: () => credentialStore.current(),
    log,
    audit,
    ...(options.aaTimeoutMs !== undefined ? { timeoutMs: options.aaTimeoutMs } : {}),
  });
  // Opened last before the listeners: from here on `close` ends its worker, whatever fails.
  const maxIndexedChars = config.recordings.indexedTextKiB * 1024;
  const connections = await openConnectionDatabase(join(dataDir, CONNECTION_DATABASE_FILE), recordingsDirectory, maxIndexedChars, audit, log);
  const recordings: RecordingStore = {
    directory: recordingsDirectory,
    signer: recordingKey,
    maxIndexedChars,
    ...(connections
      ? {
          indexText: (text) => {
            connections.addText(text).catch((err: Error) => audit.emit('connection-database-failed', { operation: 'index-text', reason: err.message }));
          },
        }
      : {}),
  };
  const listeners: SshListener[] = [];
  const retention = keepRecordingsWithinRetention(config, recordings.directory, audit, log, connections);
  const close = async (): Promise<void> => {
    await retention.stop();
    await Promise.all([...listeners.map((l) => l.close()), control.close()]);
    // Connections closed with the listeners still tell their plugins that their sessions ended.
    await new Promise((resolve) => setImmediate(resolve));
    await aaHost.close();
    await directories.close();
    // Last: the closed connections' final rows are queued before it.
    await connections?.close();
  };
  try {
    for (const policy of config.connectionPolicies) {
      const policyLog = log.child({ policy: policy.name });
      listeners.push(
        await listenSsh(hostKey, {
          policy,
          users,
          passwords: directories.passwordsFor(policy, users),
          limiter,
          knownHosts,
          credentials: credentialsFor(policy),
          targets: new TargetAllowlist(policy.targets),
          usermapping: new UsermappingPolicy(config.usermappingPolicies.find((u) => u.name === policy.usermappingPolicy)?.rules ?? []),
          channelPolicy: new ChannelPolicy(named(config.channelPolicies, policy.channelPolicy)),
          ...(policy.aaPluginConfiguration ? { aaPlugin: aaHost.plugin(policy.aaPluginConfiguration) } : {}),
          log: policyLog,
          audit: audit.child(policyLog, {}),
          recordings,
          liveSessions,
          ...(connections ? { connections } : {}),
        }),
      );
    }
  } catch (err) {
    await close();
    throw err;
  }
  return {
    hostKey,
    upstreamKey,
    credentialStore,
    listeners,
    liveSessions,
    connections,
    close,
  };
}

/**
 * Opens the connection database and settles the sessions a stopped gateway left running. A database that
 * cannot be opened is reported (`connection-database-failed`) and the gateway runs without it: recordings
 * are still made, and refusing every session because the search index is broken would be the worse failure.
 */
async function openConnectionDatabase(path: string, recordingsDirectory: string, maxIndexedChars: number, audit: AuditLog, log: Logger): Promise<ConnectionStore | undefined> {
  let store: ConnectionStore;
  try {
    store = await EmbeddedConnectionStore.open(path);
  } catch (err) {
    audit.emit('connection-database-failed', { operation: 'open', reason: (err as Error).message });
    return undefined;
  }
  try {
    const interrupted = await recoverInterruptedSessions(store, recordingsDirectory, maxIndexedChars);
    if (interrupted.length > 0) audit.emit('sessions-interrupted', { count: interrupted.length, sessions: interrupted.slice(0, 50).join(',') });
  } catch (err) {
    log.error({ err: (err as Error).message }, 'could not settle the sessions left running');
    audit.emit('connection-database-failed', { operation: 'recover', reason: (err as Error).message });
  }
  return store;
}

/**
 * Applies the recordings' retention now and then hourly; a run never overlaps the previous one and a failure
 * is logged, never thrown. `stop` clears the timer and waits for a run in progress.
 */
function keepRecordingsWithinRetention(config: GatehouseConfig, directory: string, audit: AuditLog, log: Logger, connections: ConnectionStore | undefined): { stop(): Promise<void> } {
  const days = new Map(config.connectionPolicies.map((p) => [p.name, p.recording.retentionDays]));
  const retentionDays = (policy: string) => days.get(policy);
  let running: Promise<void> | undefined;
  const run = (): void => {
    running ??= fileSystemBytes(directory)
      .then((size) => applyRetention(directory, { retentionDays, maxTotalBytes: effectiveSizeCap(config.recordings.maxTotalMiB * 1024 * 1024, size) }))
      .then(({ deleted, failed }) => {
        for (const d of deleted) audit.emit('recording-deleted', { recording: d.id, policy: d.policy ?? null, reason: d.reason, bytes: d.bytes, ageDays: d.ageDays });
        for (const f of failed) log.error({ recording: f.id, err: f.reason }, 'retention could not delete a recording');
        // The index follows: a deleted recording's text is no longer found.
        if (deleted.length > 0) return connections?.forgetRecordings(deleted.map((d) => d.id));
      })
      .catch((err: unknown) => log.error({ err: err instanceof Error ? err.message : String(err) }, 'recording retention failed'))
      .finally(() => {
        running = undefined;
      });
  };
  run();
  const timer = setInterval(run, RETENTION_INTERVAL_MS).unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

/** The schema guarantees that every name a policy refers to exists. */
function named<T extends { name: string }>(items: T[], wanted: string): T {
  const found = items.find((item) => item.name === wanted);
  if (!found) throw new Error(`no "${wanted}" in the configuration`);
  return found;
}

function nativeCryptoLoaded(): boolean {
  const require = createRequire(import.meta.url);
  return Boolean((require('ssh2/lib/protocol/crypto.js') as { bindingAvailable?: boolean }).bindingAvailable);
}
