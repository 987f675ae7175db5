// The wizard's pure parts: the password rule, the configuration its answers make (only what it asked
// changes, and the result is a valid configuration), and a summary without secrets.
import t from 'tap';
import { embeddedDefaultConfig, validateConfig } from '../../src/config/load.js';
import type { ApplianceControl } from '../../src/console/appliance.js';
import { checkAdminPassword, configFromAnswers, runWizard, summary, type WizardAnswers } from '../../src/console/wizard.js';
import { fakeConsole } from './harness.js';

const answers: WizardAnswers = {
  adminPasswordHash: '$scrypt$N=16384,r=8,p=1$c2FsdA$aGFzaA',
  os: { hostname: 'gw1', interfaces: [{ name: 'eth0', dhcp: false, address: '192.0.2.10/24', gateway: '192.0.2.1' }], dns: ['192.0.2.53'], ntp: ['ntp.example.net'], timeZone: 'Europe/Berlin' },
  credentialStore: { parts: ['first secret part', 'second secret part'] },
  syslog: { host: 'logs.example.net', port: 6514, transport: 'tls' },
  listen: { address: '0.0.0.0', port: 22 },
};

t.test('the administrator password rule', async (t) => {
  t.equal(checkAdminPassword('Sh0rt!'), 'at least 12 characters');
  t.match(checkAdminPassword('onlylowercaseletters'), /mix at least two/);
  t.equal(checkAdminPassword('lowercase-and-dashes'), undefined);
  t.equal(checkAdminPassword('Correct-Horse-42'), undefined);
  t.equal(checkAdminPassword('x'.repeat(1025) + 'A'), 'at most 1024 characters');
});

t.test('the answers make a valid configuration and change only what was asked', async (t) => {
  const current = validateConfig(embeddedDefaultConfig);
  const config = validateConfig(configFromAnswers(current, answers));
  t.match(config.network, { hostname: 'gw1', dns: ['192.0.2.53'], ntp: ['ntp.example.net'], timeZone: 'Europe/Berlin', interfaces: [{ name: 'eth0', dhcp: false, address: '192.0.2.10/24' }] });
  t.equal(config.console.adminPasswordHash, answers.adminPasswordHash);
  t.match(config.syslogTargets, [{ name: 'syslog', host: 'logs.example.net', port: 6514, transport: 'tls' }]);
  t.same(config.connectionPolicies[0]!.listen, { address: '0.0.0.0', port: 22 });
  t.same({ ...config.connectionPolicies[0], listen: undefined }, { ...current.connectionPolicies[0], listen: undefined }, 'the rest of the policy is kept');
  t.same(config.users, current.users);
  const { syslog: _none, ...withoutSyslog } = answers;
  t.same(validateConfig(configFromAnswers(current, withoutSyslog)).syslogTargets, [], 'no syslog answer: no target');
});

t.test('the summary shows every answer and no secret', async (t) => {
  const text = summary(answers).join('\n');
  t.match(text, /Network +eth0: 192\.0\.2\.10\/24 via 192\.0\.2\.1/);
  t.match(text, /Credential store +new, master passphrase in 2 part\(s\)/);
  t.match(text, /Syslog +tls:\/\/logs\.example\.net:6514/);
  t.match(text, /Gateway listens +0\.0\.0\.0:22/);
  t.notOk(/secret part|scrypt/.test(text));
  t.ok(summary(answers).every((line) => line.length <= 79), 'fits 80 columns');
});

/** An appliance that records what the wizard asks of it; `commit` fails as often as `failingCommits` says. */
function recordingAppliance(calls: string[], options: { failingCommits?: number; startGateway?: () => Promise<boolean> } = {}): ApplianceControl {
  let commits = 0;
  const current = { version: 1, time: '', origin: 'console' as const, author: 'x', message: '', sealed: false, config: validateConfig(embeddedDefaultConfig) };
  return {
    current: async () => current,
    commit: async (config: unknown) => {
      calls.push('commit');
      if (++commits <= (options.failingCommits ?? 0)) throw new Error('disk full');
      return { ...current, version: 2, config: validateConfig(config) };
    },
    credentialStore: async () => ({ exists: false }),
    initCredentialStore: async () => void calls.push('init'),
    discardNewCredentialStore: async () => void calls.push('discard'),
    applyOsSettings: async () => (calls.push('os'), ['/etc/hostname']),
    hostKeyFingerprints: async () => ['SHA256:test'],
    interfaces: async () => [{ name: 'eth0', description: 'eth0 up' }],
    applyToGateway: async () => (calls.push('apply'), 'applied'),
    startGateway: options.startGateway ?? (async () => (calls.push('start'), true)),
  } as unknown as ApplianceControl;
}

/** Every answer of one pass: password twice, defaults, DHCP on the first interface, the appliance key, no syslog. */
const round = ['Correct-Horse-42', 'Correct-Horse-42', '', '1', '1', '', '', '1', '', '', '', ''].map((line) => `${line}\r`).join('');

t.test('a commit that fails leaves nothing half-applied: the new credential store goes again, the wizard asks again', async (t) => {
  const calls: string[] = [];
  const c = fakeConsole();
  c.type(round);
  const done = runWizard(c.term, recordingAppliance(calls, { failingCommits: 1 }));
  await c.waitFor('answer again');
  t.match(c.screen(), 'The setup was not applied: disk full');
  t.same(calls, ['init', 'commit', 'discard'], 'the store made for the failed commit is removed; no OS files written');
  c.type(round);
  t.equal(await done, 2);
  t.same(calls, ['init', 'commit', 'discard', 'init', 'commit', 'os', 'start']);
  t.match(c.screen(), 'The gateway is started.');
  t.match(c.screen(), 'Setup complete.');
  t.notOk(c.screen().includes('Correct-Horse-42'), 'the password never reached the screen');
});

t.test('the gateway failing to start is shown, and the setup stands', async (t) => {
  const calls: string[] = [];
  const c = fakeConsole();
  c.type(round);
  const appliance = recordingAppliance(calls, { startGateway: () => Promise.reject(new Error('systemctl start gatehouse.service: Job for gatehouse.service failed')) });
  t.equal(await runWizard(c.term, appliance), 2);
  t.match(c.screen(), '! The gateway did not start: systemctl start gatehouse.service: Job for gatehouse.service failed');
  t.match(c.screen(), 'Setup complete.');
  t.same(calls, ['init', 'commit', 'os']);
});

t.test('where this is not the appliance, nothing is started and nothing said about it', async (t) => {
  const c = fakeConsole();
  c.type(round);
  t.equal(await runWizard(c.term, recordingAppliance([], { startGateway: async () => false })), 2);
  t.notMatch(c.screen(), /gateway (is started|did not start)/);
});
