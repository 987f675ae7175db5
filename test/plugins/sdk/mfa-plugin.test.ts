// The MFA step engine over a fake backend: prompt, push, whitelist, usermapping order, cache,
// questions, error taxonomy, configuration errors, logging, connection limit and checkpoints.
import t, { type Test } from 'tap';
import {
  DEFAULT_PROMPT,
  MfaCommunicationError,
  MfaPlugin,
  MfaServiceUnreachable,
  type Clock,
  type ConnectionArgs,
  type Cookie,
  type HookResult,
  type LdapDirectory,
  type PluginContext,
  type Question,
  type UserList,
} from '../../../src/plugins/sdk/index.js';
import { fakeClock, fakeContext, type FakeContext } from '../fixtures/fake-context.js';

interface Backend {
  otp(identity: string, code: string, signal: AbortSignal): Promise<boolean>;
  push(identity: string, signal: AbortSignal): Promise<boolean>;
  calls: string[];
}

class OtpOnlyPlugin extends MfaPlugin {
  protected override readonly backendSection = 'fake';

  constructor(text: string, context: PluginContext, clock: Clock, protected readonly backend: Backend) {
    super(text, context, clock);
  }

  protected override otpVerify(identity: string, code: string, signal: AbortSignal): Promise<boolean> {
    this.backend.calls.push(`otp ${identity} ${code}`);
    return this.backend.otp(identity, code, signal);
  }
}

class PushPlugin extends OtpOnlyPlugin {
  protected override pushVerify(identity: string, signal: AbortSignal): Promise<boolean> {
    this.backend.calls.push(`push ${identity}`);
    return this.backend.push(identity, signal);
  }
}

interface Setup {
  context: FakeContext;
  backend: Backend;
  clock: ReturnType<typeof fakeClock>;
  /** A fresh plugin instance, as the host makes for every hook call. */
  plugin(): MfaPlugin;
  /** Drives authenticate like the gateway: answers NEEDINFO questions from `answers` until a verdict. */
  login(args?: ConnectionArgs, answers?: Record<string, string>): Promise<{ result: HookResult; asked: Question[] }>;
}

function setup(t: Test, text: string, options: { push?: boolean; context?: Partial<PluginContext> } = {}): Setup {
  const context = fakeContext(t, options.context);
  const clock = fakeClock();
  const backend: Backend = { otp: async (_, code) => code === '123456', push: async () => true, calls: [] };
  const plugin = () => new (options.push ? PushPlugin : OtpOnlyPlugin)(text, context, clock, backend);
  const login = async (args: ConnectionArgs = {}, answers: Record<string, string> = {}) => {
    const base: ConnectionArgs = { session_id: 'sess-1', protocol: 'ssh', client_ip: '10.0.0.1', gateway_user: 'alice', server_username: 'root', ...args };
    const pairs = { ...(base.key_value_pairs ?? {}) };
    let cookie: Cookie = base.cookie ?? {};
    let sessionCookie: Cookie = base.session_cookie ?? {};
    const asked: Question[] = [];
    for (;;) {
      const result = await plugin().authenticate({ ...base, key_value_pairs: { ...pairs }, cookie, session_cookie: sessionCookie });
      cookie = result.cookie;
      sessionCookie = result.session_cookie;
      if (result.verdict !== 'NEEDINFO' || !result.question) return { result, asked };
      asked.push(result.question);
      const [key] = result.question;
      if (!(key in answers) || asked.length > 10) return { result, asked };
      pairs[key] = answers[key];
    }
  };
  return { context, backend, clock, plugin, login };
}

const metadata = (result: HookResult) => JSON.parse(result.additional_metadata ?? 'null') as Record<string, string> | null;
const logged = (context: FakeContext, level: string, pattern: RegExp) => context.logs.some(([l, message]) => l === level && pattern.test(message));

const AUTH = '[auth]\nprompt=One-time password:\ndisable_echo=yes\n';

