// What the tests of every cloud MFA plugin (Duo, inWebo, Starling) check when its service fails:
// each fault of the fakes (test/fakes/faults.ts) through the plugin and through its client, the
// service unreachable or down, behind tinyproxy, and a server certificate for another name. The
// SDK's HTTPS client words these failures, so the expectations are the same for every service,
// except where the services answer differently (429, content type, redirect status).
import type { Test } from 'tap';
import { FAULTS, type Fault } from '../../fakes/faults.js';
import { startTinyproxy } from '../../helpers/tinyproxy.js';
import { metadata, outcome, type PluginUnderTest } from './plugin-under-test.js';

/** The plugin configured against one service endpoint, `[<plugin>]` options changed by `options`, sections in `extra` appended. */
export type Configure = (options?: Record<string, string>, extra?: string) => PluginUnderTest;

const PUSH = { key_value_pairs: { otp: '' } };

/** Each fault a plugin denies as a communication error, and what its log says. */
export const MISBEHAVIOUR: readonly (readonly [Fault, RegExp])[] = [
  ['429', /rate limited/],
  ['malformed-json', /malformed JSON/],
  ['wrong-content-type', /not JSON/],
  ['huge', /larger than/],
  ['slow', /response not complete/],
  ['redirect', /redirect/],
];

/**
 * The 1 s request timeout plus room for a loaded 2-CPU machine; a client that ignored its deadline
 * would hang far longer (the slow fault drips forever, a dropped or silent peer never answers).
 */
const WITHIN_TIMEOUT_MS = 3000;

/** With request_timeout=1, each of `cases` denies, within the timeout, even with ignore_conn_err=yes (it is no outage). */
export async function deniesEachMisbehaviour(t: Test, configure: Configure, fail: (fault: Fault) => void, cases = MISBEHAVIOUR): Promise<void> {
  const { authenticate, logged } = configure({ request_timeout: '1', ignore_conn_err: 'yes' });
  for (const [fault, reason] of cases) {
    fail(fault);
    const started = performance.now();
    t.equal(outcome(await authenticate(PUSH)), 'Communication error', fault);
    t.ok(performance.now() - started < WITHIN_TIMEOUT_MS, `${fault}: within the request timeout`);
    t.ok(logged('error', reason), `${fault}: logged`);
  }
}

/** Nothing listening: DENY with the cause logged; with ignore_conn_err=yes ACCEPT without MFA, as `identity`. */
export async function unreachableDenies(t: Test, nowhere: Configure, identity: string): Promise<void> {
  const strict = nowhere();
  t.equal(outcome(await strict.authenticate(PUSH)), 'Backend service unreachable');
  t.ok(strict.logged('error', /ECONNREFUSED/));
  const lenient = nowhere({ ignore_conn_err: 'yes' });
  const accepted = await lenient.authenticate({ key_value_pairs: { otp: '111111' } });
  t.same(metadata(accepted), { authentication: 'ignore_conn_err', mfa_identity: identity });
}

/** A 503 or a dropped connection is an outage too. */
export async function outagesDeny(t: Test, configure: Configure, fail: (fault: Fault) => void): Promise<void> {
  for (const fault of ['503', 'drop'] as const) {
    fail(fault);
    t.equal(outcome(await configure().authenticate(PUSH)), 'Backend service unreachable', fault);
  }
}

/** A push accepted through a real tinyproxy, which CONNECTs to the service's `port`. */
export async function acceptsThroughTinyproxy(t: Test, port: number, configure: Configure): Promise<void> {
  const proxy = await startTinyproxy(t, { connectPorts: [port] });
  const { authenticate } = configure({}, `\n[https_proxy]\nserver=${proxy.host}\nport=${proxy.port}\n`);
  t.equal(outcome(await authenticate(PUSH)), 'ACCEPT');
  t.match(proxy.logs(), new RegExp(`CONNECT 127\\.0\\.0\\.1:${port}`));
}

/** Against a service whose certificate is for another name: DENY even with ignore_conn_err=yes, the cause logged. */
export async function untrustedCertificateDenies(t: Test, configure: Configure): Promise<void> {
  const { authenticate, logged } = configure({ ignore_conn_err: 'yes' });
  t.equal(outcome(await authenticate(PUSH)), 'Communication error');
  t.ok(logged('error', /certificate not trusted/));
}

/** How a client call fails: the error's name and message. */
export type Failure = readonly [name: string, message: RegExp];

/**
 * How a client fails on each fault, in the order of FAULTS: `own` for those the services answer
 * differently (their 429, content type and redirect status); a 429 left out is not a failure.
 */
export function clientFailures(own: { '429'?: Failure; 'wrong-content-type': Failure; redirect: Failure }): [Fault, ...Failure][] {
  const alike: Partial<Record<Fault, Failure>> = {
    '503': ['MfaServiceUnreachable', /HTTP 503/],
    drop: ['MfaServiceUnreachable', /socket hang up/],
    'malformed-json': ['MfaCommunicationError', /malformed JSON/],
    huge: ['MfaCommunicationError', /larger than 1048576 bytes/],
    slow: ['MfaCommunicationError', /response not complete within 1000 ms/],
  };
  const failures: Partial<Record<Fault, Failure>> = { ...alike, ...own };
  return FAULTS.flatMap((fault) => {
    const failure = failures[fault];
    return failure ? [[fault, ...failure]] : [];
  });
}

/** `call` (started here) rejects with `name` and `message` within the request timeout of 1 s. */
export async function failsWithinTimeout(t: Test, label: string, call: () => Promise<unknown>, [name, message]: Failure): Promise<void> {
  const started = performance.now();
  await t.rejects(call(), { name, message }, label);
  t.ok(performance.now() - started < WITHIN_TIMEOUT_MS, `${label}: within the timeout`);
}
