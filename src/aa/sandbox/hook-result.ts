// What a hook call means to the gateway: the plugin's return value validated and bounded, or a
// fail-closed denial when the plugin (not the person logging in) failed.
import { z } from 'zod';
import type { Cookie, HookName } from './hook-arguments.js';

/** Why the sandbox denied on the plugin's behalf. */
export type FailureKind =
  | 'threw' // the constructor or the hook threw or rejected
  | 'invalid-result' // the return value breaks the contract
  | 'timeout' // no answer within the call's time limit
  | 'crashed' // the worker exited or was killed mid-call
  | 'out-of-memory' // the worker went over its memory limit
  | 'protocol-violation' // the worker sent something that is not the protocol
  | 'unavailable'; // no worker could be started, or the sandbox is closed

export interface Question {
  /** Where the gateway stores the answer: `key_value_pairs[key]` of the next call. */
  key: string;
  prompt: string;
  disable_echo: boolean;
}

interface AnswerFields {
  gateway_user?: string;
  gateway_groups?: string[];
  /** A dict the plugin returned here arrives JSON-encoded, as the SDK sends it. */
  additional_metadata?: string;
  /** The plugin's message for the person (a DENY's reason is shown to them). */
  reason?: string;
  cookie?: Cookie;
  session_cookie?: Cookie;
}

/**
 * The plugin's own answer. NONE: `authenticate` explicitly abstained (`{verdict: 'NONE'}`: it did
 * no authentication), or `session_ended` finished (its return value carries nothing).
 */
export type PluginAnswer = AnswerFields &
  ({ verdict: 'ACCEPT' | 'DENY' | 'NONE'; question?: undefined } | { verdict: 'NEEDINFO'; question: Question });

/** The sandbox's denial when the plugin failed; `reason` is for the log, never for the person. */
export interface SandboxDenial {
  verdict: 'DENY';
  reason: string;
  failure: FailureKind;
}

export type HookResult = (PluginAnswer & { failure?: undefined }) | SandboxDenial;

export const limits = {
  /** Characters of any one string: prompt, reason, user, group, ... */
  text: 4096,
  /** UTF-8 bytes of each cookie's JSON, and of additional_metadata. */
  cookieBytes: 64 * 1024,
  metadataBytes: 64 * 1024,
  /** Nesting of a cookie's JSON, so that the gateway can walk or re-encode it without recursion trouble. */
  cookieDepth: 32,
  groups: 1024,
};

export function sandboxDenial(failure: FailureKind, reason: string): SandboxDenial {
  return { verdict: 'DENY', reason: truncate(reason, limits.text), failure };
}

/** The meaning of `value`, returned by `hook` on a fresh plugin instance. */
export function interpretReturn(hook: HookName, value: unknown): HookResult {
  if (hook === 'session_ended') return { verdict: 'NONE' };
  // JavaScript's "nothing" is more often a forgotten `return` than a decision: abstaining must be explicit.
  if (value === undefined || value === null) {
    return sandboxDenial('invalid-result', `${hook} returned no verdict${hook === 'authenticate' ? " (return {verdict: 'NONE'} to abstain)" : ''}`);
  }
  const parsed = resultSchema.safeParse(value);
  if (!parsed.success) return sandboxDenial('invalid-result', `${hook} returned an invalid result: ${describe(parsed.error)}`);
  const { verdict, question, ...fields } = parsed.data;
  if (verdict === 'NONE' && hook !== 'authenticate') return sandboxDenial('invalid-result', `${hook} may not abstain (verdict NONE)`);
  const answer = Object.fromEntries(Object.entries(fields).filter(([, field]) => field !== undefined && field !== null)) as AnswerFields;
  if (verdict !== 'NEEDINFO') return { ...answer, verdict };
  if (!question) return sandboxDenial('invalid-result', `${hook} returned NEEDINFO without a question`);
  const [key, prompt, disableEcho = false] = question;
  return { ...answer, verdict, question: { key, prompt, disable_echo: disableEcho } };
}

/** `authorize` and `session_ended` are optional; `authenticate` is the contract's one mandatory hook. */
export function interpretMissingHook(hook: HookName): HookResult {
  if (hook === 'authorize') return { verdict: 'ACCEPT' };
  if (hook === 'session_ended') return { verdict: 'NONE' };
  return sandboxDenial('invalid-result', 'the plugin has no authenticate hook');
}

const text = z.string().max(limits.text);
const cookie = z.custom<Cookie>((value) => isShallowObject(value) && Buffer.byteLength(JSON.stringify(value)) <= limits.cookieBytes, {
  message: `must be a JSON object of at most ${limits.cookieBytes} bytes and ${limits.cookieDepth} levels`,
});
const metadata = z
  .union([z.string(), z.custom<Cookie>(isShallowObject, { message: `must be a string or an object of at most ${limits.cookieDepth} levels` })])
  .transform((value) => (typeof value === 'string' ? value : JSON.stringify(value)))
  .refine((encoded) => Buffer.byteLength(encoded) <= limits.metadataBytes, `must be at most ${limits.metadataBytes} bytes`);

// Keys other than these are allowed and dropped; null counts as absent (Python's None).
const resultSchema = z.object({
  verdict: z.enum(['ACCEPT', 'DENY', 'NEEDINFO', 'NONE']),
  question: z
    .tuple([
      z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'must be an identifier of at most 64 characters'),
      text.min(1, 'must not be empty'),
      z.boolean().optional(),
    ])
    .nullish(),
  gateway_user: text.min(1, 'must not be empty').nullish(),
  gateway_groups: z.array(text).max(limits.groups).nullish(),
  additional_metadata: metadata.nullish(),
  reason: text.nullish(),
  cookie: cookie.nullish(),
  session_cookie: cookie.nullish(),
});

function describe(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || 'result'}: ${issue.message}`).join('; ');
}

/** A JSON object nested no deeper than a cookie may be; checked before anything encodes it recursively. */
function isShallowObject(value: unknown): value is Cookie {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && depth(value) <= limits.cookieDepth;
}

/** Nesting depth of parsed JSON, walked without recursion (a hostile frame may nest deeply). */
function depth(root: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[root, 1]];
  while (stack.length) {
    const [value, level] = stack.pop() as [unknown, number];
    if (typeof value !== 'object' || value === null) continue;
    deepest = Math.max(deepest, level);
    if (deepest > limits.cookieDepth) return deepest;
    for (const child of Object.values(value)) stack.push([child, level + 1]);
  }
  return deepest;
}

function truncate(value: string, max: number): string {
  return value.length <= max ? value : `${value.slice(0, max - 1)}…`;
}
