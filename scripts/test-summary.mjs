// Reads tap's output and prints the plain closing line CI looks for: "N passed, M failed". A second
// argument, "passed" or "failed", is the appliance boot test's outcome, counted as one more test.
import { readFileSync } from 'node:fs';

const text = readFileSync(process.argv[2], 'utf8');
const boot = process.argv[3];
const totals = [...text.matchAll(/^# \{ (.*) \}$/gm)].at(-1)?.[1];
if (!totals) {
  console.log('tests: 0 passed, 1 failed');
  process.exit(0);
}
const count = (key) => Number(new RegExp(`\\b${key}: (\\d+)`).exec(totals)?.[1] ?? 0);
const skipped = count('skip') + count('todo');
const passed = count('pass') + (boot === 'passed' ? 1 : 0);
const failed = count('fail') + (boot === 'failed' ? 1 : 0);
console.log(`tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
