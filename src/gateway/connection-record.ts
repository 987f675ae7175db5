// What the gateway remembers of one client connection, and the session-started/ended events it reports.
import type { AuditLog } from '../log/events/audit-log.js';
import type { ChannelType } from '../config/schema.js';
import type { AaSessionInfo } from './aa/aa-conversation.js';

/** 'killed': an administrator ended the session (`gatehouse sessions kill`). */
export type ConnectionResult = 'ok' | 'refused' | 'error' | 'killed';

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
  private readonly recordings: string[] = [];
  private result: ConnectionResult = 'ok';
  private reason?: string;
  private started = false;
  private ended = false;

  constructor(
    private readonly audit: AuditLog,
    readonly clientIp: string,
    readonly clientPort: number,
    readonly policy: string,
  ) {}

  channelOpened(type: ChannelType): void {
    this.channels.set(type, (this.channels.get(type) ?? 0) + 1);
  }

  /** A recording of one of the connection's channels, named in session-ended. */
  recordingStarted(id: string): void {
    this.recordings.push(id);
  }

  /** Records why the connection did not do what was asked; the first reason wins. */
  refuse(reason: string, result: ConnectionResult = 'refused'): void {
    if (this.reason !== undefined) return;
    this.result = result;
    this.reason = reason;
  }

  sessionStarted(): void {
    this.started = true;
    this.audit.emit('session-started', this.identity());
  }

  /** Reports the session-ended event once, whatever closed the connection. */
  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.audit.emit('session-ended', {
      ...this.identity(),
      result: this.gatewayUser === undefined && this.reason === undefined ? 'unauthenticated' : this.result,
      reason: this.reason ?? null,
      upstream: this.started,
      durationMs: Date.now() - this.startedAt,
      bytesFromClient: this.bytesFromClient,
      bytesToClient: this.bytesToClient,
      channels: this.channelSummary(),
      aaMetadata: this.aa ? JSON.stringify(this.aa) : null,
      recording: this.recordings.length > 0 ? this.recordings.join(',') : null,
    });
  }

  /** "session=1,exec=2": one field a syslog receiver can read as it is. */
  channelSummary(): string {
    return [...this.channels].map(([type, count]) => `${type}=${count}`).join(',');
  }

  /** The ids of the connection's recordings so far. */
  recordingIds(): string[] {
    return [...this.recordings];
  }

  /** Who is on the connection and where to, for the connection's other events. */
  who(): { gatewayUser: string | null; target: string | null } {
    return { gatewayUser: this.gatewayUser ?? null, target: this.target ?? null };
  }

  private identity(): { clientIp: string; clientPort: number; gatewayUser: string | null; serverUser: string | null; target: string | null; policy: string } {
    return {
      clientIp: this.clientIp,
      clientPort: this.clientPort,
      gatewayUser: this.gatewayUser ?? null,
      serverUser: this.serverUser ?? null,
      target: this.target ?? null,
      policy: this.policy,
    };
  }
}
