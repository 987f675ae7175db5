#!/usr/bin/env bash
# Makes sure a working npm is on PATH. On some fresh machines the npm that ships with Node has been
# half-replaced by a failed self-upgrade (npm 12 needs Node 22), leaving no npm-cli.js; this puts a
# Node 20-compatible npm back from the npm registry, using only Node itself.
set -euo pipefail
if npm --version >/dev/null 2>&1; then exit 0; fi
version=11.21.2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "ensure-npm: npm is broken or missing; installing npm@$version" >&2
node -e '
  const [url, out] = process.argv.slice(1);
  fetch(url).then(async (r) => {
    if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
    require("fs").writeFileSync(out, Buffer.from(await r.arrayBuffer()));
  }).catch((e) => { console.error(e.message); process.exit(1); });
' "https://registry.npmjs.org/npm/-/npm-$version.tgz" "$work/npm.tgz"
tar -xzf "$work/npm.tgz" -C "$work"
node "$work/package/bin/npm-cli.js" install -g --no-audit --no-fund "npm@$version" >&2
hash -r
npm --version >/dev/null
