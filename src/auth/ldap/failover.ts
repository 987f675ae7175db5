// Failover between the URLs of one directory: every operation starts at the URL that answered
// last, then tries the others in configured order.
import type { Logger } from '../../log/logger.js';
import { failureReason, serversUnavailable, type FailedAttempt } from './errors.js';

export class ServerRotation {
  private preferred: string;

  constructor(
    private readonly server: string,
    private readonly urls: readonly string[],
    private readonly timeoutSeconds: number,
    private readonly log: Logger,
  ) {
    this.preferred = urls[0] as string;
  }

  /** The result of `attempt` on the first URL where it does not throw; LdapUnavailableError when it throws on all. */
  async first<T>(attempt: (url: string) => Promise<T>): Promise<T> {
    const failures: FailedAttempt[] = [];
    for (const url of [this.preferred, ...this.urls.filter((u) => u !== this.preferred)]) {
      try {
        const result = await attempt(url);
        if (failures.length > 0) {
          this.log.warn({ url, failures }, 'LDAP failover: now using %s', url);
          this.preferred = url;
        }
        return result;
      } catch (err) {
        failures.push({ url, reason: failureReason(err, this.timeoutSeconds) });
      }
    }
    throw serversUnavailable(this.server, failures);
  }
}
