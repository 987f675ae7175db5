// The configuration model of the whole appliance: one schema, validated at start and at every
// commit, with errors that name the path of the bad value and what was expected. Sections for
// later features (LDAP, AA plugins, syslog, network, console) start small but have their place.
import { isIP } from 'node:net';
import { z } from 'zod';
import { compileTargetRule } from './target-rules.js';
import { parseTarget } from '../gateway/username.js';

const name = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/i, 'expected a name of letters, digits, "-" and "_" (at most 64)');

const ipAddress = z.string().refine((s) => isIP(s) !== 0, 'expected an IPv4 or IPv6 address');

const hostname = z
  .string()
  .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i, 'expected a hostname');

const port = z.number().int().min(1).max(65535);

/** Wraps a throwing validator so its message becomes the schema error. */
function validatedBy<T>(check: (value: T) => unknown) {
  return (value: T, ctx: z.RefinementCtx): void => {
    try {
      check(value);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  };
}

const targetRule = z
  .object({
    host: z.string().min(1),
    ports: z.string().default('22'),
  })
  .strict()
  .superRefine(validatedBy(compileTargetRule));

export const channelTypes = ['shell', 'exec', 'sftp', 'scp', 'direct-tcpip'] as const;
export type ChannelType = (typeof channelTypes)[number];

const localUser = z
  .object({
    name: z.string().min(1).max(256),
    passwordHash: z.string().startsWith('$scrypt$', 'expected an scrypt hash made by `gatehouse user passwd`').optional(),
    authorizedKeys: z.array(z.string()).default([]),
  })
  .strict();

/** A named list of user names (SPS "user list"), e.g. for MFA whitelists. */
const userList = z.object({ name, users: z.array(z.string().min(1).max(256)).default([]) }).strict();

// Directory secrets (bind passwords, RADIUS shared secrets) are never in the configuration: they
// live in the credential store, scope "directory", section = the server's name (see directorySecret).
const ldapServer = z
  .object({
    name,
    urls: z.array(z.string().regex(/^ldaps?:\/\/\S+$/, 'expected an ldap:// or ldaps:// URL')).min(1),
    startTls: z.boolean().default(false),
    caFile: z.string().optional(),
    bindDn: z.string().optional(),
    userBase: z.string().min(1),
    userFilter: z.string().default('(uid={user})'),
    groupBase: z.string().optional(),
    membership: z.enum(['memberOf', 'member', 'uniqueMember', 'memberUid', 'ad-nested']).default('memberOf'),
    timeoutSeconds: z.number().int().min(1).max(120).default(10),
  })
  .strict()
  .refine((server) => server.userFilter.includes('{user}'), { path: ['userFilter'], message: 'expected a filter with {user} where the username goes' })
  .refine((server) => server.membership === 'memberOf' || server.groupBase !== undefined, { path: ['groupBase'], message: 'this membership style searches groups: expected a groupBase' });

const radiusServer = z
  .object({
    name,
    host: z.string().min(1),
    port: port.default(1812),
    authType: z.enum(['pap', 'chap']).default('pap'),
    /** Attempts per request (first try included). */
    retries: z.number().int().min(1).max(10).default(3),
    timeoutSeconds: z.number().int().min(1).max(60).default(5),
    nasIdentifier: z.string().min(1).max(253).default('gatehouse'),
  })
  .strict();

const channelPolicy = z
  .object({
    name,
    channels: z.array(z.enum(channelTypes)).default(['shell', 'exec', 'sftp', 'scp']),
    // A channel type listed here opens only for members of one of its gateway groups (from LDAP or an AA plugin).
    groupRestrictions: z.partialRecord(z.enum(channelTypes), z.array(z.string().min(1)).min(1)).default({}),
    forwardTargets: z.array(targetRule).default([{ host: '*', ports: '*' }]),
    envAllow: z
      .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*\*?$/, 'expected a variable name, optionally ending in "*"'))
      .default(['LANG', 'LC_*', 'TZ']),
  })
  .strict();

