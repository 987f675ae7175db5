// The running gateway's local control channel: a Unix socket (mode 0600) in the data directory,
// one JSON request and one JSON answer per connection. The CLI uses it to unlock the credential
// store in the gateway's memory, lock it, and ask for status. Secrets travel only over this socket.
import { createHash } from 'node:crypto';
import { chmod, unlink } from 'node:fs/promises';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../log/logger.js';

export type ControlRequest = { op: string } & Record<string, unknown>;
export type ControlAnswer = ({ ok: true } & Record<string, unknown>) | { ok: false; error: string };
export type ControlHandler = (request: ControlRequest) => Promise<Record<string, unknown>>;

const maxRequestBytes = 64 * 1024;
/** A Unix socket address holds at most 107 bytes of path. */
const maxSocketPath = 100;

/** `<dataDir>/control.sock`, or, when that path is too long for a socket, one named after it in the temp dir. */
export function controlSocketPath(dataDir: string): string {
  const inside = join(dataDir, 'control.sock');
  if (Buffer.byteLength(inside) <= maxSocketPath) return inside;
  return join(tmpdir(), `gatehouse-${createHash('sha256').update(dataDir).digest('hex').slice(0, 16)}.sock`);
}

export async function serveControl(path: string, handlers: Record<string, ControlHandler>, log: Logger): Promise<{ close(): Promise<void> }> {
  await unlink(path).catch(() => undefined);
  const server: Server = createServer((socket) => {
    let text = '';
    socket.setEncoding('utf8');
    socket.on('error', () => undefined);
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (text.length > maxRequestBytes) return socket.destroy();
      const end = text.indexOf('\n');
      if (end === -1) return;
      answer(text.slice(0, end)).then((reply) => socket.end(`${JSON.stringify(reply)}\n`));
    });
  });

  const answer = async (line: string): Promise<ControlAnswer> => {
    let request: ControlRequest;
    try {
      request = JSON.parse(line) as ControlRequest;
    } catch {
      return { ok: false, error: 'request is not JSON' };
    }
    const handler = typeof request.op === 'string' ? handlers[request.op] : undefined;
    if (!handler) return { ok: false, error: `unknown operation "${String(request.op).slice(0, 40)}"` };
    try {
      return { ok: true, ...(await handler(request)) };
    } catch (err) {
      log.warn({ op: request.op, err: (err as Error).message }, 'control request failed');
      return { ok: false, error: (err as Error).message };
    }
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  await chmod(path, 0o600);
  return { close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** Sends one request to the running gateway; a clear error when it is not running. */
export function callControl(path: string, request: ControlRequest): Promise<ControlAnswer> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let text = '';
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('end', () => {
      try {
        resolve(JSON.parse(text) as ControlAnswer);
      } catch {
        reject(new Error('the gateway sent an unreadable answer'));
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') reject(new Error('the gateway is not running (no control socket)'));
      else reject(err);
    });
  });
}
