// The MfaPlugin hooks a challenge-response backend needs (RADIUS): a follow-up question instead
// of a yes or no, its state carried once in the cookie, and plugin-chosen key-value pairs for the
// password and the MFA identity.
import t, { type Test } from 'tap';
import { MfaPlugin, type ConnectionArgs, type Cookie, type HookResult, type MfaChallenge, type PluginContext } from '../../../src/plugins/sdk/index.js';
import { fakeContext } from '../fixtures/fake-context.js';

/** Accepts "1234" at once; "ask" gets a question whose answer "42" is accepted with its state. */
class ChallengePlugin extends MfaPlugin {
  protected override readonly backendSection = 'fake';
  protected override readonly passwordKeys = ['answer', 'otp'];
  protected override readonly identityKeys = ['who'];

  constructor(text: string, context: PluginContext, private readonly calls: string[]) {
    super(text, context);
  }

  protected override async otpVerify(identity: string, code: string, _signal: AbortSignal, challengeState?: string): Promise<boolean | MfaChallenge> {
    this.calls.push(`${identity} ${code} ${challengeState ?? '-'}`);
    if (code === 'ask') return { question: ['answer', '6 * 9 = ?', true], state: 'state-1' };
    return code === '1234' || (code === '42' && challengeState === 'state-1');
  }
}

function setup(t: Test) {
  const context = fakeContext(t);
  const calls: string[] = [];
  const authenticate = (args: ConnectionArgs) =>
    new ChallengePlugin('[auth]\nprompt=Code:', context, calls).authenticate({ session_id: 's', protocol: 'ssh', gateway_user: 'alice', ...args });
  return { calls, authenticate };
}

const privateState = (cookie: Cookie) => cookie.__plugin_sdk_private as Record<string, unknown>;

t.test('a question from the backend is NEEDINFO; its answer goes back with the state, once', async (t) => {
  const { calls, authenticate } = setup(t);
  const asked = await authenticate({ key_value_pairs: { otp: 'ask' } });
  t.equal(asked.verdict, 'NEEDINFO');
  t.same(asked.question, ['answer', '6 * 9 = ?', true]);
  t.equal(privateState(asked.cookie).challenge_state, 'state-1');

  const answered = await authenticate({ cookie: asked.cookie, key_value_pairs: { otp: 'ask', answer: '42' } });
  t.equal(answered.verdict, 'ACCEPT', 'the answer wins over the otp given before');
  t.same(JSON.parse(answered.additional_metadata ?? ''), { authentication: 'otp', mfa_identity: 'alice' });
  t.equal(privateState(answered.cookie).challenge_state, undefined, 'spent');
  t.same(calls, ['alice ask -', 'alice 42 state-1']);

  const wrong = await authenticate({ cookie: asked.cookie, key_value_pairs: { answer: '41' } });
  t.equal(wrong.reason, 'Authentication failed');
  t.equal(privateState(wrong.cookie).challenge_state, undefined, 'spent by a wrong answer too');
  const replayed: HookResult = await authenticate({ cookie: wrong.cookie, key_value_pairs: { answer: '42' } });
  t.equal(replayed.reason, 'Authentication failed', 'no state any more');
});

t.test('the first password key present wins; the SDK still asks for otp', async (t) => {
  const { calls, authenticate } = setup(t);
  t.same((await authenticate({})).question, ['otp', 'Code: ', false]);
  t.equal((await authenticate({ key_value_pairs: { otp: '1234' } })).verdict, 'ACCEPT');
  t.equal((await authenticate({ key_value_pairs: { otp: '1234', answer: 'nope' } })).verdict, 'DENY');
  t.same(calls, ['alice 1234 -', 'alice nope -']);
});

t.test('identity keys name the MFA identity when not empty', async (t) => {
  const { calls, authenticate } = setup(t);
  const accepted = await authenticate({ key_value_pairs: { otp: '1234', who: 'alice.mfa' } });
  t.same(JSON.parse(accepted.additional_metadata ?? ''), { authentication: 'otp', mfa_identity: 'alice.mfa' });
  t.equal(accepted.gateway_user, undefined, 'the gateway user stays alice');
  await authenticate({ key_value_pairs: { otp: '1234', who: '' } });
  t.same(calls, ['alice.mfa 1234 -', 'alice 1234 -']);
});
