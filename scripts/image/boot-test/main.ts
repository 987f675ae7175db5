// The appliance boot test (issue 10): the built image boots under QEMU with its serial console driven by
// this script, as a person at the console would. It proves, in order:
//   1. first boot: the data partition grows to the disk, the wizard runs on ttyS0, the gateway comes up and
//      a real OpenSSH client logs in through it to an sshd on this host;
//   2. a reboot keeps the setup (no wizard, same host name, same gateway host key, the user still logs in);
//   3. a power cut while a slot is being flashed leaves the old slot booting;
//   4. a bundle signed by an unknown key is refused; a good bundle is flashed, boots on its one try and
//      is blessed by the health check;
//   5. a bundle whose kernel cannot mount its root falls back to the previous slot by itself;
//   6. a bundle whose gateway does not start fails its health check and falls back too;
//   7. a damaged data partition boots to the console, which says so and formats it on request; the
//      wizard runs again.
// It prints a timeline per power-on and writes the console transcripts next to the images.
import { execFileSync, spawn } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { writeBundle } from '../../../src/system/firmware/bundle.js';
import { ensureTestAccount } from '../../../test/e2e/helpers/account.js';
import { freePort } from '../../../test/e2e/helpers/ports.js';
import { startSshd } from '../../../test/e2e/helpers/sshd.js';
import { Machine, OVMF_VARS } from './machine.js';
import { BootTestFailure, type SerialConsole } from './serial.js';

const help = `Usage: node dist/scripts/image/boot-test/main.js --image DIR --upgrade DIR [--work DIR]

  --image DIR     a scripts/build-image output (disk.img, work/, dev-signing-key.pem): the first version
  --upgrade DIR   a second build, newer version, signed with the same key: its bundle is flashed
  --work DIR      where the disk under test, the update medium and the transcripts go
                  (default: <--image>/../boot-test)

APPLIANCE_QEMU_ACCEL=kvm uses KVM instead of TCG.
`;

const ADMIN_PASSWORD = `Boot-${randomBytes(9).toString('base64url')}`;
const HOSTNAME = 'edge-01';
const BOOT_MS = 6 * 60_000;
const timeline: string[] = [];

function note(machine: Machine, what: string): void {
  const line = `${machine.uptime().toFixed(1).padStart(7)} s  ${what}`;
  timeline.push(line);
  process.stdout.write(`${line}\n`);
}

function section(title: string): void {
  timeline.push(`-- ${title}`);
  process.stdout.write(`\n== ${title}\n`);
}

function check(condition: unknown, what: string): asserts condition {
  if (!condition) throw new BootTestFailure(what);
}

function versionOf(dir: string): string {
  return JSON.parse(readFileSync(join(dir, 'work/app/usr/lib/gatehouse/package.json'), 'utf8')).version as string;
}

function bumped(version: string, by: number): string {
  const [major, minor, patch] = version.split('.').map(Number) as [number, number, number];
  return `${major}.${minor}.${patch + by}`;
}

