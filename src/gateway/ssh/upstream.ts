// The gateway's SSH login to the target server (ssh2 client side), with the host-key check.
import ssh2 from 'ssh2';
import type { UpstreamCredential } from '../../credstore/credential-source.js';
import type { Logger } from '../../log/logger.js';
import type { HostKeyPolicy, KnownHostsStore } from './known-hosts.js';

export interface UpstreamRequest {
  host: string;
  port: number;
  username: string;
  credential: UpstreamCredential;
  knownHosts: KnownHostsStore;
  hostKeyPolicy: HostKeyPolicy;
  connectTimeoutMs: number;
  keepaliveMs: number;
  log: Logger;
  /** Called when trust-on-first-use records the target's host key. */
  learned?: (fingerprint: string) => void;
}

export type UpstreamFailure = 'unknown-host' | 'unreachable' | 'host-key' | 'auth-failed' | 'handshake';

/** What the log learns of a failure besides its message: the underlying error, the host-key fingerprints. */
export interface UpstreamFailureDetail {
  err?: string;
  code?: string;
  level?: string;
  presented?: string;
  expected?: string[];
}

/** A failed upstream login: `message` is safe to show the client, `detail` is for the log only. */
export class UpstreamError extends Error {
  constructor(
    readonly kind: UpstreamFailure,
    message: string,
    readonly detail: UpstreamFailureDetail = {},
  ) {
    super(message);
    this.name = 'UpstreamError';
  }
}

/** Host-key algorithms ssh2 may negotiate for a known key of this type, so a known key is preferred. */
function algorithmsFor(type: string): string[] {
  return type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [type];
}

export async function connectUpstream(request: UpstreamRequest): Promise<ssh2.Client> {
  const { host, port, log } = request;
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const known = await request.knownHosts.lookup(host, port);
  const pinned = [...new Set(known.flatMap((key) => algorithmsFor(key.type)))];
  let hostKeyRefusal: UpstreamError | undefined;

  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    let settled = false;
    const fail = (err: UpstreamError): void => {
      if (settled) return;
      settled = true;
      client.removeAllListeners('ready');
      client.on('error', () => undefined);
      client.end();
      reject(err);
    };

    client.once('connect', () => client.setNoDelay(true));
    client.once('ready', () => {
      settled = true;
      client.removeAllListeners('error');
      client.on('error', (err) => log.warn({ err: err.message }, 'upstream connection error'));
      resolve(client);
    });
    client.on('error', (err: Error & { level?: string; code?: string }) => {
      if (hostKeyRefusal) return fail(hostKeyRefusal);
      fail(classify(err, where));
    });
    // A target that drops the TCP connection mid-handshake closes without an error.
    client.once('close', () => fail(hostKeyRefusal ?? new UpstreamError('handshake', `SSH handshake with target ${where} failed`, { err: 'connection closed by target' })));

    client.connect({
      host,
      port,
      username: request.username,
      // With both, ssh2 tries the key first and then the password.
      ...(request.credential.privateKey !== undefined ? { privateKey: request.credential.privateKey } : {}),
      ...(request.credential.password !== undefined ? { password: request.credential.password, tryKeyboard: false } : {}),
      readyTimeout: request.connectTimeoutMs,
      keepaliveInterval: request.keepaliveMs,
      keepaliveCountMax: 3,
      ...(pinned.length ? { algorithms: { serverHostKey: pinned as ssh2.ServerHostKeyAlgorithm[] } } : {}),
      hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
        request.knownHosts.verify(host, port, key, request.hostKeyPolicy).then(
          (verdict) => {
            if (verdict.ok) {
              if (verdict.learned) request.learned?.(verdict.fingerprint);
              return verify(true);
            }
            hostKeyRefusal =
              verdict.reason === 'key-changed'
                ? new UpstreamError('host-key', `host key of target ${where} has changed: connection refused`, {
                    presented: verdict.presented,
                    expected: verdict.expected,
                  })
                : new UpstreamError('host-key', `host key of target ${where} is not known: connection refused`, {
                    presented: verdict.presented,
                  });
            verify(false);
          },
          (err: Error) => {
            hostKeyRefusal = new UpstreamError('host-key', `cannot check the host key of target ${where}`, { err: err.message });
            verify(false);
          },
        );
      },
    } as ssh2.ConnectConfig);
  });
}

function classify(err: Error & { level?: string; code?: string }, where: string): UpstreamError {
  const detail = { err: err.message, code: err.code, level: err.level };
  if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') return new UpstreamError('unknown-host', `unknown target host ${where}`, detail);
  if (err.level === 'client-authentication') return new UpstreamError('auth-failed', `login to target ${where} failed`, detail);
  if (err.level === 'client-socket' || err.level === 'client-timeout' || /timed out/i.test(err.message)) {
    return new UpstreamError('unreachable', `cannot reach target ${where}`, detail);
  }
  return new UpstreamError('handshake', `SSH handshake with target ${where} failed`, detail);
}
