// One client connection through the gateway, in the order of DESIGN.md §2 (the listener has
// already applied the per-IP rate limit): first factor, target decision, upstream login, then the channel relays.
import { randomBytes } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type ssh2 from 'ssh2';
import type { LocalUserDirectory } from '../../auth/local-users.js';
import type { PasswordAuthenticator } from '../../auth/password-check.js';
import type { ConnectionPolicy } from '../../config/schema.js';
import type { CredentialSource } from '../../credstore/credential-source.js';
import type { AuditLog } from '../../log/events/audit-log.js';
import type { Logger } from '../../log/logger.js';
import { AaConversation } from '../aa/aa-conversation.js';
import type { AaPlugin } from '../aa/plugin-host.js';
import type { ChannelPolicy } from '../channel-policy.js';
import type { ConnectionStore } from '../../audit/connections/session-row.js';
import { ConnectionRecord } from '../connection-record.js';
import type { LiveSessions } from '../live-sessions.js';
import type { ClientRateLimiter } from '../rate-limit.js';
import type { TargetAllowlist } from '../../config/target-rules.js';
import type { UsermappingPolicy } from '../usermapping.js';
import { formatTarget, parseTarget, type TargetHost } from '../username.js';
import { FirstFactor, type AuthenticatedLogin } from './first-factor.js';
import { relayForward } from './forward-relay.js';
import type { KnownHostsStore } from './known-hosts.js';
import { loginFacts } from './second-factor.js';
import { relaySession, type RelayContext } from './session-relay.js';
import { SessionRecordings, type RecordingStore } from './channel-recorder.js';
import { connectUpstream, UpstreamError } from './upstream.js';

export interface ConnectionDeps {
  policy: ConnectionPolicy;
  users: LocalUserDirectory;
  /** The policy's password backend: `users`, or its LDAP or RADIUS server. */
  passwords: PasswordAuthenticator;
  limiter: ClientRateLimiter;
  knownHosts: KnownHostsStore;
  credentials: CredentialSource;
  targets: TargetAllowlist;
  usermapping: UsermappingPolicy;
  channelPolicy: ChannelPolicy;
  /** The policy's AA plugin configuration, when it names one. */
  aaPlugin?: AaPlugin;
  log: Logger;
  /** The policy's security events; each connection reports through a child carrying its session id and client IP. */
  audit: AuditLog;
  /** Where shell and exec channels are recorded (per the policy's `recording`); absent: nothing is recorded. */
  recordings?: RecordingStore;
  /** The gateway's live connections (`gatehouse sessions`); each connection registers for its lifetime. */
  liveSessions?: LiveSessions;
  /** The connection database; absent: sessions are only reported as events. */
  connections?: ConnectionStore;
}

/** How long a killed connection waits for its session channels to close before it disconnects anyway. */
const killGraceMs = 2000;