function run(command: string, args: string[]): string {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Bundles the test flashes besides the upgrade: one that cannot boot, one whose gateway fails, one signed by a stranger. */
async function makeBadBundles(upgradeDir: string, work: string, keyFile: string): Promise<{ unbootable: string; unhealthy: string; stranger: string; unbootableVersion: string; unhealthyVersion: string }> {
  const upgradeVersion = versionOf(upgradeDir);
  const key = createPrivateKey(readFileSync(keyFile, 'utf8'));
  const kernel = { vmlinuz: join(upgradeDir, 'work/vmlinuz'), 'initrd.img': join(upgradeDir, 'work/initrd.img') };
  const junkRoot = join(work, 'junk-root.img');
  writeFileSync(junkRoot, randomBytes(8 * 1024 * 1024));
  const unbootableVersion = bumped(upgradeVersion, 1);
  const unbootable = join(work, 'media', `gatehouse-${unbootableVersion}-unbootable.bundle`);
  await writeBundle(unbootable, { version: unbootableVersion, arch: 'x86_64', files: { 'root.erofs': junkRoot, ...kernel } }, key);
  const stranger = join(work, 'media', `gatehouse-${unbootableVersion}-unknown-key.bundle`);
  await writeBundle(stranger, { version: unbootableVersion, arch: 'x86_64', files: { 'root.erofs': junkRoot, ...kernel } }, generateKeyPairSync('ed25519').privateKey);

  // The upgrade's root with a gateway that exits at once: it boots, but its health check fails.
  const unhealthyVersion = bumped(upgradeVersion, 2);
  const tree = join(work, 'unhealthy-root');
  run('rm', ['-rf', tree]);
  run('cp', ['-a', join(upgradeDir, 'work/root'), tree]);
  mkdirSync(join(tree, 'etc/systemd/system/gatehouse.service.d'), { recursive: true });
  writeFileSync(join(tree, 'etc/systemd/system/gatehouse.service.d/broken.conf'), '[Service]\nExecStart=\nExecStart=/bin/false\n');
  const pkgFile = join(tree, 'usr/lib/gatehouse/package.json');
  writeFileSync(pkgFile, readFileSync(pkgFile, 'utf8').replace(`"version": "${upgradeVersion}"`, `"version": "${unhealthyVersion}"`));
  const unhealthyRoot = join(work, 'unhealthy-root.erofs');
  run('mkfs.erofs', ['-zlz4', unhealthyRoot, tree]);
  run('rm', ['-rf', tree]);
  const unhealthy = join(work, 'media', `gatehouse-${unhealthyVersion}-unhealthy.bundle`);
  await writeBundle(unhealthy, { version: unhealthyVersion, arch: 'x86_64', files: { 'root.erofs': unhealthyRoot, ...kernel } }, key);
  return { unbootable, unhealthy, stranger, unbootableVersion, unhealthyVersion };
}

/** A FAT file system labelled GHUPDATE holding the files: the appliance mounts it at /media/update. */
function makeUpdateMedium(image: string, files: string[]): void {
  const bytes = files.reduce((sum, f) => sum + Number(run('stat', ['-c', '%s', f]).trim()), 0);
  run('rm', ['-f', image]);
  run('truncate', ['-s', String(Math.ceil((bytes * 1.05) / 2 ** 20) + 64) + 'M', image]);
  run('mkfs.vfat', ['-F', '32', '-n', 'GHUPDATE', image]);
  for (const file of files) run('mcopy', ['-i', image, file, '::/']);
}

/** Byte offset and length of a partition of a disk image, by its GPT name. */
function partition(disk: string, name: string): { offset: number; size: number } {
  const table = JSON.parse(run('sfdisk', ['--json', disk])) as { partitiontable: { sectorsize?: number; partitions: { name?: string; start: number; size: number }[] } };
  const sector = table.partitiontable.sectorsize ?? 512;
  const found = table.partitiontable.partitions.find((p) => p.name === name);
  if (!found) throw new Error(`no partition ${name} in ${disk}`);
  return { offset: found.start * sector, size: found.size * sector };
}

/**
 * Fills the data file system of a powered-off disk with one file, written with debugfs straight into the
 * partition (no mount): every free block but a few is taken, the root-reserved ones included.
 */
function fillDataPartition(disk: string, work: string): string {
  const { offset } = partition(disk, 'data');
  const fs = `${disk}?offset=${offset}`;
  const header = run('dumpe2fs', ['-h', fs]);
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(header)?.[1]);
  const bytes = (field('Free blocks') - 8) * field('Block size');
  const filler = join(work, 'filler.bin');
  // Not zeros: debugfs would store those as a hole, which takes no space.
  const block = Buffer.alloc(2 ** 20, 0xa5);
  writeFileSync(filler, '');
  for (let written = 0; written < bytes; written += block.length) appendFileSync(filler, block.subarray(0, Math.min(block.length, bytes - written)));
  run('debugfs', ['-w', '-R', `write ${filler} filler`, fs]);
  run('rm', ['-f', filler]);
  return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
}

