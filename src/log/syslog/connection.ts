// One connection to a syslog receiver: UDP (RFC 5426), TCP (RFC 6587) or TLS (RFC 5425, certificate always
// verified, optional client certificate). Frames arrive already framed (entry-format.ts); this only moves bytes.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP, connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import type { SyslogTransport } from './entry-format.js';

export interface SyslogEndpoint {
  host: string;
  port: number;
  transport: SyslogTransport;
  /** TLS only: trusted CA certificates (default: the system's), client certificate and key, name to verify. */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer; servername?: string };
  connectTimeoutMs?: number;
}

export interface SyslogConnection {
  /** Queues frames; false when the caller should wait for `drained()` before writing more. */
  write(data: Buffer[]): boolean;
  drained(): Promise<void>;
  /** Resolves when the connection is gone, with why. */
  readonly closed: Promise<string>;
  /**
   * Closes after sending what is queued. True when the receiver closed its side in turn: it read up to
   * our end of stream, so everything sent has been taken in.
   */
  end(timeoutMs: number): Promise<boolean>;
  destroy(): void;
}

/** Connection failures described for an operator: no stack, no secret (none is involved). */
export function describeFailure(err: Error & { code?: string }): string {
  const text = err.message.replace(/\s+/g, ' ').slice(0, 200);
  return err.code && !text.includes(err.code) ? `${err.code}: ${text}` : text;
}

export async function openSyslogConnection(endpoint: SyslogEndpoint): Promise<SyslogConnection> {
  return endpoint.transport === 'udp' ? openUdp(endpoint) : openStream(endpoint);
}

function openStream(endpoint: SyslogEndpoint): Promise<SyslogConnection> {
  const timeoutMs = endpoint.connectTimeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const tlsOptions: ConnectionOptions = {
      host: endpoint.host,
      port: endpoint.port,
      minVersion: 'TLSv1.2',
      rejectUnauthorized: true,
      // SNI carries names only (RFC 6066); an IP address is still checked against the certificate.
      ...(endpoint.tls?.servername ? { servername: endpoint.tls.servername } : isIP(endpoint.host) ? {} : { servername: endpoint.host }),
      ...(endpoint.tls?.ca ? { ca: endpoint.tls.ca } : {}),
      ...(endpoint.tls?.cert && endpoint.tls.key ? { cert: endpoint.tls.cert, key: endpoint.tls.key } : {}),
    };
    const socket: Socket = endpoint.transport === 'tls' ? tlsConnect(tlsOptions) : tcpConnect({ host: endpoint.host, port: endpoint.port });
    const timer = setTimeout(() => socket.destroy(new Error(`no connection within ${timeoutMs} ms`)), timeoutMs);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    socket.once('error', fail);
    socket.once(endpoint.transport === 'tls' ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      socket.off('error', fail);
      resolve(new StreamConnection(socket));
    });
  });
}

class StreamConnection implements SyslogConnection {
  readonly closed: Promise<string>;
  #peerEnded = false;
  #failure: string | undefined;

  constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    socket.resume(); // receivers send nothing; read it away
    socket.on('error', (err: Error) => (this.#failure ??= describeFailure(err)));
    socket.on('end', () => {
      this.#peerEnded = true;
      this.#failure ??= 'the receiver closed the connection';
      socket.end();
    });
    this.closed = new Promise((resolve) => socket.once('close', () => resolve(this.#failure ?? 'connection closed')));
  }

  write(data: Buffer[]): boolean {
    if (this.socket.destroyed) return false;
    return this.socket.write(data.length === 1 ? data[0]! : Buffer.concat(data));
  }

  drained(): Promise<void> {
    if (!this.socket.writableNeedDrain || this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.once('drain', done);
      this.socket.once('close', done);
    });
  }

  async end(timeoutMs: number): Promise<boolean> {
    if (this.socket.destroyed) return false;
    const failureBefore = this.#failure;
    this.socket.end();
    const timer = setTimeout(() => this.socket.destroy(), timeoutMs);
    await this.closed;
    clearTimeout(timer);
    return failureBefore === undefined && this.#peerEnded && !this.socket.errored;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

// UDP: one frame per datagram, no acknowledgement. A connected socket does report ICMP "port unreachable"
// as ECONNREFUSED on a later send, which at least shows a receiver that is down.
async function openUdp(endpoint: SyslogEndpoint): Promise<SyslogConnection> {
  const { address, family } = await lookup(endpoint.host);
  const socket = createSocket(family === 6 ? 'udp6' : 'udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.connect(endpoint.port, address, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  return new UdpConnection(socket);
}

const MAX_UDP_IN_FLIGHT = 1024;

class UdpConnection implements SyslogConnection {
  readonly closed: Promise<string>;
  #inFlight = 0;
  #waiters: (() => void)[] = [];
  #close!: (reason: string) => void;
  #gone = false;

  constructor(private readonly socket: UdpSocket) {
    this.closed = new Promise((resolve) => (this.#close = resolve));
    socket.on('error', (err: Error) => this.#fail(describeFailure(err)));
  }

  write(data: Buffer[]): boolean {
    for (const datagram of data) {
      if (this.#gone) return false;
      this.#inFlight++;
      this.socket.send(datagram, (err) => {
        this.#inFlight--;
        if (err) this.#fail(describeFailure(err));
        if (this.#inFlight < MAX_UDP_IN_FLIGHT / 2) this.#wake();
      });
    }
    return !this.#gone && this.#inFlight < MAX_UDP_IN_FLIGHT;
  }

  drained(): Promise<void> {
    if (this.#gone || this.#inFlight < MAX_UDP_IN_FLIGHT) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  async end(): Promise<boolean> {
    this.#fail('closed');
    return false; // UDP never confirms anything
  }

  destroy(): void {
    this.#fail('closed');
  }

  #fail(reason: string): void {
    if (this.#gone) return;
    this.#gone = true;
    this.socket.close();
    this.#close(reason);
    this.#wake();
  }

  #wake(): void {
    for (const waiter of this.#waiters.splice(0)) waiter();
  }
}
