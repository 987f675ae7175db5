// One configured LDAP or Active Directory server as the gateway uses it: authenticate a person
// (find their entry as the service account, then bind as them), their groups, their attributes.
import { InvalidCredentialsError, ResultCodeError, type Client, type Entry } from 'ldapts';
import type { LdapServerConfig } from '../../config/schema.js';
import type { Logger } from '../../log/logger.js';
import { connect, disconnect, simpleBind, type Transport } from './connection.js';
import { LdapUnavailableError, failureReason, resultText } from './errors.js';
import { ServerRotation } from './failover.js';
import { groupSearchFilter, userSearchFilter } from './filter.js';
import { MAX_GROUPS, groupsFromMemberOf, searchGroups } from './membership.js';
import { IdleConnections } from './pool.js';
import { attributeValues } from './values.js';

export type LdapLogin =
  | { ok: true; dn: string; groups: string[] }
  | { ok: false; reason: 'empty-password' | 'no-such-user' | 'ambiguous-user' | 'wrong-password' };

export interface LdapDirectoryOptions {
  /** The service account's bind password (credential store); undefined = anonymous search. */
  bindPassword: () => Promise<string | undefined>;
  /** Names the server already (`log.child({ ldapServer })`); never given a password. */
  log: Logger;
  /** Idle service connections kept for searches (default 4). */
  poolSize?: number;
}

type UserLookup = { ok: true; entry: Entry } | { ok: false; reason: 'no-such-user' | 'ambiguous-user' };

/** An attribute name or OID, nothing a search would read as a wildcard ("*", "+") or an option. */
const ATTRIBUTE_NAME = /^(?:[a-z][a-z0-9-]*|\d+(?:\.\d+)+)$/i;

export class LdapDirectory {
  private readonly log: Logger;
  private readonly transport: Transport;
  private readonly servers: ServerRotation;
  private readonly idle: IdleConnections;
  /** What the user search reads besides the DN: what the group lookup needs ("1.1" = nothing). */
  private readonly membershipAttributes: string[];

  constructor(
    private readonly settings: LdapServerConfig,
    private readonly options: LdapDirectoryOptions,
  ) {
    const { name, membership } = settings;
    if (!settings.userFilter.includes('{user}')) throw new Error(`LDAP server "${name}": userFilter has no {user}`);
    if (membership !== 'memberOf' && settings.groupBase === undefined) throw new Error(`LDAP server "${name}": membership "${membership}" needs a groupBase`);
    this.log = options.log;
    this.transport = { startTls: settings.startTls, caFile: settings.caFile, timeoutMs: settings.timeoutSeconds * 1000 };
    this.servers = new ServerRotation(name, settings.urls, settings.timeoutSeconds, this.log);
    this.idle = new IdleConnections(options.poolSize ?? 4);
    this.membershipAttributes = [membership === 'memberOf' ? 'memberOf' : membership === 'memberUid' ? 'uid' : '1.1'];
    const clearText = settings.startTls ? [] : settings.urls.filter((url) => url.startsWith('ldap:'));
    if (clearText.length > 0) this.log.warn({ urls: clearText }, 'LDAP without TLS: passwords cross the network in clear text');
  }

  /** Finds the user's entry, binds as it with `password`, then reads the groups. Throws LdapUnavailableError. */
  async authenticate(username: string, password: string): Promise<LdapLogin> {
    if (password === '') return { ok: false, reason: 'empty-password' };
    const user = await this.findUser(username, this.membershipAttributes);
    if (!user.ok) {
      // The same work as a wrong password (a bind that fails), so timing does not tell which names exist.
      await this.servers.first((url) => this.passwordMatches(url, `cn=gatehouse-no-such-user,${this.settings.userBase}`, password));
      return user;
    }
    const { dn } = user.entry;
    if (!(await this.servers.first((url) => this.passwordMatches(url, dn, password)))) return { ok: false, reason: 'wrong-password' };
    return { ok: true, dn, groups: await this.groupsOf(user.entry, username) };
  }