/** Polls the forwarded port until the gateway's SSH banner arrives. */
async function sshBanner(port: number, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const banner = await new Promise<string | undefined>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      let text = '';
      const done = (value: string | undefined) => {
        socket.destroy();
        resolve(value);
      };
      socket.setTimeout(3000, () => done(undefined));
      socket.on('data', (chunk) => {
        text += chunk.toString('latin1');
        if (text.includes('\n')) done(text.split('\n')[0]!.trim());
      });
      socket.on('error', () => done(undefined));
      socket.on('close', () => done(undefined));
    });
    if (banner?.startsWith('SSH-2.0-')) return banner;
    if (Date.now() > deadline) throw new BootTestFailure(`the gateway did not answer on port ${port} within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

interface Target {
  port: number;
  user: string;
  password: string;
}

/** Logs in through the gateway with the real OpenSSH client and runs a command on the target. */
async function sshThroughGateway(sshPort: number, target: Target, knownHosts: string, firstTime: boolean): Promise<string> {
  const token = `gatehouse-boot-test-${randomBytes(4).toString('hex')}`;
  const args = [
    '-e', 'ssh', '-p', String(sshPort),
    '-o', `UserKnownHostsFile=${knownHosts}`, '-o', `StrictHostKeyChecking=${firstTime ? 'accept-new' : 'yes'}`,
    '-o', 'PreferredAuthentications=password,keyboard-interactive', '-o', 'PubkeyAuthentication=no',
    '-o', 'ConnectTimeout=60', '-o', 'ServerAliveInterval=30',
    '-l', `${target.user}@10.0.2.2:${target.port}`, '127.0.0.1', `echo ${token}`,
  ];
  const child = spawn('sshpass', args, { env: { ...process.env, SSHPASS: target.password }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0 || !out.includes(token)) throw new BootTestFailure(`ssh through the gateway failed (exit ${code}): ${err.trim() || out.trim()}`);
  return token;
}

/** Logs in through the gateway; on failure the error also shows the appliance's recent security events. */
async function loginThroughGateway(con: SerialConsole, sshPort: number, target: Target, knownHosts: string, firstTime: boolean): Promise<void> {
  try {
    await sshThroughGateway(sshPort, target, knownHosts, firstTime);
  } catch (err) {
    await con.choose(/^Recent security events/);
    await new Promise((r) => setTimeout(r, 5000));
    throw new BootTestFailure(`${(err as Error).message}\n--- the appliance's recent security events ---\n${con.tail(22)}`);
  }
}

async function login(con: SerialConsole): Promise<void> {
  await con.answer(new RegExp(`${HOSTNAME} console password: $`, 'm'), ADMIN_PASSWORD, BOOT_MS);
}

/** The firmware screen's status lines (the menu's firmware item, then back). */
async function firmwareStatus(con: SerialConsole): Promise<string> {
  await con.choose(/^Firmware upgrade/);
  const shown = await con.expect(/running \S+ from slot [ab]\n(?:slot [ab][^\n]*\n){2}/, 60_000, 'the firmware status');
  await con.choose(/^back to the menu/);
  return shown[0];
}

async function flash(con: SerialConsole, bundle: string): Promise<void> {
  await con.choose(/^Firmware upgrade/);
  await con.choose(/^upgrade from a signed bundle file/);
  await con.answer(/Bundle file[^\n]*: $/m, `/media/update/${bundle}`);
  await con.answer(/Verify and install [^\n]*\? \[Y\/n\]: $/m, 'y');
}

async function reboot(con: SerialConsole): Promise<void> {
  await con.choose(/^Reboot/);
  await con.answer(/Reboot[^\n]*\? \[y\/N\]: $/m, 'y');
}

