// The CLI's security events (configuration commits, seal, plugin installs, credential-store changes made
// without a running gateway): written to the data directory's audit inbox, which the gateway's journal
// takes in; a short-lived command has no syslog connection of its own.
import type { ConfigVersionInfo } from '../config/store.js';
import { createLogger } from '../log/logger.js';
import { AuditLog } from '../log/events/audit-log.js';
import { InboxSink } from '../log/events/inbox.js';

export function cliAudit(dataDir: string): AuditLog {
  return new AuditLog(createLogger('silent'), new InboxSink(dataDir), 'cli');
}

/** The config-committed event of a CLI commit: who, from where, which version, what kind of change; never the contents. */
export function reportCommit(dataDir: string, committed: ConfigVersionInfo, change: string): void {
  cliAudit(dataDir).emit('config-committed', { version: committed.version, author: committed.author, origin: committed.origin, change, message: committed.message });
}
