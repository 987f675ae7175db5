// The gateway's event pipeline: the audit journal in `<data>/audit/journal`, the CLI's inbox drained into it,
// and the syslog forwarder reading it for every configured target.
import { watch, type FSWatcher } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SYSLOG_FACILITIES, type GatehouseConfig, type SyslogTargetConfig } from '../config/schema.js';
import { AuditLog } from './events/audit-log.js';
import { inboxDirectory, readInbox, rejectInboxItem, removeInboxItem } from './events/inbox.js';
import { AuditJournal } from './events/journal.js';
import type { Logger } from './logger.js';
import type { SyslogEndpoint } from './syslog/connection.js';
import { SyslogForwarder, type ForwarderTarget, type TargetStatus } from './syslog/forwarder.js';

export interface AuditPipeline {
  audit: AuditLog;
  journal: AuditJournal;
  status(): TargetStatus[];
  close(): Promise<void>;
}

export interface AuditPipelineOptions {
  /** Product version, for CEF headers. */
  version: string;
  /** Tests shorten the reconnect back-off. */
  backoff?: { minMs: number; maxMs: number };
}

const INBOX_POLL_MS = 1000;
const INBOX_COALESCE_MS = 20;

export async function startAuditPipeline(config: GatehouseConfig, dataDir: string, log: Logger, options: AuditPipelineOptions): Promise<AuditPipeline> {
  const journalDir = join(dataDir, 'audit', 'journal');
  await mkdir(journalDir, { recursive: true, mode: 0o700 });
  await mkdir(inboxDirectory(dataDir), { recursive: true, mode: 0o700 });
  const journal = AuditJournal.open(journalDir, { maxBytes: config.logging.journalMaxMiB * 1024 * 1024, log: log.child({ component: 'audit-journal' }) });
  const audit = new AuditLog(log, journal);

  const drainInbox = (): void => {
    try {
      for (const item of readInbox(dataDir)) {
        if (item.entry) {
          journal.append(item.entry);
          removeInboxItem(item);
        } else {
          log.warn({ file: item.file, problem: item.problem }, 'unreadable event in the audit inbox: kept aside as .rejected');
          rejectInboxItem(item);
        }
      }
    } catch (err) {
      // The events stay in the inbox for the next attempt; the gateway keeps serving.
      log.error({ err: (err as Error).message }, 'cannot read the audit inbox');
    }
  };
  // Targets first: one seen for the first time starts at the journal's end, and the inbox's events come after it.
  const targets = config.syslogTargets.map((target) => forwarderTarget(target, config.network.hostname, options.version));
  const forwarder = SyslogForwarder.start(targets, {
    cursorDir: join(dataDir, 'audit', 'cursors'),
    journal,
    audit,
    log: log.child({ component: 'syslog' }),
    ...(options.backoff ? { backoff: options.backoff } : {}),
  });

  drainInbox();
  let watcher: FSWatcher | undefined;
  // A burst of CLI events is a burst of notifications: drain once per burst, not once per file.
  let scheduled: NodeJS.Timeout | undefined;
  try {
    watcher = watch(inboxDirectory(dataDir), () => {
      scheduled ??= setTimeout(() => {
        scheduled = undefined;
        drainInbox();
      }, INBOX_COALESCE_MS);
    });
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'cannot watch the audit inbox: polling it');
  }
  const poll = setInterval(drainInbox, INBOX_POLL_MS).unref();

  return {
    audit,
    journal,
    status: () => forwarder.status(),
    async close() {
      watcher?.close();
      clearTimeout(scheduled);
      clearInterval(poll);
      drainInbox();
      await forwarder.close();
      journal.close();
    },
  };
}

function forwarderTarget(target: SyslogTargetConfig, hostname: string, version: string): ForwarderTarget {
  const endpoint = async (): Promise<SyslogEndpoint> => {
    const base: SyslogEndpoint = { host: target.host, port: target.port, transport: target.transport };
    if (target.transport !== 'tls') return base;
    return {
      ...base,
      tls: {
        ...(target.caFile ? { ca: await readPem(target.caFile, 'caFile') } : {}),
        ...(target.clientCertFile && target.clientKeyFile ? { cert: await readPem(target.clientCertFile, 'clientCertFile'), key: await readPem(target.clientKeyFile, 'clientKeyFile') } : {}),
        ...(target.serverName ? { servername: target.serverName } : {}),
      },
    };
  };
  return {
    name: target.name,
    transport: target.transport,
    endpoint,
    frame: {
      format: target.format,
      transport: target.transport,
      facility: SYSLOG_FACILITIES.indexOf(target.facility),
      hostname,
      appName: 'gatehouse',
      device: { vendor: 'Gatehouse', product: 'Gatehouse', version },
    },
  };
}

async function readPem(file: string, setting: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new Error(`cannot read ${setting} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
