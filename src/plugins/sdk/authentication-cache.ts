// `[authentication_cache]`: after one MFA success, the next `reuse_limit` logins of the same user
// from the same client IP skip MFA while no gap between logins exceeds `soft_timeout` and
// `hard_timeout` since that MFA has not passed. This is the rule SPS documents, not the vendor
// SDK's, whose reset on every accept lets a user who reconnects often enough skip MFA forever.
import type { Clock, JsonValue } from './contract.js';
import type { PluginConfiguration } from './configuration.js';
import type { StateStore } from './state-store.js';

export const AUTHENTICATION_CACHE_SECTION = 'authentication_cache';
const MAX_SECONDS = 2_147_483_647;

export interface AuthenticationCacheSettings {
  softTimeoutSeconds: number;
  hardTimeoutSeconds: number;
  /** 0 turns the cache off. */
  reuseLimit: number;
}

/** What is remembered per (user, client IP); times in ms since the epoch. */
export interface CacheEntry {
  mfaAt: number;
  lastLoginAt: number;
  reuseCount: number;
}

export async function readAuthenticationCacheSettings(config: PluginConfiguration): Promise<AuthenticationCacheSettings> {
  const range = { min: 0, max: MAX_SECONDS };
  return {
    softTimeoutSeconds: await config.getInt(AUTHENTICATION_CACHE_SECTION, 'soft_timeout', 15, range),
    hardTimeoutSeconds: await config.getInt(AUTHENTICATION_CACHE_SECTION, 'hard_timeout', 90, range),
    reuseLimit: await config.getInt(AUTHENTICATION_CACHE_SECTION, 'reuse_limit', 0, range),
  };
}

/** The documented rule. A clock that went backwards is a miss: better one MFA too many. */
export function mayReuse(entry: CacheEntry, settings: AuthenticationCacheSettings, now: number): boolean {
  const sinceMfa = now - entry.mfaAt;
  const gap = now - entry.lastLoginAt;
  return (
    entry.reuseCount < settings.reuseLimit &&
    gap >= 0 &&
    gap <= settings.softTimeoutSeconds * 1000 &&
    sinceMfa >= 0 &&
    sinceMfa <= settings.hardTimeoutSeconds * 1000
  );
}

export class AuthenticationCache {
  constructor(
    private readonly store: StateStore,
    private readonly settings: AuthenticationCacheSettings,
    private readonly clock: Clock,
  ) {}

  get enabled(): boolean {
    return this.settings.reuseLimit > 0;
  }

  /** True (and the reuse is counted) when this login may skip MFA. */
  async tryReuse(user: string, clientIp: string): Promise<boolean> {
    if (!this.enabled) return false;
    const now = this.clock();
    return this.store.update(cacheKey(user, clientIp), (current) => {
      const entry = asEntry(current);
      if (!entry || !mayReuse(entry, this.settings, now)) return { action: 'keep', result: false };
      const next: CacheEntry = { mfaAt: entry.mfaAt, lastLoginAt: now, reuseCount: entry.reuseCount + 1 };
      return { action: 'write', value: { ...next }, result: true };
    });
  }

  /** Starts a new reuse period; only a real MFA success does this. */
  async recordMfa(user: string, clientIp: string): Promise<void> {
    if (!this.enabled) return;
    const now = this.clock();
    const entry: CacheEntry = { mfaAt: now, lastLoginAt: now, reuseCount: 0 };
    await this.store.update(cacheKey(user, clientIp), () => ({ action: 'write', value: { ...entry }, result: undefined }));
  }
}

/** Keyed by the gateway user, not the MFA identity, as in SPS. */
function cacheKey(user: string, clientIp: string): string {
  return `authentication_cache/${JSON.stringify([user, clientIp])}`;
}

function asEntry(value: JsonValue | undefined): CacheEntry | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const { mfaAt, lastLoginAt, reuseCount } = value;
  if (typeof mfaAt !== 'number' || typeof lastLoginAt !== 'number' || typeof reuseCount !== 'number') return undefined;
  return { mfaAt, lastLoginAt, reuseCount };
}
