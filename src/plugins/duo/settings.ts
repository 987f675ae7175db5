// The `[duo]` section (ikey, skey, host; request_timeout per HTTP request) and the SDK's common
// `[https_proxy]` and `[tls] ca_cert`. The SDK itself reads `[duo] timeout` and `ignore_conn_err`.
import { readHttpsSettings } from '../sdk/https/index.js';
import type { PluginConfiguration } from '../sdk/index.js';
import type { DuoClientSettings } from './client.js';

export const DUO_SECTION = 'duo';

export async function readDuoSettings(config: PluginConfiguration): Promise<DuoClientSettings> {
  return {
    ikey: await config.require(DUO_SECTION, 'ikey'),
    skey: await config.require(DUO_SECTION, 'skey'),
    host: await config.require(DUO_SECTION, 'host'),
    requestTimeoutMs: 1000 * (await config.getInt(DUO_SECTION, 'request_timeout', 15, { min: 1, max: 300 })),
    https: await readHttpsSettings(config),
  };
}
