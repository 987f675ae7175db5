// `gatehouse totp enroll USER --config NAME`: a new TOTP seed for USER, kept in the credential
// store for that AA plugin configuration, shown once as an otpauth:// URI and a terminal QR code.
import { parseArgs } from 'node:util';
import { PluginConfiguration } from '../plugins/sdk/configuration.js';
import { createEnrollment } from '../plugins/totp/enroll.js';
import { renderQrAscii, renderQrHalfBlocks } from '../plugins/totp/qr/render.js';
import { SEED_CREDENTIAL_HOST } from '../plugins/totp/seed.js';
import { readTotpSettings } from '../plugins/totp/settings.js';
import { send } from './credstore.js';
import { changeOrigin } from './origin.js';
import { dataDirectory } from './paths.js';
import { openConfigStore } from './stores.js';

const help = `Usage: gatehouse totp enroll USER --config NAME [--ascii] [--light]

Makes a new TOTP seed for USER (the MFA identity) under the AA plugin configuration NAME, stores
it in the encrypted credential store (host "${SEED_CREDENTIAL_HOST}", user USER, for NAME only), and
prints the otpauth:// URI and a QR code to scan with an authenticator app. The algorithm, digits,
period and issuer come from NAME's [totp] section. The seed is shown this once: enrol again to
replace it. --ascii draws the code with "#" for serial consoles; --light for light backgrounds.
`;

export async function totpCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { config: { type: 'string' }, ascii: { type: 'boolean' }, light: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  const [action, user] = positionals;
  if (values.help || action !== 'enroll') {
    process.stdout.write(help);
    return values.help ? 0 : 2;
  }
  if (!user) throw new Error('totp enroll needs a USER');
  if (!values.config) throw new Error('totp enroll needs --config NAME (an AA plugin configuration of the totp plugin)');
  const dataDir = dataDirectory();
  const configuration = (await openConfigStore(dataDir)).current().config.aaPluginConfigurations.find((c) => c.name === values.config);
  if (!configuration) throw new Error(`no AA plugin configuration named "${values.config}"`);
  if (configuration.plugin !== 'totp') throw new Error(`AA plugin configuration "${configuration.name}" uses plugin "${configuration.plugin}", not totp`);

  // Enrolment needs only the [totp] section's plain values, never a `$` lookup.
  const settings = await readTotpSettings(PluginConfiguration.parse(configuration.text, async () => undefined));
  const enrollment = createEnrollment(user, settings);
  await send(dataDir, { op: 'credstore-set-secret', origin: changeOrigin(), scope: configuration.name, section: SEED_CREDENTIAL_HOST, option: user, value: enrollment.seed });
  const background = values.light ? 'light' : 'dark';
  const qr = values.ascii ? renderQrAscii(enrollment.qr, background) : renderQrHalfBlocks(enrollment.qr, background);
  process.stdout.write(`${qr}\n${enrollment.uri}\n`);
  return 0;
}
