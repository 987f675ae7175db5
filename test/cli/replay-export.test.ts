// `gatehouse export` and `gatehouse replay` on recordings made with the recording modules themselves (rotated
// into several parts), and the exported file played by the real asciinema (Debian package `asciinema`).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { CastWriter } from '../../src/audit/recording/asciicast.js';
import { ChainedFile } from '../../src/audit/recording/chain.js';
import { castPath } from '../../src/audit/recording/format.js';
import { loadOrCreateRecordingKey, type RecordingKey } from '../../src/audit/recording/signing-key.js';
import { gatehouse } from '../helpers/cli.js';

/** What the recorded session printed, in order: UTF-8 of 1 to 4 bytes, escape sequences, CRLF. */
const OUTPUT = [
  'Welcome to h\u00e9las.example \u2014 \u65e5\u672c\u8a9e \ud83d\ude80\r\n',
  '\x1b[1;32muser@h\u00e9las\x1b[0m:~$ ',
  'ls --color\r\n',
  '\x1b[0m\x1b[01;34mdir\x1b[0m  file.txt  caf\u00e9.md\r\n',
  '\x1b[?1049h\x1b[H\x1b[2Jfull screen\x1b[?1049l',
  ...Array.from({ length: 12 }, (_, i) => `line ${i} ${'\u00b7'.repeat(20)}\r\n`),
  'bye\r\n',
];

/** A recording `<data>/recordings/<id>` of OUTPUT (with a resize after the third piece), 20 ms apart. */
function record(data: string, id: string, key: RecordingKey, finish: 'close' | 'abandon' = 'close'): string {
  const directory = join(data, 'recordings');
  mkdirSync(directory, { recursive: true });
  const base = join(directory, id);
  const file = new ChainedFile(base, { id, chunkBytes: 200, rotateBytes: 400 });
  let clock = 0;
  const cast = new CastWriter(file, { width: 80, height: 24, startedAt: new Date(), term: 'xterm-256color', title: 'alice@web1', recordInput: false, clock: () => clock });
  for (const [i, text] of OUTPUT.entries()) {
    clock += 20_000_000;
    cast.output(Buffer.from(text, 'utf8'));
    if (i === 2) cast.resize(120, 40);
  }
  cast.end();
  if (finish === 'close') file.close(key);
  else file.abandon();
  return base;
}

function parts(base: string): Buffer[] {
  const out: Buffer[] = [];
  for (let part = 0; ; part++) {
    try {
      out.push(readFileSync(castPath(base, part)));
    } catch {
      return out;
    }
  }
}

