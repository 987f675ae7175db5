// What the gateway remembers of one client connection, and the session-start/end events it logs.
import type { Logger } from '../log/logger.js';
import type { ChannelType } from '../config/schema.js';
import type { AaSessionInfo } from './aa/aa-conversation.js';

export type ConnectionResult = 'ok' | 'refused' | 'error';

export class ConnectionRecord {
  readonly startedAt = Date.now();
  gatewayUser?: string;
  serverUser?: string;
  target?: string;
  /** What the AA plugin said of this session: its metadata, its reason, the answers to its questions. */
  aa?: AaSessionInfo;
  bytesFromClient = 0;
  bytesToClient = 0;
  private readonly channels = new Map<string, number>();
  private result: ConnectionResult = 'ok';
  private reason?: string;
  private started = false;
  private ended = false;

  constructor(
    private readonly log: Logger,
    readonly clientIp: string,
    readonly clientPort: number,
    readonly policy: string,
  ) {}

  channelOpened(type: ChannelType): void {
    this.channels.set(type, (this.channels.get(type) ?? 0) + 1);
  }

  /** Records why the connection did not do what was asked; the first reason wins. */
  refuse(reason: string, result: ConnectionResult = 'refused'): void {
    if (this.reason !== undefined) return;
    this.result = result;
    this.reason = reason;
  }

  sessionStarted(): void {
    this.started = true;
    this.log.info({ event: 'session-start', ...this.identity() }, 'session started');
  }

  /** Logs the session-end event once, whatever closed the connection. */
  close(): void {
    if (this.ended) return;
    this.ended = true;
    const durationMs = Date.now() - this.startedAt;
    this.log.info(
      {
        event: 'session-end',
        ...this.identity(),
        channels: Object.fromEntries(this.channels),
        bytesFromClient: this.bytesFromClient,
        bytesToClient: this.bytesToClient,
        durationMs,
        result: this.gatewayUser === undefined && this.reason === undefined ? 'unauthenticated' : this.result,
        ...(this.reason !== undefined ? { reason: this.reason } : {}),
        upstream: this.started,
        ...(this.aa ? { aa: this.aa } : {}),
      },
      'session ended',
    );
  }

  private identity(): Record<string, unknown> {
    return {
      gatewayUser: this.gatewayUser,
      clientIp: this.clientIp,
      clientPort: this.clientPort,
      serverUser: this.serverUser,
      target: this.target,
      policy: this.policy,
    };
  }
}
