/**
 * Test helper: a real FreeRADIUS 3 (Debian package `freeradius`) on 127.0.0.1 for one test.
 *
 * `startFreeRadius(t)` writes a minimal configuration into a temp dir (one client, 127.0.0.1, with
 * the test secret and `require_message_authenticator = yes`; PAP and CHAP; the users below), runs
 * `freeradius -f -d <dir>` on a free UDP port as its own process group and resolves once it logs
 * "Ready to process requests". `t.teardown` (or process exit) kills it and removes the dir.
 *
 * Message-Authenticator in replies: FreeRADIUS 3.2.1 (Debian 12) predates the BlastRADIUS fixes of
 * 3.2.5 and sends none, even to a client with `require_message_authenticator = yes` (it only
 * requires one in requests; `limit_proxy_state` is unknown to it and silently ignored). Setting
 * the attribute in the reply list makes it compute one, and doing so first in `authorize` puts it
 * first in every Access-Accept, -Reject and -Challenge. `messageAuthenticatorInReplies: false`
 * leaves that out, to show what an unpatched server looks like to our client.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signalGroup, stopDaemon } from './daemon.js';

export const FREERADIUS_BIN = '/usr/sbin/freeradius';
const START_TIMEOUT_MS = 10_000;

/** The accounts the generated configuration knows. */
export const RADIUS_USERS = {
  /** Accepted with this password over PAP or CHAP; replies carry Reply-Message "Welcome, alice". */
  alice: { username: 'alice', password: 'alice-password', replyMessage: 'Welcome, alice' },
  /**
   * Any first password gets an Access-Challenge: Reply-Message "6 * 9 = ?", Prompt No-Echo, State
   * `state`. The answer "42" with that State is accepted; another answer or State is rejected.
   */
  bob: { username: 'bob', answer: '42', challenge: '6 * 9 = ?', state: Buffer.from('bob-challenge-state') },
  /** Always rejected, with Reply-Message "carol is not allowed". */
  carol: { username: 'carol', password: 'carol-password', replyMessage: 'carol is not allowed' },
} as const;

export interface FreeRadiusOptions {
  /** The shared secret of the 127.0.0.1 client (default "gatehouse-test-secret"). */
  secret?: string;
  /** Whether replies carry Message-Authenticator (default true). */
  messageAuthenticatorInReplies?: boolean;
}

export interface TestFreeRadius {
  host: '127.0.0.1';
  port: number;
  secret: string;
  /** Stops the server (idempotent); the temp dir stays until teardown. */
  stop(): Promise<void>;
  /** What FreeRADIUS logged so far. */
  logs(): string;
}

export async function startFreeRadius(t: { teardown(fn: () => unknown): unknown }, options: FreeRadiusOptions = {}): Promise<TestFreeRadius> {
  const secret = options.secret ?? 'gatehouse-test-secret';
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-freeradius-'));
  let child: ChildProcess | undefined;
  let log = '';
  const stop = async () => {
    const running = child;
    child = undefined;
    await stopDaemon(running, (daemon) => signalGroup(daemon, 'SIGTERM'));
  };
  // If the test process ends without running teardowns.
  const onExit = () => {
    if (child) signalGroup(child, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  t.teardown(async () => {
    await stop();
    await rm(dir, { recursive: true, force: true });
    process.off('exit', onExit);
  });

  await writeFile(join(dir, 'users'), usersFile());
  for (let attempt = 1; ; attempt++) {
    const port = await freeUdpPort();
    await writeFile(join(dir, 'radiusd.conf'), radiusdConf(dir, port, secret, options.messageAuthenticatorInReplies ?? true));
    log = '';
    child = spawn(FREERADIUS_BIN, ['-f', '-l', 'stdout', '-d', dir], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const output = (chunk: string) => {
      log += chunk;
    };
    child.stdout?.setEncoding('utf8').on('data', output);
    child.stderr?.setEncoding('utf8').on('data', output);
    try {
      await waitReady(child, () => log);
      return { host: '127.0.0.1', port, secret, stop, logs: () => log };
    } catch (err) {
      await stop();
      // Lost the race for the port to another process: try another.
      if (attempt < 5 && log.includes('Address already in use')) continue;
      throw err;
    }
  }
}

async function waitReady(child: ChildProcess, log: () => string): Promise<void> {
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (spawnError) throw new Error(`${FREERADIUS_BIN} did not start (apt-get install freeradius): ${spawnError.message}`);
    if (log().includes('Ready to process requests')) return;
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`freeradius exited (${child.exitCode ?? child.signalCode}): ${log().trim()}`);
    if (Date.now() > deadline) throw new Error(`freeradius was not ready within ${START_TIMEOUT_MS} ms: ${log().trim()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}


/** A UDP port on 127.0.0.1 free a moment ago (the caller retries if it is taken meanwhile). */
export function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

function usersFile(): string {
  const { alice, carol } = RADIUS_USERS;
  return [
    `${alice.username} Cleartext-Password := "${alice.password}"`,
    `\tReply-Message := "${alice.replyMessage}"`,
    '',
    `${carol.username} Auth-Type := Reject`,
    `\tReply-Message := "${carol.replyMessage}"`,
    '',
  ].join('\n');
}

function radiusdConf(dir: string, port: number, secret: string, messageAuthenticatorInReplies: boolean): string {
  const { bob } = RADIUS_USERS;
  const state = `0x${bob.state.toString('hex')}`;
  return `# generated by test/helpers/freeradius.ts
prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = /var
sbindir = /usr/sbin
libdir = /usr/lib/freeradius
name = freeradius
raddbdir = ${dir}
confdir = ${dir}
modconfdir = ${dir}
logdir = ${dir}
radacctdir = ${dir}
run_dir = ${dir}
db_dir = ${dir}
pidfile = ${dir}/radiusd.pid
max_request_time = 30
cleanup_delay = 5
max_requests = 1024
hostname_lookups = no
log {
  destination = stdout
}
security {
  allow_core_dumps = no
  max_attributes = 200
  reject_delay = 0
  status_server = no
}
thread pool {
  start_servers = 1
  max_servers = 4
  min_spare_servers = 1
  max_spare_servers = 4
}
client gatehouse {
  ipaddr = 127.0.0.1
  secret = "${secret}"
  require_message_authenticator = yes
}
modules {
  pap {
  }
  chap {
  }
  files {
    filename = ${dir}/users
  }
  always handled {
    rcode = handled
  }
  always reject {
    rcode = reject
  }
}
server default {
  listen {
    type = auth
    ipaddr = 127.0.0.1
    port = ${port}
  }
  authorize {
${messageAuthenticatorInReplies ? '    update reply {\n      &Message-Authenticator := 0x00\n    }\n' : ''}    if (&User-Name == "${bob.username}") {
      if (!&State) {
        update reply {
          &Reply-Message := "${bob.challenge}"
          &Prompt := No-Echo
          &State := ${state}
        }
        update control {
          &Response-Packet-Type := Access-Challenge
        }
        handled
      }
      if (&State != ${state}) {
        reject
      }
      update control {
        &Cleartext-Password := "${bob.answer}"
      }
    }
    chap
    files
    pap
  }
  authenticate {
    Auth-Type PAP {
      pap
    }
    Auth-Type CHAP {
      chap
    }
  }
}
`;
}