t.test('export writes header and all events of all parts as one asciicast file; replay plays the output', async (t) => {
  const data = t.testdir();
  const key = await loadOrCreateRecordingKey(data);
  const base = record(data, 'c0ffee-1', key);
  const pieces = parts(base);
  t.ok(pieces.length >= 3, `${pieces.length} parts`);
  t.match(pieces[0]!.toString().split('\n')[0], /^\{"version":2,/, 'part 0 starts with the header');
  t.notMatch(pieces[1]!.toString(), /"version"/, 'rotated parts carry no header');
  const env = { GATEHOUSE_DATA: data };

  const out = join(data, 'export.cast');
  const exported = await gatehouse(['export', 'c0ffee-1', '-o', out], env);
  t.equal(exported.code, 0, exported.stderr);
  t.equal(exported.stderr, '');
  const file = readFileSync(out);
  t.ok(file.equals(Buffer.concat(pieces)), 'the parts concatenated');
  t.equal(statSync(out).mode & 0o777, 0o600);
  const lines = file.toString('utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as unknown);
  t.match(lines[0], { version: 2, width: 80, height: 24, env: { TERM: 'xterm-256color' }, title: 'alice@web1' });
  const events = lines.slice(1) as [number, string, string][];
  t.ok(events.every((e) => Array.isArray(e) && e.length === 3), 'every other line is an event');
  t.same(events.filter((e) => e[1] === 'r').map((e) => e[2]), ['120x40']);
  t.equal(events.filter((e) => e[1] === 'o').map((e) => e[2]).join(''), OUTPUT.join(''));

  const toStdout = await gatehouse(['export', 'c0ffee'], env);
  t.equal(toStdout.code, 0, 'a session id with one recording names it');
  t.equal(toStdout.stdout, file.toString('utf8'));

  const replay = await gatehouse(['replay', 'c0ffee-1', '--no-wait'], env);
  t.equal(replay.code, 0, replay.stderr);
  t.equal(replay.stdout, OUTPUT.join(''), 'exactly the recorded output, resize not printed');

  // 17 pieces 20 ms apart: about 0.35 s at speed 1, played here at speed 4.
  const started = performance.now();
  const paced = await gatehouse(['replay', 'c0ffee-1', '--speed', '4'], env);
  t.equal(paced.code, 0, paced.stderr);
  t.equal(paced.stdout, OUTPUT.join(''));
  t.ok(performance.now() - started < 5000);

  const fromMiddle = await gatehouse(['replay', 'c0ffee-1', '--from', '10', '--idle-limit', '0'], env);
  t.equal(fromMiddle.stdout, OUTPUT.join(''), 'from beyond the end: everything at once');
});

t.test('several recordings, none, a tampered and an unfinished one', async (t) => {
  const data = t.testdir();
  const key = await loadOrCreateRecordingKey(data);
  const env = { GATEHOUSE_DATA: data };
  record(data, 'beef-1', key);
  record(data, 'beef-2', key);
  const several = await gatehouse(['export', 'beef'], env);
  t.equal(several.code, 2);
  t.match(several.stderr, /"beef" has 2 recordings \(beef-1, beef-2\): name one of them/);
  t.equal((await gatehouse(['export', 'beef-2'], env)).code, 0);
  t.equal((await gatehouse(['replay', 'nothing', '--no-wait'], env)).code, 3);
  t.equal((await gatehouse(['replay', 'beef-1', '--speed', '0'], env)).code, 2);

  const tamperedBase = record(data, 'dead-1', key);
  const part = castPath(tamperedBase, 1);
  writeFileSync(part, readFileSync(part, 'utf8').replace('line', 'lime'));
  const out = join(data, 'tampered.cast');
  const refused = await gatehouse(['export', 'dead-1', '-o', out], env);
  t.equal(refused.code, 1);
  t.match(refused.stderr, /dead-1 is tampered \(chunk \d+ of dead-1\.1\.cast: .*\); --force to use it anyway/);
  t.notOk(readdirSync(data).includes('tampered.cast'), 'nothing written');
  t.equal((await gatehouse(['replay', 'dead-1', '--no-wait'], env)).code, 1);
  const forced = await gatehouse(['export', 'dead-1', '--force', '-o', out], env);
  t.equal(forced.code, 0);
  t.match(forced.stderr, /warning: dead-1 is tampered/);
  t.match(readFileSync(out, 'utf8'), /lime/);

  const unfinishedBase = record(data, 'cafe-1', key, 'abandon');
  // A torn last line, as a crash mid-write leaves it.
  writeFileSync(castPath(unfinishedBase, parts(unfinishedBase).length - 1), '[9.9,"o","tor', { flag: 'a' });
  const unfinished = await gatehouse(['export', 'cafe-1'], env);
  t.equal(unfinished.code, 0);
  t.match(unfinished.stderr, /warning: cafe-1 is unfinished/);
  t.match(unfinished.stderr, /dropped a torn last line of 13 bytes/);
  t.ok(unfinished.stdout.endsWith('"bye\\r\\n"]\n'));
  t.equal((await gatehouse(['replay', 'cafe-1', '--no-wait'], env)).stdout, OUTPUT.join(''));
});

t.test('asciinema plays the exported file', async (t) => {
  const version = spawnSync('asciinema', ['--version'], { encoding: 'utf8' });
  if (version.error) {
    t.fail(`asciinema is not installed (${version.error.message}): apt-get install asciinema, the Debian package .ci/run installs`);
    return;
  }
  const data = t.testdir();
  const key = await loadOrCreateRecordingKey(data);
  record(data, 'f00d-1', key);
  const cast = join(data, 'f00d.cast');
  t.equal((await gatehouse(['export', 'f00d-1', '-o', cast], { GATEHOUSE_DATA: data })).code, 0);

  // `asciinema cat` opens /dev/tty, which a test runner has not got: script(1) (bsdutils) gives it a
  // pseudo-terminal, and its standard output goes to a file, so the bytes are compared untouched.
  const catOut = join(data, 'cat.out');
  const cat = spawnSync('script', ['-qec', 'asciinema cat "$CAST" > "$OUT"', '/dev/null'], {
    env: { ...process.env, SHELL: '/bin/sh', CAST: cast, OUT: catOut },
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    timeout: 30_000,
  });
  t.equal(cat.status, 0, `asciinema cat: ${cat.stdout}${cat.stderr}`);
  t.equal(readFileSync(catOut, 'utf8'), OUTPUT.join(''), 'asciinema cat prints exactly the recorded output');

  // `asciinema play` reads keys only when standard input is a terminal; without one it just plays.
  const play = spawnSync('asciinema', ['play', '-i', '0.01', cast], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
  t.equal(play.status, 0, `asciinema play: ${play.stderr?.toString()}`);
  t.equal(play.stdout.toString('utf8'), OUTPUT.join(''), 'asciinema play writes the same output');
});
