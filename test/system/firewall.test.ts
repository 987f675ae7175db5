// The appliance firewall: the image's ruleset (rootfs/etc/nftables.conf) loaded by the real nft in a
// private network namespace, then `gatehouse firewall --apply` fills its set of gateway ports from the
// configuration: non-loopback listeners only, replaced whole on every apply.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import fc from 'fast-check';
import { gatewayPorts, renderPortSet } from '../../src/system/firewall.js';
import { openConfigStore } from '../../src/cli/stores.js';
import { embeddedDefaultConfig } from '../../src/config/load.js';
import { cliPath } from '../helpers/cli.js';

const ruleset = join(import.meta.dirname, '../../rootfs/etc/nftables.conf');
const policy = (address: string, port: number) => ({ ...embeddedDefaultConfig.connectionPolicies[0], name: `p${port}${address}`, listen: { address, port } });

t.test('only non-loopback listeners open a port, each once', async (t) => {
  t.same(gatewayPorts(embeddedDefaultConfig as never), [], 'the embedded default listens on loopback only');
  const config = { connectionPolicies: [policy('0.0.0.0', 22), policy('192.0.2.1', 22), policy('127.0.0.1', 2222), policy('::1', 2223), policy('::', 8022)] };
  t.same(gatewayPorts(config as never), [22, 8022]);
  t.equal(renderPortSet([]), 'flush set inet gatehouse gateway_tcp_ports\n', 'no ports: the set is emptied');
  t.throws(() => renderPortSet([0]), /not a TCP port: 0/);
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 65535 })), (ports) => {
        const script = renderPortSet(ports);
        return script.split('\n').length <= 3 && ports.every((p) => script.includes(String(p)));
      }),
    ),
  );
});

t.test('the image ruleset loads, and apply fills and then replaces the port set (real nft, in a private network namespace)', async (t) => {
  const dataDir = t.testdir();
  const store = await openConfigStore(dataDir);
  const base = store.current().config;
  await store.commit({ origin: 'console', author: 'test', message: 'listen', config: { ...base, connectionPolicies: [{ ...base.connectionPolicies[0]!, listen: { address: '0.0.0.0', port: 22 } }] } });
  const inNamespace = (script: string) =>
    execFileSync('unshare', ['--net', 'sh', '-ec', script], { encoding: 'utf8', env: { ...process.env, GATEHOUSE_DATA: dataDir, RULESET: ruleset, CLI: cliPath } });
  const listed = inNamespace('nft -f "$RULESET"; node "$CLI" firewall --apply; nft list set inet gatehouse gateway_tcp_ports; nft list chain inet gatehouse input');
  t.match(listed, 'firewall: gateway ports 22 open');
  t.match(listed, /elements = \{ 22 \}/);
  t.match(listed, /policy drop/);
  await store.commit({ origin: 'console', author: 'test', message: 'move', config: { ...base, connectionPolicies: [{ ...base.connectionPolicies[0]!, listen: { address: '0.0.0.0', port: 8022 } }] } });
  const moved = inNamespace('nft -f "$RULESET"; node "$CLI" firewall --apply; node "$CLI" firewall --apply; nft list set inet gatehouse gateway_tcp_ports');
  t.match(moved, /elements = \{ 8022 \}/, 'the old port is gone, applying twice changes nothing');
  t.notMatch(moved, /\b22\b.*\}/);
});
