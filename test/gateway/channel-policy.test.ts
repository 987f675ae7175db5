// ChannelPolicy: channel types and forwarding destinations, and channel types kept for members of
// some gateway groups.
import t from 'tap';
import { validateConfig } from '../../src/config/load.js';
import { ChannelPolicy } from '../../src/gateway/channel-policy.js';

function policyOf(channelPolicy: Record<string, unknown>): ChannelPolicy {
  const config = validateConfig({
    connectionPolicies: [{ name: 'p', targets: [{ host: '*' }] }],
    channelPolicies: [{ name: 'default', ...channelPolicy }],
  });
  return new ChannelPolicy(config.channelPolicies[0]!);
}

t.test('groupRestrictions: a restricted channel type opens only for members of one of its groups', async (t) => {
  const policy = policyOf({ channels: ['shell', 'sftp', 'direct-tcpip'], groupRestrictions: { sftp: ['Transfer'], 'direct-tcpip': ['netadmins', 'ops'] } });
  t.same(policy.decideSession({ kind: 'shell' }), { allowed: true, type: 'shell' }, 'unrestricted types need no group');
  t.match(policy.decideSession({ kind: 'subsystem', name: 'sftp' }), { allowed: false, reason: /only for members of "Transfer"/ });
  t.same(policy.forGroups(['transfer']).decideSession({ kind: 'subsystem', name: 'sftp' }), { allowed: true, type: 'sftp' }, 'groups compare case-insensitively');
  t.match(policy.forGroups(['transfer']).decideForward('10.0.0.1', 22), { allowed: false, reason: /"netadmins", "ops"/ });
  t.same(policy.forGroups(['ops']).decideForward('10.0.0.1', 22), { allowed: true, type: 'direct-tcpip' });
  t.match(policy.forGroups(['Transfer']).decideSession({ kind: 'exec', command: 'id' }), { allowed: false, reason: /exec channels are not allowed/ }, 'a group does not add channel types');
});

t.test('groupRestrictions: only channel types, each with at least one group', async (t) => {
  t.throws(() => policyOf({ groupRestrictions: { telnet: ['x'] } }), /groupRestrictions/);
  t.throws(() => policyOf({ groupRestrictions: { sftp: [] } }), /groupRestrictions\.sftp/);
});
