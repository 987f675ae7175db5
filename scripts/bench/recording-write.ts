// Micro benchmark of the recording write path (src/audit/recording/): the same bytes, cut into SSH-sized
// packets, go (a) to a plain file, one write per packet: the floor any recorder pays, and (b) through
// CastWriter + ChainedFile as the gateway records a channel, closed and signed at the end, and (c) through
// CastWriter alone into a sink that drops the lines: the CPU of making them, without any file. Two streams:
// random bytes (a binary download on an exec channel: mostly U+FFFD and \u00XX escapes) and typical
// terminal text (coloured `ls -l`/log lines). Prints MB/s of channel bytes (MB = 10^6), and the size of the
// cast it wrote. Everything goes to a temp dir, removed at the end.
//
//   node dist/scripts/bench/recording-write.js [MiB per stream, default 256] [rounds, default 1]
import { generateKeyPairSync, randomFillSync } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CastWriter } from '../../src/audit/recording/asciicast.js';
import { ChainedFile } from '../../src/audit/recording/chain.js';
import { describeRecordingKey } from '../../src/audit/recording/signing-key.js';

const MiB = 1024 * 1024;
const PACKET = 32 * 1024; // what an OpenSSH peer typically puts in one CHANNEL_DATA
const POOL = 16 * MiB; // the stream cycles over this much distinct data

const mib = Number(process.argv[2] ?? 256);
const rounds = Number(process.argv[3] ?? 1);
const total = Math.floor(mib * MiB);

function binaryPool(): Buffer {
  return randomFillSync(Buffer.alloc(POOL));
}

function terminalPool(): Buffer {
  const lines: string[] = [];
  let i = 0;
  let size = 0;
  while (size < POOL) {
    const line = i % 3 === 0
      ? `-rw-r--r-- 1 alice staff ${(i * 7919) % 100000} Nov 22 20:${String(i % 60).padStart(2, '0')} \x1b[01;34mreport-${i}.txt\x1b[0m\r\n`
      : i % 3 === 1
        ? `2026-11-22T20:51:${String(i % 60).padStart(2, '0')}.123Z INFO  worker[${i % 17}] processed batch ${i} in ${(i % 97) + 3} ms (ok) — queue ${i % 1000}\r\n`
        : `\x1b[32m✔\x1b[0m step ${i}: build/src/module-${i % 50}/index.js → dist (${(i % 40) + 1} kB)\r\n`;
    lines.push(line);
    size += Buffer.byteLength(line);
    i++;
  }
  return Buffer.from(lines.join('')).subarray(0, POOL);
}

function* packets(pool: Buffer): Generator<Buffer> {
  for (let done = 0; done < total; done += PACKET) {
    const at = done % pool.length;
    yield pool.subarray(at, Math.min(at + PACKET, pool.length, at + total - done));
  }
}

const key = describeRecordingKey(generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);

function plainWrite(dir: string, pool: Buffer): number {
  const fd = openSync(join(dir, 'plain'), 'ax', 0o600);
  try {
    for (const p of packets(pool)) {
      let off = 0;
      while (off < p.length) off += writeSync(fd, p, off, p.length - off);
    }
  } finally {
    closeSync(fd);
  }
  return statSync(join(dir, 'plain')).size;
}

function recorded(dir: string, pool: Buffer): number {
  const file = new ChainedFile(join(dir, 'rec'), { id: 'bench-1' });
  const cast = new CastWriter(file, { width: 80, height: 24, startedAt: new Date(), title: 'bench', recordInput: false });
  for (const p of packets(pool)) cast.output(p);
  cast.end();
  file.close(key);
  return readdirSync(dir).filter((n) => n.endsWith('.cast')).reduce((sum, n) => sum + statSync(join(dir, n)).size, 0);
}

function castOnly(pool: Buffer): number {
  let bytes = 0;
  const cast = new CastWriter({ write: (line) => { bytes += (typeof line === 'string' ? Buffer.byteLength(line) : line.length) + 1; } }, { width: 80, height: 24, startedAt: new Date(), title: 'bench', recordInput: false });
  for (const p of packets(pool)) cast.output(p);
  cast.end();
  return bytes;
}

function measure(name: string, run: (dir: string) => number): number {
  const dir = mkdtempSync(join(tmpdir(), 'gh-rec-bench-'));
  try {
    const start = process.hrtime.bigint();
    const written = run(dir);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const mbps = total / 1e6 / seconds;
    console.log(`${name.padEnd(22)} ${mbps.toFixed(1).padStart(8)} MB/s  (${seconds.toFixed(2)} s, ${(written / MiB).toFixed(0)} MiB out)`);
    return mbps;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`recording-write: ${mib} MiB per stream in ${PACKET / 1024} KiB packets, ${rounds} round(s), temp dir under ${tmpdir()}`);
for (const [stream, pool] of [['terminal', terminalPool()], ['binary', binaryPool()]] as const) {
  for (let round = 0; round < rounds; round++) {
    const base = measure(`${stream} plain write`, (dir) => plainWrite(dir, pool));
    measure(`${stream} lines only`, () => castOnly(pool));
    const rec = measure(`${stream} recorded`, (dir) => recorded(dir, pool));
    console.log(`${stream.padEnd(22)} recorded/plain = ${(rec / base).toFixed(3)}`);
  }
}
