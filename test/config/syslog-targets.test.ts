// The syslogTargets section: defaults, and the mistakes it refuses with the path of the bad value.
import t from 'tap';
import { ConfigError, validateConfig } from '../../src/config/load.js';

const base = { connectionPolicies: [{ name: 'p', targets: [{ host: '*' }] }] };

function refusal(syslogTargets: unknown[]): string {
  try {
    validateConfig({ ...base, syslogTargets });
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

t.test('defaults: TCP, RFC 5424, facility authpriv, port 514; a journal of 512 MiB', async (t) => {
  const config = validateConfig({ ...base, syslogTargets: [{ name: 'siem', host: 'siem.example.com' }] });
  t.same(config.syslogTargets[0], { name: 'siem', host: 'siem.example.com', port: 514, transport: 'tcp', format: 'rfc5424', facility: 'authpriv' });
  t.equal(config.logging.journalMaxMiB, 512);
  const tls = validateConfig({ ...base, syslogTargets: [{ name: 'siem', host: '10.0.0.9', port: 6514, transport: 'tls', format: 'cef', caFile: '/etc/ca.pem', serverName: 'siem.example.com', clientCertFile: '/etc/c.pem', clientKeyFile: '/etc/c.key' }] });
  t.equal(tls.syslogTargets[0]!.serverName, 'siem.example.com');
});

t.test('refused, each with the path of the bad value', async (t) => {
  t.match(refusal([{ name: 'a', host: 'h', transport: 'udp', caFile: '/ca.pem' }]), /syslogTargets\.0\.caFile: only for transport "tls"/);
  t.match(refusal([{ name: 'a', host: 'h', transport: 'tls', clientCertFile: '/c.pem' }]), /syslogTargets\.0\.clientKeyFile: clientCertFile and clientKeyFile go together/);
  t.match(refusal([{ name: 'a', host: 'h x' }]), /syslogTargets\.0\.host: expected a host name or IP address/);
  t.match(refusal([{ name: 'a', host: 'h', transport: 'relp' }]), /syslogTargets\.0\.transport/);
  t.match(refusal([{ name: 'a', host: 'h', format: 'leef' }]), /syslogTargets\.0\.format/);
  t.match(refusal([{ name: 'a', host: 'h', facility: 'local8' }]), /syslogTargets\.0\.facility/);
  t.match(refusal([{ name: 'a', host: 'h', port: 0 }]), /syslogTargets\.0\.port/);
  t.match(refusal([{ name: 'a', host: 'h' }, { name: 'a', host: 'i' }]), /syslogTargets/);
  t.match(refusal([{ name: 'a', host: 'h', password: 'x' }]), /syslogTargets\.0/);
});
