// The SDK's own part of the plugin cookie (`__plugin_sdk_private`): what survives between the
// fresh plugin instances of one session's hook calls. Read defensively: anything unexpected in
// it is treated as absent.
import type { Cookie, JsonValue } from './contract.js';

const KEY = '__plugin_sdk_private';

export type Phase = 'authenticate' | 'post_authenticate' | 'authorize';
const authentications = ['otp', 'push', 'authentication_cache', 'whitelist', 'ignore_conn_err'] as const;
export type Authentication = (typeof authentications)[number];

/** The ACCEPT that authenticate reached, replayed once the post-authentication steps are done. */
export interface Acceptance {
  authentication: Authentication;
  mfaIdentity?: string;
}

export class PrivateCookie {
  private readonly cookie: Cookie;
  private readonly state: { [key: string]: JsonValue };

  constructor(cookie: Cookie | undefined) {
    this.cookie = { ...(cookie ?? {}) };
    const state = this.cookie[KEY];
    this.state = isObject(state) ? { ...state } : {};
  }

  /** Names of the steps of `phase` already passed; the caller appends to it. */
  checkpoints(phase: Phase): string[] {
    const all = isObject(this.state.checkpoints) ? { ...this.state.checkpoints } : {};
    const list = all[phase];
    const names = Array.isArray(list) ? list.filter((item): item is string => typeof item === 'string') : [];
    all[phase] = names;
    this.state.checkpoints = all;
    return names;
  }

  get mfaIdentity(): string | undefined {
    return typeof this.state.mfa_identity === 'string' ? this.state.mfa_identity : undefined;
  }

  set mfaIdentity(identity: string) {
    this.state.mfa_identity = identity;
  }

  get acceptance(): Acceptance | undefined {
    const accepted = this.state.accepted;
    if (!isObject(accepted)) return undefined;
    const authentication = authentications.find((known) => known === accepted.authentication);
    if (!authentication) return undefined;
    const identity = accepted.mfa_identity;
    return {
      authentication,
      ...(typeof identity === 'string' ? { mfaIdentity: identity } : {}),
    };
  }

  set acceptance(acceptance: Acceptance) {
    this.state.accepted = {
      authentication: acceptance.authentication,
      ...(acceptance.mfaIdentity !== undefined ? { mfa_identity: acceptance.mfaIdentity } : {}),
    };
  }

  /** The state of a backend's follow-up question (MfaChallenge) waiting for its answer. */
  get challengeState(): string | undefined {
    return typeof this.state.challenge_state === 'string' ? this.state.challenge_state : undefined;
  }

  set challengeState(state: string | undefined) {
    if (state === undefined) delete this.state.challenge_state;
    else this.state.challenge_state = state;
  }

  /** The connection-limit slot authorize took, for session_ended to give back. */
  get connectionLimitKey(): string | undefined {
    return typeof this.state.connection_limit_key === 'string' ? this.state.connection_limit_key : undefined;
  }

  set connectionLimitKey(key: string) {
    this.state.connection_limit_key = key;
  }

  toCookie(): Cookie {
    return { ...this.cookie, [KEY]: this.state };
  }
}

function isObject(value: JsonValue | undefined): value is { [key: string]: JsonValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
