// The MFA plugin SDK: everything a plugin may import (plugins never import the gateway).
export type {
  AuthorizeArgs,
  Clock,
  ConnectionArgs,
  Cookie,
  HookResult,
  JsonValue,
  LdapDirectory,
  LogLevel,
  PluginContext,
  Question,
  SessionEndedArgs,
  UserList,
  Verdict,
} from './contract.js';
export { MfaCommunicationError, MfaServiceUnreachable, PluginConfigurationError } from './errors.js';
export { parseIni, type IniDocument, type IniSection, type IniValue } from './ini.js';
export { PluginConfiguration, type SecretLookup } from './configuration.js';
export { PluginLogger } from './logger.js';
export type { StateChange, StateStore } from './state-store.js';
export { FileStateStore } from './file-state-store.js';
export { AuthenticationCache, mayReuse, type AuthenticationCacheSettings, type CacheEntry } from './authentication-cache.js';
export { ConnectionLimiter, connectionLimitKey } from './connection-limit.js';
export { MfaPlugin, AUTH_SECTION, DEFAULT_PROMPT, type MfaChallenge } from './mfa-plugin.js';
