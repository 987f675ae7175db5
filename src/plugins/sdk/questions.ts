// `[question_N]`: extra answers asked after a successful authentication (a ticket number, ...),
// kept in `session_cookie.questions` where every plugin of the session can read them.
import type { PluginConfiguration } from './configuration.js';
import { PluginConfigurationError } from './errors.js';

export interface ExtraQuestion {
  key: string;
  prompt: string;
  disableEcho: boolean;
}

/** `[question_1]`, `[question_2]`, ... in order; a gap or a malformed number is an error, not ignored. */
export async function readQuestions(config: PluginConfiguration): Promise<ExtraQuestion[]> {
  const numbers = config
    .sectionNames()
    .filter((section) => section.startsWith('question_'))
    .map((section) => {
      const match = /^question_([1-9]\d{0,5})$/.exec(section);
      if (!match) throw new PluginConfigurationError('expected a section name question_1, question_2, ...', { section, line: config.sectionLine(section) });
      return Number(match[1]);
    })
    .sort((a, b) => a - b);
  const questions: ExtraQuestion[] = [];
  for (const [index, number] of numbers.entries()) {
    if (number !== index + 1) {
      const section = `question_${number}`;
      throw new PluginConfigurationError(`[question_${index + 1}] is missing: questions are numbered from 1 without gaps`, { section, line: config.sectionLine(section) });
    }
    const section = `question_${number}`;
    questions.push({
      key: await config.require(section, 'key'),
      prompt: await config.require(section, 'prompt'),
      // SPS documents "no"; its SDK code defaults to yes. We follow the documentation.
      disableEcho: await config.getBoolean(section, 'disable_echo', false),
    });
  }
  return questions;
}