export function serveConnection(conn: ssh2.Connection, info: ssh2.ClientInfo, deps: ConnectionDeps): void {
  // The connection id is also the session id the AA plugin sees, so their log lines join up.
  const sessionId = randomBytes(6).toString('hex');
  const log = deps.log.child({ conn: sessionId });
  const audit = deps.audit.child(log, { sessionId, clientIp: info.ip });
  const aa = deps.aaPlugin && new AaConversation(deps.aaPlugin, { sessionId, connectionName: deps.policy.name, clientIp: info.ip, clientPort: info.port });
  const record = new ConnectionRecord(audit, info.ip, info.port, deps.policy.name, sessionId, (row) =>
    deps.connections?.saveSession(row).catch((err: Error) => audit.emit('connection-database-failed', { operation: 'save-session', reason: err.message })),
  );
  if (aa) record.aa = aa;
  let upstreamClient: ssh2.Client | undefined;
  const sessionChannels = new Set<ssh2.ServerChannel>();
  let killed = false;
  const unregister = deps.liveSessions?.register(sessionId, {
    describe: () => ({
      sessionId,
      ...record.who(),
      serverUser: record.serverUser ?? null,
      clientIp: info.ip,
      clientPort: info.port,
      policy: deps.policy.name,
      startedAt: new Date(record.startedAt).toISOString(),
      channels: record.channelSummary(),
      bytesFromClient: record.bytesFromClient,
      bytesToClient: record.bytesToClient,
      recordings: record.recordingIds(),
    }),
    kill: (reason, origin) => {
      if (killed) return;
      killed = true;
      record.refuse('killed by administrator', 'killed');
      audit.emit('session-killed', { ...record.who(), serverUser: record.serverUser ?? null, reason, origin });
      endKilled(conn, [...sessionChannels], reason);
    },
  });
  conn.on('error', (err: Error) => log.warn({ err: err.message }, 'client connection error'));
  conn.on('close', () => {
    unregister?.();
    upstreamClient?.end();
    record.close();
    // However the session ended, the plugin hears of it (and gives back, e.g., its connection-limit slot).
    void aa?.end();
  });
  log.info({ clientIp: info.ip, clientPort: info.port, clientVersion: info.header.versions.software.slice(0, 64) }, 'client connected');

  const firstFactor = new FirstFactor({
    users: deps.users,
    passwords: deps.passwords,
    // Passthrough needs the person's password; directory policies authenticate people by password only.
    publicKeys: deps.passwords === deps.users && !deps.credentials.needsClientPassword,
    limiter: deps.limiter,
    clientIp: info.ip,
    ...(aa ? { aa } : {}),
    log,
    audit,
    disconnect: () => conn.end(),
  });
  conn.on('authentication', (ctx) => firstFactor.handle(ctx));
  // Remote forwarding (`ssh -R`) and other global requests are not relayed.
  conn.on('request', (_accept, reject, name) => {
    // Asking for a listening port (`ssh -R`) is a refused forwarding; other global requests (keepalives) are not events.
    if (name === 'tcpip-forward' || (name as string) === 'streamlocal-forward@openssh.com') audit.emit('channel-denied', { ...record.who(), channel: name, reason: 'remote forwarding is not supported' });
    else log.debug({ request: String(name).slice(0, 64) }, 'global request refused');
    reject?.();
  });

  conn.on('ready', () => {
    const login = firstFactor.login;
    if (!login) return conn.end();
    record.gatewayUser = login.gatewayUser;
    record.gatewayGroups = login.gatewayGroups ?? [];
    record.serverUser = login.username.serverUser;
    const upstream = loginToTarget(login, deps, record, log, audit, aa).then(
      (client) => {
        upstreamClient = client;
        client.on('close', () => conn.end());
        return client;
      },
      (err: Error) => {
        if (err instanceof ClientSafeRefusal) throw err;
        // Anything else is a gateway fault: the log gets it, the client a message without internals.
        log.error({ err: err.message, stack: err.stack }, 'session setup failed');
        record.refuse('internal-error', 'error');
        throw new ClientSafeRefusal('the gateway failed to set up the session');
      },
    );
    upstream.catch(() => undefined);
    const channelPolicy = deps.channelPolicy.forGroups(login.gatewayGroups ?? []);
    const recordings = deps.recordings && new SessionRecordings(deps.recordings, deps.policy.recording, sessionId, record, audit, log);
    const sessionChannelOpened = (down: ssh2.ServerChannel): void => {
      sessionChannels.add(down);
      down.once('close', () => sessionChannels.delete(down));
    };
    const relay: RelayContext = { upstream: () => upstream, channelPolicy, record, log, audit, endConnection: () => conn.end(), sessionChannelOpened, ...(recordings ? { recordings } : {}) };
    conn.on('session', (accept) => relaySession(accept, relay));
    conn.on('tcpip', (accept, reject, request) => relayForward(accept, reject, request, relay));
    conn.on('openssh.streamlocal', (_accept, reject) => {
      audit.emit('channel-denied', { ...record.who(), channel: 'direct-streamlocal', reason: 'forwarding to a Unix socket is not supported' });
      reject();
    });
  });
}

/**
 * Ends a connection an administrator killed: each open session channel gets the reason on its
 * stderr and is closed; the connection (and with it the upstream) ends once they have closed, so
 * the message reaches the client first, or after a grace period.
 */
function endKilled(conn: ssh2.Connection, channels: ssh2.ServerChannel[], reason: string): void {
  let open = channels.length;
  const end = (): void => {
    conn.end();
  };
  if (open === 0) return end();
  setTimeout(end, killGraceMs).unref();
  for (const down of channels) {
    down.once('close', () => {
      open -= 1;
      if (open === 0) end();
    });
    down.stderr.write(`\r\ngatehouse: this session was ended by an administrator: ${reason}\r\n`);
    down.exit(255);
    down.end();
  }
}