  /** The user's group names; undefined when the directory has no (single) entry for them. */
  async userGroups(username: string): Promise<string[] | undefined> {
    const user = await this.findUser(username, this.membershipAttributes);
    return user.ok ? this.groupsOf(user.entry, username) : undefined;
  }

  /** The first value of `attribute` (e.g. mail, telephoneNumber, displayName) of the user's entry. */
  async userAttribute(username: string, attribute: string): Promise<string | undefined> {
    if (!ATTRIBUTE_NAME.test(attribute)) throw new Error(`not an LDAP attribute name: ${JSON.stringify(attribute)}`);
    const user = await this.findUser(username, [attribute]);
    return user.ok ? attributeValues(user.entry, attribute, this.log)[0] : undefined;
  }

  /** Closes the idle connections; later calls still work but keep none open. */
  async close(): Promise<void> {
    await this.idle.close();
  }

  private async findUser(username: string, attributes: string[]): Promise<UserLookup> {
    const filter = userSearchFilter(this.settings.userFilter, username);
    if (filter === undefined) return { ok: false, reason: 'no-such-user' };
    // Two entries are enough to know the name is ambiguous.
    const { searchEntries } = await this.withService((client) => client.search(this.settings.userBase, { scope: 'sub', filter, attributes, sizeLimit: 2 }));
    if (searchEntries.length === 1) return { ok: true, entry: searchEntries[0] };
    if (searchEntries.length === 0) return { ok: false, reason: 'no-such-user' };
    this.log.warn({ username }, 'LDAP userFilter matches several entries: no login');
    return { ok: false, reason: 'ambiguous-user' };
  }

  private async groupsOf(user: Entry, username: string): Promise<string[]> {
    const { membership, groupBase = '' } = this.settings; // set whenever membership searches (constructor)
    const groups =
      membership === 'memberOf'
        ? groupsFromMemberOf(user, this.log)
        : await this.withService((client) => {
            const filter = groupSearchFilter(membership, { dn: user.dn, uid: attributeValues(user, 'uid', this.log)[0] ?? username });
            return searchGroups(client, groupBase, filter, this.log);
          });
    if (groups === undefined) throw new LdapUnavailableError(`LDAP server "${this.settings.name}": ${user.dn} is in more than ${MAX_GROUPS} groups`);
    return groups;
  }

  /** Binds as the user on a connection of its own: the pooled ones stay the service account's. */
  private async passwordMatches(url: string, dn: string, password: string): Promise<boolean> {
    const client = await connect(url, this.transport);
    try {
      await simpleBind(client, dn, password);
      return true;
    } catch (err) {
      if (err instanceof InvalidCredentialsError) return false;
      throw err;
    } finally {
      void disconnect(client);
    }
  }

  /** `work` on a service connection: an idle one to the URL if there is one (once), else a new one. */
  private withService<T>(work: (client: Client) => Promise<T>): Promise<T> {
    return this.servers.first(async (url) => {
      const run = async (client: Client): Promise<T> => {
        try {
          const result = await work(client);
          this.idle.put(url, client);
          return result;
        } catch (err) {
          void disconnect(client);
          throw err;
        }
      };
      const idle = this.idle.take(url);
      if (idle) {
        try {
          return await run(idle);
        } catch (err) {
          this.log.debug({ url, reason: failureReason(err, this.settings.timeoutSeconds) }, 'idle LDAP connection failed: opening a new one');
        }
      }
      return run(await this.serviceConnection(url));
    });
  }

  /** A new connection bound as the service account, or anonymous when there is no bindDn. */
  private async serviceConnection(url: string): Promise<Client> {
    const client = await connect(url, this.transport);
    const { bindDn } = this.settings;
    if (bindDn === undefined) return client;
    try {
      const password = await this.options.bindPassword();
      // Binding with bindDn and no password would be an unauthenticated bind: searches that quietly find nothing.
      if (!password) throw new Error(`no password for the service account ${bindDn} in the credential store`);
      await simpleBind(client, bindDn, password);
      return client;
    } catch (err) {
      void disconnect(client);
      throw err instanceof ResultCodeError ? new Error(`service account ${bindDn} refused: ${resultText(err)}`) : err;
    }
  }
}
