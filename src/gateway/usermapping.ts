// Usermapping policy: may this gateway user log in to the target as that server user?
// Logging in under one's own name needs no rule; anything else must be allowed explicitly.
import type { UsermappingPolicyConfig } from '../config/schema.js';

export class UsermappingPolicy {
  constructor(private readonly rules: UsermappingPolicyConfig['rules']) {}

  allows(gatewayUser: string, serverUser: string): boolean {
    if (gatewayUser === serverUser) return true;
    const listed = (names: string[], name: string): boolean => names.includes('*') || names.includes(name);
    return this.rules.some((rule) => listed(rule.gatewayUsers, gatewayUser) && listed(rule.serverUsers, serverUser));
  }
}