async function bootedConsole(machine: Machine, version: string): Promise<void> {
  await machine.console.expect(new RegExp(`Gatehouse ${version.replaceAll('.', '\\.')} console on `), BOOT_MS, `the console of version ${version}`);
  note(machine, `console of ${version} ready`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { image: { type: 'string' }, upgrade: { type: 'string' }, work: { type: 'string' }, help: { type: 'boolean' } } });
  if (values.help || !values.image || !values.upgrade) {
    process.stdout.write(help);
    process.exit(values.help ? 0 : 2);
  }
  const imageDir = resolve(values.image);
  const upgradeDir = resolve(values.upgrade);
  const work = resolve(values.work ?? join(imageDir, '..', 'boot-test'));
  mkdirSync(join(work, 'media'), { recursive: true });
  const v1 = versionOf(imageDir);
  const v2 = versionOf(upgradeDir);
  const upgradeBundle = join(upgradeDir, `gatehouse-${v2}-x86_64.bundle`);
  check(existsSync(upgradeBundle), `no upgrade bundle ${upgradeBundle}`);
  const started = Date.now();

  section('preparing: disk, update medium, target sshd');
  const disk = join(work, 'disk.img');
  run('cp', ['--sparse=always', join(imageDir, 'disk.img'), disk]);
  run('truncate', ['-s', '4G', disk]);
  const efiVars = join(work, 'OVMF_VARS.fd');
  copyFileSync(OVMF_VARS, efiVars);
  const bad = await makeBadBundles(upgradeDir, work, join(imageDir, 'dev-signing-key.pem'));
  const medium = join(work, 'update-medium.img');
  makeUpdateMedium(medium, [upgradeBundle, bad.unbootable, bad.unhealthy, bad.stranger]);
  const teardowns: (() => unknown)[] = [];
  const account = await ensureTestAccount();
  const sshd = await startSshd({ teardown: (fn) => teardowns.push(fn) });
  const target: Target = { port: sshd.port, user: account.user, password: account.password };
  const sshPort = await freePort();
  const knownHosts = join(work, 'known_hosts');
  run('rm', ['-f', knownHosts]);
  const power = (name: string, updateMedium?: string) =>
    new Machine({ disk, efiVars, sshPort, transcript: join(work, `console-${name}.log`), ...(updateMedium ? { updateMedium } : {}) });
  let machine: Machine | undefined;
  try {
    section(`power-on 1: first boot of ${v1}`);
    machine = power('1', medium);
    let con = machine.console;
    await con.expect(/Linux version \S+/, BOOT_MS, 'the kernel');
    note(machine, 'kernel started');
    await bootedConsole(machine, v1);
    await con.expect(/1\/8 Console administrator password/, 60_000, 'the first-boot wizard');
    note(machine, 'wizard asks');
    await con.answer(/Password: $/m, ADMIN_PASSWORD);
    await con.answer(/Password \(again\): $/m, ADMIN_PASSWORD);
    await con.answer(/Host name \[[^\]]*\]: $/m, HOSTNAME);
    await con.choose(/^(en|eth)\S+/);
    await con.choose(/^DHCP/);
    await con.answer(/NTP servers[^\n]*: $/m, '-');
    await con.answer(/Time zone[^\n]*: $/m, 'Europe/Berlin');
    await con.choose(/^the built-in appliance key/);
    await con.answer(/Forward security events to a syslog server\? \[y\/N\]: $/m, 'n');
    await con.answer(/Address the gateway listens on[^\n]*: $/m, '');
    await con.answer(/Port the gateway listens on[^\n]*: $/m, '22');
    await con.answer(/Apply this setup\? \[Y\/n\]: $/m, 'y');
    await con.expect(/SHA256:\S+/, 120_000, 'the host key fingerprint after the setup');
    note(machine, 'wizard applied');
    const banner = await sshBanner(sshPort, 180_000);
    note(machine, `gateway ready (${banner})`);
    await login(con);
    await con.choose(/^Gateway users/);
    await con.choose(/^add a user/);
    await con.answer(/User name: $/m, target.user);
    await con.answer(/Password: $/m, target.password);
    await con.answer(/Password \(again\): $/m, target.password);
    await con.expect(/User \S+ added/, 60_000, 'the user added');
    await con.expect(/The gateway restarted with the new configuration/, 120_000, 'the gateway restarted');
    await con.choose(/^Gateway users/);
    await con.choose(/^servers users may reach/);
    await con.answer(/Servers[^\n]*: $/m, '10.0.2.2');
    await con.expect(/Servers set/, 60_000, 'the servers set');
    await con.expect(/The gateway restarted with the new configuration/, 120_000, 'the gateway restarted');
    await sshBanner(sshPort, 180_000);
    note(machine, 'user and servers set; the gateway restarted with them');
    await loginThroughGateway(con, sshPort, target, knownHosts, true);
    note(machine, 'logged in through the gateway with OpenSSH to an sshd on the host');
    await con.choose(/^Status/);
    const data = await con.expect(/Disk\s+\/data\s+\S+ GiB of (\S+) GiB/, 60_000, 'the data partition in the status');
    check(Number(data[1]) > 1.5, `the data partition (256 MiB in the image) was not grown to the end of the 4 GiB disk: ${data[0]}`);
    note(machine, `data partition grown: ${data[0].replace(/\s+/g, ' ')}`);
    await reboot(con);

    section('reboot: the setup persists');
    await bootedConsole(machine, v1);
    await login(con);
    note(machine, 'no wizard: the console asks the administrator password');
    await sshBanner(sshPort, 180_000);
    await loginThroughGateway(con, sshPort, target, knownHosts, false);
    note(machine, 'logged in again: same user, same gateway host key');
    await flash(con, upgradeBundle.split('/').pop()!);
    await con.expect(/writing root\.erofs to slot b [1-9]0%/, 300_000, 'the slot being written');
    note(machine, 'power cut while writing slot b');
    await machine.powerCut();

    section('power-on 2: after the power cut, then the upgrade');
    machine = power('2', medium);
    con = machine.console;
    await bootedConsole(machine, v1);
    await login(con);
    let status = await firmwareStatus(con);
    check(/running \S+ from slot a/.test(status) && /slot b: [^\n]*no boot entry/.test(status), `after the power cut slot a should boot and slot b have no entry:\n${status}`);
    note(machine, 'the old slot booted; the half-written slot has no boot entry');
    await flash(con, bad.stranger.split('/').pop()!);
    await con.expect(/not signed by a trusted key|unknown key|no trusted key/i, 120_000, 'the refusal of a bundle signed by an unknown key');
    note(machine, 'a bundle signed by an unknown key is refused');
    await flash(con, upgradeBundle.split('/').pop()!);
    await con.expect(new RegExp(`version ${v2.replaceAll('.', '\\.')} written to slot b`), 600_000, 'the upgrade written');
    note(machine, `${v2} written to slot b`);
    await con.answer(/Reboot now\? \[y\/N\]: $/m, 'y');
    await bootedConsole(machine, v2);
    await login(con);
    await sshBanner(sshPort, 180_000);
    await loginThroughGateway(con, sshPort, target, knownHosts, false);
    for (let attempt = 0; ; attempt++) {
      status = await firmwareStatus(con);
      if (/slot b \(booted\): [^\n]*blessed/.test(status)) break;
      check(attempt < 20, `slot b was not blessed by the health check:\n${status}`);
      await new Promise((r) => setTimeout(r, 10_000));
    }
    note(machine, `${v2} on slot b passed its health check and is blessed; login through it works`);

    section('an upgrade whose kernel cannot mount its root falls back');
    await flash(con, bad.unbootable.split('/').pop()!);
    await con.expect(/written to slot a/, 300_000, 'the unbootable bundle written');
    await con.answer(/Reboot now\? \[y\/N\]: $/m, 'y');
    await con.expect(/Kernel panic|Rebooting automatically|Rebooting in|ALERT!|Gave up waiting for root/, BOOT_MS, 'the failed boot of the broken slot');
    note(machine, `${bad.unbootableVersion} on slot a failed to boot`);
    await bootedConsole(machine, v2);
    await login(con);
    status = await firmwareStatus(con);
    check(/running \S+ from slot b/.test(status) && /slot a: [^\n]*\d+ failed/.test(status), `the broken slot should be marked failed and b running:\n${status}`);
    note(machine, `fell back to ${v2} on slot b by itself`);

    section('an upgrade whose health check fails falls back');
    await flash(con, bad.unhealthy.split('/').pop()!);
    await con.expect(/written to slot a/, 600_000, 'the unhealthy bundle written');
    await con.answer(/Reboot now\? \[y\/N\]: $/m, 'y');
    await bootedConsole(machine, bad.unhealthyVersion);
    await bootedConsole(machine, v2);
    await login(con);
    status = await firmwareStatus(con);
    check(/running \S+ from slot b/.test(status) && /slot a: [^\n]*\d+ failed/.test(status), `after the failed health check b should run again:\n${status}`);
    note(machine, `${bad.unhealthyVersion} failed its health check; fell back to ${v2} on slot b`);
    await con.choose(/^Shut down/);
    await con.answer(/Shut the appliance down\? \[y\/N\]: $/m, 'y');
    await machine.poweredOff(180_000);
    note(machine, 'powered off');

    section('power-on 3: a full data partition');
    note(machine, `data partition filled offline: ${fillDataPartition(disk, work)} written`);
    machine = power('3');
    con = machine.console;
    await bootedConsole(machine, v2);
    await login(con);
    await con.choose(/^Status/);
    const full = await con.expect(/Disk\s+\/data[^\n]*\((\d+)%\)/, 60_000, 'the data partition in the status');
    check(Number(full[1]) >= 99, `the data partition should show as full: ${full[0]}`);
    await sshBanner(sshPort, 180_000);
    await loginThroughGateway(con, sshPort, target, knownHosts, false);
    note(machine, `full data partition: the appliance boots, the console shows it (${full[1]}%), logins still work`);
    await machine.powerCut();

    section('power-on 4: a damaged data partition');
    const data4 = partition(disk, 'data');
    run('dd', ['if=/dev/zero', `of=${disk}`, 'bs=64K', `seek=${data4.offset / 65536}`, 'count=16', 'conv=notrunc', 'status=none']);
    machine = power('4');
    con = machine.console;
    await bootedConsole(machine, v2);
    await con.expect(/The data partition is not mounted/, 120_000, 'the console telling the data partition is damaged');
    note(machine, 'the console says the data partition is not mounted');
    await con.choose(/^Factory reset/);
    await con.answer(/ERASE[^\n]*: $/m, 'ERASE');
    await bootedConsole(machine, v2);
    await con.expect(/1\/8 Console administrator password/, 120_000, 'the wizard after the factory reset');
    note(machine, 'data partition formatted: the wizard runs again');
    await machine.powerCut();
    machine = undefined;

    process.stdout.write(`\nBoot test passed in ${((Date.now() - started) / 1000).toFixed(0)} s.\n\nTimeline (seconds since each power-on):\n${timeline.join('\n')}\n`);
    writeFileSync(join(work, 'timeline.txt'), `${timeline.join('\n')}\n`);
  } finally {
    await machine?.powerCut();
    for (const fn of teardowns.reverse()) await fn();
  }
}

main().catch((err: Error) => {
  process.stderr.write(`\nboot test FAILED: ${err.message}\n`);
  process.exit(1);
});
