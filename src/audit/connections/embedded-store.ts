// The default `ConnectionStore`: the SQLite file `<data>/connections.db`, served by a worker thread
// (store-worker.ts) so the gateway's event loop never waits for the disk. Calls are queued in order; if the
// worker dies, pending and later calls fail with the reason instead of hanging.
import { Worker } from 'node:worker_threads';
import type { ConnectionStore, RecordingText, SearchPage, SessionQuery, SessionRow } from './session-row.js';

export type StoreRequest = { id: number } & (
  | { op: 'saveSession'; arg: SessionRow }
  | { op: 'addText'; arg: RecordingText }
  | { op: 'forgetRecordings'; arg: string[] }
  | { op: 'runningSessions' }
  | { op: 'search'; arg: SessionQuery }
  | { op: 'close' }
);
export type StoreResponse = { id: number; ok: true; value?: unknown } | { id: number; ok: false; error: string };

type Pending = { resolve: (value: unknown) => void; reject: (err: Error) => void };
type Call = StoreRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

export class EmbeddedConnectionStore implements ConnectionStore {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #failure: Error | undefined;

  private constructor(worker: Worker) {
    this.#worker = worker;
    worker.on('message', (response: StoreResponse) => {
      const pending = this.#pending.get(response.id);
      if (!pending) return;
      this.#pending.delete(response.id);
      if (response.ok) pending.resolve(response.value);
      else pending.reject(new Error(response.error));
    });
    const fail = (err: Error): void => {
      this.#failure ??= err;
      for (const pending of this.#pending.values()) pending.reject(this.#failure);
      this.#pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', () => fail(new Error('the connection database worker stopped')));
  }

  /** Opens `path` (creating it) in a new worker; rejects with why it cannot be used. */
  static async open(path: string): Promise<EmbeddedConnectionStore> {
    const worker = new Worker(new URL('./store-worker.js', import.meta.url), { workerData: { path } });
    await new Promise<void>((resolve, reject) => {
      worker.once('error', reject);
      worker.once('message', (response: StoreResponse) => {
        worker.off('error', reject);
        if (response.ok) resolve();
        else reject(new Error(`connection database ${path}: ${response.error}`));
      });
    });
    return new EmbeddedConnectionStore(worker);
  }

  saveSession(row: SessionRow): Promise<void> {
    return this.#call({ op: 'saveSession', arg: row }) as Promise<void>;
  }

  addText(text: RecordingText): Promise<void> {
    return this.#call({ op: 'addText', arg: text }) as Promise<void>;
  }

  forgetRecordings(ids: string[]): Promise<void> {
    return this.#call({ op: 'forgetRecordings', arg: ids }) as Promise<void>;
  }

  runningSessions(): Promise<SessionRow[]> {
    return this.#call({ op: 'runningSessions' }) as Promise<SessionRow[]>;
  }

  search(query: SessionQuery): Promise<SearchPage> {
    return this.#call({ op: 'search', arg: query }) as Promise<SearchPage>;
  }

  /** Waits for every queued write, closes the database and ends the worker. */
  async close(): Promise<void> {
    if (!this.#failure) await this.#call({ op: 'close' }).catch(() => undefined);
    await this.#worker.terminate();
  }

  #call(call: Call): Promise<unknown> {
    if (this.#failure) return Promise.reject(this.#failure);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ ...call, id });
    });
  }
}
