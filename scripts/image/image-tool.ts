// The TypeScript steps of scripts/build-image, so that the image and the appliance share one definition
// of a boot entry and of a bundle:
//   entry SLOT VERSION                   the slot's boot entry (blessed: no boot counter) on stdout
//   bundle OUT VERSION ROOT KERNEL INITRD KEY.pem
//                                        a signed upgrade bundle (the appliance's `firmware upgrade` input)
//   manifest OUT VERSION PACKAGES.tsv STEPS.tsv FILE...
//                                        the build manifest: versions, every Debian package, output hashes
import { createHash, createPrivateKey } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { writeBundle } from '../../src/system/firmware/bundle.js';
import { renderBootEntry, type Slot } from '../../src/system/firmware/updater.js';
import { APPLIANCE_LAYOUT } from '../../src/cli/firmware.js';

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function tsv(text: string): string[][] {
  return text.split('\n').filter(Boolean).map((line) => line.split('\t'));
}

async function main(args: string[]): Promise<void> {
  const [command, ...rest] = args;
  switch (command) {
    case 'entry': {
      const [slot, version] = rest;
      if ((slot !== 'a' && slot !== 'b') || !version) throw new Error('usage: entry a|b VERSION');
      process.stdout.write(renderBootEntry(slot as Slot, version, APPLIANCE_LAYOUT.kernelOptions));
      return;
    }
    case 'bundle': {
      const [out, version, root, kernel, initrd, keyFile] = rest;
      if (!out || !version || !root || !kernel || !initrd || !keyFile) throw new Error('usage: bundle OUT VERSION ROOT KERNEL INITRD KEY.pem');
      const key = createPrivateKey(await readFile(keyFile, 'utf8'));
      const manifest = await writeBundle(out, { version, arch: 'x86_64', files: { 'root.erofs': root, vmlinuz: kernel, 'initrd.img': initrd } }, key);
      process.stdout.write(`${out}: version ${manifest.version}, ${Object.values(manifest.files).reduce((sum, f) => sum + f.size, 0)} bytes signed\n`);
      return;
    }
    case 'manifest': {
      const [out, version, packagesFile, stepsFile, ...files] = rest;
      if (!out || !version || !packagesFile || !stepsFile) throw new Error('usage: manifest OUT VERSION PACKAGES.tsv STEPS.tsv FILE...');
      const packages = tsv(await readFile(packagesFile, 'utf8')).map(([name, packageVersion, arch]) => ({ name, version: packageVersion, arch }));
      const steps = tsv(await readFile(stepsFile, 'utf8')).map(([step, seconds]) => ({ step, seconds: Number(seconds) }));
      const outputs = [];
      for (const file of files) outputs.push({ name: basename(file), size: (await stat(file)).size, sha256: await sha256(file) });
      const manifest = {
        product: 'gatehouse',
        version,
        arch: 'x86_64',
        built: new Date(Number(process.env.SOURCE_DATE_EPOCH ?? Date.now() / 1000) * 1000).toISOString(),
        gitCommit: process.env.GATEHOUSE_GIT_COMMIT ?? null,
        debianSuite: process.env.GATEHOUSE_DEBIAN_SUITE ?? null,
        node: packages.find((p) => p.name === 'nodejs')?.version ?? null,
        kernel: packages.find((p) => p.name.startsWith('linux-image-') && /\d/.test(p.name))?.name ?? null,
        steps,
        outputs,
        packages,
      };
      await writeFile(out, `${JSON.stringify(manifest, null, 2)}\n`);
      return;
    }
    default:
      throw new Error('usage: image-tool entry|bundle|manifest ...');
  }
}

main(process.argv.slice(2)).catch((err: Error) => {
  process.stderr.write(`image-tool: ${err.message}\n`);
  process.exit(1);
});