const usermappingRule = z
  .object({
    gatewayUsers: z.array(z.string().min(1)).default([]),
    // Members of any of these gateway groups match too (group names compare case-insensitively, as in LDAP).
    gatewayGroups: z.array(z.string().min(1)).default([]),
    serverUsers: z.array(z.string().min(1)).min(1, 'expected at least one server user (or "*")'),
  })
  .strict()
  .refine((rule) => rule.gatewayUsers.length + rule.gatewayGroups.length > 0, 'expected at least one gateway user (or "*") or gateway group');

/** Who may log in as a server user other than their own gateway user ("gu=alice@root@db1"). */
const usermappingPolicy = z.object({ name, rules: z.array(usermappingRule).default([]) }).strict();

const aaPluginConfiguration = z
  .object({
    name,
    plugin: name,
    // The ini text with SPS semantics; `$` values come from the credential store.
    text: z.string().max(64 * 1024).default(''),
  })
  .strict();

const credentialStore = z.object({ name, mode: z.enum(['appliance-key', 'passphrase']).default('appliance-key') }).strict();

const credentials = z.discriminatedUnion('type', [
  z.object({ type: z.literal('passthrough') }).strict(),
  z.object({ type: z.literal('gateway-key') }).strict(),
  z
    .object({
      type: z.literal('credential-store'),
      store: name.default('local'),
      // Pass the person's own password through when the store holds nothing for this login.
      allowPassthrough: z.boolean().default(false),
    })
    .strict(),
]);

/** Who checks the first factor: the local users (passwords and keys), an LDAP server (bind) or a RADIUS server. */
const gatewayAuthentication = z.discriminatedUnion('type', [
  z.object({ type: z.literal('local') }).strict(),
  z.object({ type: z.literal('ldap'), server: name }).strict(),
  z.object({ type: z.literal('radius'), server: name }).strict(),
]);

