// The SFTP observer: uploads and downloads with byte counts, failed opens, the changes it logs and the looks it
// does not, any chunking giving the same log, bounded memory on big transfers, one protocol-error then silence,
// and a scripted session against OpenSSH's own sftp-server.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import t from 'tap';
import { MAX_PATH_BYTES, SftpObserver, type FileOperation } from '../../../src/audit/recording/sftp-observer.js';

// --- A small SFTP v3 encoder ----------------------------------------------------------------------------------

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const u64 = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
};
const str = (s: string | Buffer) => {
  const b = typeof s === 'string' ? Buffer.from(s) : s;
  return Buffer.concat([u32(b.length), b]);
};
const packet = (type: number, ...parts: Buffer[]) => {
  const body = Buffer.concat([Buffer.from([type]), ...parts]);
  return Buffer.concat([u32(body.length), body]);
};
const NO_ATTRS = u32(0);

const READ = 0x01, WRITE = 0x02, CREAT = 0x08, TRUNC = 0x10;
const OK = 0, EOF = 1, NO_SUCH_FILE = 2, PERMISSION_DENIED = 3, FAILURE = 4;

const req = {
  init: () => packet(1, u32(3)),
  open: (id: number, path: string | Buffer, pflags: number) => packet(3, u32(id), str(path), u32(pflags), NO_ATTRS),
  close: (id: number, handle: string) => packet(4, u32(id), str(handle)),
  read: (id: number, handle: string, offset: number, length: number) => packet(5, u32(id), str(handle), u64(offset), u32(length)),
  write: (id: number, handle: string, offset: number, data: Buffer) => packet(6, u32(id), str(handle), u64(offset), str(data)),
  fsetstat: (id: number, handle: string) => packet(10, u32(id), str(handle), u32(4), u32(0o600)),
  setstat: (id: number, path: string) => packet(9, u32(id), str(path), u32(4), u32(0o644)),
  opendir: (id: number, path: string) => packet(11, u32(id), str(path)),
  readdir: (id: number, handle: string) => packet(12, u32(id), str(handle)),
  remove: (id: number, path: string) => packet(13, u32(id), str(path)),
  mkdir: (id: number, path: string | Buffer) => packet(14, u32(id), str(path), NO_ATTRS),
  rmdir: (id: number, path: string) => packet(15, u32(id), str(path)),
  realpath: (id: number, path: string) => packet(16, u32(id), str(path)),
  stat: (id: number, path: string) => packet(17, u32(id), str(path)),
  rename: (id: number, from: string, to: string) => packet(18, u32(id), str(from), str(to)),
  /** In OpenSSH's order: what the link points to, then the link. */
  symlink: (id: number, target: string, link: string) => packet(20, u32(id), str(target), str(link)),
  extended: (id: number, name: string, ...parts: Buffer[]) => packet(200, u32(id), str(name), ...parts),
};
const rep = {
  version: (version = 3) => packet(2, u32(version)),
  status: (id: number, code: number, message = '') => packet(101, u32(id), u32(code), str(message), str('en')),
  handle: (id: number, handle: string) => packet(102, u32(id), str(handle)),
  data: (id: number, length: number) => packet(103, u32(id), str(Buffer.alloc(length, 0x61))),
  name: (id: number, path: string) => packet(104, u32(id), u32(1), str(path), str(path), NO_ATTRS),
  attrs: (id: number) => packet(105, u32(id), NO_ATTRS),
};

type Step = ['c' | 's', Buffer];
const c = (b: Buffer): Step => ['c', b];
const s = (b: Buffer): Step => ['s', b];

/** Feeds a script, each packet cut into pieces of `piece` bytes (whole when absent), and returns the log. */
function run(steps: Step[], piece?: number, end = true): FileOperation[] {
  const log: FileOperation[] = [];
  const observer = new SftpObserver((op) => log.push(op));
  for (const [from, bytes] of steps) {
    for (let i = 0; i < bytes.length; i += piece ?? bytes.length) {
      const chunk = bytes.subarray(i, i + (piece ?? bytes.length));
      if (from === 'c') observer.fromClient(chunk);
      else observer.fromServer(chunk);
    }
  }
  if (end) observer.end();
  return log;
}

const hello: Step[] = [c(req.init()), s(rep.version())];