t.test('asks for the OTP, then accepts a valid one', async (t) => {
  const { login, backend } = setup(t, AUTH);
  const { result, asked } = await login({}, { otp: '123456' });
  t.same(asked, [['otp', 'One-time password: ', true]], 'prompt gets its trailing space; echo per disable_echo');
  t.equal(result.verdict, 'ACCEPT');
  t.same(metadata(result), { authentication: 'otp', mfa_identity: 'alice' });
  t.same(backend.calls, ['otp alice 123456']);
  t.equal(result.gateway_user, undefined, 'the gateway user is already alice');
  t.ok(result.cookie.__plugin_sdk_private, 'the SDK state travels in the cookie');
});

t.test('SDK defaults: the push prompt, echo on', async (t) => {
  const { login } = setup(t, '');
  const { asked } = await login();
  t.same(asked, [['otp', `${DEFAULT_PROMPT} `, false]]);
});

t.test('an OTP in the login name (otp=123456@root@target) is used without asking', async (t) => {
  const { login } = setup(t, AUTH);
  const { result, asked } = await login({ key_value_pairs: { otp: '123456' } });
  t.same(asked, []);
  t.equal(result.verdict, 'ACCEPT');
});

t.test('a wrong OTP is denied', async (t) => {
  const { login, context } = setup(t, AUTH);
  const { result } = await login({}, { otp: '000000' });
  t.equal(result.verdict, 'DENY');
  t.equal(result.reason, 'Authentication failed');
  t.same(metadata(result), { reason: 'Authentication failed' });
  t.ok(logged(context, 'warning', /MFA \(otp\) failed for alice/));
});

t.test('an empty answer means push, when the backend has it', async (t) => {
  const withPush = setup(t, AUTH, { push: true });
  const pushed = await withPush.login({}, { otp: '' });
  t.equal(pushed.result.verdict, 'ACCEPT');
  t.same(metadata(pushed.result), { authentication: 'push', mfa_identity: 'alice' });
  t.same(withPush.backend.calls, ['push alice']);

  const otpOnly = setup(t, AUTH);
  const refused = await otpOnly.login({}, { otp: '' });
  t.equal(refused.result.verdict, 'DENY');
  t.equal(refused.result.reason, 'Push notification is not available: type a one-time password');
  t.same(otpOnly.backend.calls, []);
});

t.test('protocols that cannot prompt go straight to push', async (t) => {
  const { login, backend } = setup(t, '[auth]\ninteractive_protocols=ssh, telnet', { push: true });
  const rdp = await login({ protocol: 'RDP' });
  t.equal(rdp.result.verdict, 'ACCEPT');
  t.same(rdp.asked, []);
  t.same(backend.calls, ['push alice']);
  const ssh = await login({ protocol: 'ssh' });
  t.equal(ssh.asked.length, 1);
});

t.test('the username: gateway user, gu=, server user, username=', async (t) => {
  const { login, backend } = setup(t, '');
  const cases: [ConnectionArgs, string][] = [
    [{ gateway_user: 'alice', key_value_pairs: { gu: 'gu-user' } }, 'alice'],
    [{ gateway_user: null, key_value_pairs: { gu: 'gu-user' } }, 'gu-user'],
    [{ gateway_user: '', server_username: 'root' }, 'root'],
    [{ gateway_user: null, server_username: null, key_value_pairs: { username: 'kv-user' } }, 'kv-user'],
  ];
  for (const [args, identity] of cases) {
    backend.calls = [];
    const { result } = await login({ ...args, key_value_pairs: { ...args.key_value_pairs, otp: '123456' } });
    t.same(backend.calls, [`otp ${identity} 123456`], identity);
    if (identity !== 'alice') {
      t.equal(result.gateway_user, identity, 'the plugin vouches for the user: it becomes the gateway user');
      t.same(result.gateway_groups, []);
    }
  }
  const { result } = await login({ gateway_user: null, server_username: null });
  t.equal(result.verdict, 'DENY');
  t.equal(result.reason, 'No username identified');
});

