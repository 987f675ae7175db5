// `[connection_limit by=client_ip_gateway_user] limit=N`: parallel sessions per (client IP,
// gateway user). Counted in the ephemeral state directory, because a reboot ends every session.
import type { JsonValue } from './contract.js';
import type { StateStore } from './state-store.js';

export const CONNECTION_LIMIT_SECTION = 'connection_limit by=client_ip_gateway_user';

export class ConnectionLimiter {
  constructor(private readonly store: StateStore) {}

  /**
   * Records the session unless `limit` sessions are open already (0 = unlimited: nothing is
   * counted); a session already recorded is admitted again.
   */
  async admit(key: string, sessionId: string, limit: number): Promise<boolean> {
    if (limit === 0) return true;
    return this.store.update(key, (current) => {
      const sessions = asSessions(current);
      if (sessions.includes(sessionId)) return { action: 'keep', result: true };
      if (sessions.length >= limit) return { action: 'keep', result: false };
      return { action: 'write', value: [...sessions, sessionId], result: true };
    });
  }

  /** Forgets the session (from `session_ended`); unknown sessions are ignored. */
  async release(key: string, sessionId: string): Promise<void> {
    await this.store.update(key, (current) => {
      const sessions = asSessions(current);
      if (!sessions.includes(sessionId)) return { action: 'keep', result: undefined };
      const rest = sessions.filter((session) => session !== sessionId);
      return rest.length ? { action: 'write', value: rest, result: undefined } : { action: 'delete', result: undefined };
    });
  }
}

export function connectionLimitKey(clientIp: string, gatewayUser: string): string {
  return `connection_limit/${JSON.stringify([clientIp, gatewayUser])}`;
}

function asSessions(value: JsonValue | undefined): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}
