// Which channels and environment variables a connection policy lets through, for one connection's
// gateway groups (a channel type may be restricted to members of some groups).
import type { ChannelPolicyConfig, ChannelType } from '../config/schema.js';
import { TargetAllowlist } from '../config/target-rules.js';

export type SessionRequest = { kind: 'shell' } | { kind: 'exec'; command: string } | { kind: 'subsystem'; name: string };

export type ChannelDecision = { allowed: true; type: ChannelType } | { allowed: false; reason: string };

/** Legacy `scp -O` runs the remote `scp` program through exec; count it as scp, not as a command. */
const scpCommand = /^\s*scp(\s|$)/;

export class ChannelPolicy {
  private readonly allowed: Set<ChannelType>;
  private readonly forwardTargets: TargetAllowlist;
  private readonly envPatterns: string[];

  private readonly groups: Set<string>;

  constructor(
    private readonly policy: ChannelPolicyConfig,
    gatewayGroups: readonly string[] = [],
  ) {
    this.groups = new Set(gatewayGroups.map((group) => group.toLowerCase()));
    this.allowed = new Set(policy.channels);
    this.forwardTargets = new TargetAllowlist(policy.forwardTargets);
    this.envPatterns = policy.envAllow;
  }

  /** The same policy as it applies to a connection whose gateway user is in `gatewayGroups`. */
  forGroups(gatewayGroups: readonly string[]): ChannelPolicy {
    return new ChannelPolicy(this.policy, gatewayGroups);
  }

  decideSession(request: SessionRequest): ChannelDecision {
    if (request.kind === 'subsystem' && request.name !== 'sftp') {
      return { allowed: false, reason: `subsystem "${printable(request.name)}" is not supported` };
    }
    const type: ChannelType =
      request.kind === 'shell' ? 'shell' : request.kind === 'subsystem' ? 'sftp' : scpCommand.test(request.command) ? 'scp' : 'exec';
    return this.decide(type);
  }

  decideForward(host: string, port: number): ChannelDecision {
    const decision = this.decide('direct-tcpip');
    if (!decision.allowed) return decision;
    if (!this.forwardTargets.allows(host, port)) {
      return { allowed: false, reason: `forwarding to ${printable(host)}:${port} is not allowed by channel policy "${this.policy.name}"` };
    }
    return decision;
  }

  envAllowed(name: string): boolean {
    return this.envPatterns.some((pattern) => (pattern.endsWith('*') ? name.startsWith(pattern.slice(0, -1)) : name === pattern));
  }

  private decide(type: ChannelType): ChannelDecision {
    if (!this.allowed.has(type)) return { allowed: false, reason: `${type} channels are not allowed by channel policy "${this.policy.name}"` };
    const onlyFor = this.policy.groupRestrictions[type];
    if (onlyFor && !onlyFor.some((group) => this.groups.has(group.toLowerCase()))) {
      return { allowed: false, reason: `${type} channels are allowed only for members of ${onlyFor.map((g) => `"${printable(g)}"`).join(', ')} by channel policy "${this.policy.name}"` };
    }
    return { allowed: true, type };
  }
}

/** Client-supplied text echoed in a refusal: control characters escaped, length bounded. */
export function printable(text: string): string {
  const escaped = JSON.stringify(text.slice(0, 80)).slice(1, -1);
  return text.length > 80 ? `${escaped}…` : escaped;
}