t.test('[whitelist source=user_list]: SPS allow/except semantics, case-sensitive', async (t) => {
  const lists: Record<string, UserList> = {
    breakglass: { allow: 'no_user', except: ['alice'] },
    everyone_but_bob: { allow: 'all_users', except: ['bob'] },
  };
  const context = { userList: async (name: string) => lists[name] };
  const breakglass = setup(t, '[whitelist source=user_list]\nname=breakglass', { context });
  const skipped = await breakglass.login();
  t.equal(skipped.result.verdict, 'ACCEPT');
  t.same(skipped.asked, []);
  t.same(metadata(skipped.result), { authentication: 'whitelist' });
  t.same(breakglass.backend.calls, []);
  t.equal((await breakglass.login({ gateway_user: 'Alice' })).asked.length, 1, '"Alice" is not "alice"');
  t.equal((await breakglass.login({ gateway_user: 'carol' })).asked.length, 1);

  const allButBob = setup(t, '[whitelist source=user_list]\nname=everyone_but_bob', { context });
  t.same((await allButBob.login({ gateway_user: 'carol' })).asked, []);
  t.equal((await allButBob.login({ gateway_user: 'bob' })).asked.length, 1);

  const missing = setup(t, '[whitelist source=user_list]\nname=nosuch', { context });
  t.equal((await missing.login()).asked.length, 1, 'an unknown list lets nobody skip MFA');
  t.ok(logged(missing.context, 'error', /names user list "nosuch", which the appliance does not have/));
  const noSeam = setup(t, '[whitelist source=user_list]\nname=breakglass');
  t.equal((await noSeam.login()).asked.length, 1, 'nor does a host that offers no user lists');
});

function fakeLdap(users: Record<string, { groups: string[]; attributes?: Record<string, string> }>, calls: string[] = []): LdapDirectory {
  return {
    userGroups: async (server, user) => {
      calls.push(`groups ${server} ${user}`);
      if (user === 'broken') throw new Error('connection refused');
      return users[user]?.groups;
    },
    userAttribute: async (server, user, attribute) => {
      calls.push(`attribute ${server} ${user} ${attribute}`);
      return users[user]?.attributes?.[attribute];
    },
  };
}

t.test('[whitelist source=ldap_server_group]: case-insensitive groups; errors let nobody skip', async (t) => {
  const ldap = fakeLdap({ alice: { groups: ['Admins', 'staff'] }, carol: { groups: ['staff'] } });
  const noUser = setup(t, '[ldap_server]\nname=corp\n[whitelist source=ldap_server_group]\nallow=no_user\nexcept=ADMINS, ops', { context: { ldap } });
  t.same((await noUser.login({ gateway_user: 'alice' })).asked, [], 'member of an exception group skips MFA');
  t.equal((await noUser.login({ gateway_user: 'carol' })).asked.length, 1);
  t.equal((await noUser.login({ gateway_user: 'dave' })).asked.length, 1, 'unknown in LDAP');
  t.equal((await noUser.login({ gateway_user: 'broken' })).asked.length, 1, 'LDAP error');
  t.ok(logged(noUser.context, 'warning', /group lookup of broken failed \(connection refused\)/));

  const allUsers = setup(t, '[ldap_server]\nname=corp\n[whitelist source=ldap_server_group]\nallow=all_users\nexcept=admins', { context: { ldap } });
  t.equal((await allUsers.login({ gateway_user: 'alice' })).asked.length, 1, 'admins must do MFA');
  t.same((await allUsers.login({ gateway_user: 'carol' })).asked, [], 'everyone else skips it');
  t.equal((await allUsers.login({ gateway_user: 'dave' })).asked.length, 1, 'a user LDAP does not know skips nothing');

  const noServer = setup(t, '[whitelist source=ldap_server_group]\nallow=no_user\nexcept=admins', { context: { ldap } });
  const { result } = await noServer.login();
  t.equal(result.reason, 'Plugin configuration error');
  t.ok(logged(noServer.context, 'error', /\[ldap_server\] name: is required/));
});

