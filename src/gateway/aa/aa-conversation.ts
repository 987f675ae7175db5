// One connection's conversation with its policy's AA plugin (aa-plugin-contract.md §2): the
// arguments each hook gets, the cookies carried from call to call, the answers to NEEDINFO
// questions merged into the username's key/value pairs, and what the session keeps of it.
// The person is told only the plugin's own DENY reason; sandbox failures and answers stay out of
// anything they see, and answers never reach the log.
import type { AuthenticateArguments, Cookie, HookResult, Question } from '../../aa/sandbox/index.js';
import type { AaPlugin } from './plugin-host.js';

export interface ConnectionFacts {
  sessionId: string;
  connectionName: string;
  clientIp: string;
  clientPort: number;
}

/** Who is logging in, as the first factor and the login name say. */
export interface LoginFacts {
  gatewayUser: string;
  serverUser: string;
  serverDomain?: string;
  /** From the login name (`otp=123456@root@db1`); answers are added to a copy. */
  keyValuePairs: Record<string, string>;
}

export interface TargetFacts {
  gatewayGroups: string[] | null;
  serverIp: string;
  serverPort: number;
  serverHostname: string | null;
}

export type AuthenticationStep =
  | {
      kind: 'accept';
      gatewayUser?: string;
      gatewayGroups?: string[];
      /** The ACCEPT's additional_metadata: SDK plugins say there how they authenticated (`{"authentication": "otp", ...}`). */
      metadata?: string;
      /** The plugin answered NONE: it did no authentication of its own. */
      abstained?: true;
    }
  | { kind: 'ask'; question: Question }
  | Refusal;

/** `reason` is for the log; `message`, when present, may be shown to the person. */
export interface Refusal {
  kind: 'deny';
  reason: string;
  message?: string;
}

/** What the session record keeps of the plugin's answers. */
export interface AaSessionInfo {
  aaConfig: string;
  additionalMetadata?: string;
  reason?: string;
  questions?: unknown;
}

export const answerLimits = {
  /** Characters of one answer: far more than any OTP, ticket number or RADIUS response. */
  length: 1024,
  /** NEEDINFO rounds of one connection: a plugin that keeps asking is cut off. */
  rounds: 16,
};
const CONTROL = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

export class AaConversation {
  private cookie: Cookie = {};
  private sessionCookie: Cookie = {};
  private pairs: Record<string, string> = Object.create(null) as Record<string, string>;
  private rounds = 0;
  private started = false;
  private ended = false;
  private readonly info: AaSessionInfo;
  private readonly hookVerdicts: string[] = [];

  constructor(
    private readonly plugin: AaPlugin,
    private readonly facts: ConnectionFacts,
  ) {
    this.info = { aaConfig: plugin.configuration };
  }

  /** The plugin's verdict on this login; call again after `answer` when it asked a question. */
  async authenticate(login: LoginFacts): Promise<AuthenticationStep> {
    if (!this.started) {
      this.started = true;
      Object.assign(this.pairs, login.keyValuePairs);
    }
    const result = await this.plugin.call('authenticate', this.authenticateArguments(login));
    this.keep('authenticate', result);
    if (result.failure) return { kind: 'deny', reason: `plugin failure (${result.failure}): ${result.reason}` };
    switch (result.verdict) {
      case 'ACCEPT':
        return {
          kind: 'accept',
          ...(result.gateway_user ? { gatewayUser: result.gateway_user } : {}),
          ...(result.gateway_groups ? { gatewayGroups: result.gateway_groups } : {}),
          ...(result.additional_metadata !== undefined ? { metadata: result.additional_metadata } : {}),
        };
      case 'NONE':
        // The plugin did no authentication; the first factor already did, so the login stands.
        return { kind: 'accept', abstained: true };
      case 'NEEDINFO':
        if (++this.rounds > answerLimits.rounds) return { kind: 'deny', reason: `the plugin asked more than ${answerLimits.rounds} questions` };
        return { kind: 'ask', question: result.question };
      default:
        return pluginDenial(result);
    }
  }

