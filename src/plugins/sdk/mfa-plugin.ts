// The MFA step engine that built-in MFA plugins extend: SPS's SDK flow around a backend that checks
// one-time passwords and, optionally, push notifications.
//
// authenticate: username → whitelist → authentication cache → usermapping → ask for the OTP →
//   verify; after an ACCEPT: remember a real MFA in the authentication cache → [question_N].
// authorize: connection limit.   session_ended: give the connection-limit slot back.
// Every hook call gets a fresh instance, so the steps already passed are checkpointed in the
// cookie and a NEEDINFO round trip resumes where it stopped. A configuration mistake DENYs and is
// logged with its place; any other exception is left to the host, which denies too (fail closed).
import { AuthenticationCache, readAuthenticationCacheSettings } from './authentication-cache.js';
import { PluginConfiguration } from './configuration.js';
import { ConnectionLimiter, CONNECTION_LIMIT_SECTION, connectionLimitKey } from './connection-limit.js';
import type { AuthorizeArgs, Clock, ConnectionArgs, Cookie, HookResult, JsonValue, PluginContext, Question, SessionEndedArgs } from './contract.js';
import { MfaServiceUnreachable, PluginConfigurationError } from './errors.js';
import { FileStateStore } from './file-state-store.js';
import { PluginLogger } from './logger.js';
import { PrivateCookie, type Acceptance } from './private-cookie.js';
import { readQuestions } from './questions.js';
import type { StateStore } from './state-store.js';
import { runSteps, type Step } from './steps.js';
import { resolveMfaIdentity } from './usermapping.js';
import { whitelistBypass } from './whitelist.js';

export const AUTH_SECTION = 'auth';
export const DEFAULT_PROMPT = 'Press Enter for push notification or type one-time password:';
const DEFAULT_INTERACTIVE_PROTOCOLS = ['rdp', 'ssh', 'telnet'];
const OTP_KEY = 'otp';

type Outcome =
  | { verdict: 'ACCEPT'; acceptance?: Acceptance }
  | { verdict: 'DENY'; reason: string }
  | { verdict: 'NEEDINFO'; question: Question };

/** One hook call: its arguments and the cookies it will return. */
interface Turn {
  args: ConnectionArgs;
  state: PrivateCookie;
  sessionCookie: Cookie;
}

class BackendTimeout extends Error {}

/**
 * A backend's follow-up question instead of a yes or no (a RADIUS Access-Challenge): asked as
 * NEEDINFO, with `state` kept in the cookie and handed to the `otpVerify` of the answer. The
 * question's key must be one of `passwordKeys`, so that the answer comes back as the code.
 */
export interface MfaChallenge {
  question: Question;
  state: string;
}

export abstract class MfaPlugin {
  protected readonly log: PluginLogger;
  /** Persistent state of this plugin configuration (authentication cache, OTP replay). */
  protected readonly stateStore: StateStore;
  private readonly ephemeralStore: StateStore;
  private readonly parsed: PluginConfiguration | PluginConfigurationError;

  constructor(
    configuration: string,
    protected readonly context: PluginContext,
    protected readonly clock: Clock = Date.now,
  ) {
    this.log = new PluginLogger((level, message) => context.log(level, message));
    this.stateStore = new FileStateStore(context.stateDir);
    this.ephemeralStore = new FileStateStore(context.ephemeralDir);
    try {
      this.parsed = PluginConfiguration.parse(configuration, (section, option) => context.secret(section, option));
    } catch (err) {
      if (!(err instanceof PluginConfigurationError)) throw err;
      this.parsed = err; // reported by the first hook, which then denies
    }
  }

  /** The `[section]` of the backend's own options, including `timeout` and `ignore_conn_err`. */
  protected abstract readonly backendSection: string;

  /**
   * True when `code` is a valid one-time password of `identity`, or a follow-up question;
   * `challengeState` is the state of the question `code` answers. May throw the SDK's backend errors.
   */
  protected abstract otpVerify(identity: string, code: string, signal: AbortSignal, challengeState?: string): Promise<boolean | MfaChallenge>;

  /** Backends that can send a push notification implement this; an empty OTP answer then means push. */
  protected pushVerify?(identity: string, signal: AbortSignal): Promise<boolean>;

  /** Key-value pairs holding the one-time password, the first present wins; the SDK asks for `otp`. */
  protected readonly passwordKeys: readonly string[] = [OTP_KEY];

