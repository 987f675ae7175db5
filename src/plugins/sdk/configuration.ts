// Typed access to a plugin configuration: the ini text, with credential-store entries winning over it.
//
// Every lookup asks the credential store first (host = section, username = option, as in SPS:
// "if an option appears in the Credential Store, the plugin will use it"). A file value of exactly
// `$` means "only from the credential store"; exactly `$$` is a literal `$`.
import { PluginConfigurationError } from './errors.js';
import { parseIni, type IniDocument } from './ini.js';

export type SecretLookup = (section: string, option: string) => Promise<string | undefined>;

interface Found {
  value: string;
  line?: number; // absent for credential-store values
}

export class PluginConfiguration {
  private readonly secrets = new Map<string, Promise<string | undefined>>();

  constructor(
    private readonly document: IniDocument,
    private readonly secret: SecretLookup,
  ) {}

  /** Throws PluginConfigurationError (naming line, section and option) for malformed text. */
  static parse(text: string, secret: SecretLookup): PluginConfiguration {
    return new PluginConfiguration(parseIni(text), secret);
  }

  hasSection(section: string): boolean {
    return this.document.sections.has(section);
  }

  sectionNames(): string[] {
    return [...this.document.sections.keys()];
  }

  /** Where the section's header is, for error messages. */
  sectionLine(section: string): number | undefined {
    return this.document.sections.get(section)?.line;
  }

  get(section: string, option: string): Promise<string | undefined>;
  get(section: string, option: string, fallback: string): Promise<string>;
  async get(section: string, option: string, fallback?: string): Promise<string | undefined> {
    return (await this.find(section, option))?.value ?? fallback;
  }

  async require(section: string, option: string): Promise<string> {
    const found = await this.find(section, option);
    if (found) return found.value;
    const placeholder = this.document.sections.get(section)?.options.get(option.toLowerCase());
    const problem = placeholder
      ? `is "$" but the credential store has no entry for host "${section}", user "${option.toLowerCase()}"`
      : 'is required';
    throw new PluginConfigurationError(problem, { line: placeholder?.line, section, option: option.toLowerCase() });
  }

  /** `yes` or `no` in any case; anything else (true, 1, on, ...) is an error, as in the SPS SDK. */
  getBoolean(section: string, option: string, fallback: boolean): Promise<boolean> {
    return this.getParsed(section, option, fallback, 'yes or no', (text) => {
      const word = text.toLowerCase();
      return word === 'yes' ? true : word === 'no' ? false : undefined;
    });
  }

  getInt(section: string, option: string, fallback: number, range: { min?: number; max?: number } = {}): Promise<number> {
    const min = range.min ?? Number.MIN_SAFE_INTEGER;
    const max = range.max ?? Number.MAX_SAFE_INTEGER;
    return this.getParsed(section, option, fallback, `an integer from ${min} to ${max}`, (text) => {
      if (!/^[+-]?\d+$/.test(text)) return undefined;
      const value = Number(text);
      return value >= min && value <= max ? value : undefined;
    });
  }

  /** One of `values`, compared case-insensitively; returns the spelling in `values`. */
  getEnum<T extends string>(section: string, option: string, values: readonly T[], fallback: T): Promise<T> {
    return this.getParsed(section, option, fallback, `one of ${values.join(', ')}`, (text) =>
      values.find((value) => value.toLowerCase() === text.toLowerCase()),
    );
  }

  /** Comma-separated, each item trimmed, empty items dropped. */
  async getList(section: string, option: string, fallback: readonly string[] = []): Promise<string[]> {
    const text = await this.get(section, option);
    if (text === undefined) return [...fallback];
    return text
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
  }

  /** `parse` returns undefined for text it refuses; the error then says what was `expected`. */
  async getParsed<T>(section: string, option: string, fallback: T, expected: string, parse: (text: string) => T | undefined): Promise<T> {
    const found = await this.find(section, option);
    if (!found) return fallback;
    const value = parse(found.value);
    if (value !== undefined) return value;
    const origin = found.line === undefined ? ' (from the credential store)' : '';
    throw new PluginConfigurationError(`expected ${expected}, got ${JSON.stringify(found.value)}${origin}`, {
      line: found.line,
      section,
      option: option.toLowerCase(),
    });
  }

  private async find(section: string, option: string): Promise<Found | undefined> {
    const name = option.toLowerCase();
    const stored = await this.lookupSecret(section, name);
    if (stored !== undefined) return { value: stored };
    const inFile = this.document.sections.get(section)?.options.get(name);
    if (!inFile || inFile.value === '$') return undefined;
    return { value: inFile.value === '$$' ? '$' : inFile.value, line: inFile.line };
  }

  private lookupSecret(section: string, option: string): Promise<string | undefined> {
    const key = JSON.stringify([section, option]);
    let pending = this.secrets.get(key);
    if (!pending) {
      pending = this.secret(section, option);
      this.secrets.set(key, pending);
    }
    return pending;
  }
}