t.test('usermapping: explicit before LDAP, append_domain after both', async (t) => {
  const ldapCalls: string[] = [];
  const ldap = fakeLdap({ alice: { groups: [], attributes: { mail: 'alice.ldap' } }, bob: { groups: [], attributes: { mail: 'bob.ldap' } } }, ldapCalls);
  const text = '[usermapping source=explicit]\nAlice=alice.explicit\n[usermapping source=ldap_server]\nuser_attribute=mail\n[ldap_server]\nname=corp\n[username_transform]\nappend_domain=example.com';
  const { login, backend } = setup(t, text, { context: { ldap } });
  const pairs = { otp: '123456' };
  for (const [user, identity] of [['alice', 'alice.explicit@example.com'], ['ALICE', 'alice.explicit@example.com'], ['bob', 'bob.ldap@example.com'], ['carol', 'carol@example.com']]) {
    backend.calls = [];
    const { result } = await login({ gateway_user: user, key_value_pairs: pairs });
    t.same(backend.calls, [`otp ${identity} 123456`], `${user} → ${identity}`);
    t.equal(metadata(result)?.mfa_identity, identity);
  }
  t.same(ldapCalls, ['attribute corp bob mail', 'attribute corp carol mail'], 'LDAP is not asked when the explicit mapping matched');

  const plain = setup(t, '[username_transform]\nappend_domain=corp.example');
  await plain.login({ key_value_pairs: pairs });
  t.same(plain.backend.calls, ['otp alice@corp.example 123456']);
  const noLdap = setup(t, '[usermapping source=ldap_server]\nuser_attribute=mail\n[ldap_server]\nname=corp');
  await noLdap.login({ key_value_pairs: pairs });
  t.same(noLdap.backend.calls, ['otp alice 123456'], 'without LDAP the user keeps their name');
  t.ok(logged(noLdap.context, 'error', /needs LDAP/));
});

t.test('[authentication_cache]: real MFA successes start a reuse period, nothing else does', async (t) => {
  const { login, clock } = setup(t, '[authentication_cache]\nsoft_timeout=15\nhard_timeout=90\nreuse_limit=2', { push: true });
  t.equal((await login({}, { otp: '123456' })).result.verdict, 'ACCEPT');
  for (const n of [1, 2]) {
    clock.advance(5);
    const reuse = await login();
    t.same(reuse.asked, [], `login ${n} after the MFA skips it`);
    t.same(metadata(reuse.result), { authentication: 'authentication_cache' });
  }
  clock.advance(5);
  t.equal((await login()).asked.length, 1, 'reuse_limit reached');
  t.equal((await login({ client_ip: '10.0.0.2' }, { otp: '' })).result.verdict, 'ACCEPT', 'push MFA from another IP');
  clock.advance(5);
  t.same((await login({ client_ip: '10.0.0.2' })).asked, [], 'push counts as MFA too');
  clock.advance(16);
  t.equal((await login({ client_ip: '10.0.0.2' })).asked.length, 1, 'soft_timeout passed');
});

t.test('[question_N]: asked after authentication, stored in session_cookie.questions', async (t) => {
  const text = `${AUTH}[question_1]\nkey=ticket\nprompt=Ticket number:\n[question_2]\nkey=why\nprompt=Reason:\ndisable_echo=yes`;
  const { login } = setup(t, text);
  const { result, asked } = await login({}, { otp: '123456', ticket: 'INC-42', why: 'patching' });
  t.same(asked, [
    ['otp', 'One-time password: ', true],
    ['ticket', 'Ticket number: ', false],
    ['why', 'Reason: ', true],
  ]);
  t.equal(result.verdict, 'ACCEPT');
  t.same(result.session_cookie.questions, { ticket: 'INC-42', why: 'patching' });
  t.same(metadata(result), { authentication: 'otp', mfa_identity: 'alice' }, 'the verdict is the authentication one');

  const given = await login({ key_value_pairs: { otp: '123456', ticket: 'INC-7' }, session_cookie: { other: 'kept' } }, { why: 'x' });
  t.same(given.asked, [['why', 'Reason: ', true]], 'answers given in the login name are not asked');
  t.same(given.result.session_cookie, { other: 'kept', questions: { ticket: 'INC-7', why: 'x' } });

  const abandoned = await login({}, { otp: '123456' });
  t.equal(abandoned.result.verdict, 'NEEDINFO', 'no verdict until every question is answered');
});

