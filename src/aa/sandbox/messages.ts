// The messages of the hook protocol (PROTOCOL.md), both ways. The gateway checks every message a
// worker sends against `workerMessageSchema`; the worker imports only the types.
import { z } from 'zod';
import type { HookName } from './hook-arguments.js';

/** An appliance User List as plugins see it (SPS's terms): who is allowed, and the exceptions. */
export interface UserListSnapshot {
  allow: 'all_users' | 'no_user';
  except: string[];
}

/** `[section, option]` of one credential-store entry of the configuration: a name, never a value. */
export type SecretName = [section: string, option: string];

/**
 * What a plugin may ask the gateway during a call, with its string arguments:
 * `secret` [section, option] → string; `ldap-groups` [server, user] → string[];
 * `ldap-attribute` [server, user, attribute] → string. Absent value = none.
 */
export const lookupKinds = ['secret', 'ldap-groups', 'ldap-attribute'] as const;
export type LookupKind = (typeof lookupKinds)[number];
export const lookupArity: Record<LookupKind, number> = { secret: 2, 'ldap-groups': 2, 'ldap-attribute': 3 };

export type HostMessage =
  | { type: 'init'; entry: string; config: string; stateDir: string; ephemeralDir: string; userLists: Record<string, UserListSnapshot> }
  | { type: 'call'; id: number; hook: HookName; args: Record<string, unknown>; secretNames?: SecretName[] }
  | { type: 'lookup'; id: number; value?: string | string[]; error?: string };

export const workerMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready') }),
  z.object({ type: z.literal('fatal'), message: z.string() }),
  z.object({ type: z.literal('returned'), id: z.number(), value: z.unknown().optional() }),
  z.object({ type: z.literal('threw'), id: z.number(), error: z.string() }),
  z.object({ type: z.literal('unencodable'), id: z.number(), error: z.string() }),
  z.object({ type: z.literal('no-hook'), id: z.number() }),
  z.object({ type: z.literal('log'), level: z.string(), message: z.string() }),
  z.object({ type: z.literal('lookup'), id: z.number(), lookup: z.enum(lookupKinds), args: z.array(z.string()).max(3) }),
]);

export type WorkerMessage = z.infer<typeof workerMessageSchema>;

/** Bytes of one frame a worker may send; a valid hook result is far smaller. */
export const maxWorkerFrameBytes = 1024 * 1024;
