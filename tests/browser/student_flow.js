/*
 * A student's session in JupyterLab, in headless Chromium (playwright-core, Debian's chromium):
 * log in, open a problem from the Problems panel, submit a wrong then a right solution and
 * see the verdicts, ask the tutor and see the reply stream in, switch JupyterLab to Korean
 * and see Korean labels. Screenshots of each step go to OUT_DIR.
 *
 * Run by tests/browser/test_browser.py with the environment: HUB_URL, USERNAME, PASSWORD,
 * PROBLEM, WRONG_CODE, RIGHT_CODE, OUT_DIR, CHROMIUM, PLAYWRIGHT_CORE (the module's path).
 * Prints one JSON line with what it saw; exits non-zero (with the reason) when a check fails.
 */
'use strict';

const fs = require('fs');
const path = require('path');
const { chromium } = require(process.env.PLAYWRIGHT_CORE);

const env = name => {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set`);
  }
  return value;
};

const HUB_URL = env('HUB_URL');
const USERNAME = env('USERNAME');
const PROBLEM = env('PROBLEM');
const OUT_DIR = env('OUT_DIR');
const seen = { steps: [] };

function check(condition, message) {
  if (!condition) {
    throw new Error(`check failed: ${message}`);
  }
}

async function shot(page, name) {
  // JupyterLab asks once whether to fetch Jupyter news; answer so it leaves the pictures
  const news = page.locator('.jp-toast-message', { hasText: 'Jupyter news' });
  if (await news.count()) {
    await page.locator('.Toastify__toast button', { hasText: /^No$/ }).first().click();
    await news.waitFor({ state: 'detached' });
  }
  const file = path.join(OUT_DIR, `${name}.png`);
  await page.screenshot({ path: file });
  seen.steps.push(name);
}

/** Open a sidebar panel by its tab (the panel's id is the tab's data-id). */
async function openSidebar(page, id) {
  const tab = page.locator(`.lm-TabBar-tab[data-id="${id}"]`);
  await tab.waitFor({ state: 'visible', timeout: 60000 });
  const panel = page.locator(`#${id}`);
  if (!(await panel.isVisible())) {
    await tab.click();
  }
  await panel.waitFor({ state: 'visible' });
  return panel;
}

/** Replace the source of the notebook's first code cell (the starter) with `code`. */
async function setStarter(page, code) {
  const editor = page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .cm-content').first();
  await editor.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  // insertText: no key events, so the editor neither indents nor closes brackets itself
  await page.keyboard.insertText(code);
  await page.keyboard.press('Escape');
}

async function submitAndWait(page, verdict) {
  const card = page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-codetutor-card');
  await page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-codetutor-submitButton').click();
  // the card goes through its stages, then shows the verdict
  await card.locator(`.jp-codetutor-verdict[data-verdict="${verdict}"]`).waitFor({ timeout: 120000 });
  return card;
}

