// SSH_ASKPASS for the e2e tests: OpenSSH runs it once per prompt (password and keyboard-interactive)
// with the prompt as its argument. It records the prompt and answers with the first configured
// answer whose pattern the prompt contains; no match makes ssh give up on that prompt.
import { appendFileSync, readFileSync } from 'node:fs';

const prompt = process.argv[2] ?? '';
appendFileSync(process.env.GATEHOUSE_ASKPASS_LOG, `${JSON.stringify(prompt)}\n`);
const answers = JSON.parse(readFileSync(process.env.GATEHOUSE_ASKPASS_ANSWERS, 'utf8'));
const match = answers.find(([pattern]) => prompt.includes(pattern));
if (!match) process.exit(1);
process.stdout.write(`${match[1]}\n`);