const upload: Step[] = [
  ...hello,
  c(req.open(1, '/home/alice/report.pdf', WRITE | CREAT | TRUNC)), s(rep.handle(1, 'h1')),
  c(req.write(2, 'h1', 0, Buffer.alloc(32768, 1))), c(req.write(3, 'h1', 32768, Buffer.alloc(32768, 2))),
  s(rep.status(2, OK)), s(rep.status(3, OK)),
  c(req.write(4, 'h1', 65536, Buffer.alloc(1000, 3))), s(rep.status(4, OK)),
  c(req.fsetstat(5, 'h1')), s(rep.status(5, OK)),
  c(req.close(6, 'h1')), s(rep.status(6, OK)),
];

const download: Step[] = [
  ...hello,
  c(req.stat(1, '/etc/hosts')), s(rep.attrs(1)),
  c(req.open(2, '/etc/hosts', READ)), s(rep.handle(2, 'h7')),
  c(req.read(3, 'h7', 0, 32768)), c(req.read(4, 'h7', 32768, 32768)), c(req.read(5, 'h7', 65536, 32768)),
  s(rep.data(3, 32768)), s(rep.data(4, 1234)), s(rep.status(5, EOF)),
  c(req.close(6, 'h7')), s(rep.status(6, OK)),
];

const changes: Step[] = [
  ...hello,
  c(req.realpath(1, '.')), s(rep.name(1, '/home/alice')),
  c(req.opendir(2, '/home/alice')), s(rep.handle(2, 'd1')),
  c(req.readdir(3, 'd1')), s(rep.status(3, EOF)),
  c(req.close(4, 'd1')), s(rep.status(4, OK)),
  c(req.mkdir(5, 'new')), s(rep.status(5, OK)),
  c(req.rename(6, 'a.txt', 'new/b.txt')), s(rep.status(6, OK)),
  c(req.remove(7, 'new/b.txt')), s(rep.status(7, OK)),
  c(req.remove(8, '/etc/passwd')), s(rep.status(8, PERMISSION_DENIED, 'Permission denied')),
  c(req.rmdir(9, 'new')), s(rep.status(9, OK)),
  c(req.setstat(10, 'c.txt')), s(rep.status(10, OK)),
  c(req.symlink(11, 'c.txt', 'link-to-c')), s(rep.status(11, OK)),
  c(req.extended(12, 'posix-rename@openssh.com', str('c.txt'), str('d.txt'))), s(rep.status(12, OK)),
  c(req.extended(13, 'hardlink@openssh.com', str('d.txt'), str('e.txt'))), s(rep.status(13, FAILURE, 'Failure')),
  c(req.extended(14, 'lsetstat@openssh.com', str('link-to-c'), u32(4), u32(0o700))), s(rep.status(14, OK)),
  c(req.extended(15, 'statvfs@openssh.com', str('/'))), s(packet(201, u32(15), Buffer.alloc(88))),
];

const changesLog: FileOperation[] = [
  { op: 'opendir', path: '/home/alice', ok: true },
  { op: 'mkdir', path: 'new', ok: true },
  { op: 'rename', path: 'a.txt', target: 'new/b.txt', ok: true },
  { op: 'remove', path: 'new/b.txt', ok: true },
  { op: 'remove', path: '/etc/passwd', ok: false, error: 'permission-denied' },
  { op: 'rmdir', path: 'new', ok: true },
  { op: 'setstat', path: 'c.txt', ok: true },
  { op: 'symlink', path: 'link-to-c', target: 'c.txt', ok: true },
  { op: 'rename', path: 'c.txt', target: 'd.txt', ok: true },
  { op: 'hardlink', path: 'e.txt', target: 'd.txt', ok: false, error: 'failure' },
  { op: 'setstat', path: 'link-to-c', ok: true },
];

t.test('an upload: open for writing, acknowledged writes counted, close', async (t) => {
  const refused: Step[] = [c(req.write(7, 'h1', 66536, Buffer.alloc(500))), s(rep.status(7, FAILURE))];
  t.same(run([...upload.slice(0, -2), ...refused, ...upload.slice(-2)]), [
    { op: 'open', path: '/home/alice/report.pdf', mode: 'write', flags: 'write,creat,trunc', ok: true },
    { op: 'setstat', path: '/home/alice/report.pdf', ok: true },
    { op: 'close', path: '/home/alice/report.pdf', bytesRead: 0, bytesWritten: 32768 * 2 + 1000 },
  ], 'the refused write is not counted');
});

