// The worker thread that owns the gateway's embedded connection database: SQLite calls are synchronous
// (a full-text insert or an fsync can take milliseconds), so they run here, off the gateway's event loop.
// Requests are handled one at a time, in the order they arrive.
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteConnectionDatabase } from './sqlite-database.js';
import type { StoreRequest, StoreResponse } from './embedded-store.js';

const port = parentPort;
if (!port) throw new Error('store-worker.js runs as a worker thread');

let db: SqliteConnectionDatabase;
try {
  db = SqliteConnectionDatabase.open((workerData as { path: string }).path);
  port.postMessage({ id: 0, ok: true } satisfies StoreResponse);
} catch (err) {
  port.postMessage({ id: 0, ok: false, error: (err as Error).message } satisfies StoreResponse);
  process.exit(0);
}

port.on('message', (request: StoreRequest) => {
  let response: StoreResponse;
  try {
    response = { id: request.id, ok: true, value: handle(request) };
  } catch (err) {
    response = { id: request.id, ok: false, error: (err as Error).message };
  }
  port.postMessage(response);
  if (request.op === 'close') port.close();
});

function handle(request: StoreRequest): unknown {
  switch (request.op) {
    case 'saveSession':
      return db.saveSession(request.arg);
    case 'addText':
      return db.addText(request.arg);
    case 'forgetRecordings':
      return db.forgetRecordings(request.arg);
    case 'runningSessions':
      return db.runningSessions();
    case 'search':
      return db.search(request.arg);
    case 'close':
      return db.close();
  }
}