async function main() {
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const browser = await chromium.launch({
    executablePath: env('CHROMIUM'),
    args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage']
  });
  try {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'en-US' });
    context.setDefaultTimeout(60000);
    const page = await context.newPage();
    const consoleErrors = [];
    page.on('pageerror', error => consoleErrors.push(String(error)));

    // 1. Log in as the student; the Hub starts their server and JupyterLab opens.
    await page.goto(`${HUB_URL}/hub/login`);
    await page.fill('input[name="username"]', USERNAME);
    await page.fill('input[name="password"]', env('PASSWORD'));
    await Promise.all([page.waitForNavigation(), page.press('input[name="password"]', 'Enter')]);
    await page.goto(`${HUB_URL}/user/${USERNAME}/lab?reset`, { timeout: 180000 });
    await page.locator('#jp-main-dock-panel').waitFor({ timeout: 180000 });

    // 2. The Problems panel lists the problem with title, difficulty and tags.
    const problems = await openSidebar(page, 'codetutor-problems');
    const item = problems.locator(`.jp-codetutor-problem[data-problem="${PROBLEM}"]`);
    await item.waitFor();
    const problemCount = await problems.locator('.jp-codetutor-problem').count();
    check(problemCount > 1, `the panel lists the published problems (${problemCount})`);
    const itemText = await item.innerText();
    check(/Leap year/.test(itemText), `the problem shows its English title: ${itemText}`);
    check(/★/.test(itemText), 'the problem shows its difficulty');
    await shot(page, '01-problems-panel');
    // search and the tag filter narrow the list; clearing them brings everything back
    await problems.locator('.jp-codetutor-search').fill('leap');
    const filtered = await problems.locator('.jp-codetutor-problem').count();
    check(filtered >= 1 && filtered < problemCount, `search narrows the list (${filtered})`);
    await problems.locator('.jp-codetutor-search').fill('');
    await problems.locator('.jp-codetutor-tag').selectOption('conditionals');
    const tagged = await problems.locator('.jp-codetutor-problem').count();
    check(tagged >= 1 && tagged < problemCount, `the tag filter narrows the list (${tagged})`);
    await problems.locator('.jp-codetutor-tag').selectOption('');
    check(
      (await problems.locator('.jp-codetutor-problem').count()) === problemCount,
      'clearing the filters shows every problem again'
    );
    const recommended = await problems.locator('.jp-codetutor-recommendations li').count();
    check(recommended >= 1, 'the Recommended next list shows something (or says why not)');
    seen.problems = { listed: problemCount, filtered, tagged, recommended };

    // 3. A click opens the problem notebook with a Submit button.
    await item.click();
    const submit = page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-codetutor-submitButton');
    await submit.waitFor({ state: 'visible', timeout: 60000 });
    check(
      (await page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell').count()) >= 2,
      'the notebook has its starter and public test cells'
    );

    // 4. A wrong solution: Wrong Answer, with the hidden case that failed (status only).
    await setStarter(page, env('WRONG_CODE'));
    let card = await submitAndWait(page, 'wrong_answer');
    const wrongText = await card.innerText();
    check(/Wrong Answer/.test(wrongText), `the card says Wrong Answer: ${wrongText}`);
    check(/hidden/.test(wrongText), 'hidden cases are listed');
    const failedRows = await card.locator('.jp-codetutor-case-failed').count();
    check(failedRows >= 1, 'a failed case row is shown');
    seen.wrong = { text: wrongText.slice(0, 400), failedRows };
    await shot(page, '02-wrong-answer');

    // 5. The fix: Accepted, every case passed; the history lists both submissions.
    await setStarter(page, env('RIGHT_CODE'));
    card = await submitAndWait(page, 'accepted');
    const rightText = await card.innerText();
    check(/Accepted/.test(rightText), `the card says Accepted: ${rightText}`);
    check(/Score 100%/.test(rightText), 'the score is 100%');
    check((await card.locator('.jp-codetutor-case-failed').count()) === 0, 'no case failed');
    await card.locator('.jp-codetutor-history summary').click();
    const history = await card.locator('.jp-codetutor-historyList li').count();
    check(history >= 2, `the history lists both submissions (${history})`);
    seen.accepted = { text: rightText.slice(0, 400), history };
    await shot(page, '03-accepted');
    // the panel now shows the best verdict for the problem
    await problems.locator(`.jp-codetutor-problem[data-problem="${PROBLEM}"] .jp-codetutor-verdictBadge`).waitFor();

    // 6. Ask the tutor: the reply streams in (several growing states), then ends.
    const tutor = await openSidebar(page, 'codetutor-tutor');
    await tutor.locator('.jp-codetutor-context').filter({ hasText: PROBLEM }).waitFor();
    await tutor.locator('textarea').fill('How do I check whether a year is a leap year?');
    await tutor.locator('textarea').press('Enter');
    const bubble = tutor.locator('.jp-codetutor-from-tutor').last();
    const states = new Set();
    const deadline = Date.now() + 240000;
    for (;;) {
      const streaming = await bubble.evaluate(el => el.classList.contains('jp-mod-streaming'));
      const text = (await bubble.locator('.jp-codetutor-text').innerText()).trim();
      if (text) {
        states.add(text);
      }
      if (!streaming) {
        break;
      }
      check(Date.now() < deadline, 'the tutor finished its reply in time');
      await page.waitForTimeout(50);
    }
    const notice = (await tutor.locator('.jp-codetutor-notice').first().innerText()).trim();
    check(!notice, `the tutor answered without an error: ${notice}`);
    const reply = (await bubble.locator('.jp-codetutor-text').innerText()).trim();
    check(reply.length > 0, 'the tutor replied');
    check(states.size >= 2, `the reply streamed in pieces (${states.size} states seen)`);
    seen.tutor = { reply: reply.slice(0, 400), states: states.size };
    await shot(page, '04-tutor');

    // 7. Switch JupyterLab to Korean from the Settings menu; the page reloads in Korean.
    await page.locator('.lm-MenuBar-itemLabel', { hasText: /^Settings$/ }).click();
    await page.locator('.lm-Menu-itemLabel', { hasText: /^Language$/ }).click();
    await page.locator('.lm-Menu-itemLabel', { hasText: /한국어/ }).click();
    await Promise.all([
      page.waitForNavigation({ timeout: 120000 }),
      page.locator('.jp-Dialog .jp-mod-accept').click()
    ]);
    await page.locator('#jp-main-dock-panel').waitFor({ timeout: 180000 });
    const problemsKo = await openSidebar(page, 'codetutor-problems');
    await problemsKo.locator('.jp-codetutor-heading', { hasText: '문제' }).waitFor();
    const koTitle = await problemsKo.locator(`.jp-codetutor-problem[data-problem="${PROBLEM}"] .jp-codetutor-problemTitle`).innerText();
    check(koTitle === '윤년 판별', `the problem's Korean title is shown: ${koTitle}`);
    const searchPlaceholder = await problemsKo.locator('.jp-codetutor-search').getAttribute('placeholder');
    check(searchPlaceholder === '문제 검색', `the search box is in Korean: ${searchPlaceholder}`);
    await problemsKo.locator(`.jp-codetutor-problem[data-problem="${PROBLEM}"]`).click();
    const submitKo = page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-codetutor-submitButton');
    await submitKo.waitFor({ state: 'visible' });
    await problemsKo.locator('.jp-codetutor-status').waitFor({ state: 'hidden' });
    const submitLabel = (await submitKo.innerText()).trim();
    check(submitLabel === '제출', `the Submit button is in Korean: ${submitLabel}`);
    const badge = (await problemsKo.locator(`.jp-codetutor-problem[data-problem="${PROBLEM}"] .jp-codetutor-verdictBadge`).innerText()).trim();
    check(badge === '맞았습니다', `the best verdict is in Korean: ${badge}`);
    seen.korean = { title: koTitle, submit: submitLabel, badge, placeholder: searchPlaceholder };
    await shot(page, '05-korean');

    check(consoleErrors.length === 0, `no uncaught page errors: ${consoleErrors.join('; ')}`);
  } finally {
    await browser.close();
  }
}

main().then(
  () => {
    process.stdout.write(JSON.stringify(seen) + '\n');
  },
  error => {
    process.stdout.write(JSON.stringify(seen) + '\n');
    process.stderr.write(`${error.stack || error}\n`);
    process.exit(1);
  }
);
