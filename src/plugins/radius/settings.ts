// The `[radius]` section: which server, its shared secret, and how patiently to ask it.
import type { PluginConfiguration } from '../sdk/index.js';
import type { RadiusClientSettings } from './protocol/index.js';

export const RADIUS_SECTION = 'radius';

export async function readRadiusSettings(config: PluginConfiguration): Promise<RadiusClientSettings> {
  return {
    host: await config.require(RADIUS_SECTION, 'server'),
    port: await config.getInt(RADIUS_SECTION, 'port', 1812, { min: 1, max: 65_535 }),
    secret: await config.require(RADIUS_SECTION, 'secret'),
    authType: await config.getEnum(RADIUS_SECTION, 'auth_type', ['pap', 'chap'] as const, 'pap'),
    // pyrad's meaning, as in SPS: attempts, the first included.
    retries: await config.getInt(RADIUS_SECTION, 'conn_retries', 3, { min: 1, max: 10 }),
    timeoutMs: 1000 * (await config.getInt(RADIUS_SECTION, 'conn_timeout', 5, { min: 1, max: 60 })),
    nasIdentifier: await config.get(RADIUS_SECTION, 'nas_identifier', 'gatehouse'),
  };
}
