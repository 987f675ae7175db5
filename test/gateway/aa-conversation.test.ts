// AaConversation: what each hook is sent and what the gateway makes of the answers. The plugin
// here is a recording AaPlugin (the gateway's own seam); the sandbox and real plugins are covered
// by test/aa/sandbox and the e2e tests.
import fc from 'fast-check';
import t from 'tap';
import type { HookArguments, HookName, HookResult } from '../../src/aa/sandbox/index.js';
import { AaConversation, answerLimits, type LoginFacts } from '../../src/gateway/aa/aa-conversation.js';
import type { AaPlugin } from '../../src/gateway/aa/plugin-host.js';
import { parseRdpUsername, parseSshUsername } from '../../src/gateway/username.js';

type Call = { hook: HookName; args: Record<string, unknown> };

/** A plugin that answers from `script` in order and records every call. */
function scripted(...script: HookResult[]): AaPlugin & { calls: Call[] } {
  const calls: Call[] = [];
  return {
    configuration: 'cfg',
    name: 'scripted',
    calls,
    call: async <H extends HookName>(hook: H, args: HookArguments[H]) => {
      calls.push({ hook, args: structuredClone(args) as unknown as Record<string, unknown> });
      return script.shift() ?? { verdict: 'NONE' };
    },
  };
}

const facts = { sessionId: 's1', connectionName: 'policy', clientIp: '192.0.2.7', clientPort: 50000 };
const question = { key: 'otp', prompt: 'Code: ', disable_echo: true };

function loginOf(raw: string, form: 'ssh' | 'rdp' = 'ssh'): LoginFacts {
  const parsed = form === 'ssh' ? parseSshUsername(raw) : parseRdpUsername(raw);
  return { gatewayUser: 'alice', serverUser: parsed.serverUser, ...(parsed.serverDomain ? { serverDomain: parsed.serverDomain } : {}), keyValuePairs: parsed.keyValuePairs };
}

t.test('key/value pairs of both username forms, merged with NEEDINFO answers; cookies round-trip', async (t) => {
  for (const [raw, form] of [['ticket=T-1@root@db1', 'ssh'], ['CORP\\ticket~T-1%root', 'rdp']] as const) {
    const plugin = scripted(
      { verdict: 'NEEDINFO', question, cookie: { step: 1 }, session_cookie: { idp: 'x' } },
      { verdict: 'ACCEPT', cookie: { step: 2 }, session_cookie: { idp: 'x', questions: { ticket: 'T-1' } }, additional_metadata: '{"a":1}' },
      { verdict: 'ACCEPT', cookie: { step: 3 } },
    );
    const aa = new AaConversation(plugin, facts);
    const login = loginOf(raw, form);
    t.same(await aa.authenticate(login), { kind: 'ask', question });
    t.equal(aa.answer(question, '123456'), undefined);
    t.same(await aa.authenticate(login), { kind: 'accept', metadata: '{"a":1}' }, 'the ACCEPT\'s metadata comes along (events read how the plugin authenticated)');
    t.equal(await aa.authorize(login, { gatewayGroups: null, serverIp: '10.0.0.1', serverPort: 22, serverHostname: 'db1' }), undefined);
    await aa.end();
    await aa.end();

    const [first, second, authz, ended, ...more] = plugin.calls;
    t.same(more, [], `${form}: session_ended runs once`);
    t.same(first?.args.key_value_pairs, { ticket: 'T-1' }, `${form}: the username's pairs`);
    t.same(second?.args.key_value_pairs, { ticket: 'T-1', otp: '123456' }, `${form}: plus the answer`);
    t.same(second?.args.cookie, { step: 1 });
    t.same(authz?.args, { ...second?.args, cookie: { step: 2 }, session_cookie: { idp: 'x', questions: { ticket: 'T-1' } }, gateway_groups: null, server_ip: '10.0.0.1', server_port: 22, server_hostname: 'db1' });
    t.same(ended, { hook: 'session_ended', args: { cookie: { step: 3 }, session_cookie: { idp: 'x', questions: { ticket: 'T-1' } }, session_id: 's1' } });
    t.same(aa.sessionInfo, { aaConfig: 'cfg', additionalMetadata: '{"a":1}', questions: { ticket: 'T-1' } });
    t.match(first?.args, { protocol: 'ssh', connection_name: 'policy', client_ip: '192.0.2.7', client_port: 50000, client_hostname: null, gateway_user: 'alice', gateway_domain: null, server_username: 'root' });
    t.equal(first?.args.server_domain, form === 'rdp' ? 'CORP' : null);
  }
});

