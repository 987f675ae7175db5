// The gateway's live client connections: what `gatehouse sessions` lists, and what
// `gatehouse sessions kill ID` ends. Each connection registers itself for its lifetime.
import type { ChangeOrigin } from '../config/sealed.js';
import type { ControlHandler, ControlRequest } from '../system/control-socket.js';

/** One live connection as the CLI shows it. */
export interface LiveSessionInfo {
  sessionId: string;
  gatewayUser: string | null;
  serverUser: string | null;
  target: string | null;
  clientIp: string;
  clientPort: number;
  policy: string;
  /** ISO 8601. */
  startedAt: string;
  /** "session=1,direct-tcpip=2", as in session-ended. */
  channels: string;
  bytesFromClient: number;
  bytesToClient: number;
  recordings: string[];
}

export interface LiveSession {
  describe(): LiveSessionInfo;
  /** Tells the user why, reports session-killed, and ends the connection (and its upstream). */
  kill(reason: string, origin: ChangeOrigin): void;
}

const maxReasonLength = 200;

export class LiveSessions {
  private readonly sessions = new Map<string, LiveSession>();

  /** Returns the function that removes it again (on the connection's close). */
  register(sessionId: string, session: LiveSession): () => void {
    this.sessions.set(sessionId, session);
    return () => {
      if (this.sessions.get(sessionId) === session) this.sessions.delete(sessionId);
    };
  }

  list(): LiveSessionInfo[] {
    return [...this.sessions.values()].map((session) => session.describe()).sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  }

  /** False when no live connection has that id. */
  kill(sessionId: string, reason: string, origin: ChangeOrigin): boolean {
    const session = this.sessions.get(sessionId);
    if (!session) return false;
    session.kill(reason, origin);
    return true;
  }

  /**
   * The control socket's `sessions-list` and `sessions-kill`. Ending a session is an operational
   * act, not a configuration change: it is allowed while the appliance is sealed, and its origin
   * is recorded in the session-killed event.
   */
  handlers(): Record<string, ControlHandler> {
    return {
      'sessions-list': async () => ({ sessions: this.list() }),
      'sessions-kill': async (request: ControlRequest) => {
        const id = typeof request.id === 'string' ? request.id : '';
        const reason = oneLine(typeof request.reason === 'string' && request.reason.trim() ? request.reason : 'no reason given');
        if (!this.kill(id, reason, request.origin === 'console' ? 'console' : 'remote')) throw new Error(`no live session "${id.slice(0, 40)}"`);
        return { killed: id };
      },
    };
  }
}

/** The reason is shown to the user's terminal and logged: one bounded line without control characters. */
function oneLine(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim().slice(0, maxReasonLength);
}