  /** Key-value pairs that, when not empty, name the MFA identity instead of the (mapped) username. */
  protected readonly identityKeys: readonly string[] = [];

  protected get config(): PluginConfiguration {
    if (this.parsed instanceof PluginConfigurationError) throw this.parsed;
    return this.parsed;
  }

  async authenticate(args: ConnectionArgs = {}): Promise<HookResult> {
    const turn = newTurn(args);
    const result = this.result(turn, await this.guard(() => this.authenticateTurn(turn)));
    const user = username(args);
    if (result.verdict === 'ACCEPT' && user !== undefined && user !== args.gateway_user) {
      // As in SPS: the plugin vouches for the user, which counts as gateway authentication.
      result.gateway_user = user;
      result.gateway_groups = [];
    }
    return result;
  }

  async authorize(args: AuthorizeArgs = {}): Promise<HookResult> {
    const turn = newTurn(args);
    const steps: Step<Outcome>[] = [{ name: 'connection_limit', run: () => this.takeConnectionSlot(turn) }];
    const outcome = await this.guard(async () => (await runSteps(steps, turn.state.checkpoints('authorize'))) ?? { verdict: 'ACCEPT' });
    return this.result(turn, outcome);
  }

  async session_ended(args: SessionEndedArgs = {}): Promise<void> {
    const key = new PrivateCookie(args.cookie).connectionLimitKey;
    if (key !== undefined && args.session_id !== undefined) await new ConnectionLimiter(this.ephemeralStore).release(key, args.session_id);
  }

  private async guard(run: () => Promise<Outcome>): Promise<Outcome> {
    try {
      await this.log.configure(this.config);
      return await run();
    } catch (err) {
      if (!(err instanceof PluginConfigurationError)) throw err;
      this.log.error(`configuration error: ${err.message}`);
      return { verdict: 'DENY', reason: 'Plugin configuration error' };
    }
  }

  private async authenticateTurn(turn: Turn): Promise<Outcome> {
    const earlier = turn.state.acceptance;
    if (earlier) return (await this.afterAcceptance(turn, earlier)) ?? { verdict: 'ACCEPT', acceptance: earlier };
    const steps = this.authenticationSteps(turn);
    const outcome = (await runSteps(steps, turn.state.checkpoints('authenticate'))) ?? (await this.verify(turn));
    if (outcome.verdict !== 'ACCEPT' || !outcome.acceptance) return outcome;
    turn.state.acceptance = outcome.acceptance;
    return (await this.afterAcceptance(turn, outcome.acceptance)) ?? outcome;
  }

  private authenticationSteps(turn: Turn): Step<Outcome>[] {
    const user = username(turn.args) ?? '';
    const clientIp = turn.args.client_ip;
    return [
      { name: 'check_username', run: async () => (user ? undefined : { verdict: 'DENY', reason: 'No username identified' }) },
      {
        name: 'whitelist',
        run: async () => {
          const source = await whitelistBypass(this.config, this.context, user, this.log);
          if (!source) return undefined;
          this.log.info(`${user} skips MFA: whitelisted by [whitelist source=${source}]`);
          return { verdict: 'ACCEPT', acceptance: { authentication: 'whitelist' } };
        },
      },
      {
        name: 'authentication_cache',
        run: async () => {
          if (!clientIp || !(await (await this.authenticationCache()).tryReuse(user, clientIp))) return undefined;
          this.log.info(`${user} from ${clientIp} skips MFA: authentication cache`);
          return { verdict: 'ACCEPT', acceptance: { authentication: 'authentication_cache' } };
        },
      },
      {
        name: 'usermapping',
        run: async () => {
          turn.state.mfaIdentity = await resolveMfaIdentity(this.config, this.context.ldap, user, this.log);
          return undefined;
        },
      },
      { name: 'ask_mfa_password', run: () => this.askMfaPassword(turn) },
    ];
  }

  /** After any ACCEPT of authenticate; its own checkpoints let the questions take several rounds. */
  private afterAcceptance(turn: Turn, acceptance: Acceptance): Promise<Outcome | undefined> {
    const user = username(turn.args) ?? '';
    const clientIp = turn.args.client_ip;
    const steps: Step<Outcome>[] = [
      {
        name: 'remember_mfa',
        run: async () => {
          // Only a real MFA starts a reuse period: not a whitelist, a cache hit or a fallback.
          const realMfa = acceptance.authentication === 'otp' || acceptance.authentication === 'push';
          if (realMfa && clientIp) await (await this.authenticationCache()).recordMfa(user, clientIp);
          return undefined;
        },
      },
      { name: 'questions', run: () => this.askQuestions(turn) },
    ];
    return runSteps(steps, turn.state.checkpoints('post_authenticate'));
  }