/** Decides the target and logs in to it; rejects with a message that is safe to show the client. */
async function loginToTarget(login: AuthenticatedLogin, deps: ConnectionDeps, record: ConnectionRecord, log: Logger, audit: AuditLog, aa?: AaConversation): Promise<ssh2.Client> {
  const { policy } = deps;
  const who = { gatewayUser: login.gatewayUser, serverUser: login.username.serverUser, policy: policy.name };
  const target: TargetHost | undefined = login.username.target ?? (policy.defaultTarget ? parseTarget(policy.defaultTarget) : undefined);
  if (!target) {
    audit.emit('target-denied', { ...who, reason: 'no-target' });
    return refuse(record, 'no-target', `no target given and policy "${policy.name}" has no default target`);
  }
  const port = target.port ?? 22;
  const where = formatTarget({ ...target, port });
  record.target = where;
  if (!deps.targets.allows(target.host, port)) {
    audit.emit('target-denied', { ...who, target: where, reason: 'not-allowed' });
    return refuse(record, 'target-denied', `target ${where} is not allowed by policy "${policy.name}"`);
  }
  if (!deps.usermapping.allows(login.gatewayUser, login.username.serverUser, login.gatewayGroups)) {
    audit.emit('usermapping-denied', { ...who, target: where, reason: 'no-rule-allows' });
    return refuse(record, 'usermapping-denied', `gateway user ${login.gatewayUser} may not log in as ${login.username.serverUser} under policy "${policy.name}"`);
  }
  if (aa) await authorize(aa, login, target, port, record, audit);

  const credential = await deps.credentials.credentialFor({
    gatewayUser: login.gatewayUser,
    serverUser: login.username.serverUser,
    host: target.host,
    port,
    ...(login.password !== undefined ? { clientPassword: login.password } : {}),
  });
  // The person's password is needed for this one login only; do not keep it for the session's life.
  delete login.password;
  if ('missing' in credential) {
    if (credential.detail) audit.emit('credential-store-failure', { operation: 'credential-lookup', reason: credential.detail });
    audit.emit('upstream-failed', { gatewayUser: who.gatewayUser, serverUser: who.serverUser, target: where, kind: 'no-credential', reason: credential.missing });
    return refuse(record, 'no-credential', credential.missing);
  }

  try {
    const client = await connectUpstream({
      host: target.host,
      port,
      username: login.username.serverUser,
      credential,
      knownHosts: deps.knownHosts,
      hostKeyPolicy: policy.hostKeyPolicy,
      connectTimeoutMs: policy.connectTimeoutSeconds * 1000,
      keepaliveMs: policy.keepaliveSeconds * 1000,
      log,
      learned: (fingerprint) => audit.emit('target-host-key-learned', { target: where, fingerprint }),
    });
    record.sessionStarted();
    return client;
  } catch (err) {
    if (!(err instanceof UpstreamError)) throw err;
    const { detail } = err;
    audit.emit('upstream-failed', {
      gatewayUser: who.gatewayUser,
      serverUser: who.serverUser,
      target: where,
      kind: err.kind,
      reason: err.message,
      detail: detail.err ?? null,
      fingerprint: detail.presented ?? null,
      expectedFingerprints: detail.expected?.join(',') ?? null,
    });
    record.refuse(err.kind, err.kind === 'handshake' ? 'error' : 'refused');
    throw new ClientSafeRefusal(err.message);
  }
}

/** The AA plugin's `authorize`, once the target is known; it sees the address the gateway will connect to. */
async function authorize(aa: AaConversation, login: AuthenticatedLogin, target: TargetHost, port: number, record: ConnectionRecord, audit: AuditLog): Promise<void> {
  const who = { gatewayUser: login.gatewayUser, serverUser: login.username.serverUser, target: record.target ?? null };
  let serverIp = target.host;
  if (!isIP(target.host)) {
    try {
      serverIp = (await lookup(target.host)).address;
    } catch {
      audit.emit('target-denied', { ...who, policy: record.policy, reason: 'unresolvable' });
      return refuse(record, 'target-unresolvable', `target ${target.host} cannot be resolved`);
    }
  }
  const refusal = await aa.authorize(
    loginFacts(login),
    { gatewayGroups: login.gatewayGroups ?? null, serverIp, serverPort: port, serverHostname: isIP(target.host) ? null : target.host },
  );
  if (!refusal) return;
  audit.emit('aa-authorize-denied', { ...who, aaConfig: aa.sessionInfo.aaConfig, reason: refusal.reason });
  record.refuse('aa-authorize-denied');
  throw new ClientSafeRefusal(refusal.message ?? 'the session was not authorized');
}

/** A refusal whose message is meant for the client: one line, no internals. */
class ClientSafeRefusal extends Error {}

/** Ends the session setup; the caller has reported the refusal's event. */
function refuse(record: ConnectionRecord, reason: string, message: string): never {
  record.refuse(reason);
  throw new ClientSafeRefusal(message);
}