t.test('a download: bytes read are the DATA lengths; stat is not logged', async (t) => {
  t.same(run(download), [
    { op: 'open', path: '/etc/hosts', mode: 'read', flags: 'read', ok: true },
    { op: 'close', path: '/etc/hosts', bytesRead: 32768 + 1234, bytesWritten: 0 },
  ]);
});

t.test('a failed open carries the status name, not the server text, and opens no handle', async (t) => {
  const log = run([
    ...hello,
    c(req.open(1, 'missing.txt', READ)), s(rep.status(1, NO_SUCH_FILE, 'No such file or directory')),
    c(req.open(2, '/root/x', READ | WRITE)), s(rep.status(2, PERMISSION_DENIED, 'x'.repeat(10_000))),
    c(req.open(3, 'odd', READ)), s(rep.status(3, 99)),
  ]);
  t.same(log, [
    { op: 'open', path: 'missing.txt', mode: 'read', flags: 'read', ok: false, error: 'no-such-file' },
    { op: 'open', path: '/root/x', mode: 'read-write', flags: 'read,write', ok: false, error: 'permission-denied' },
    { op: 'open', path: 'odd', mode: 'read', flags: 'read', ok: false, error: 'status-99' },
  ]);
});

t.test('changes are logged; realpath, readdir, directory close and other extensions are not', async (t) => {
  t.same(run(changes), changesLog);
});

t.test('one byte at a time, any piece size, or several packets per chunk: the same log', async (t) => {
  const script = [...upload, ...download.slice(2), ...changes.slice(2)];
  const whole = run(script);
  t.equal(whole.length, 16);
  t.same(run(script, 1), whole, 'byte by byte');
  fc.assert(fc.property(fc.integer({ min: 2, max: 300 }), (piece) => {
    t.same(run(script, piece), whole);
  }), { numRuns: 30 });
  const runs: Step[] = [];
  for (const [from, bytes] of script) {
    const last = runs.at(-1);
    if (last?.[0] === from) last[1] = Buffer.concat([last[1], bytes]);
    else runs.push([from, bytes]);
  }
  t.same(run(runs), whole, 'consecutive packets of one direction in one chunk');
  // Requests that need no handle from a reply may all be sent before the first reply.
  const requests = Buffer.concat(changes.filter(([from]) => from === 'c').map(([, b]) => b));
  const replies = Buffer.concat(changes.filter(([from]) => from === 's').map(([, b]) => b));
  t.same(run([c(requests), s(replies)]), changesLog, 'all requests in one chunk, then all replies');
});

t.test('end(): open files are closed, unanswered changes are logged as no-reply', async (t) => {
  t.same(run([
    ...hello,
    c(req.open(1, 'big.iso', WRITE | CREAT)), s(rep.handle(1, 'h1')),
    c(req.write(2, 'h1', 0, Buffer.alloc(100))), s(rep.status(2, OK)),
    c(req.remove(3, 'old.iso')),
  ]), [
    { op: 'open', path: 'big.iso', mode: 'write', flags: 'write,creat', ok: true },
    { op: 'remove', path: 'old.iso', ok: false, error: 'no-reply' },
    { op: 'close', path: 'big.iso', bytesRead: 0, bytesWritten: 100 },
  ]);
});

t.test('paths: invalid UTF-8, control and bidi characters replaced; long paths truncated', async (t) => {
  const forged = Buffer.concat([Buffer.from('a\nINFO fake line\r\u202egpj.exe'), Buffer.from([0xff, 0xfe]), Buffer.from('é')]);
  const long = 'd/'.repeat(3000);
  const log = run([
    ...hello,
    c(req.mkdir(1, forged)), s(rep.status(1, OK)),
    c(req.mkdir(2, long)), s(rep.status(2, OK)),
  ]);
  t.same(log[0], { op: 'mkdir', path: 'a\uFFFDINFO fake line\uFFFD\uFFFDgpj.exe\uFFFD\uFFFDé', ok: true });
  t.same(log[1], { op: 'mkdir', path: `${long.slice(0, MAX_PATH_BYTES)}…(6000 bytes)`, ok: true });
});