  private async authenticationCache(): Promise<AuthenticationCache> {
    return new AuthenticationCache(this.stateStore, await readAuthenticationCacheSettings(this.config), this.clock);
  }

  /**
   * The OTP: the first of `passwordKeys` in the key-value pairs (login name or an earlier answer;
   * "" means push), else "" (push) on protocols that cannot prompt, else undefined: ask.
   */
  private async mfaPassword(args: ConnectionArgs): Promise<string | undefined> {
    const pairs = args.key_value_pairs ?? {};
    const key = this.passwordKeys.find((name) => Object.hasOwn(pairs, name));
    if (key !== undefined) return pairs[key];
    const interactive = await this.config.getList(AUTH_SECTION, 'interactive_protocols', DEFAULT_INTERACTIVE_PROTOCOLS);
    const protocol = (args.protocol ?? '').toLowerCase();
    return interactive.some((name) => name.toLowerCase() === protocol) ? undefined : '';
  }

  private async askMfaPassword(turn: Turn): Promise<Outcome | undefined> {
    if ((await this.mfaPassword(turn.args)) !== undefined) return undefined;
    const prompt = await this.config.get(AUTH_SECTION, 'prompt', DEFAULT_PROMPT);
    const disableEcho = await this.config.getBoolean(AUTH_SECTION, 'disable_echo', false);
    // Values lose their trailing spaces when read, so the SDK adds the one before the answer.
    return { verdict: 'NEEDINFO', question: [OTP_KEY, `${prompt} `, disableEcho] };
  }

  private async verify(turn: Turn): Promise<Outcome> {
    const pairs = turn.args.key_value_pairs ?? {};
    const named = this.identityKeys.map((key) => (Object.hasOwn(pairs, key) ? pairs[key] : undefined)).find((name) => name);
    const identity = named ?? turn.state.mfaIdentity ?? username(turn.args) ?? '';
    const password = await this.mfaPassword(turn.args);
    // A challenge is answered once: whatever this attempt gives, its state is spent.
    const challengeState = turn.state.challengeState;
    turn.state.challengeState = undefined;
    if (password === undefined) return { verdict: 'DENY', reason: 'No one-time password given' };
    const pushVerify = this.pushVerify;
    if (password === '' && !pushVerify) {
      this.log.info(`${identity} asked for a push notification, which this plugin cannot send`);
      return { verdict: 'DENY', reason: 'Push notification is not available: type a one-time password' };
    }
    const authentication = password === '' ? 'push' : 'otp';
    const timeoutSeconds = await this.config.getInt(this.backendSection, 'timeout', 60, { min: 1, max: 3600 });
    const ignoreConnectionError = await this.config.getBoolean(this.backendSection, 'ignore_conn_err', false);
    try {
      const verified = await withTimeout(timeoutSeconds * 1000, (signal) =>
        pushVerify && password === '' ? pushVerify.call(this, identity, signal) : this.otpVerify(identity, password, signal, challengeState),
      );
      if (typeof verified === 'object') {
        this.log.info(`MFA (${authentication}) for ${identity}: the backend asks a follow-up question`);
        turn.state.challengeState = verified.state;
        return { verdict: 'NEEDINFO', question: verified.question };
      }
      if (!verified) {
        this.log.warning(`MFA (${authentication}) failed for ${identity}`);
        return { verdict: 'DENY', reason: 'Authentication failed' };
      }
      this.log.info(`MFA (${authentication}) succeeded for ${identity}`);
      return { verdict: 'ACCEPT', acceptance: { authentication, mfaIdentity: identity } };
    } catch (err) {
      if (err instanceof PluginConfigurationError) throw err;
      if (err instanceof BackendTimeout) {
        this.log.warning(`MFA (${authentication}) for ${identity} timed out after ${timeoutSeconds} s`);
        return { verdict: 'DENY', reason: 'Authentication timed out' };
      }
      const message = (err as Error).message;
      if (err instanceof MfaServiceUnreachable) {
        if (!ignoreConnectionError) {
          this.log.error(`MFA backend unreachable (${message}): ${identity} denied`);
          return { verdict: 'DENY', reason: 'Backend service unreachable' };
        }
        this.log.warning(`MFA backend unreachable (${message}): ${identity} accepted WITHOUT MFA because [${this.backendSection}] ignore_conn_err=yes`);
        return { verdict: 'ACCEPT', acceptance: { authentication: 'ignore_conn_err', mfaIdentity: identity } };
      }
      this.log.error(`MFA backend communication error (${message}): ${identity} denied`);
      return { verdict: 'DENY', reason: 'Communication error' };
    }
  }

