// What the gateway remembers of one client connection, the session-started/ended events it reports, and the
// row it keeps in the connection database: written when the upstream login succeeds (`running`) and again
// when the connection closes, for every connection whose person was authenticated.
import type { SessionRow } from '../audit/connections/session-row.js';
import type { AuditLog } from '../log/events/audit-log.js';
import type { ChannelType } from '../config/schema.js';
import type { AaSessionInfo } from './aa/aa-conversation.js';

/** 'killed': an administrator ended the session (`gatehouse sessions kill`). */
export type ConnectionResult = 'ok' | 'refused' | 'error' | 'killed';

export class ConnectionRecord {
  readonly startedAt = Date.now();
  gatewayUser?: string;
  gatewayGroups: string[] = [];
  serverUser?: string;
  target?: string;
  /** The AA plugin's conversation: its metadata, reason and answers (`sessionInfo`) and each hook's verdict. */
  aa?: { readonly sessionInfo: AaSessionInfo; readonly verdicts: string[] };
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
    readonly sessionId: string,
    /** Hands the connection database each version of the session's row; absent: nothing is kept. */
    private readonly save?: (row: SessionRow) => unknown,
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
    this.save?.(this.row('running', null));
  }

  /** Reports the session-ended event once, whatever closed the connection. */
  close(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.gatewayUser !== undefined) this.save?.(this.row(this.result, Date.now()));
    this.audit.emit('session-ended', {
      ...this.identity(),
      result: this.gatewayUser === undefined && this.reason === undefined ? 'unauthenticated' : this.result,
      reason: this.reason ?? null,
      upstream: this.started,
      durationMs: Date.now() - this.startedAt,
      bytesFromClient: this.bytesFromClient,
      bytesToClient: this.bytesToClient,
      channels: this.channelSummary(),
      aaMetadata: this.aa ? JSON.stringify(this.aa.sessionInfo) : null,
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

  private row(result: SessionRow['result'], endedAt: number | null): SessionRow {
    return {
      sessionId: this.sessionId,
      startedAt: this.startedAt,
      endedAt,
      gatewayUser: this.gatewayUser ?? '',
      gatewayGroups: this.gatewayGroups,
      serverUser: this.serverUser ?? null,
      target: this.target ?? null,
      clientIp: this.clientIp,
      clientPort: this.clientPort,
      policy: this.policy,
      channels: this.channelSummary(),
      aaConfig: this.aa?.sessionInfo.aaConfig ?? null,
      verdicts: this.aa?.verdicts ?? [],
      additionalMetadata: this.aa?.sessionInfo.additionalMetadata ?? null,
      result,
      reason: this.reason ?? null,
      bytesFromClient: this.bytesFromClient,
      bytesToClient: this.bytesToClient,
      recordings: this.recordingIds(),
    };
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
