// Idle service connections kept open between searches: at most `size`, the oldest closed first.
import type { Client } from 'ldapts';
import { disconnect } from './connection.js';

export class IdleConnections {
  private idle: { url: string; client: Client }[] = [];
  private closed = false;

  constructor(private readonly size: number) {}

  /** An idle connection to `url` that is still open; dead ones met on the way are dropped. */
  take(url: string): Client | undefined {
    let i: number;
    while ((i = this.idle.findIndex((c) => c.url === url)) >= 0) {
      const { client } = this.idle.splice(i, 1)[0];
      if (client.isConnected) return client;
      void disconnect(client);
    }
    return undefined;
  }

  /** Keeps `client` for later; after close(), or when it is no longer open, closes it instead. */
  put(url: string, client: Client): void {
    if (this.closed || !client.isConnected) {
      void disconnect(client);
      return;
    }
    this.idle.push({ url, client });
    const oldest = this.idle.length > this.size ? this.idle.shift() : undefined;
    if (oldest) void disconnect(oldest.client);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.idle.splice(0).map(({ client }) => disconnect(client)));
  }
}