  /** Answers already in the session cookie or given as key-value pairs are not asked again. */
  private async askQuestions(turn: Turn): Promise<Outcome | undefined> {
    const questions = await readQuestions(this.config);
    if (questions.length === 0) return undefined;
    const stored = turn.sessionCookie.questions;
    const answers: { [key: string]: JsonValue } = isObject(stored) ? { ...stored } : {};
    const pairs = turn.args.key_value_pairs ?? {};
    turn.sessionCookie.questions = answers;
    for (const question of questions) {
      if (Object.hasOwn(answers, question.key)) continue;
      if (Object.hasOwn(pairs, question.key)) {
        answers[question.key] = pairs[question.key];
        continue;
      }
      return { verdict: 'NEEDINFO', question: [question.key, `${question.prompt} `, question.disableEcho] };
    }
    return undefined;
  }

  private async takeConnectionSlot(turn: Turn): Promise<Outcome | undefined> {
    const limit = await this.config.getInt(CONNECTION_LIMIT_SECTION, 'limit', 0, { min: 0, max: 2_147_483_647 });
    if (limit === 0) return undefined;
    const { client_ip: clientIp, session_id: sessionId } = turn.args;
    const user = turn.args.gateway_user || username(turn.args);
    if (!clientIp || !user || !sessionId) {
      this.log.error('connection limit: the client IP, gateway user or session id is missing, so sessions cannot be counted');
      return { verdict: 'DENY', reason: 'Connection limit cannot be checked' };
    }
    const key = connectionLimitKey(clientIp, user);
    if (!(await new ConnectionLimiter(this.ephemeralStore).admit(key, sessionId, limit))) {
      this.log.info(`connection limit: ${user} from ${clientIp} already has ${limit} session(s)`);
      return { verdict: 'DENY', reason: 'Connection limit reached' };
    }
    turn.state.connectionLimitKey = key;
    return undefined;
  }

  private result(turn: Turn, outcome: Outcome): HookResult {
    const result: HookResult = { verdict: outcome.verdict, cookie: turn.state.toCookie(), session_cookie: turn.sessionCookie };
    if (outcome.verdict === 'NEEDINFO') result.question = outcome.question;
    if (outcome.verdict === 'DENY') {
      result.reason = outcome.reason;
      result.additional_metadata = JSON.stringify({ reason: outcome.reason });
    }
    if (outcome.verdict === 'ACCEPT' && outcome.acceptance) {
      const { authentication, mfaIdentity } = outcome.acceptance;
      result.additional_metadata = JSON.stringify({ authentication, ...(mfaIdentity !== undefined ? { mfa_identity: mfaIdentity } : {}) });
    }
    return result;
  }
}

function newTurn(args: ConnectionArgs): Turn {
  return { args, state: new PrivateCookie(args.cookie), sessionCookie: { ...(args.session_cookie ?? {}) } };
}

/** SPS's "username": the first non-empty of gateway_user, gu=, server_username, username=. */
function username(args: ConnectionArgs): string | undefined {
  const pairs = args.key_value_pairs ?? {};
  return [args.gateway_user, pairs.gu, args.server_username, pairs.username].find((name): name is string => typeof name === 'string' && name !== '');
}

function isObject(value: JsonValue | undefined): value is { [key: string]: JsonValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Aborts `run` after `ms`; a timeout is an authentication failure, never "unreachable". */
async function withTimeout<T>(ms: number, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      // Reject before aborting: a backend that settles on abort must not win the race.
      reject(new BackendTimeout());
      controller.abort();
    }, ms);
  });
  try {
    return await Promise.race([run(controller.signal), expired]);
  } finally {
    clearTimeout(timer);
  }
}
