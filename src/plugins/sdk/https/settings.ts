// What the SDK's common sections say about reaching a cloud service: `[https_proxy]` (or SPS's
// older `[https-proxy]`) server, port=3128, username, password; `[tls] ca_cert`, a PEM bundle
// (indented continuation lines, or the credential store) trusted instead of the system store.
import type { PluginConfiguration } from '../configuration.js';
import type { HttpsProxy } from './proxy.js';

export interface HttpsSettings {
  ca?: string;
  proxy?: HttpsProxy;
}

export async function readHttpsSettings(config: PluginConfiguration): Promise<HttpsSettings> {
  const settings: HttpsSettings = {};
  const ca = await config.get('tls', 'ca_cert');
  if (ca) settings.ca = ca;
  const section = ['https_proxy', 'https-proxy'].find((name) => config.hasSection(name)) ?? 'https_proxy';
  const server = await config.get(section, 'server');
  if (server) {
    settings.proxy = { host: server, port: await config.getInt(section, 'port', 3128, { min: 1, max: 65_535 }) };
    const username = await config.get(section, 'username');
    if (username) Object.assign(settings.proxy, { username, password: await config.get(section, 'password', '') });
  }
  return settings;
}