t.test('[question_N] sections must be numbered from 1 without gaps and name key and prompt', async (t) => {
  for (const [text, message] of [
    ['[question_1]\nkey=a\nprompt=A\n[question_3]\nkey=c\nprompt=C', /line 4, \[question_3\]: \[question_2\] is missing/],
    ['[question_x]\nkey=a\nprompt=A', /line 1, \[question_x\]: expected a section name question_1/],
    ['[question_1]\nkey=a', /\[question_1\] prompt: is required/],
  ] as const) {
    const { login, context } = setup(t, text);
    const { result } = await login({ key_value_pairs: { otp: '123456' } });
    t.equal(result.verdict, 'DENY');
    t.ok(logged(context, 'error', message), String(message));
  }
});

t.test('error taxonomy: unreachable, ignore_conn_err, communication errors, timeouts', async (t) => {
  const unreachable = setup(t, '');
  unreachable.backend.otp = async () => {
    throw new MfaServiceUnreachable('connect ECONNREFUSED');
  };
  const denied = await unreachable.login({ key_value_pairs: { otp: '123456' } });
  t.equal(denied.result.verdict, 'DENY');
  t.equal(denied.result.reason, 'Backend service unreachable');
  t.ok(logged(unreachable.context, 'error', /unreachable \(connect ECONNREFUSED\): alice denied/));

  const fallback = setup(t, '[fake]\nignore_conn_err=yes\n[authentication_cache]\nreuse_limit=5');
  fallback.backend.otp = unreachable.backend.otp;
  const accepted = await fallback.login({ key_value_pairs: { otp: '123456' } });
  t.equal(accepted.result.verdict, 'ACCEPT');
  t.same(metadata(accepted.result), { authentication: 'ignore_conn_err', mfa_identity: 'alice' });
  t.ok(logged(fallback.context, 'warning', /accepted WITHOUT MFA because \[fake\] ignore_conn_err=yes/));
  t.equal((await fallback.login()).asked.length, 1, 'a fallback accept does not start an authentication cache period');

  for (const error of [new MfaCommunicationError('bad JSON'), new Error('surprise')]) {
    const broken = setup(t, '[fake]\nignore_conn_err=yes');
    broken.backend.otp = async () => {
      throw error;
    };
    const { result } = await broken.login({ key_value_pairs: { otp: '123456' } });
    t.equal(result.reason, 'Communication error', `${error.message}: DENY even with ignore_conn_err`);
  }

  const slow = setup(t, '[fake]\ntimeout=1\nignore_conn_err=yes');
  let aborted = false;
  slow.backend.otp = (_, __, signal) =>
    new Promise((resolve) => {
      signal.addEventListener('abort', () => {
        aborted = true;
        resolve(true); // too late: the verdict is already DENY
      });
    });
  const started = Date.now();
  const timedOut = await slow.login({ key_value_pairs: { otp: '123456' } });
  t.equal(timedOut.result.reason, 'Authentication timed out', 'a timeout is a failure, not an unreachable backend');
  t.ok(aborted, 'the backend call is aborted');
  t.ok(Date.now() - started < 3000);
});

t.test('configuration errors DENY and say where; other hooks stay usable', async (t) => {
  const malformed = setup(t, '[auth]\nprompt');
  const { result } = await malformed.login();
  t.equal(result.verdict, 'DENY');
  t.equal(result.reason, 'Plugin configuration error');
  t.ok(logged(malformed.context, 'error', /^configuration error: line 2, \[auth\]: expected "name=value"/));
  t.equal((await malformed.plugin().authorize({ session_id: 's' })).verdict, 'DENY');
  await malformed.plugin().session_ended({ session_id: 's' });

  const badBoolean = setup(t, '[auth]\ndisable_echo=true');
  await badBoolean.login();
  t.ok(logged(badBoolean.context, 'error', /line 2, \[auth\] disable_echo: expected yes or no, got "true"/));
});

