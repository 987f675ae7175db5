// The `[inwebo]` section (service_id, client_cert, api_url, request_timeout, rest_poll_interval)
// and the SDK's common `[https_proxy]` and `[tls] ca_cert`. The SDK itself reads `[inwebo]
// timeout` and `ignore_conn_err`.
import { readHttpsSettings } from '../sdk/https/index.js';
import { PluginConfigurationError, type PluginConfiguration } from '../sdk/index.js';
import type { InweboClientSettings } from './client.js';
import { parseClientCertificate } from './client-certificate.js';

export const INWEBO_SECTION = 'inwebo';
export const DEFAULT_API_URL = 'https://api.myinwebo.com/FS';

export interface InweboSettings extends InweboClientSettings {
  /** Between two checkPushResult calls. */
  pollIntervalMs: number;
}

export async function readInweboSettings(config: PluginConfiguration): Promise<InweboSettings> {
  const problem = (option: string, text: string) => new PluginConfigurationError(text, { section: INWEBO_SECTION, option });
  const serviceId = await config.require(INWEBO_SECTION, 'service_id');
  if (!/^\d+$/.test(serviceId)) throw problem('service_id', `expected the numeric Service ID of the inWebo console, got ${JSON.stringify(serviceId)}`);
  let clientCert;
  try {
    clientCert = parseClientCertificate(await config.require(INWEBO_SECTION, 'client_cert'));
  } catch (err) {
    if (err instanceof PluginConfigurationError) throw err;
    throw problem('client_cert', (err as Error).message);
  }
  const apiUrl = await config.get(INWEBO_SECTION, 'api_url', DEFAULT_API_URL);
  if (!URL.canParse(apiUrl) || new URL(apiUrl).protocol !== 'https:') throw problem('api_url', `expected an https:// URL, got ${JSON.stringify(apiUrl)}`);
  return {
    apiUrl,
    serviceId,
    clientCert,
    requestTimeoutMs: 1000 * (await config.getInt(INWEBO_SECTION, 'request_timeout', 15, { min: 1, max: 300 })),
    pollIntervalMs: 1000 * (await config.getInt(INWEBO_SECTION, 'rest_poll_interval', 1, { min: 1, max: 60 })),
    https: await readHttpsSettings(config),
  };
}
