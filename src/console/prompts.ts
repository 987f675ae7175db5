// Questions on the console terminal: a free answer with a default and a check, a new secret typed
// twice, a numbered choice (paged beyond 20 items so a page fits 80x24), a yes/no question.
// Every refusal is one line, "  ! <reason>", and the question is asked again. ConsoleInterrupt,
// ConsoleIdle and ConsoleClosed from the terminal pass through untouched.
import { charWidth, displayWidth, type ConsoleTerminal } from './terminal.js';

/** undefined = valid; otherwise the reason shown to the person typing. */
export type Check = (answer: string) => string | undefined;

const PAGE_SIZE = 20;
const WIDTH = 79;

/** Cuts `text` to `width` columns (default 79), ending with '…' when something was cut. */
export function fitLine(text: string, width = WIDTH): string {
  if (displayWidth(text) <= width) return text;
  let kept = '';
  let used = 0;
  for (const char of text) {
    const w = charWidth(char);
    if (used + w > width - 1) break;
    kept += char;
    used += w;
  }
  return `${kept}…`;
}

function refuse(term: ConsoleTerminal, reason: string): void {
  term.write(`  ! ${reason}\n`);
}

/** "Hostname", "Hostname:" and "Hostname: " all read as "Hostname". */
function bare(prompt: string): string {
  return prompt.replace(/[\s:]+$/u, '');
}

/**
 * Asks until `check` accepts. Shown as "prompt: " or "prompt [default]: " (a secret's default is
 * not shown). An empty answer takes the default. Answers that are not secret are trimmed.
 */
export async function ask(
  term: ConsoleTerminal,
  prompt: string,
  options: { default?: string; check?: Check; secret?: boolean } = {},
): Promise<string> {
  const secret = options.secret === true;
  const shown = options.default !== undefined && !secret ? `${bare(prompt)} [${options.default}]: ` : `${bare(prompt)}: `;
  for (;;) {
    const typed = await term.readLine(shown, { secret });
    const answer = typed === '' || (!secret && typed.trim() === '') ? (options.default ?? '') : secret ? typed : typed.trim();
    const reason = options.check?.(answer);
    if (reason === undefined) return answer;
    refuse(term, reason);
  }
}

/** Asks for a new secret twice without echo; `check` is applied to the first entry. */
export async function askNewSecret(term: ConsoleTerminal, prompt: string, check: Check): Promise<string> {
  for (;;) {
    const first = await term.readLine(`${bare(prompt)}: `, { secret: true });
    const reason = check(first);
    if (reason !== undefined) {
      refuse(term, reason);
      continue;
    }
    const second = await term.readLine(`${bare(prompt)} (again): `, { secret: true });
    if (first === second) return first;
    refuse(term, 'the two entries differ');
  }
}

/**
 * A numbered list, 1..n. `options.default` is an index into `items` (0-based; shown as its
 * number). More than 20 items are shown 20 at a time; 'n' and 'p' turn the page, and any number
 * from 1 to n is accepted on any page.
 */
export async function choose<T>(
  term: ConsoleTerminal,
  title: string,
  items: { label: string; value: T }[],
  options: { default?: number } = {},
): Promise<T> {
  if (items.length === 0) throw new Error('choose needs at least one item');
  const fallback = options.default;
  if (fallback !== undefined && (!Number.isInteger(fallback) || fallback < 0 || fallback >= items.length)) {
    throw new Error(`choose: default ${fallback} is not an index of the ${items.length} items`);
  }
  const pages = Math.ceil(items.length / PAGE_SIZE);
  const numberWidth = String(items.length).length;
  let page = fallback === undefined ? 0 : Math.floor(fallback / PAGE_SIZE);
  let show = true;
  for (;;) {
    if (show) {
      term.write(`${fitLine(title)}\n`);
      const first = page * PAGE_SIZE;
      for (let i = first; i < Math.min(first + PAGE_SIZE, items.length); i++) {
        term.write(`${fitLine(`  ${String(i + 1).padStart(numberWidth)}) ${items[i]!.label}`)}\n`);
      }
      if (pages > 1) term.write(`  (page ${page + 1} of ${pages}: n = next page, p = previous page)\n`);
      show = false;
    }
    const range = `1-${items.length}${pages > 1 ? ', n, p' : ''}`;
    const prompt = fallback === undefined ? `Choice (${range}): ` : `Choice (${range}) [${fallback + 1}]: `;
    const answer = (await term.readLine(prompt)).trim().toLowerCase();
    if (answer === '' && fallback !== undefined) return items[fallback]!.value;
    if (pages > 1 && (answer === 'n' || answer === 'p')) {
      const next = answer === 'n' ? page + 1 : page - 1;
      if (next < 0 || next >= pages) {
        refuse(term, answer === 'n' ? 'this is the last page' : 'this is the first page');
      } else {
        page = next;
        show = true;
      }
      continue;
    }
    if (/^[0-9]+$/.test(answer)) {
      const chosen = Number(answer);
      if (chosen >= 1 && chosen <= items.length) return items[chosen - 1]!.value;
    }
    refuse(term, `type a number from 1 to ${items.length}${pages > 1 ? ", or 'n' or 'p' to turn the page" : ''}`);
  }
}

/** A yes/no question: y, yes, n, no (any case); an empty answer takes `defaultYes` when given. */
export async function confirm(term: ConsoleTerminal, question: string, defaultYes?: boolean): Promise<boolean> {
  const hint = defaultYes === undefined ? '[y/n]' : defaultYes ? '[Y/n]' : '[y/N]';
  for (;;) {
    const answer = (await term.readLine(`${bare(question)} ${hint}: `)).trim().toLowerCase();
    if (answer === '' && defaultYes !== undefined) return defaultYes;
    if (answer === 'y' || answer === 'yes') return true;
    if (answer === 'n' || answer === 'no') return false;
    refuse(term, 'answer y or n');
  }
}
