// A plugin's own output in the audit log: its context.log() messages and its stdout/stderr lines,
// each tagged `plugin:<name>` with where it came from, bounded in length and rate.
import type { AuditLog } from '../../log/events/audit-log.js';
import type { Logger } from '../../log/logger.js';

export type OutputSource = 'log' | 'stdout' | 'stderr';

export class PluginLog {
  #windowStart = 0;
  #linesInWindow = 0;
  #suppressed = 0;
  #reportTimer: NodeJS.Timeout | undefined;

  /** `audit` takes the plugin's lines; `log`, a child carrying `plugin: <name>`, the sandbox's own report of dropped lines. */
  constructor(
    private readonly audit: AuditLog,
    private readonly plugin: string,
    private readonly log: Logger,
    private readonly maxLength: number,
    private readonly linesPerSecond: number,
  ) {}

  /** Unknown levels count as info; stdout is info and stderr warning unless the level says otherwise. */
  line(source: OutputSource, text: string, level = source === 'stderr' ? 'warning' : 'info'): void {
    const now = Date.now();
    if (now - this.#windowStart >= 1000) {
      this.flush();
      this.#windowStart = now;
      this.#linesInWindow = 0;
    }
    if (++this.#linesInWindow > this.linesPerSecond) {
      // Reported when the window closes, even if the plugin says nothing more.
      if (!this.#suppressed++) this.#reportTimer = setTimeout(() => this.flush(), this.#windowStart + 1000 - now).unref();
      return;
    }
    const message = text.length <= this.maxLength ? text : `${text.slice(0, this.maxLength)}…`;
    this.audit.pluginLine(this.plugin, source, level, message);
  }

  /** Reports the lines dropped by the rate bound since the last report. */
  flush(): void {
    clearTimeout(this.#reportTimer);
    if (!this.#suppressed) return;
    this.log.warn({ source: 'sandbox', suppressed: this.#suppressed }, `dropped ${this.#suppressed} lines of plugin output over the rate limit`);
    this.#suppressed = 0;
  }
}
