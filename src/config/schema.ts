// The configuration model of the appliance: one schema, validated at start, with errors that
// name the path of the bad value and what was expected.
import { isIP } from 'node:net';
import { z } from 'zod';
import { compileTargetRule } from '../gateway/target-rules.js';
import { parseTarget } from '../gateway/username.js';

const name = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/i, 'expected a name of letters, digits, "-" and "_" (at most 64)');

const ipAddress = z.string().refine((s) => isIP(s) !== 0, 'expected an IPv4 or IPv6 address');

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

const usermappingRule = z
  .object({
    gatewayUsers: z.array(z.string().min(1)).min(1, 'expected at least one gateway user (or "*")'),
    serverUsers: z.array(z.string().min(1)).min(1, 'expected at least one server user (or "*")'),
  })
  .strict();

const credentials = z.discriminatedUnion('type', [
  z.object({ type: z.literal('passthrough') }).strict(),
  z.object({ type: z.literal('gateway-key') }).strict(),
]);

const connectionPolicy = z
  .object({
    name,
    // Port 0 lets the system pick a free port (tests, benchmarks).
    listen: z.object({ address: ipAddress.default('127.0.0.1'), port: z.number().int().min(0).max(65535).default(2222) }).strict().prefault({}),
    targets: z.array(targetRule).min(1, 'expected at least one allowed target'),
    defaultTarget: z.string().superRefine(validatedBy(parseTarget)).optional(),
    channels: z.array(z.enum(channelTypes)).default(['shell', 'exec', 'sftp', 'scp']),
    forwardTargets: z.array(targetRule).default([{ host: '*', ports: '*' }]),
    // Who may log in as a server user other than their own gateway user ("gu=alice@root@db1").
    usermapping: z.array(usermappingRule).default([]),
    envAllow: z
      .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*\*?$/, 'expected a variable name, optionally ending in "*"'))
      .default(['LANG', 'LC_*', 'TZ']),
    hostKeyPolicy: z.enum(['strict', 'trust-on-first-use']).default('trust-on-first-use'),
    credentials: credentials.default({ type: 'passthrough' }),
    connectTimeoutSeconds: z.number().int().min(1).max(300).default(15),
    keepaliveSeconds: z.number().int().min(0).max(3600).default(30),
    // From TCP connect to a successful login, as OpenSSH's LoginGraceTime.
    loginGraceSeconds: z.number().int().min(1).max(3600).default(120),
    // Connections still authenticating at once, as OpenSSH's MaxStartups.
    maxUnauthenticated: z.number().int().min(1).max(100_000).default(256),
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
    connectionPolicies: z.array(connectionPolicy).min(1, 'expected at least one connection policy'),
    rateLimit: rateLimit.default({}),
    logging: z.object({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error']).default('info') }).strict().prefault({}),
  })
  .strict()
  .superRefine((config, ctx) => {
    noDuplicates(config.users.map((u) => u.name), ['users'], 'user', ctx);
    noDuplicates(config.connectionPolicies.map((p) => p.name), ['connectionPolicies'], 'policy', ctx);
    noDuplicates(
      config.connectionPolicies.map((p) => `${p.listen.address}:${p.listen.port}`),
      ['connectionPolicies'],
      'listen address',
      ctx,
    );
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
export type TargetRuleConfig = z.infer<typeof targetRule>;
