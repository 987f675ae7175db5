// Questions over a PassThrough pair: ask re-asks with the check's reason and takes the default,
// askNewSecret refuses a mismatch, choose refuses invalid numbers and pages beyond 20 items,
// confirm reads y/yes/n/no; fitLine cuts to 79 columns with '…'.
import t from 'tap';
import { ask, askNewSecret, choose, confirm, fitLine } from '../../src/console/prompts.js';
import { ConsoleInterrupt } from '../../src/console/terminal.js';
import { fakeConsole } from './harness.js';

const notThirtyThree = (answer: string) => (answer === '33' ? 'not 33, please' : undefined);

t.test('ask re-asks with the reason until the check accepts', async (t) => {
  const c = fakeConsole();
  c.type('33\r 34 \r');
  t.equal(await ask(c.term, 'Number', { check: notThirtyThree }), '34', 'answers are trimmed');
  t.equal(c.screen(), 'Number: 33\r\n  ! not 33, please\r\nNumber:  34 \r\n');
});

t.test('ask shows the default and an empty answer takes it; the check sees the default too', async (t) => {
  const c = fakeConsole();
  c.type('\r');
  t.equal(await ask(c.term, 'Host name: ', { default: 'gatehouse' }), 'gatehouse');
  t.equal(c.screen(), 'Host name [gatehouse]: \r\n', 'a trailing ": " in the prompt is not doubled');
  const bad = fakeConsole();
  bad.type('\r35\r');
  t.equal(await ask(bad.term, 'Number', { default: '33', check: notThirtyThree }), '35');
  t.match(bad.screen(), '  ! not 33, please');
});

t.test('ask with secret echoes nothing, keeps spaces and does not show the default', async (t) => {
  const c = fakeConsole();
  c.type(' pass word \r');
  t.equal(await ask(c.term, 'Token', { secret: true, default: 'old-token' }), ' pass word ');
  t.equal(c.screen(), 'Token: \r\n');
});

t.test('askNewSecret: check first, then a mismatch is refused, then a match is returned', async (t) => {
  const c = fakeConsole();
  const tooShort = (s: string) => (s.length < 8 ? 'at least 8 characters' : undefined);
  c.type('short\rcorrect horse\rcorrect hose\rcorrect horse\rcorrect horse\r');
  t.equal(await askNewSecret(c.term, 'New password', tooShort), 'correct horse');
  t.equal(
    c.screen(),
    [
      'New password: ',
      '  ! at least 8 characters',
      'New password: ',
      'New password (again): ',
      '  ! the two entries differ',
      'New password: ',
      'New password (again): ',
      '',
    ].join('\r\n'),
  );
  t.notMatch(c.screen(), /horse|hose|short/);
});

t.test('choose: a numbered list, invalid answers re-asked, the default taken on Enter', async (t) => {
  const c = fakeConsole();
  const items = [
    { label: 'eth0 (up, 52:54:00:12:34:56)', value: 'eth0' },
    { label: `ens3 ${'x'.repeat(200)}`, value: 'ens3' },
  ];
  c.type('0\rthree\r3\r2\r');
  t.equal(await choose(c.term, 'Interface', items), 'ens3');
  const lines = c.screen().split('\r\n');
  t.equal(lines[0], 'Interface');
  t.equal(lines[1], '  1) eth0 (up, 52:54:00:12:34:56)');
  t.equal(lines[2]!.length, 79, 'a long label is cut to 79 columns');
  t.ok(lines[2]!.endsWith('…'));
  t.equal(c.screen().match(/  ! type a number from 1 to 2/g)?.length, 3);
  t.ok(lines.every((line) => [...line].length <= 80), 'everything fits 80 columns');

  const d = fakeConsole();
  d.type('\r');
  t.equal(await choose(d.term, 'Interface', items, { default: 1 }), 'ens3', 'default is an index into items');
  t.match(d.screen(), 'Choice (1-2) [2]: ');
});

t.test('choose pages more than 20 items with n and p; any number is accepted on any page', async (t) => {
  const c = fakeConsole();
  const items = Array.from({ length: 45 }, (_, i) => ({ label: `item ${i + 1}`, value: i + 1 }));
  c.type('p\rn\rn\rn\rp\r44\r');
  t.equal(await choose(c.term, 'Pick', items), 44);
  const screen = c.screen();
  t.match(screen, '(page 1 of 3: n = next page, p = previous page)');
  t.match(screen, '  ! this is the first page');
  t.match(screen, '(page 3 of 3');
  t.match(screen, '  ! this is the last page');
  const pages = screen.split('Pick\r\n').slice(1);
  t.equal(pages.length, 4, 'page 1, 2, 3, then 2 again');
  t.match(pages[1], '  21) item 21');
  t.notMatch(pages[1], ' 1) item 1\r');
  t.match(pages[2], '  45) item 45');
  for (const page of pages) t.ok(page.split('Choice')[0]!.split('\r\n').length + 1 <= 23, 'a page with its title and prompt fits 24 lines, with room for a refusal');

  const late = fakeConsole();
  late.type('\r');
  t.equal(await choose(late.term, 'Pick', items, { default: 30 }), 31);
  t.match(late.screen(), '  31) item 31', 'the page holding the default is shown first');
  t.notMatch(late.screen(), '   1) item 1\r');
});

t.test('confirm reads y, yes, n, no in any case; the default on Enter; re-asks otherwise', async (t) => {
  const c = fakeConsole();
  c.type('maybe\rYES\rn\rY\rNo\r\r\r');
  t.equal(await confirm(c.term, 'Apply?'), true);
  t.equal(await confirm(c.term, 'Apply?'), false);
  t.equal(await confirm(c.term, 'Apply?', false), true);
  t.equal(await confirm(c.term, 'Apply?', true), false);
  t.equal(await confirm(c.term, 'Apply?', true), true);
  t.equal(await confirm(c.term, 'Apply?', false), false);
  t.match(c.screen(), 'Apply? [y/n]: maybe\r\n  ! answer y or n\r\nApply? [y/n]: YES');
  t.match(c.screen(), 'Apply? [Y/n]: ');
  t.match(c.screen(), 'Apply? [y/N]: ');
});

t.test('prompts pass ConsoleInterrupt through', async (t) => {
  const c = fakeConsole();
  c.type('\x03');
  await t.rejects(ask(c.term, 'Name'), ConsoleInterrupt);
});

t.test('fitLine cuts by display columns with an ellipsis', async (t) => {
  t.equal(fitLine('short'), 'short');
  t.equal(fitLine('x'.repeat(79)), 'x'.repeat(79));
  t.equal(fitLine('x'.repeat(80)), `${'x'.repeat(78)}…`);
  t.equal(fitLine('abcdef', 4), 'abc…');
  t.equal(fitLine('日本語テキスト', 7), '日本語…', 'wide characters count two columns');
});
