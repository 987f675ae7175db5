// The serial console end to end (issue 9): `gatehouse console --device` on one end of a real pseudo-terminal
// pair made by socat, the test typing on the other end through serialport. The first-boot wizard re-asks
// bad answers with a reason, commits one configuration with origin console and writes the OS files; then
// the menu: login, seal (a remote change is refused afterwards), a credential store unlocked by a running
// gateway with a wrong and then the right passphrase, Ctrl-C and line noise.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import t, { type Test } from 'tap';
import { cliPath, gatehouse, startServe, withoutTap } from '../helpers/cli.js';
import { freePort } from './helpers/ports.js';

interface Line {
  /** Waits until the console has written `text` since the last wait, and returns what it wrote until then. */
  expect(text: string | RegExp, timeoutMs?: number): Promise<string>;
  type(text: string): void;
  raw(bytes: Buffer | string): void;
}

async function consoleLine(t: Test, dir: string, args: string[]): Promise<{ line: Line; child: ChildProcess; exited: Promise<number | null> }> {
  const socat = spawn('socat', [`pty,raw,echo=0,link=${dir}/dut`, `pty,raw,echo=0,link=${dir}/host`], { stdio: 'ignore' });
  t.teardown(() => socat.kill('SIGKILL'));
  for (const deadline = Date.now() + 5000; !(existsSync(`${dir}/dut`) && existsSync(`${dir}/host`)); ) {
    if (Date.now() > deadline) throw new Error('socat made no pty pair');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const host = new SerialPort({ path: `${dir}/host`, baudRate: 115200 });
  await new Promise<void>((resolve, reject) => host.once('open', resolve).once('error', reject));
  t.teardown(() => new Promise<void>((resolve) => (host.isOpen ? host.close(() => resolve()) : resolve())));
  let screen = '';
  let mark = 0;
  host.on('data', (chunk: Buffer) => (screen += chunk.toString('utf8')));
  const child = spawn(process.execPath, [cliPath, 'console', '--device', `${dir}/dut`, ...args], { env: withoutTap(process.env), stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  t.teardown(() => child.kill('SIGKILL'));
  const line: Line = {
    async expect(text, timeoutMs = 10_000) {
      for (const deadline = Date.now() + timeoutMs; ; ) {
        const rest = screen.slice(mark);
        const at = typeof text === 'string' ? rest.indexOf(text) : (rest.match(text)?.index ?? -1);
        if (at >= 0) {
          const length = typeof text === 'string' ? text.length : rest.match(text)![0].length;
          mark += at + length;
          return rest.slice(0, at + length);
        }
        if (Date.now() > deadline) throw new Error(`the console did not write ${String(text)}; it wrote:\n${rest.slice(-1500)}\nstderr: ${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    type: (text) => host.write(`${text}\r`),
    raw: (bytes) => host.write(bytes),
  };
  return { line, child, exited };
}

t.test('first-boot wizard, then the menu', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'gh-console-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const data = join(dir, 'data');
  const root = join(dir, 'root');
  const listen = await freePort();
  // The system root looks like the appliance's: its zoneinfo has the zone the wizard sets; the OS files go to
  // --os-root, as they go to /data/os beside the appliance's read-only root.
  await mkdir(join(root, 'usr/share/zoneinfo/Europe'), { recursive: true });
  await copyFile('/usr/share/zoneinfo/Europe/Berlin', join(root, 'usr/share/zoneinfo/Europe/Berlin'));
  const osRoot = join(dir, 'os');
  const { line } = await consoleLine(t, dir, ['--data', data, '--root', root, '--os-root', osRoot]);

  await line.expect(/Gatehouse \d+\.\d+\.\d+\S* console on \S+\r\n/);
  await line.expect('first-boot setup');
  t.equal((await gatehouse(['console', '--check-setup'], { GATEHOUSE_DATA: data })).code, 1, 'not set up: the gateway waits');
  await line.expect('Password: ');
  line.type('short');
  await line.expect('at least 12 characters');
  await line.expect('Password: ');
  line.type('Correct-Horse-42');
  await line.expect('(again): ');
  line.type('Correct-Horse-43');
  await line.expect('the two entries differ');
  line.type('Correct-Horse-42');
  await line.expect('(again): ');
  line.type('Correct-Horse-42');
  await line.expect('Host name');
  line.type('bad_host!');
  await line.expect(/! [^\n]*\n/);
  line.type('gw1');
  const interfaces = await line.expect('Interface');
  t.notOk(interfaces.includes('Correct-Horse'), 'no password on the line');
  await line.expect(/\? $|: $/);
  line.type('1');
  await line.expect('static address');
  line.type('2');
  await line.expect('Address with prefix length');
  line.type('192.0.2.300/24');
  await line.expect(/! [^\n]*\n/);
  line.type('192.0.2.10/33');
  await line.expect(/! [^\n]*33[^\n]*\n/);
  line.type('192.0.2.10/24');
  await line.expect('Default gateway');
  line.type('198.51.100.1');
  await line.expect(/! [^\n]*\n/);
  line.type('192.0.2.1');
  await line.expect('DNS servers');
  line.type('192.0.2.53, 2001:db8::53');
  await line.expect('NTP servers');
  line.type('ntp.example.net');
  await line.expect('Time zone');
  line.type('Mars/Olympus');
  await line.expect(/! [^\n]*\n/);
  line.type('Europe/Berlin');
  await line.expect('master passphrase');
  await line.expect(/: $/);
  line.type('2');
  await line.expect('Master passphrase: ');
  line.type('stone-river-candle');
  await line.expect('(again): ');
  line.type('stone-river-candle');
  await line.expect('syslog server?');
  line.type('n');
  await line.expect('Address the gateway listens on');
  line.type('127.0.0.1');
  await line.expect('Port the gateway listens on');
  line.type('70000');
  await line.expect(/! [^\n]*\n/);
  line.type(String(listen));
  const summary = await line.expect('Apply this setup?');
  t.match(summary, /Host name +gw1/);
  t.match(summary, /Network +\S+: 192\.0\.2\.10\/24 via 192\.0\.2\.1/);
  t.match(summary, /Credential store +new, master passphrase in 1 part/);
  t.notOk(summary.includes('stone-river-candle') || summary.includes('Correct-Horse'), 'no secret in the summary');
  line.type('y');
  const applied = await line.expect('Setup complete.', 30_000);
  t.match(applied, /Network, host name and time applied \(\d+ files\)/);
  t.match(applied, /SHA256:[A-Za-z0-9+/]{43}/, 'the host key fingerprint is shown');

  const checked = await gatehouse(['console', '--check-setup'], { GATEHOUSE_DATA: data });
  t.same([checked.code, checked.stdout, checked.stderr], [0, '', ''], 'set up: the gateway may start');
  const history = await gatehouse(['config', 'history'], { GATEHOUSE_DATA: data });
  t.match(history.stdout, /^2\t\S+\tconsole\tconsole:\S+\tunsealed\tfirst-boot setup\n1\t/, 'one commit, origin console');
  const config = JSON.parse((await gatehouse(['config', 'show'], { GATEHOUSE_DATA: data })).stdout);
  t.match(config.network, { hostname: 'gw1', dns: ['192.0.2.53', '2001:db8::53'], ntp: ['ntp.example.net'], timeZone: 'Europe/Berlin' });
  t.match(config.connectionPolicies[0].listen, { address: '127.0.0.1', port: listen });
  t.match(config.console.adminPasswordHash, /^\$scrypt\$/);
  t.equal(readFileSync(join(osRoot, 'etc/hostname'), 'utf8').trim(), 'gw1', 'the OS files go to --os-root');
  t.notOk(existsSync(join(root, 'etc')), 'nothing is written under --root');
  t.ok(existsSync(join(data, 'credstore.json')), 'the credential store was created');
  t.match(readFileSync(join(osRoot, 'etc/systemd/timesyncd.conf.d/gatehouse.conf'), 'utf8'), 'NTP=ntp.example.net');
  t.match(readFileSync(join(osRoot, `etc/systemd/network/10-gatehouse-${config.network.interfaces[0].name}.network`), 'utf8'), /Address=192\.0\.2\.10\/24\nGateway=192\.0\.2\.1\nDNS=192\.0\.2\.53\nDNS=2001:db8::53\n/);

  // The menu: login with the password just set.
  await line.expect('console password: ');
  line.type('wrong-password-1');
  await line.expect('Wrong password.');
  line.type('Correct-Horse-42');
  await line.expect('Gatehouse console');
  await line.expect(/: $/);
  // Line noise and a terminal-size answer do not choose anything.
  line.raw(Buffer.from([0x00, 0xff, 0x1b, 0x5b, 0x32, 0x34, 0x3b, 0x38, 0x30, 0x52]));
  line.type('4');
  await line.expect('Seal the appliance');
  line.type('y');
  await line.expect(/Sealed \(configuration version \d+\)/);
  await writeFile(join(dir, 'remote.json'), JSON.stringify({ ...config, users: [{ name: 'intruder' }] }));
  const remote = await gatehouse(['config', 'apply', join(dir, 'remote.json')], { GATEHOUSE_DATA: data, GATEHOUSE_ORIGIN: 'remote' });
  t.not(remote.code, 0, 'a remote change is refused once sealed');
  t.match(remote.stderr, /sealed/);
  // Sealed, the console still changes the configuration: a gateway user added from the menu.
  await line.expect(/: $/);
  line.type('6');
  await line.expect('Gateway users and servers');
  await line.expect(/: $/);
  line.type('2');
  await line.expect('User name: ');
  line.type('alice');
  await line.expect('Password: ');
  line.type('Battery-Staple-7');
  await line.expect('Password (again): ');
  line.type('Battery-Staple-7');
  await line.expect(/User alice added \(configuration version \d+\)/, 20_000);
  await line.expect('Restart the gateway to use it', 20_000);
  const withAlice = JSON.parse((await gatehouse(['config', 'show'], { GATEHOUSE_DATA: data })).stdout);
  t.match(withAlice.users, [{ name: 'alice', passwordHash: /^\$scrypt\$/ }]);

  // Unlock the passphrase store held by a running gateway: wrong, then right.
  const serve = startServe(t, { GATEHOUSE_DATA: data });
  await serve.waitFor('gateway started', 30_000);
  await line.expect(/: $/);
  line.type('3');
  await line.expect('Master passphrase: ');
  line.type('not-the-passphrase');
  await line.expect('Not unlocked');
  await line.expect(/: $/);
  line.type('3');
  await line.expect('Master passphrase: ');
  line.type('stone-river-candle');
  await line.expect('Unlocked.');
  // Ctrl-C inside an action returns to the menu.
  await line.expect(/: $/);
  line.type('9');
  await line.expect('Erase everything?');
  line.raw('\x03');
  await line.expect('back to the menu');
  // Status, from systeminformation and the running gateway.
  await line.expect(/: $/);
  line.type('1');
  const status = await line.expect(/Credentials [^\n]*\n/, 20_000);
  t.match(status, /Uptime +\d+ h/);
  t.match(status, /gateway running, 0 active session\(s\)/);
  t.match(status, /SEALED/);
  t.match(status, /Credentials +passphrase, unlocked/);
  t.ok(status.split('\r\n').every((row) => row.length <= 80), 'every line fits 80 columns');
  // A factory reset is refused while the gateway runs here, then erases everything and starts the wizard.
  await line.expect(/: $/);
  line.type('9');
  await line.expect('Erase everything?');
  line.type('y');
  await line.expect('Type RESET to confirm');
  line.type('RESET');
  await line.expect('the gateway is running: stop it first');
  await serve.stop();
  await line.expect(/: $/);
  line.type('9');
  await line.expect('Erase everything?');
  line.type('y');
  await line.expect('Type RESET to confirm');
  line.type('RESET');
  await line.expect('Factory reset done');
  await line.expect('first-boot setup');
  t.notOk(existsSync(join(data, 'ssh_host_ed25519_key')), 'the host key is gone');
  t.notOk(existsSync(join(data, 'credstore.json')), 'the credential store is gone');
  t.same(readdirSync(join(data, 'config', 'versions')).filter((name) => name.endsWith('.json')).length, 1, 'only the initial configuration again');
});

t.test('a second console is told the first one holds the console', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'gh-console-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const data = join(dir, 'data');
  const { line } = await consoleLine(t, dir, ['--data', data, '--root', join(dir, 'root')]);
  await line.expect('Password: ');
  const second = await gatehouse(['console', '--device', `${dir}/dut`, '--data', data]);
  t.equal(second.code, 1);
  t.match(second.stderr, /another console \(pid \d+\) is in use/);
});
