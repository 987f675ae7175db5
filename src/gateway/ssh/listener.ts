// One SSH listener per connection policy. The TCP listener is ours, so locked-out client IPs are
// dropped before any SSH work, and sockets that never log in are closed after the grace time.
import { createServer, type AddressInfo, type Socket } from 'node:net';
import ssh2 from 'ssh2';
import type { HostKey } from './host-key.js';
import { serveConnection, type ConnectionDeps } from './connection.js';

export interface SshListener {
  policy: string;
  address: string;
  port: number;
  close(): Promise<void>;
}


export async function listenSsh(hostKey: HostKey, deps: ConnectionDeps): Promise<SshListener> {
  const { policy, log, audit, limiter } = deps;
  const sockets = new Set<Socket>();
  // Sockets by "ip:port", so the SSH connection can find its login-grace timer.
  const pending = new Map<string, { grace: NodeJS.Timeout; identified: boolean; loggedIn: boolean }>();
  let unauthenticated = 0;

  const ssh = new ssh2.Server(
    {
      hostKeys: [hostKey.privateKey],
      ident: 'Gatehouse',
      ...(policy.keepaliveSeconds > 0 ? { keepaliveInterval: policy.keepaliveSeconds * 1000, keepaliveCountMax: 3 } : {}),
    } as ssh2.ServerConfig,
    (conn, info) => {
      const entry = pending.get(`${info.ip}:${info.port}`);
      if (entry) entry.identified = true;
      conn.once('ready', () => {
        if (!entry) return;
        clearTimeout(entry.grace);
        entry.loggedIn = true;
        unauthenticated -= 1;
      });
      try {
        serveConnection(conn, info, deps);
      } catch (err) {
        log.error({ err: (err as Error).message }, 'connection setup failed');
        conn.end();
      }
    },
  );
  ssh.on('error', (err: Error) => log.error({ err: err.message }, 'listener error'));

  const tcp = createServer((socket) => {
    const ip = socket.remoteAddress ?? '';
    const key = `${ip}:${socket.remotePort}`;
    const admission = limiter.admit(ip);
    if (!admission.allowed) {
      audit.emit('rate-limit-refused', { clientIp: ip, retryAfterMs: admission.retryAfterMs });
      socket.destroy();
      return;
    }
    // Connections still authenticating are bounded, as OpenSSH's MaxStartups: a flood costs little.
    if (unauthenticated >= policy.maxUnauthenticated) {
      audit.emit('connection-refused', { clientIp: ip, reason: `too many connections still logging in (${unauthenticated})` });
      socket.destroy();
      return;
    }
    sockets.add(socket);
    // Nagle's algorithm and delayed ACKs stall SSH's small packets by ~40 ms each (OpenSSH sets it too).
    socket.setNoDelay(true);
    const grace = setTimeout(() => {
      log.info({ clientIp: ip, clientPort: socket.remotePort }, 'login grace time exceeded: disconnecting');
      socket.destroy();
    }, policy.loginGraceSeconds * 1000);
    pending.set(key, { grace, identified: false, loggedIn: false });
    unauthenticated += 1;
    socket.on('error', (err) => log.debug({ clientIp: ip, err: err.message }, 'client socket error'));
    socket.once('close', () => {
      clearTimeout(grace);
      // ssh2 reports nothing for a socket that never completed the SSH identification exchange.
      const entry = pending.get(key);
      if (entry && !entry.loggedIn) unauthenticated -= 1;
      if (!entry?.identified) log.info({ clientIp: ip, clientPort: socket.remotePort }, 'client disconnected before the SSH handshake');
      pending.delete(key);
      sockets.delete(socket);
    });
    ssh.injectSocket(socket);
  });

  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(policy.listen.port, policy.listen.address, () => {
      tcp.off('error', reject);
      resolve();
    });
  });
  tcp.on('error', (err: Error) => log.error({ err: err.message }, 'listener error'));
  const { address, port } = tcp.address() as AddressInfo;
  log.info({ address, port }, 'listening');

  return {
    policy: policy.name,
    address,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        tcp.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}
