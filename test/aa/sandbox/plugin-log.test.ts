import t from 'tap';
import { PluginLog } from '../../../src/aa/sandbox/plugin-log.js';
import { captureLog, levels } from './helpers/plain-sandbox.js';

t.test('lines are tagged with their source and level', async (t) => {
  const { log, lines } = captureLog();
  const output = new PluginLog(log.child({ plugin: 'totp' }), 20, 100);
  output.line('log', 'hello', 'warning');
  output.line('log', 'odd level', 'constructor');
  output.line('stdout', 'printed');
  output.line('stderr', 'complained');
  output.line('log', 'x'.repeat(30), 'ERROR');
  t.match(lines, [
    { plugin: 'totp', source: 'log', level: levels.warn, msg: 'hello' },
    { plugin: 'totp', source: 'log', level: levels.info, msg: 'odd level' },
    { plugin: 'totp', source: 'stdout', level: levels.info, msg: 'printed' },
    { plugin: 'totp', source: 'stderr', level: levels.warn, msg: 'complained' },
    { plugin: 'totp', source: 'log', level: levels.error, msg: `${'x'.repeat(20)}…` },
  ]);
});

t.test('lines over the rate are dropped and counted', async (t) => {
  const { log, lines } = captureLog();
  const output = new PluginLog(log, 100, 10);
  for (let i = 0; i < 25; i++) output.line('stdout', `line ${i}`);
  output.flush();
  t.equal(lines.length, 11);
  t.match(lines[10], { source: 'sandbox', suppressed: 15, level: levels.warn });
});
