// The HTTPS listener every fake runs on: 127.0.0.1 on a free port, closed (connections and pending
// timers included) at the test's teardown.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type ServerOptions } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface FakeServer {
  port: number;
  close(): Promise<void>;
}

/** A handler that throws or rejects drops its connection, as a broken service would. */
export async function serveHttps(
  t: { teardown(fn: () => unknown): unknown },
  tls: ServerOptions,
  handle: (req: IncomingMessage, res: ServerResponse) => unknown,
  timers: Set<NodeJS.Timeout> = new Set(),
): Promise<FakeServer> {
  const server = createServer(tls, (req, res) => {
    Promise.resolve()
      .then(() => handle(req, res))
      .catch(() => res.socket?.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const close = async (): Promise<void> => {
    for (const timer of timers) clearTimeout(timer);
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
  t.teardown(close);
  return { port, close };
}
