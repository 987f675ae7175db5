// Reads tap's output and prints the plain closing line CI looks for: "N passed, M failed".
import { readFileSync } from 'node:fs';

const text = readFileSync(process.argv[2], 'utf8');
const totals = [...text.matchAll(/^# \{ (.*) \}$/gm)].at(-1)?.[1];
if (!totals) {
  console.log('tests: 0 passed, 1 failed');
  process.exit(0);
}
const count = (key) => Number(new RegExp(`\\b${key}: (\\d+)`).exec(totals)?.[1] ?? 0);
const skipped = count('skip') + count('todo');
console.log(`tests: ${count('pass')} passed, ${count('fail')} failed${skipped ? `, ${skipped} skipped` : ''}`);