t.test('an 8 MiB WRITE fed in 32 KiB chunks is counted, not kept', async (t) => {
  const log: FileOperation[] = [];
  const observer = new SftpObserver((op) => log.push(op), { maxPacketBytes: 16 * 1024 * 1024 });
  observer.fromClient(req.open(1, 'disk.img', WRITE | CREAT | TRUNC));
  observer.fromServer(rep.handle(1, 'h1'));
  const write = req.write(2, 'h1', 0, Buffer.alloc(8 * 1024 * 1024, 0x55));
  let most = 0;
  for (let i = 0; i < write.length; i += 32 * 1024) {
    observer.fromClient(write.subarray(i, i + 32 * 1024));
    most = Math.max(most, observer.bufferedBytes);
  }
  observer.fromServer(rep.status(2, OK));
  observer.fromClient(req.close(3, 'h1'));
  observer.fromServer(rep.status(3, OK));
  t.ok(most < 64, `at most ${most} bytes held`);
  t.same(log.at(-1), { op: 'close', path: 'disk.img', bytesRead: 0, bytesWritten: 8 * 1024 * 1024 });
});

t.test('a huge length field: one protocol-error, then silence', async (t) => {
  const log: FileOperation[] = [];
  const observer = new SftpObserver((op) => log.push(op));
  observer.fromClient(Buffer.concat([u32(0xfffffff0), Buffer.from('garbage')]));
  observer.fromClient(req.mkdir(1, 'x'));
  observer.fromServer(rep.status(1, OK));
  observer.end();
  t.same(log, [{ op: 'protocol-error', detail: `packet length ${0xfffffff0} exceeds ${256 * 1024 + 1024}` }]);
});

t.test('other protocol errors: a string past its packet, a server of another version', async (t) => {
  const overlong = Buffer.concat([u32(9), Buffer.from([13]), u32(1), u32(100)]);
  t.same(run([c(overlong)]), [{ op: 'protocol-error', detail: 'packet type 13: string of 100 bytes runs past the packet' }]);
  t.same(run([c(req.init()), s(Buffer.concat([rep.version(6), rep.status(1, OK)])), c(req.mkdir(1, 'x')), s(rep.status(1, OK))]), [
    { op: 'protocol-error', detail: 'server speaks SFTP version 6; only version 3 is observed' },
  ]);
});

t.test('a throwing sink does not reach the relay', async (t) => {
  const seen: FileOperation[] = [];
  const observer = new SftpObserver((op) => {
    seen.push(op);
    throw new Error('sink full');
  });
  for (const [from, bytes] of changes) t.doesNotThrow(() => (from === 'c' ? observer.fromClient(bytes) : observer.fromServer(bytes)));
  t.doesNotThrow(() => observer.end());
  t.same(seen.map((op) => op.op), ['opendir', 'protocol-error']);
});

t.test('arbitrary bytes, however chunked: no throw, at most one protocol-error', async (t) => {
  const valid = fc.constantFrom(...[...upload, ...download, ...changes].map(([, b]) => b));
  const stream = fc.array(fc.oneof(valid, fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a))), { maxLength: 30 });
  t.doesNotThrow(() => fc.assert(fc.property(stream, stream, fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1 }), fc.integer({ min: 1, max: 1 << 20 }),
    (client, server, cuts, maxPacketBytes) => {
      const log: FileOperation[] = [];
      const observer = new SftpObserver((op) => log.push(op), { maxPacketBytes });
      const feed = (bytes: Buffer, side: 'c' | 's') => {
        for (let i = 0, k = 0; i < bytes.length; k++) {
          const n = cuts[k % cuts.length];
          if (side === 'c') observer.fromClient(bytes.subarray(i, i + n));
          else observer.fromServer(bytes.subarray(i, i + n));
          i += n;
        }
      };
      feed(Buffer.concat(client), 'c');
      feed(Buffer.concat(server), 's');
      observer.end();
      return log.filter((op) => op.op === 'protocol-error').length <= 1;
    }), { numRuns: 500 }), '500 streams: never throws, at most one protocol-error');
});

// --- Against OpenSSH's sftp-server ----------------------------------------------------------------------------

const SFTP_SERVER = '/usr/lib/openssh/sftp-server';

