// The `[starling]` section (client credentials, endpoints, push_timeout, poll_interval,
// request_timeout), `[starling_auto_provision]` with `[ldap_server] name` and the invalid-user
// marker's `[memory_cache] ttl`, and the SDK's `[https_proxy]` and `[tls] ca_cert`. The SDK itself
// reads `[starling] timeout` and `ignore_conn_err`.
import { readHttpsSettings, type HttpsSettings } from '../sdk/https/index.js';
import type { PluginConfiguration } from '../sdk/index.js';

export const STARLING_SECTION = 'starling';
export const PROVISION_SECTION = 'starling_auto_provision';
// A constant, not a literal: the zip builder's import scanner takes `x.require('literal')` for CommonJS.
const LDAP_SERVER_SECTION = 'ldap_server';

export interface StarlingSettings {
  clientId: string;
  clientSecret: string;
  tokenUrl: string;
  /** The 2FA API's base URL, without a trailing slash. */
  apiUrl: string;
  /** Per HTTP request; the SDK's [starling] timeout bounds the whole authentication. */
  requestTimeoutMs: number;
  /** The approval request's lifetime at Starling, and how long the plugin polls it. */
  pushTimeoutS: number;
  pollIntervalMs: number;
  https: HttpsSettings;
}

export interface ProvisionSettings {
  ldapServer: string;
  phoneAttribute: string;
  emailAttribute: string;
  /** Seconds a user Starling refused to create is not tried again. */
  invalidUserTtlS: number;
}

export async function readStarlingSettings(config: PluginConfiguration): Promise<StarlingSettings> {
  // Starling's environments (SPS's join does this): "" is production, else sts-<env>, 2faclient-<env>.
  const environment = await config.get(STARLING_SECTION, 'environment', '');
  const suffix = environment ? `-${environment}` : '';
  return {
    clientId: await config.require(STARLING_SECTION, 'client_id'),
    clientSecret: await config.require(STARLING_SECTION, 'client_secret'),
    tokenUrl: (await config.get(STARLING_SECTION, 'token_url')) || `https://sts${suffix}.cloud.oneidentity.com/auth/realms/StarlingClients/protocol/openid-connect/token`,
    apiUrl: ((await config.get(STARLING_SECTION, 'api_url')) || `https://2faclient${suffix}.cloud.oneidentity.com`).replace(/\/+$/, ''),
    requestTimeoutMs: 1000 * (await config.getInt(STARLING_SECTION, 'request_timeout', 15, { min: 1, max: 300 })),
    pushTimeoutS: await config.getInt(STARLING_SECTION, 'push_timeout', 60, { min: 1, max: 3600 }),
    pollIntervalMs: 1000 * (await config.getInt(STARLING_SECTION, 'poll_interval', 1, { min: 1, max: 60 })),
    https: await readHttpsSettings(config),
  };
}

/** Undefined unless `[starling_auto_provision] enabled=yes`. */
export async function readProvisionSettings(config: PluginConfiguration): Promise<ProvisionSettings | undefined> {
  if (!(await config.getBoolean(PROVISION_SECTION, 'enabled', false))) return undefined;
  // SPS's code reads [memory_cache], its default.cfg wrote [memory-cache]: both are accepted.
  const cache = ['memory_cache', 'memory-cache'].find((name) => config.hasSection(name)) ?? 'memory_cache';
  return {
    ldapServer: await config.require(LDAP_SERVER_SECTION, 'name'),
    phoneAttribute: await config.get(PROVISION_SECTION, 'phone_attribute', 'telephoneNumber'),
    emailAttribute: await config.get(PROVISION_SECTION, 'email_attribute', 'mail'),
    invalidUserTtlS: await config.getInt(cache, 'ttl', 3600, { min: 1, max: 31_536_000 }),
  };
}