t.test('verdicts: NONE keeps the first factor’s login, DENY shows the plugin’s reason, a sandbox failure shows nothing', async (t) => {
  const login = loginOf('root@db1');
  t.same(await new AaConversation(scripted({ verdict: 'NONE' }), facts).authenticate(login), { kind: 'accept', abstained: true });
  t.same(await new AaConversation(scripted({ verdict: 'ACCEPT', gateway_user: 'bob', gateway_groups: ['ops'] }), facts).authenticate(login), { kind: 'accept', gatewayUser: 'bob', gatewayGroups: ['ops'] });
  const denied = new AaConversation(scripted({ verdict: 'DENY', reason: 'token revoked' }), facts);
  t.same(await denied.authenticate(login), { kind: 'deny', reason: 'token revoked', message: 'token revoked' });
  t.equal(denied.sessionInfo.reason, 'token revoked');
  const failed = await new AaConversation(scripted({ verdict: 'DENY', failure: 'timeout', reason: 'no answer within 10 ms' }), facts).authenticate(login);
  t.same(failed, { kind: 'deny', reason: 'plugin failure (timeout): no answer within 10 ms' }, 'no message for the person');
  const asks = await new AaConversation(scripted({ verdict: 'ACCEPT' }, { verdict: 'NEEDINFO', question }), facts);
  await asks.authenticate(login);
  t.match(await asks.authorize(login, { gatewayGroups: null, serverIp: '10.0.0.1', serverPort: 22, serverHostname: null }), { kind: 'deny', reason: /cannot ask after login/ });
});

t.test('a plugin that keeps asking is cut off after the round limit', async (t) => {
  const plugin = scripted(...Array.from({ length: answerLimits.rounds + 1 }, () => ({ verdict: 'NEEDINFO' as const, question })));
  const aa = new AaConversation(plugin, facts);
  const login = loginOf('root@db1');
  for (let round = 1; round <= answerLimits.rounds; round++) t.equal((await aa.authenticate(login)).kind, 'ask');
  t.match(await aa.authenticate(login), { kind: 'deny', reason: /more than 16 questions/ });
});

t.test('answers: too long or with control characters are refused, anything else printable is kept as typed', async (t) => {
  const aa = new AaConversation(scripted(), facts);
  t.match(aa.answer(question, 'x'.repeat(answerLimits.length + 1)), { kind: 'deny', reason: /longer than 1024/ });
  for (const bad of ['12\u000034', '12\n34', '\u001b[2J', 'ab\u202ecd', 'a\u2028b', '\u007f', '\u0085']) {
    const codePoints = [...bad].map((c) => `U+${(c.codePointAt(0) as number).toString(16).padStart(4, '0')}`).join(' ');
    t.match(aa.answer(question, bad), { kind: 'deny', reason: /control characters/ }, codePoints);
  }
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), (answer) => {
        const refusal = aa.answer(question, answer);
        const control = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(answer);
        return control ? refusal?.kind === 'deny' && !refusal.reason.includes(answer || '\u0000') : refusal === undefined;
      }),
    ),
  );
});

t.test('session_ended is not sent for a connection the plugin never heard of', async (t) => {
  const plugin = scripted();
  await new AaConversation(plugin, facts).end();
  t.same(plugin.calls, []);
});
