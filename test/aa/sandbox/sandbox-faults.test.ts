// Fail closed: every way a plugin can fail, in every hook, denies that one call with the reason,
// logs it, replaces the worker where needed, and the next call on the same sandbox works.
import { join } from 'node:path';
import t from 'tap';
import type { FailureKind, HookName, HookResult } from '../../../src/aa/sandbox/index.js';
import { argsFor, fixtureDir, hooks } from './helpers/hook-calls.js';
import { captureLog, levels, loadSandbox } from './helpers/plain-sandbox.js';

const dir = t.testdir({});
const { PluginSandbox, memoryOverheadMb } = await loadSandbox(join(dir, 'build'));
const { log, lines } = captureLog();

const start = (name: string, timeoutMs: number) =>
  PluginSandbox.start({
    configName: name,
    pluginName: 'scripted',
    pluginDir: fixtureDir('scripted'),
    entryPoint: 'main.mjs',
    configText: '',
    stateDir: join(dir, 'state', name),
    ephemeralDir: join(dir, 'ephemeral', name),
    timeoutMs,
    memoryMb: 64,
    // One worker: the call after a fault can only succeed on the replacement.
    poolSize: 1,
    secret: async () => undefined,
    log,
  });

// Hangs cost their whole time limit, so they get a short one; the rest a roomy one, so that a slow
// machine never turns a crash into a timeout.
const quick = await start('quick', 800);
const roomy = await start('roomy', 10_000);
t.teardown(() => Promise.all([quick.close(), roomy.close()]));

/** The healthy answer of each hook. */
const healthy: Record<HookName, HookResult['verdict']> = { authenticate: 'ACCEPT', authorize: 'ACCEPT', session_ended: 'NONE' };

const faults: { step: string; failure: FailureKind; reason: RegExp; quick?: true; hooks?: HookName[] }[] = [
  { step: 'throw', failure: 'threw', reason: /^the plugin threw: TypeError: the plugin broke$/ },
  { step: 'reject', failure: 'threw', reason: /^the plugin threw: Error: the plugin broke later$/ },
  // session_ended's return value is ignored, so garbage there is no fault.
  { step: 'garbage', failure: 'invalid-result', reason: /returned an invalid result/, hooks: ['authenticate', 'authorize'] },
  { step: 'unencodable', failure: 'invalid-result', reason: /^the result is not JSON: TypeError/, hooks: ['authenticate', 'authorize'] },
  // The limit left for the call is the 800 ms budget minus any wait for a free worker.
  { step: 'hang', failure: 'timeout', reason: /did not answer within ([7-9]\d\d) ms$/, quick: true },
  { step: 'busy-loop', failure: 'timeout', reason: /did not answer within ([7-9]\d\d) ms$/, quick: true },
  { step: 'exit', failure: 'crashed', reason: /^the worker exited with code 0$/ },
  { step: 'uncaught', failure: 'crashed', reason: /^the worker exited with code 1 after RangeError: thrown in a timer$/ },
  { step: 'heap', failure: 'out-of-memory', reason: /JavaScript heap|over its limit of 128 MiB/ },
  { step: 'v8-heap-death', failure: 'out-of-memory', reason: /^the plugin exhausted its JavaScript heap$/ },
  { step: 'buffers', failure: 'out-of-memory', reason: /over its limit of 128 MiB/ },
  { step: 'bad-frame', failure: 'protocol-violation', reason: /bad frame: frame of \d+ bytes exceeds the limit/ },
  { step: 'bad-message', failure: 'protocol-violation', reason: /^the worker sent a message outside the protocol$/ },
  { step: 'forged-answer', failure: 'protocol-violation', reason: /answered call 999999, which is not running/ },
];

t.equal(memoryOverheadMb, 64, 'the memory limits below assume 64 + 64 MiB');

for (const fault of faults) {
  t.test(fault.step, async (t) => {
    const sandbox = fault.quick ? quick : roomy;
    for (const hook of fault.hooks ?? hooks) {
      const logged = lines.length;
      const result = await sandbox.call(hook, argsFor(hook, { do: fault.step }));
      t.match(result, { verdict: 'DENY', failure: fault.failure, reason: fault.reason }, `${hook} denied`);
      t.match(
        lines.slice(logged).find((line) => line.msg === 'plugin call failed; denied'),
        { level: levels.warn, plugin: 'scripted', hook, failure: fault.failure, reason: fault.reason },
        `${hook} failure logged`,
      );
      const next = await sandbox.call(hook, argsFor(hook, { do: 'accept' }));
      t.equal(next.verdict, healthy[hook], `the next ${hook} works`);
      t.notOk(next.failure);
    }
  });
}

t.test('a worker that dies between calls is replaced before anyone notices', async (t) => {
  t.equal((await roomy.call('authenticate', argsFor('authenticate', { do: 'accept-then-crash' }))).verdict, 'ACCEPT');
  const death = () => lines.find((line) => line.msg === 'plugin worker gone; replacing it' && /thrown after the call/.test(String(line.reason)));
  for (let i = 0; i < 100 && !death(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  t.match(death(), { level: levels.warn, aaConfig: 'roomy', failure: 'crashed' }, 'the death was logged');
  t.equal((await roomy.call('authorize', argsFor('authorize', { do: 'accept' }))).verdict, 'ACCEPT');
});

t.test('a call that waits longer than its time limit for a busy worker is denied without harming the worker', async (t) => {
  const busy = quick.call('authenticate', argsFor('authenticate', { do: 'hang' }));
  const waiting = quick.call('authorize', argsFor('authorize', { do: 'accept' }));
  t.match(await waiting, { verdict: 'DENY', failure: 'timeout', reason: /no plugin worker was free within 800 ms/ });
  t.match(await busy, { verdict: 'DENY', failure: 'timeout' });
  t.equal((await quick.call('authorize', argsFor('authorize', { do: 'accept' }))).verdict, 'ACCEPT');
});