  /** Stores the answer to `question` for the next `authenticate`; a refusal when the answer is unusable. */
  answer(question: Question, answer: string): Refusal | undefined {
    if (answer.length > answerLimits.length) return { kind: 'deny', reason: `the answer to "${question.key}" is longer than ${answerLimits.length} characters`, message: 'answer too long' };
    if (CONTROL.test(answer)) return { kind: 'deny', reason: `the answer to "${question.key}" contains control characters`, message: 'answer contains control characters' };
    this.pairs[question.key] = answer;
    return undefined;
  }

  /** The plugin's decision once the target is known; after login, so a question cannot be asked. */
  async authorize(login: LoginFacts, target: TargetFacts): Promise<Refusal | undefined> {
    const result = await this.plugin.call('authorize', {
      ...this.authenticateArguments(login),
      gateway_groups: target.gatewayGroups,
      server_ip: target.serverIp,
      server_port: target.serverPort,
      server_hostname: target.serverHostname,
    });
    this.keep('authorize', result);
    if (result.failure) return { kind: 'deny', reason: `plugin failure (${result.failure}): ${result.reason}` };
    if (result.verdict === 'ACCEPT') return undefined;
    if (result.verdict === 'NEEDINFO') return { kind: 'deny', reason: 'authorize asked a question, which SSH cannot ask after login (ask it in authenticate)' };
    return pluginDenial(result);
  }

  /** Tells the plugin the session is over, once, whatever ended it; only if it ever heard of the session. */
  async end(): Promise<void> {
    if (!this.started || this.ended) return;
    this.ended = true;
    await this.plugin.call('session_ended', { cookie: this.cookie, session_cookie: this.sessionCookie, session_id: this.facts.sessionId });
  }

  /** The plugin's name (its MANIFEST's), for events. */
  get pluginName(): string {
    return this.plugin.name;
  }

  /** What the session record keeps: the plugin's metadata, its last reason and the answers to [question_N]. */
  get sessionInfo(): AaSessionInfo {
    return { ...this.info };
  }

  /** Each hook's answer in order, for the session record: "authenticate:NEEDINFO", "authorize:ACCEPT", "authenticate:failure(timeout)". */
  get verdicts(): string[] {
    return [...this.hookVerdicts];
  }

  private authenticateArguments(login: LoginFacts): AuthenticateArguments {
    return {
      cookie: this.cookie,
      session_cookie: this.sessionCookie,
      session_id: this.facts.sessionId,
      protocol: 'ssh',
      connection_name: this.facts.connectionName,
      client_ip: this.facts.clientIp,
      client_port: this.facts.clientPort,
      // No reverse lookup: it would add a DNS round trip to every login, and the contract allows None.
      client_hostname: null,
      gateway_user: login.gatewayUser,
      gateway_domain: null,
      server_username: login.serverUser,
      server_domain: login.serverDomain ?? null,
      key_value_pairs: { ...this.pairs },
    };
  }

  /** Cookies round-trip to the next call; metadata and reason are kept for the session record. */
  private keep(hook: 'authenticate' | 'authorize', result: HookResult): void {
    this.hookVerdicts.push(`${hook}:${result.failure ? `failure(${result.failure})` : result.verdict}`);
    if (result.failure) return;
    if (result.cookie) this.cookie = result.cookie;
    if (result.session_cookie) {
      this.sessionCookie = result.session_cookie;
      if (result.session_cookie.questions !== undefined) this.info.questions = result.session_cookie.questions;
    }
    if (result.additional_metadata !== undefined) this.info.additionalMetadata = result.additional_metadata;
    if (result.reason !== undefined) this.info.reason = result.reason;
  }
}

function pluginDenial(result: HookResult): Refusal {
  const reason = result.reason || 'denied by the AA plugin';
  return { kind: 'deny', reason, message: reason };
}
