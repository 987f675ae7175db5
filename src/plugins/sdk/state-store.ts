// Shared state of one plugin configuration (authentication cache, connection counts, OTP replay):
// an atomic read-modify-write per key, so concurrent plugin processes cannot lose an update.
// The embedded implementation is file-based (file-state-store.ts); a fleet would use Redis.
import type { JsonValue } from './contract.js';

export type StateChange<T> =
  | { action: 'keep'; result: T }
  | { action: 'write'; value: JsonValue; result: T }
  | { action: 'delete'; result: T };

export interface StateStore {
  /**
   * Calls `change` with the key's current value (undefined when none) and applies its answer
   * atomically; if another writer got in first, `change` runs again on the newer value, so it
   * must have no side effects. Resolves to the `result` of the answer that was applied.
   */
  update<T>(key: string, change: (current: JsonValue | undefined) => StateChange<T>): Promise<T>;
}
