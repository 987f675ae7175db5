// The AA plugin hook contract as a plugin sees it: hook arguments, hook results and the host context.

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type Cookie = { [key: string]: JsonValue };

/** Python logging's level names, which `[logging] log_level` uses. */
export type LogLevel = 'debug' | 'info' | 'warning' | 'error' | 'critical';

/** Milliseconds since the Unix epoch; tests inject a fake one. */
export type Clock = () => number;

/** An appliance User List policy in SPS terms: who is allowed, and the exceptions to that. */
export interface UserList {
  allow: 'all_users' | 'no_user';
  except: readonly string[];
}

/** The appliance's LDAP servers as a plugin may query them (wired by the host when LDAP exists). */
export interface LdapDirectory {
  /** The first value of `attribute` of `user`, or undefined when the user or the value is absent. */
  userAttribute(server: string, user: string, attribute: string): Promise<string | undefined>;
  /** The groups `user` belongs to, or undefined when the user does not exist. */
  userGroups(server: string, user: string): Promise<readonly string[] | undefined>;
}

/** What the host gives each plugin instance besides the configuration text. */
export interface PluginContext {
  log(level: LogLevel, message: string): void;
  /** The credential store entry (host = section, username = option) of this plugin configuration. */
  secret(section: string, option: string): Promise<string | undefined>;
  /** Survives restarts and reboots: authentication cache, OTP replay state. */
  stateDir: string;
  /** Lost on reboot, like the sessions it counts: connection limits. */
  ephemeralDir: string;
  /** The appliance's User List policy of that name, or undefined when there is none. */
  userList?(name: string): Promise<UserList | undefined>;
  ldap?: LdapDirectory;
}

/** Arguments of `authenticate` (and the common part of `authorize`); every one may be missing. */
export interface ConnectionArgs {
  cookie?: Cookie;
  session_cookie?: Cookie;
  session_id?: string;
  protocol?: string;
  connection_name?: string;
  client_ip?: string;
  client_port?: number;
  client_hostname?: string | null;
  gateway_user?: string | null;
  gateway_domain?: string | null;
  server_username?: string | null;
  server_domain?: string | null;
  /** Parsed from the login name (`otp=123456@root@db1`) plus the answers to NEEDINFO questions. */
  key_value_pairs?: Record<string, string>;
}

export interface AuthorizeArgs extends ConnectionArgs {
  gateway_groups?: readonly string[] | null;
  server_ip?: string;
  server_port?: number;
  server_hostname?: string | null;
}

export interface SessionEndedArgs {
  cookie?: Cookie;
  session_cookie?: Cookie;
  session_id?: string;
}

export type Verdict = 'ACCEPT' | 'DENY' | 'NEEDINFO';

/** `[key, prompt, disable_echo]`: the answer comes back as `key_value_pairs[key]`. */
export type Question = [key: string, prompt: string, disableEcho: boolean];

export interface HookResult {
  verdict: Verdict;
  question?: Question;
  gateway_user?: string;
  gateway_groups?: string[];
  /** A JSON object as text, stored with the session and searchable. */
  additional_metadata?: string;
  /** Shown to the person when the verdict is DENY. */
  reason?: string;
  cookie: Cookie;
  session_cookie: Cookie;
}
