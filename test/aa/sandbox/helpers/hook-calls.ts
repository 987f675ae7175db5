// Hook arguments as the gateway would pass them, and the fixture plugins' places.
import { fileURLToPath } from 'node:url';
import type { AuthenticateArguments, AuthorizeArguments, Cookie, HookArguments, HookName, SessionEndedArguments } from '../../../../src/aa/sandbox/index.js';

export const hooks: HookName[] = ['authenticate', 'authorize', 'session_ended'];

export function fixtureDir(name: string): string {
  return fileURLToPath(new URL(`../fixtures/${name}/`, import.meta.url));
}

export function sessionEndedArgs(cookie: Cookie, session_cookie: Cookie = {}): SessionEndedArguments {
  return { cookie, session_cookie, session_id: 'session-1' };
}

export function authenticateArgs(cookie: Cookie, key_value_pairs: Record<string, string> = {}): AuthenticateArguments {
  return {
    ...sessionEndedArgs(cookie),
    protocol: 'ssh',
    connection_name: 'default',
    client_ip: '192.0.2.10',
    client_port: 50022,
    client_hostname: null,
    gateway_user: 'alice',
    gateway_domain: null,
    server_username: 'root',
    server_domain: null,
    key_value_pairs,
  };
}

export function authorizeArgs(cookie: Cookie): AuthorizeArguments {
  return { ...authenticateArgs(cookie), gateway_groups: ['ops'], server_ip: '192.0.2.20', server_port: 22, server_hostname: 'db1.example.com' };
}

/** Arguments for `hook` whose cookie tells the scripted plugin what to do. */
export function argsFor<H extends HookName>(hook: H, cookie: Cookie): HookArguments[H] {
  const args = { authenticate: authenticateArgs, authorize: authorizeArgs, session_ended: sessionEndedArgs }[hook](cookie);
  return args as HookArguments[H];
}
