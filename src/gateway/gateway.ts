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
import { applyRetention } from '../audit/recording/retention.js';

const RETENTION_INTERVAL_MS = 60 * 60_000;

export interface Gateway {
  hostKey: HostKey;
  credentialStore: CredentialStoreService;
  /** The key the gateway logs in to targets with under `gateway-key` policies. */
  upstreamKey: HostKey;
  listeners: SshListener[];
  /** The live client connections (`gatehouse sessions`). */
  liveSessions: LiveSessions;
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
  const recordings: RecordingStore = { directory: join(dataDir, 'recordings'), signer: recordingKey };
  await mkdir(recordings.directory, { recursive: true, mode: 0o700 });
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
  const listeners: SshListener[] = [];
  const retention = keepRecordingsWithinRetention(config, recordings.directory, audit, log);
  const close = async (): Promise<void> => {
    await retention.stop();
    await Promise.all([...listeners.map((l) => l.close()), control.close()]);
    // Connections closed with the listeners still tell their plugins that their sessions ended.
    await new Promise((resolve) => setImmediate(resolve));
    await aaHost.close();
    await directories.close();
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
    close,
  };
}

/**
 * Applies the recordings' retention now and then hourly; a run never overlaps the previous one and a failure
 * is logged, never thrown. `stop` clears the timer and waits for a run in progress.
 */
function keepRecordingsWithinRetention(config: GatehouseConfig, directory: string, audit: AuditLog, log: Logger): { stop(): Promise<void> } {
  const days = new Map(config.connectionPolicies.map((p) => [p.name, p.recording.retentionDays]));
  const rules = { retentionDays: (policy: string) => days.get(policy), maxTotalBytes: config.recordings.maxTotalMiB * 1024 * 1024 };
  let running: Promise<void> | undefined;
  const run = (): void => {
    running ??= applyRetention(directory, rules)
      .then(({ deleted, failed }) => {
        for (const d of deleted) audit.emit('recording-deleted', { recording: d.id, policy: d.policy ?? null, reason: d.reason, bytes: d.bytes, ageDays: d.ageDays });
        for (const f of failed) log.error({ recording: f.id, err: f.reason }, 'retention could not delete a recording');
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
