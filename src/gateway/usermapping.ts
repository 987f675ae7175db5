// Usermapping policy: may this gateway user (with these gateway groups) log in to the target as
// that server user? Logging in under one's own name needs no rule; anything else must be allowed
// explicitly, by user name (case-sensitive) or group (case-insensitive, as LDAP compares them).
import type { UsermappingPolicyConfig } from '../config/schema.js';

export class UsermappingPolicy {
  constructor(private readonly rules: UsermappingPolicyConfig['rules']) {}

  allows(gatewayUser: string, serverUser: string, gatewayGroups: readonly string[] = []): boolean {
    if (gatewayUser === serverUser) return true;
    const listed = (names: string[], name: string): boolean => names.includes('*') || names.includes(name);
    const groups = new Set(gatewayGroups.map((group) => group.toLowerCase()));
    const member = (names: string[]): boolean => names.some((group) => groups.has(group.toLowerCase()));
    return this.rules.some((rule) => (listed(rule.gatewayUsers, gatewayUser) || member(rule.gatewayGroups)) && listed(rule.serverUsers, serverUser));
  }
}
