// Parses plugin configuration text with SPS semantics (Python ConfigParser + BasicInterpolation); pure.
//
// Decisions (see src/plugins/README.md): section names are case-sensitive, option names are
// lower-cased; `name=value` and `name: value` (the first `=` or `:` splits); whole-line `#`/`;`
// comments only; a line indented deeper than its option's line continues the value (PEM
// certificates) and a blank line ends it, but a `[...]` line is always a section header (Python
// would swallow an indented one into the value above); `[DEFAULT]` options appear in every section; `%%` is a
// literal `%` and `%(name)s` the value of another option of the same section (or of DEFAULT),
// resolved eagerly so a broken reference is reported when the text is read, not at first use.
// Duplicate sections or options, text outside a section and malformed lines are errors.
import { PluginConfigurationError } from './errors.js';

export interface IniValue {
  value: string;
  line: number;
}

export interface IniSection {
  name: string;
  line: number;
  /** Lower-cased option name → interpolated value; includes the DEFAULT section's options. */
  options: ReadonlyMap<string, IniValue>;
}

export interface IniDocument {
  /** In file order; the DEFAULT section is merged into the others, not listed. */
  sections: ReadonlyMap<string, IniSection>;
}

const DEFAULT_SECTION = 'DEFAULT';
/** Python's MAX_INTERPOLATION_DEPTH: a chain of more references than this is refused. */
const MAX_INTERPOLATION_DEPTH = 10;

interface RawOption {
  raw: string;
  line: number;
  indent: number;
}

interface RawSection {
  name: string;
  line: number;
  options: Map<string, RawOption>;
}

export function parseIni(text: string): IniDocument {
  const raw = readSections(text);
  const defaults = raw.get(DEFAULT_SECTION)?.options ?? new Map<string, RawOption>();
  const sections = new Map<string, IniSection>();
  for (const section of raw.values()) {
    if (section.name === DEFAULT_SECTION) continue;
    const scope = new Map([...defaults, ...section.options]);
    const resolver = new Interpolator(section.name, scope);
    const options = new Map<string, IniValue>();
    for (const [name, option] of scope) options.set(name, { value: resolver.resolve(name).value, line: option.line });
    sections.set(section.name, { name: section.name, line: section.line, options });
  }
  return { sections };
}

function readSections(text: string): Map<string, RawSection> {
  const sections = new Map<string, RawSection>();
  let section: RawSection | undefined;
  let continued: RawOption | undefined; // the option a deeper-indented line would continue
  const lines = text.split(/\r\n|\n|\r/);
  for (let index = 0; index < lines.length; index++) {
    const line = index + 1;
    const content = lines[index].trim();
    if (content === '') {
      continued = undefined;
      continue;
    }
    if (content.startsWith('#') || content.startsWith(';')) continue;
    const indent = lines[index].length - lines[index].trimStart().length;
    const header = content.startsWith('[') && content.endsWith(']');
    if (continued && indent > continued.indent && !header) {
      continued.raw += '\n' + content;
      continue;
    }
    continued = undefined;
    if (content.startsWith('[')) {
      section = openSection(content, line, sections);
      continue;
    }
    if (!section) throw new PluginConfigurationError('an option must follow a [section] header', { line });
    const delimiter = content.search(/[=:]/);
    if (delimiter < 0) throw new PluginConfigurationError(`expected "name=value", got ${quote(content)}`, { line, section: section.name });
    const name = content.slice(0, delimiter).trim().toLowerCase();
    if (name === '') throw new PluginConfigurationError(`missing option name before "${content[delimiter]}"`, { line, section: section.name });
    const earlier = section.options.get(name);
    if (earlier) throw new PluginConfigurationError(`already set on line ${earlier.line}`, { line, section: section.name, option: name });
    continued = { raw: content.slice(delimiter + 1).trim(), line, indent };
    section.options.set(name, continued);
  }
  return sections;
}

function openSection(content: string, line: number, sections: Map<string, RawSection>): RawSection {
  if (!content.endsWith(']')) throw new PluginConfigurationError(`a section header must end with "]": ${quote(content)}`, { line });
  const name = content.slice(1, -1);
  if (name.trim() === '') throw new PluginConfigurationError('empty section name', { line });
  if (name !== name.trim()) throw new PluginConfigurationError(`no spaces allowed just inside the brackets of ${quote(content)}`, { line });
  const earlier = sections.get(name);
  if (earlier) throw new PluginConfigurationError(`section defined twice (first on line ${earlier.line})`, { line, section: name });
  const section = { name, line, options: new Map<string, RawOption>() };
  sections.set(name, section);
  return section;
}

/** Resolves `%%` and `%(name)s` in one section, each option once (references may fan out). */
class Interpolator {
  private readonly done = new Map<string, { value: string; depth: number }>();
  private readonly inProgress = new Set<string>();

  constructor(
    private readonly section: string,
    private readonly scope: ReadonlyMap<string, RawOption>,
  ) {}

  /**
   * `depth` counts the nested interpolations Python would perform for this value; `nesting` is
   * this call's own depth, cut short so that a long chain of references cannot exhaust the stack.
   */
  resolve(name: string, nesting = 0): { value: string; depth: number } {
    const known = this.done.get(name);
    if (known) return known;
    const option = this.scope.get(name) as RawOption;
    const place = { line: option.line, section: this.section, option: name };
    if (nesting > MAX_INTERPOLATION_DEPTH) {
      throw new PluginConfigurationError(`references are nested more than ${MAX_INTERPOLATION_DEPTH} deep`, place);
    }
    if (this.inProgress.has(name)) throw new PluginConfigurationError('interpolation loop: the value refers back to itself', place);
    this.inProgress.add(name);
    let value = '';
    let depth = 0;
    let rest = option.raw;
    for (let at = rest.indexOf('%'); at >= 0; at = rest.indexOf('%')) {
      depth = Math.max(depth, 1);
      value += rest.slice(0, at);
      rest = rest.slice(at);
      if (rest.startsWith('%%')) {
        value += '%';
        rest = rest.slice(2);
        continue;
      }
      const reference = /^%\(([^)]+)\)s/.exec(rest);
      if (!reference) {
        throw new PluginConfigurationError(`"%" must be followed by "%" or "(name)s" (write %% for a literal %), found ${quote(rest.slice(0, 24))}`, place);
      }
      const target = reference[1].toLowerCase();
      if (!this.scope.has(target)) throw new PluginConfigurationError(`%(${reference[1]})s refers to an option this section does not have`, place);
      const resolved = this.resolve(target, nesting + 1);
      value += resolved.value;
      depth = Math.max(depth, resolved.depth + 1);
      rest = rest.slice(reference[0].length);
    }
    value += rest;
    if (depth > MAX_INTERPOLATION_DEPTH) {
      throw new PluginConfigurationError(`references are nested more than ${MAX_INTERPOLATION_DEPTH} deep`, place);
    }
    this.inProgress.delete(name);
    const result = { value, depth };
    this.done.set(name, result);
    return result;
  }
}

function quote(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text);
}
