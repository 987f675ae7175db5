// Per-client-IP throttling of failed gateway logins: exponential backoff, then a temporary lockout.

export interface RateLimitSettings {
  /** Failures before backoff starts. */
  freeAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Failures within the window that trigger a lockout. */
  lockoutAfter: number;
  lockoutMs: number;
  /** Failures older than this are forgotten. */
  windowMs: number;
}

export const defaultRateLimitSettings: RateLimitSettings = {
  freeAttempts: 3,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  lockoutAfter: 10,
  lockoutMs: 15 * 60_000,
  windowMs: 15 * 60_000,
};

export type Admission =
  | { allowed: true; /** How long to wait before answering the next attempt; 0 if none. */ delayMs: number }
  | { allowed: false; retryAfterMs: number; reason: 'locked-out' };

/** Upper bound on tracked client IPs, so a flood of source addresses cannot exhaust memory. */
export const MAX_TRACKED_IPS = 100_000;

interface ClientState {
  /** Timestamps of failures within the window, oldest first. */
  failures: number[];
  /** End of the current lockout; 0 when not locked out. */
  lockedUntil: number;
}

/** "::ffff:127.0.0.1" → "127.0.0.1", so one client is one key whichever socket family it arrived on. */
function normaliseIp(ip: string): string {
  const lower = ip.toLowerCase();
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(lower);
  return mapped ? mapped[1]! : lower;
}

function validated(settings: RateLimitSettings): RateLimitSettings {
  for (const [key, value] of Object.entries(settings)) {
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`rate limit ${key} must be a non-negative number`);
  }
  if (settings.lockoutAfter < 1) throw new RangeError('rate limit lockoutAfter must be at least 1');
  return settings;
}

export class ClientRateLimiter {
  readonly #settings: RateLimitSettings;
  readonly #now: () => number;
  // Map order is least-recently-failed first (entries are re-inserted on each failure), which is the eviction
  // order once expired entries are gone.
  readonly #clients = new Map<string, ClientState>();

  constructor(settings: Partial<RateLimitSettings> = {}, now: () => number = Date.now) {
    const given = Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined));
    this.#settings = validated({ ...defaultRateLimitSettings, ...given });
    this.#now = now;
  }

  /** Called when a connection or authentication attempt arrives. */
  admit(clientIp: string): Admission {
    const now = this.#now();
    const state = this.#current(normaliseIp(clientIp), now);
    if (state === undefined) return { allowed: true, delayMs: 0 };
    if (state.lockedUntil > now) return { allowed: false, retryAfterMs: state.lockedUntil - now, reason: 'locked-out' };
    return { allowed: true, delayMs: this.#delayFor(state.failures.length) };
  }

  /** `lockedOut` is true exactly on the failure that triggers the lockout. */
  recordFailure(clientIp: string): { lockedOut: boolean; failures: number } {
    const ip = normaliseIp(clientIp);
    const now = this.#now();
    const state = this.#current(ip, now) ?? { failures: [], lockedUntil: 0 };
    // Attempts admitted just before the lockout may still fail during it; they neither extend nor repeat it.
    if (state.lockedUntil > now) return { lockedOut: false, failures: state.failures.length };

    state.failures.push(now);
    const lockedOut = state.failures.length >= this.#settings.lockoutAfter;
    if (lockedOut) state.lockedUntil = now + this.#settings.lockoutMs;
    this.#store(ip, state, now);
    return { lockedOut, failures: state.failures.length };
  }

  /** Clears the IP's failures. An active lockout stays: a success during one can only come from a race. */
  recordSuccess(clientIp: string): void {
    const ip = normaliseIp(clientIp);
    const state = this.#current(ip, this.#now());
    if (state !== undefined && state.lockedUntil === 0) this.#clients.delete(ip);
  }

  /** Number of tracked IPs. */
  size(): number {
    return this.#clients.size;
  }

  /** Delay after `failures` failures: min(max, base * 2^(k-1)) for the k-th failure beyond the free ones. */
  #delayFor(failures: number): number {
    const k = failures - this.#settings.freeAttempts;
    if (k <= 0) return 0;
    // Cap the exponent so a huge count cannot overflow to Infinity (0 * Infinity would be NaN).
    return Math.min(this.#settings.maxDelayMs, this.#settings.baseDelayMs * 2 ** Math.min(k - 1, 64));
  }

  /** The IP's state with expired lockouts and failures dropped; undefined (and forgotten) if nothing is left. */
  #current(ip: string, now: number): ClientState | undefined {
    const state = this.#clients.get(ip);
    if (state === undefined) return undefined;
    this.#expire(state, now);
    if (state.failures.length === 0 && state.lockedUntil === 0) {
      this.#clients.delete(ip);
      return undefined;
    }
    return state;
  }

  #expire(state: ClientState, now: number): void {
    if (state.lockedUntil !== 0 && state.lockedUntil <= now) {
      // A served lockout starts the client afresh.
      state.lockedUntil = 0;
      state.failures = [];
    }
    const cutoff = now - this.#settings.windowMs;
    const firstKept = state.failures.findIndex((t) => t > cutoff);
    state.failures = firstKept === -1 ? [] : state.failures.slice(firstKept);
  }

  #store(ip: string, state: ClientState, now: number): void {
    this.#clients.delete(ip);
    this.#makeRoom(now);
    this.#clients.set(ip, state);
  }

  /**
   * Ensures there is room for one more entry. When full, drops every expired entry, then the least recently
   * failed ones until 10% of the capacity is free, so the O(n) sweep runs at most once per 10% of insertions.
   */
  #makeRoom(now: number): void {
    if (this.#clients.size < MAX_TRACKED_IPS) return;
    for (const ip of this.#clients.keys()) this.#current(ip, now);
    const target = MAX_TRACKED_IPS - Math.ceil(MAX_TRACKED_IPS / 10);
    for (const ip of this.#clients.keys()) {
      if (this.#clients.size <= target) break;
      this.#clients.delete(ip);
    }
  }
}
