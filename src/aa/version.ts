// Version strings of plugins and of the appliance: their syntax and their order.

/** 1 to 4 dot-separated numbers and an optional pre-release suffix: 1.0, 2.3.1, 6.0.0.1, 1.0.0-beta.2. */
const VERSION = /^(\d{1,9}(?:\.\d{1,9}){0,3})(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;
const MAX_LENGTH = 64;

interface ParsedVersion {
  numbers: number[];
  /** Pre-release identifiers; undefined for a release. */
  pre: string[] | undefined;
  /** A bound written "X~": just below X and below every pre-release of X. */
  tilde: boolean;
}

export function isVersion(text: string): boolean {
  return text.length <= MAX_LENGTH && VERSION.test(text);
}

/**
 * A version, or a release followed by "~", which sorts just below that release and its
 * pre-releases (Debian's rule; SPS's `scb_max_version: 7.0~` means "below 7.0").
 */
export function isVersionBound(text: string): boolean {
  return isVersion(text) || (text.endsWith('~') && isVersion(text.slice(0, -1)) && !text.includes('-'));
}

/**
 * Negative, zero or positive as `a` sorts before, with or after `b`. Missing numbers count as 0
 * (1.0 equals 1.0.0); a pre-release sorts below its release, pre-release identifiers as in SemVer.
 */
export function compareVersions(a: string, b: string): number {
  const [x, y] = [parse(a), parse(b)];
  for (let i = 0; i < 4; i++) {
    const difference = (x.numbers[i] ?? 0) - (y.numbers[i] ?? 0);
    if (difference !== 0) return Math.sign(difference);
  }
  if (x.tilde || y.tilde) return Number(y.tilde) - Number(x.tilde);
  return comparePreRelease(x.pre, y.pre);
}

function parse(text: string): ParsedVersion {
  const tilde = text.endsWith('~');
  if (!(tilde ? isVersionBound(text) : isVersion(text))) throw new Error(`not a version: ${JSON.stringify(text)}`);
  const [, numbers, pre] = VERSION.exec(tilde ? text.slice(0, -1) : text) as RegExpExecArray;
  return { numbers: numbers.split('.').map(Number), pre: pre?.split('.'), tilde };
}

function comparePreRelease(a: string[] | undefined, b: string[] | undefined): number {
  if (!a || !b) return Number(!a) - Number(!b);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (i >= a.length) return -1;
    if (i >= b.length) return 1;
    const [p, q] = [a[i], b[i]];
    const [pNumeric, qNumeric] = [/^\d+$/.test(p), /^\d+$/.test(q)];
    if (pNumeric && qNumeric) {
      const [m, n] = [BigInt(p), BigInt(q)];
      if (m !== n) return m < n ? -1 : 1;
    } else if (pNumeric !== qNumeric) {
      return pNumeric ? -1 : 1;
    } else if (p !== q) {
      return p < q ? -1 : 1;
    }
  }
  return 0;
}
