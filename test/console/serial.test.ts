// The console on a serial device: through serialport's mock binding (a line read and written,
// the device unplugged and back), through a real pseudo-terminal pair made by socat (a line read
// and written, socat restarted as a device that comes back), and a device that does not exist.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SerialPort, SerialPortMock } from 'serialport';
import t, { type Test } from 'tap';
import { openSerialConsole } from '../../src/console/serial.js';
import { ConsoleTerminal } from '../../src/console/terminal.js';

type MockPort = Awaited<ReturnType<typeof SerialPortMock.binding.open>>;

/** The mock binding, keeping every port it opens, and able to pretend the device is absent. */
function recordingBinding() {
  const mock = SerialPortMock.binding;
  const opened: MockPort[] = [];
  const state = { present: true };
  const binding = {
    ...mock,
    async open(options: Parameters<typeof mock.open>[0]) {
      if (!state.present) throw new Error('No such device');
      const port = await mock.open(options);
      opened.push(port);
      return port;
    },
  };
  return { binding, opened, state };
}

async function until(what: string, condition: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

t.test('mock binding: a prompt is written, a typed line is read', async (t) => {
  SerialPortMock.binding.createPort('/dev/ttyMOCK0', { record: true });
  t.teardown(() => SerialPortMock.binding.reset());
  const { binding, opened } = recordingBinding();
  const serial = await openSerialConsole({ device: '/dev/ttyMOCK0', baudRate: 115200, binding });
  t.teardown(() => serial.close());
  const term = new ConsoleTerminal(serial, { idleTimeoutMs: 0 });
  const port = opened[0]!;
  t.match(port.openOptions, { baudRate: 115200, dataBits: 8, parity: 'none', stopBits: 1 }, '8N1');
  const line = term.readLine('Host name: ');
  port.emitData(Buffer.from('gate\x1b[24;80Rhouse\r\n'));
  t.equal(await line, 'gatehouse');
  await until('the echo', () => port.recording.toString().endsWith('\r\n'));
  t.equal(port.recording.toString(), 'Host name: gatehouse\r\n');
});

t.test('mock binding: an unplugged device does not end the input; it is reopened when back', async (t) => {
  SerialPortMock.binding.createPort('/dev/ttyMOCK1', { record: true });
  t.teardown(() => SerialPortMock.binding.reset());
  const { binding, opened, state } = recordingBinding();
  const serial = await openSerialConsole({ device: '/dev/ttyMOCK1', baudRate: 9600, binding, reopenDelayMs: 20 });
  t.teardown(() => serial.close());
  const term = new ConsoleTerminal(serial, { idleTimeoutMs: 0 });
  let ended = false;
  serial.input.on('end', () => (ended = true));

  state.present = false;
  // the device vanishes: its pending read fails as a real unplugged adapter's does
  const reading = opened[0] as unknown as { pendingRead: ((error: Error) => void) | null };
  await until('the stream to wait on a read', () => reading.pendingRead !== null);
  reading.pendingRead!(new Error('EIO: device gone'));
  await sleep(100);
  t.equal(opened.length, 1, 'not reopened while absent');
  const line = term.readLine('Still there? ');
  await sleep(20);
  t.notOk(ended, 'the input did not end');

  state.present = true;
  await until('the reopen', () => opened.length === 2 && opened[1]!.isOpen);
  opened[1]!.emitData(Buffer.from('yes\r'));
  t.equal(await line, 'yes', 'the pending readLine carries on with the new device');
  term.write('written after the reopen\n');
  await until('the write', () => opened[1]!.recording.toString().includes('after the reopen'));
  t.notMatch(opened[1]!.recording.toString(), 'Still there?', 'what was written while away was dropped');

  await serial.close();
  await until('the end of input', () => ended);
});

t.test('a device that does not exist is refused with its path and the reason', async (t) => {
  const missing = join(t.testdir(), 'ttyNOPE');
  await t.rejects(openSerialConsole({ device: missing, baudRate: 115200 }), new RegExp(`^cannot open serial console ${missing}: .*(No such file|ENOENT)`));
  SerialPortMock.binding.reset();
  await t.rejects(openSerialConsole({ device: '/dev/ttyMOCK9', baudRate: 115200, binding: SerialPortMock.binding }), /^cannot open serial console \/dev\/ttyMOCK9: Port does not exist/);
});

/** A socat pty pair: `dut` for the console, `host` for the test. Killed at teardown. */
function startPtyPair(t: Test, dir: string): { stop(): Promise<void>; ready: Promise<void> } {
  const dut = join(dir, 'dut');
  const host = join(dir, 'host');
  const child: ChildProcess = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${dut}`, `pty,raw,echo=0,link=${host}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  t.teardown(stop);
  const ready = until('socat to create the pty pair', () => existsSync(dut) && existsSync(host) && /starting data transfer loop/.test(log));
  return { stop, ready };
}

async function hostSide(path: string): Promise<{ port: SerialPort; received: () => string }> {
  const port = new SerialPort({ path, baudRate: 115200, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((error) => (error ? reject(error) : resolve())));
  let received = '';
  port.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
  port.on('error', () => {});
  return { port, received: () => received };
}

t.test('a real pseudo-terminal pair (socat): prompt, line, and a device that comes back', async (t) => {
  const dir = t.testdir();
  const first = startPtyPair(t, dir);
  await first.ready;
  const serial = await openSerialConsole({ device: join(dir, 'dut'), baudRate: 115200, reopenDelayMs: 50 });
  t.teardown(() => serial.close());
  const term = new ConsoleTerminal(serial, { idleTimeoutMs: 0 });
  const host = await hostSide(join(dir, 'host'));
  t.teardown(() => (host.port.isOpen ? new Promise<void>((resolve) => host.port.close(() => resolve())) : undefined));

  const line = term.readLine('Console password: ', { secret: true });
  await until('the prompt', () => host.received().includes('Console password: '));
  host.port.write('s3cr\x7fret\r\n');
  t.equal(await line, 's3cret');
  await until('the newline', () => host.received().endsWith('\r\n'));
  t.equal(host.received(), 'Console password: \r\n', 'nothing echoed for the secret');

  // the device goes away (socat ends) and comes back (socat again, same paths)
  await first.stop();
  await new Promise<void>((resolve) => (host.port.isOpen ? host.port.close(() => resolve()) : resolve()));
  let ended = false;
  serial.input.on('end', () => (ended = true));
  const pending = term.readLine('Back? ');
  await sleep(200);
  t.notOk(ended, 'the console input survives the device going away');
  const second = startPtyPair(t, dir);
  await second.ready;
  const host2 = await hostSide(join(dir, 'host'));
  t.teardown(() => (host2.port.isOpen ? new Promise<void>((resolve) => host2.port.close(() => resolve())) : undefined));
  await sleep(300); // the console reopens dut within reopenDelayMs
  host2.port.write('yes\r');
  t.equal(await pending, 'yes', 'the pending readLine carries on with the device that came back');
  term.write('welcome back\n');
  await until('output through the new pty', () => host2.received().includes('welcome back\r\n'));
});
