// A plugin's log: lines at or above `[logging] log_level` go to the host, which adds the session.
import type { LogLevel, PluginContext } from './contract.js';
import type { PluginConfiguration } from './configuration.js';

const levels: readonly LogLevel[] = ['debug', 'info', 'warning', 'error', 'critical'];
/** Python's numeric levels, which SPS also accepts for log_level. */
const numericLevels: ReadonlyMap<string, LogLevel> = new Map(levels.map((level, index) => [String((index + 1) * 10), level]));

export class PluginLogger {
  constructor(
    private readonly sink: PluginContext['log'],
    private threshold: LogLevel = 'info',
  ) {}

  /** Applies `[logging] log_level`; throws PluginConfigurationError for an unknown level. */
  async configure(config: PluginConfiguration): Promise<void> {
    this.threshold = await config.getParsed('logging', 'log_level', this.threshold, `one of ${levels.join(', ')} (or 10..50)`, (text) =>
      levels.find((level) => level === text.toLowerCase()) ?? numericLevels.get(text),
    );
  }

  debug(message: string): void {
    this.write('debug', message);
  }

  info(message: string): void {
    this.write('info', message);
  }

  warning(message: string): void {
    this.write('warning', message);
  }

  error(message: string): void {
    this.write('error', message);
  }

  private write(level: LogLevel, message: string): void {
    if (levels.indexOf(level) >= levels.indexOf(this.threshold)) this.sink(level, message);
  }
}