t.test('[logging] log_level filters what reaches the host', async (t) => {
  const quiet = setup(t, '[logging]\nlog_level=warning');
  await quiet.login({ key_value_pairs: { otp: '123456' } });
  await quiet.login({ key_value_pairs: { otp: '000000' } });
  t.same(quiet.context.logs.map(([level]) => level), ['warning']);

  const numeric = setup(t, '[logging]\nlog_level=20');
  await numeric.login({ key_value_pairs: { otp: '123456' } });
  t.same(numeric.context.logs.map(([level]) => level), ['info']);

  const bad = setup(t, '[logging]\nlog_level=loud');
  t.equal((await bad.login()).result.reason, 'Plugin configuration error');
  t.ok(logged(bad.context, 'error', /\[logging\] log_level: expected one of debug, info, warning, error, critical/));
});

t.test('[connection_limit by=client_ip_gateway_user]: authorize counts, session_ended frees', async (t) => {
  const { plugin } = setup(t, '[connection_limit by=client_ip_gateway_user]\nlimit=1');
  const args = { client_ip: '10.0.0.1', gateway_user: 'alice', server_ip: '192.0.2.10', server_port: 22 };
  const first = await plugin().authorize({ ...args, session_id: 's1' });
  t.equal(first.verdict, 'ACCEPT');
  t.equal(first.additional_metadata, undefined, 'authorize leaves the authentication metadata alone');
  const again = await plugin().authorize({ ...args, session_id: 's1', cookie: first.cookie });
  t.equal(again.verdict, 'ACCEPT', 'a repeated call with its cookie is not counted twice');
  const second = await plugin().authorize({ ...args, session_id: 's2' });
  t.equal(second.verdict, 'DENY');
  t.equal(second.reason, 'Connection limit reached');
  t.equal((await plugin().authorize({ ...args, client_ip: '10.0.0.9', session_id: 's3' })).verdict, 'ACCEPT', 'other client IP');
  await plugin().session_ended({ session_id: 's1', cookie: again.cookie });
  t.equal((await plugin().authorize({ ...args, session_id: 's2' })).verdict, 'ACCEPT', 'the slot is free again');
  t.equal((await plugin().authorize({ ...args, session_id: undefined })).reason, 'Connection limit cannot be checked');

  const unlimited = setup(t, '[connection_limit by=client_ip_gateway_user]\nlimit=0');
  for (const id of ['a', 'b', 'c']) t.equal((await unlimited.plugin().authorize({ ...args, session_id: id })).verdict, 'ACCEPT');
});

t.test('checkpoints: a NEEDINFO round trip does not repeat whitelist, cache or mapping lookups', async (t) => {
  const ldapCalls: string[] = [];
  let listLookups = 0;
  const text = '[whitelist source=user_list]\nname=breakglass\n[usermapping source=ldap_server]\nuser_attribute=mail\n[ldap_server]\nname=corp';
  const { login } = setup(t, text, {
    context: {
      ldap: fakeLdap({ alice: { groups: [], attributes: { mail: 'a@corp' } } }, ldapCalls),
      userList: async () => {
        listLookups++;
        return { allow: 'no_user', except: [] };
      },
    },
  });
  const { result, asked } = await login({}, { otp: '123456' });
  t.equal(asked.length, 1);
  t.equal(result.verdict, 'ACCEPT');
  t.equal(listLookups, 1);
  t.same(ldapCalls, ['attribute corp alice mail']);
  t.equal(metadata(result)?.mfa_identity, 'a@corp', 'the identity survived the round trip in the cookie');
});

t.test('cookies: foreign keys are kept and both cookies always come back', async (t) => {
  const { plugin } = setup(t, '');
  const result = await plugin().authenticate({ gateway_user: 'alice', protocol: 'ssh', cookie: { mine: 1 }, session_cookie: { IdentityProvider: 'x' } });
  t.equal(result.verdict, 'NEEDINFO');
  t.equal(result.cookie.mine, 1);
  t.same(result.session_cookie, { IdentityProvider: 'x' });
  const garbage = await plugin().authenticate({ gateway_user: 'alice', protocol: 'ssh', cookie: { __plugin_sdk_private: 'garbage' } });
  t.equal(garbage.verdict, 'NEEDINFO', 'a malformed SDK state is ignored');
});