// The real peer: .ci/run installs openssh-server, which ships it.
t.test('a scripted session through OpenSSH sftp-server', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-sftp-'));
  const child = spawn(SFTP_SERVER, ['-d', dir, '-e', '-l', 'ERROR'], { cwd: dir, stdio: ['pipe', 'pipe', 'inherit'] });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  const log: FileOperation[] = [];
  const observer = new SftpObserver((op) => log.push(op));

  // Replies by request id (VERSION, which has none, as -1).
  const waiting = new Map<number, (reply: { type: number; body: Buffer }) => void>();
  let pending = Buffer.alloc(0);
  child.stdout.on('data', (chunk: Buffer) => {
    observer.fromServer(chunk);
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 4 && pending.length >= 4 + pending.readUInt32BE(0)) {
      const body = pending.subarray(4, 4 + pending.readUInt32BE(0));
      pending = pending.subarray(4 + body.length);
      const id = body[0] === 2 ? -1 : body.readUInt32BE(1);
      waiting.get(id)?.({ type: body[0], body });
      waiting.delete(id);
    }
  });
  const send = (id: number, request: Buffer) => new Promise<{ type: number; body: Buffer }>((resolve) => {
    waiting.set(id, resolve);
    observer.fromClient(request);
    child.stdin.write(request);
  });
  const status = (reply: { type: number; body: Buffer }) => (reply.type === 101 ? reply.body.readUInt32BE(5) : -1);
  const handleOf = (reply: { type: number; body: Buffer }) => reply.body.subarray(9, 9 + reply.body.readUInt32BE(5)).toString('latin1');

  t.equal((await send(-1, req.init())).type, 2, 'VERSION');
  let id = 0;
  const out = handleOf(await send(++id, req.open(id, 'upload.txt', WRITE | CREAT | TRUNC)));
  for (const [offset, size] of [[0, 1000], [1000, 2000], [3000, 3000]]) {
    t.equal(status(await send(++id, req.write(id, out, offset, Buffer.alloc(size, 0x41 + offset % 26)))), OK);
  }
  await send(++id, req.close(id, out));
  const inp = handleOf(await send(++id, req.open(id, 'upload.txt', READ)));
  let got = 0;
  for (;;) {
    const reply = await send(++id, req.read(id, inp, got, 4096));
    if (reply.type !== 103) break;
    got += reply.body.readUInt32BE(5);
  }
  t.equal(got, 6000, 'read back what was written');
  await send(++id, req.close(id, inp));
  await send(++id, req.realpath(id, '.'));
  t.equal(status(await send(++id, req.mkdir(id, 'sub'))), OK);
  t.equal(status(await send(++id, req.rename(id, 'upload.txt', 'sub/moved.txt'))), OK);
  t.equal(status(await send(++id, req.open(id, 'missing.txt', READ))), NO_SUCH_FILE);
  t.equal(status(await send(++id, req.symlink(id, 'sub/moved.txt', 'link'))), OK);
  t.equal(readlinkSync(join(dir, 'link')), 'sub/moved.txt', 'OpenSSH takes the target first, then the link');
  t.equal(readFileSync(join(dir, 'sub/moved.txt')).length, 6000);
  t.equal(status(await send(++id, req.remove(id, 'link'))), OK);
  t.equal(status(await send(++id, req.remove(id, 'sub/moved.txt'))), OK);
  t.equal(status(await send(++id, req.rmdir(id, 'sub'))), OK);
  t.equal(status(await send(++id, req.rmdir(id, 'sub'))), NO_SUCH_FILE);
  const dangling = handleOf(await send(++id, req.open(id, 'left-open.txt', WRITE | CREAT)));
  t.equal(status(await send(++id, req.write(id, dangling, 0, Buffer.from('bye')))), OK);
  child.stdin.end();
  observer.end();

  t.same(log, [
    { op: 'open', path: 'upload.txt', mode: 'write', flags: 'write,creat,trunc', ok: true },
    { op: 'close', path: 'upload.txt', bytesRead: 0, bytesWritten: 6000 },
    { op: 'open', path: 'upload.txt', mode: 'read', flags: 'read', ok: true },
    { op: 'close', path: 'upload.txt', bytesRead: 6000, bytesWritten: 0 },
    { op: 'mkdir', path: 'sub', ok: true },
    { op: 'rename', path: 'upload.txt', target: 'sub/moved.txt', ok: true },
    { op: 'open', path: 'missing.txt', mode: 'read', flags: 'read', ok: false, error: 'no-such-file' },
    { op: 'symlink', path: 'link', target: 'sub/moved.txt', ok: true },
    { op: 'remove', path: 'link', ok: true },
    { op: 'remove', path: 'sub/moved.txt', ok: true },
    { op: 'rmdir', path: 'sub', ok: true },
    { op: 'rmdir', path: 'sub', ok: false, error: 'no-such-file' },
    { op: 'open', path: 'left-open.txt', mode: 'write', flags: 'write,creat', ok: true },
    { op: 'close', path: 'left-open.txt', bytesRead: 0, bytesWritten: 3 },
  ]);
});
