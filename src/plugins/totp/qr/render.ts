// Draws a QR code as terminal text with its 4-module quiet zone. On a dark terminal the light
// modules are the ones drawn (the glyphs take the light foreground colour); on a light one, the dark.
import type { QrCode } from './matrix.js';

export type TerminalBackground = 'dark' | 'light';
const QUIET_ZONE = 4;

/** Two module rows per line with half blocks: compact, needs a UTF-8 terminal. */
export function renderQrHalfBlocks(code: QrCode, background: TerminalBackground = 'dark'): string {
  const ink = inkedModules(code, background);
  const lines: string[] = [];
  for (let row = 0; row < ink.length; row += 2) {
    const top = ink[row];
    const bottom = ink[row + 1] ?? top.map(() => false);
    lines.push(top.map((upper, col) => (upper ? (bottom[col] ? '█' : '▀') : bottom[col] ? '▄' : ' ')).join(''));
  }
  return lines.join('\n') + '\n';
}

/** "##" per drawn module: large, but readable on any console, serial ones included. */
export function renderQrAscii(code: QrCode, background: TerminalBackground = 'dark'): string {
  return inkedModules(code, background)
    .map((row) => row.map((drawn) => (drawn ? '##' : '  ')).join(''))
    .join('\n') + '\n';
}

function inkedModules(code: QrCode, background: TerminalBackground): boolean[][] {
  const width = code.size + 2 * QUIET_ZONE;
  const drawLight = background === 'dark';
  return Array.from({ length: width }, (_, row) =>
    Array.from({ length: width }, (_, col) => {
      const r = row - QUIET_ZONE;
      const c = col - QUIET_ZONE;
      const dark = r >= 0 && c >= 0 && r < code.size && c < code.size && code.modules[r][c];
      return dark !== drawLight;
    }),
  );
}
