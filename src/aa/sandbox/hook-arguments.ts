// The hooks' arguments, by name, exactly as the AA plugin contract lists them (aa-plugin-contract.md §2).

export type HookName = 'authenticate' | 'authorize' | 'session_ended';

/** A cookie is a JSON object; `{}` on the first call of a connection. */
export type Cookie = { [key: string]: unknown };

export interface SessionEndedArguments {
  cookie: Cookie;
  session_cookie: Cookie;
  session_id: string;
}

/** `null` stands for the contract's None: not known (yet) at this point of the connection. */
export interface AuthenticateArguments extends SessionEndedArguments {
  protocol: string;
  connection_name: string;
  client_ip: string;
  client_port: number;
  client_hostname: string | null;
  gateway_user: string | null;
  gateway_domain: string | null;
  server_username: string | null;
  server_domain: string | null;
  key_value_pairs: Record<string, string>;
}

export interface AuthorizeArguments extends AuthenticateArguments {
  gateway_groups: string[] | null;
  server_ip: string;
  server_port: number;
  server_hostname: string | null;
}

export interface HookArguments {
  authenticate: AuthenticateArguments;
  authorize: AuthorizeArguments;
  session_ended: SessionEndedArguments;
}

const sessionEndedNames = ['cookie', 'session_cookie', 'session_id'] as const;
const authenticateNames = [
  ...sessionEndedNames,
  'protocol', 'connection_name', 'client_ip', 'client_port', 'client_hostname',
  'gateway_user', 'gateway_domain', 'server_username', 'server_domain', 'key_value_pairs',
] as const;
const authorizeNames = [...authenticateNames, 'gateway_groups', 'server_ip', 'server_port', 'server_hostname'] as const;

export const hookArgumentNames: { [H in HookName]: readonly (keyof HookArguments[H])[] } = {
  authenticate: authenticateNames,
  authorize: authorizeNames,
  session_ended: sessionEndedNames,
};

/**
 * Exactly the contract's names for `hook`, each present (a missing one becomes null): whatever
 * else the caller's object carries never reaches the plugin.
 */
export function pickArguments<H extends HookName>(hook: H, args: HookArguments[H]): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const name of hookArgumentNames[hook]) picked[name as string] = args[name] ?? null;
  return picked;
}
