// One SSH listener per connection policy (ssh2 server side).
import type { AddressInfo } from 'node:net';
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
  const { policy, log } = deps;
  const open = new Set<ssh2.Connection>();
  const server = new ssh2.Server(
    {
      hostKeys: [hostKey.privateKey],
      ident: 'Gatehouse',
      ...(policy.keepaliveSeconds > 0 ? { keepaliveInterval: policy.keepaliveSeconds * 1000, keepaliveCountMax: 3 } : {}),
    } as ssh2.ServerConfig,
    (conn, info) => {
      open.add(conn);
      conn.on('close', () => open.delete(conn));
      try {
        serveConnection(conn, info, deps);
      } catch (err) {
        log.error({ err: (err as Error).message }, 'connection setup failed');
        conn.end();
      }
    },
  );
  server.on('error', (err: Error) => log.error({ err: err.message }, 'listener error'));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(policy.listen.port, policy.listen.address, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port } = server.address() as AddressInfo;
  log.info({ address, port }, 'listening');

  return {
    policy: policy.name,
    address,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const conn of open) conn.end();
      }),
  };
}