const connectionPolicy = z
  .object({
    name,
    // Port 0 lets the system pick a free port (tests, benchmarks).
    listen: z.object({ address: ipAddress.default('127.0.0.1'), port: z.number().int().min(0).max(65535).default(2222) }).strict().prefault({}),
    targets: z.array(targetRule).min(1, 'expected at least one allowed target'),
    defaultTarget: z.string().superRefine(validatedBy(parseTarget)).optional(),
    channelPolicy: name.default('default'),
    usermappingPolicy: name.optional(),
    aaPluginConfiguration: name.optional(),
    gatewayAuthentication: gatewayAuthentication.default({ type: 'local' }),
    hostKeyPolicy: z.enum(['strict', 'trust-on-first-use']).default('trust-on-first-use'),
    credentials: credentials.default({ type: 'passthrough' }),
    connectTimeoutSeconds: z.number().int().min(1).max(300).default(15),
    keepaliveSeconds: z.number().int().min(0).max(3600).default(30),
    // From TCP connect to a successful login, as OpenSSH's LoginGraceTime.
    loginGraceSeconds: z.number().int().min(1).max(3600).default(120),
    // Connections still authenticating at once, as OpenSSH's MaxStartups.
    maxUnauthenticated: z.number().int().min(1).max(100_000).default(256),
    recording: z
      .object({
        enabled: z.boolean().default(true),
        // Shells and commands with a terminal only; `false` records every exec too (scp, bulk `cat`), which for
        // now costs most of a transfer's throughput (docs/benchmarks.md).
        terminalOnly: z.boolean().default(true),
        // Keystrokes include passwords typed at echo-off prompts: recorded only when asked for.
        recordInput: z.boolean().default(false),
        // What a failed recording (disk full) does to its session: keep it going unrecorded, or end it.
        onFailure: z.enum(['continue', 'close-session']).default('continue'),
        // Recordings older than this are deleted (`recording-deleted`), counted from their last write.
        retentionDays: z.number().int().min(1).max(36_500).default(365),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export const SYSLOG_FACILITIES = ['kern', 'user', 'mail', 'daemon', 'auth', 'syslog', 'lpr', 'news', 'uucp', 'cron', 'authpriv', 'ftp', 'ntp', 'audit', 'alert', 'clock', 'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7'] as const;

const syslogTarget = z
  .object({
    name,
    host: z.string().min(1).max(253).regex(/^[A-Za-z0-9.:_-]+$/, 'expected a host name or IP address'),
    port: port.default(514),
    transport: z.enum(['udp', 'tcp', 'tls']).default('tcp'),
    format: z.enum(['rfc5424', 'json', 'cef']).default('rfc5424'),
    facility: z.enum(SYSLOG_FACILITIES).default('authpriv'),
    /** TLS: PEM file of the CA(s) the receiver's certificate must chain to; default: the system's CAs. */
    caFile: z.string().min(1).optional(),
    /** TLS: name the receiver's certificate must carry; default: `host`. */
    serverName: z.string().min(1).max(253).optional(),
    /** TLS: client certificate and its key (PEM files), for receivers that require one. */
    clientCertFile: z.string().min(1).optional(),
    clientKeyFile: z.string().min(1).optional(),
  })
  .strict()
  .superRefine((target, ctx) => {
    if (target.transport !== 'tls') {
      for (const field of ['caFile', 'serverName', 'clientCertFile', 'clientKeyFile'] as const) {
        if (target[field] !== undefined) ctx.addIssue({ code: 'custom', path: [field], message: `only for transport "tls"` });
      }
    }
    if ((target.clientCertFile === undefined) !== (target.clientKeyFile === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['clientKeyFile'], message: 'clientCertFile and clientKeyFile go together' });
    }
  });

const network = z
  .object({
    hostname: hostname.default('gatehouse'),
    interfaces: z
      .array(
        z
          .object({
            name: z.string().regex(/^[a-z0-9._-]{1,15}$/i, 'expected an interface name'),
            dhcp: z.boolean().default(true),
            address: z.string().regex(/^[0-9a-f.:]+\/\d{1,3}$/i, 'expected an address with prefix length, e.g. 192.0.2.10/24').optional(),
            gateway: ipAddress.optional(),
          })
          .strict(),
      )
      .default([]),
    dns: z.array(ipAddress).default([]),
    ntp: z.array(z.string().min(1)).default([]),
    /** An IANA zone name (Europe/Berlin); the console checks it exists in the appliance's zoneinfo. */
    timeZone: z.string().regex(/^[A-Za-z0-9_+-]+(\/[A-Za-z0-9_+-]+)*$/, 'expected a time zone name such as Europe/Berlin or UTC').default('UTC'),
  })
  .strict();

const consoleSettings = z
  .object({
    device: z.string().default('/dev/ttyS0'),
    baudRate: z.number().int().positive().default(115200),
    /** The console administrator's password (set by the first-boot wizard); absent: the appliance is not set up yet. */
    adminPasswordHash: z.string().startsWith('$scrypt$', 'expected an scrypt hash set by the console').optional(),
    /** Minutes without a keystroke after which the console locks (asks the password again). */
    idleTimeoutMinutes: z.number().int().min(1).max(24 * 60).default(15),
  })
  .strict();

const rateLimit = z
  .object({
    freeAttempts: z.number().int().min(0).max(100),
    baseDelayMs: z.number().int().min(0).max(60_000),
    maxDelayMs: z.number().int().min(0).max(600_000),
    lockoutAfter: z.number().int().min(1).max(10_000),
    lockoutMs: z.number().int().min(0).max(86_400_000),
    windowMs: z.number().int().min(1000).max(86_400_000),
  })
  .strict()
  .partial();

export const configSchema = z
  .object({
    users: z.array(localUser).default([]),
    userLists: z.array(userList).default([]),
    ldapServers: z.array(ldapServer).default([]),
    radiusServers: z.array(radiusServer).default([]),
    connectionPolicies: z.array(connectionPolicy).min(1, 'expected at least one connection policy'),
    channelPolicies: z.array(channelPolicy).prefault([{ name: 'default' }]),
    usermappingPolicies: z.array(usermappingPolicy).default([]),
    aaPluginConfigurations: z.array(aaPluginConfiguration).default([]),
    credentialStores: z.array(credentialStore).prefault([{ name: 'local' }]),
    syslogTargets: z.array(syslogTarget).default([]),
    network: network.prefault({}),
    console: consoleSettings.prefault({}),
    rateLimit: rateLimit.default({}),
    recordings: z
      .object({
        // Disk kept for session recordings, all policies together: past it the oldest signed recordings go first.
        maxTotalMiB: z.number().int().min(1).max(1024 * 1024 * 1024).default(10240),
        // Terminal text kept per recording for `gatehouse search` (in Ki characters); the recording itself is whole.
        indexedTextKiB: z.number().int().min(0).max(1024 * 1024).default(1024),
      })
      .strict()
      .prefault({}),
    logging: z
      .object({
        level: z.enum(['trace', 'debug', 'info', 'warn', 'error']).default('info'),
        /** Disk kept for the audit journal (the local event record and every syslog target's queue). */
        journalMaxMiB: z.number().int().min(1).max(1024 * 1024).default(512),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((config, ctx) => {
    const unique = (values: string[], path: string, what: string): void => noDuplicates(values, [path], what, ctx);
    unique(config.users.map((u) => u.name), 'users', 'user');
    for (const section of ['userLists', 'ldapServers', 'radiusServers', 'connectionPolicies', 'channelPolicies', 'usermappingPolicies', 'aaPluginConfigurations', 'credentialStores', 'syslogTargets'] as const) {
      unique(config[section].map((item) => item.name), section, 'name');
    }
    unique(config.connectionPolicies.map((p) => `${p.listen.address}:${p.listen.port}`), 'connectionPolicies', 'listen address');

    // Every name a connection policy refers to must exist.
    const names = (items: { name: string }[]): Set<string> => new Set(items.map((item) => item.name));
    const known = {
      'channel policy': names(config.channelPolicies),
      'usermapping policy': names(config.usermappingPolicies),
      'AA plugin configuration': names(config.aaPluginConfigurations),
      'credential store': names(config.credentialStores),
      'LDAP server': names(config.ldapServers),
      'RADIUS server': names(config.radiusServers),
    };
    config.connectionPolicies.forEach((policy, index) => {
      const refer = (field: keyof typeof known, value: string | undefined, path: (string | number)[]): void => {
        if (value !== undefined && !known[field].has(value)) {
          ctx.addIssue({ code: 'custom', path: ['connectionPolicies', index, ...path], message: `no ${field} named "${value}"` });
        }
      };
      refer('channel policy', policy.channelPolicy, ['channelPolicy']);
      refer('usermapping policy', policy.usermappingPolicy, ['usermappingPolicy']);
      refer('AA plugin configuration', policy.aaPluginConfiguration, ['aaPluginConfiguration']);
      if (policy.credentials.type === 'credential-store') refer('credential store', policy.credentials.store, ['credentials', 'store']);
      const auth = policy.gatewayAuthentication;
      if (auth.type !== 'local') refer(auth.type === 'ldap' ? 'LDAP server' : 'RADIUS server', auth.server, ['gatewayAuthentication', 'server']);
    });
  });

function noDuplicates(values: string[], path: (string | number)[], what: string, ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  values.forEach((value, index) => {
    if (seen.has(value)) ctx.addIssue({ code: 'custom', path: [...path, index], message: `duplicate ${what} "${value}"` });
    seen.add(value);
  });
}

export type GatehouseConfig = z.infer<typeof configSchema>;
export type ConnectionPolicy = GatehouseConfig['connectionPolicies'][number];
export type ChannelPolicyConfig = GatehouseConfig['channelPolicies'][number];
export type UsermappingPolicyConfig = GatehouseConfig['usermappingPolicies'][number];
export type TargetRuleConfig = z.infer<typeof targetRule>;
export type LdapServerConfig = GatehouseConfig['ldapServers'][number];
export type RadiusServerConfig = GatehouseConfig['radiusServers'][number];

/** Where a directory's secret lives in the credential store: scope "directory", section = server name. */
export const directorySecret = {
  ldapBindPassword: (server: string) => ({ scope: 'directory', section: server, option: 'bind_password' }),
  radiusSharedSecret: (server: string) => ({ scope: 'directory', section: server, option: 'shared_secret' }),
};
export type SyslogTargetConfig = GatehouseConfig['syslogTargets'][number];
