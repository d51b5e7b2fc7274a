/*
 * A student's daily workflow in JupyterLab (issue 17), in headless Chromium: the problems
 * panel's filters, sorts and recommendations; a problem opened in English, unmodified until
 * edited; submissions that survive reloads (the last verdict comes back, a judgement running
 * during the reload resumes its live stream); old submissions with their own code, in the
 * card and in My submissions (which comes back after a reload); a notebook with huge saved
 * outputs submitted; Reset to starter keeping a copy; the tutor's message limit and its
 * conversation per problem across reloads; and in Korean, the statement, starter comments,
 * tags and generated case names.
 *
 * Run by tests/browser/test_student_workflow.py with HUB_URL, USERNAME, PASSWORD, PROBLEM,
 * OTHER_PROBLEM, KOREAN_PROBLEM, WRONG_CODE, RIGHT_CODE, WRONG_MARK (a line only the wrong
 * code has), DEBUG_NOTEBOOK (a notebook with megabytes of saved output), OUT_DIR, CHROMIUM,
 * PLAYWRIGHT_CORE. Prints one JSON line with what it saw; exits non-zero when a check fails.
 */
'use strict';

const { check, env, launch, logIn, openSidebar, run, shot } = require('./lib');

const HUB_URL = env('HUB_URL');
const USERNAME = env('USERNAME');
const PROBLEM = env('PROBLEM');
const LAB = `${HUB_URL}/user/${USERNAME}/lab`;
const NOTEBOOK = '.jp-NotebookPanel:not(.lm-mod-hidden)';

async function setStarter(page, code) {
  const editor = page.locator(`${NOTEBOOK} .jp-CodeCell .cm-content`).first();
  await editor.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(code);
  await page.keyboard.press('Escape');
}

async function waitForLab(page) {
  await page.locator('#jp-main-dock-panel').waitFor({ timeout: 180000 });
}

/** The verdict shown on the open notebook's card, once it shows `verdict`. */
async function verdictShown(page, verdict, timeout = 120000) {
  const card = page.locator(`${NOTEBOOK} .jp-codetutor-card`);
  await card.locator(`.jp-codetutor-verdict[data-verdict="${verdict}"]`).waitFor({ timeout });
  return card;
}

/** POST to the extension's API as the logged-in student (cookie and XSRF token). */
async function apiPost(page, path, body) {
  const cookies = await page.context().cookies();
  const xsrf = (cookies.find(c => c.name === '_xsrf') || {}).value || '';
  const response = await page.request.post(`${HUB_URL}/user/${USERNAME}/codetutor/api/${path}`, {
    headers: { 'X-XSRFToken': xsrf, 'Content-Type': 'application/json' },
    data: JSON.stringify(body)
  });
  return { status: response.status(), body: await response.json().catch(() => ({})) };
}

/** Whether the saved JupyterLab workspace comes to mention `key` (within 30 s). */
async function waitForWorkspace(page, key) {
  for (let i = 0; i < 60; i++) {
    const response = await page.request.get(`${HUB_URL}/user/${USERNAME}/lab/api/workspaces/default`);
    if (response.status() === 200 && (await response.text()).includes(key)) {
      return true;
    }
    await page.waitForTimeout(500);
  }
  return false;
}

async function contentsExists(page, path) {
  const response = await page.request.get(
    `${HUB_URL}/user/${USERNAME}/api/contents/${encodeURIComponent(path)}?content=0`
  );
  return response.status() === 200;
}

/** The open notebook's tab is not marked modified, after its kernel is idle. */
async function checkUnmodified(page, what) {
  await page.waitForFunction(
    sel => {
      const indicator = document.querySelector(`${sel} .jp-Notebook-ExecutionIndicator`);
      return indicator && indicator.getAttribute('data-status') === 'idle';
    },
    NOTEBOOK,
    { timeout: 120000 }
  );
  await page.waitForTimeout(1500);
  const tab = page.locator('#jp-main-dock-panel .lm-TabBar-tab.jp-mod-current');
  const classes = (await tab.getAttribute('class')) || '';
  check(!classes.includes('jp-mod-dirty'), `${what} is not marked modified (${classes})`);
}

/** The heading of the open notebook's first statement cell, once rendered. */
async function statementHeading(page) {
  const heading = page.locator(`${NOTEBOOK} .jp-MarkdownCell`).first().locator('h1');
  await heading.waitFor();
  return (await heading.innerText()).replace(/¶/g, '').trim();
}

async function openProblem(page, problems, id) {
  await problems.locator(`.jp-codetutor-problem[data-problem="${id}"]`).click();
  await page.locator(`${NOTEBOOK} .jp-codetutor-submitButton`).waitFor({ state: 'visible', timeout: 60000 });
  await page.locator(`${NOTEBOOK} .jp-CodeCell`).nth(1).waitFor();
  await page.waitForFunction(
    name => document.querySelector('#jp-main-dock-panel .lm-TabBar-tab.jp-mod-current')?.textContent.includes(name),
    id
  );
}

async function panelChecks(page, problems, seen) {
  const items = problems.locator('.jp-codetutor-problem');
  await items.first().waitFor();
  const all = await items.count();
  // recommendations come before the list, and say what "predicted" means
  const order = await problems.evaluate(el => {
    const rec = el.querySelector('.jp-codetutor-recommendations');
    const list = el.querySelector('.jp-codetutor-problemList');
    return rec.compareDocumentPosition(list) & Node.DOCUMENT_POSITION_FOLLOWING ? 'above' : 'below';
  });
  check(order === 'above', 'recommendations are above the problem list');
  await problems.locator('.jp-codetutor-recommendation').first().waitFor({ timeout: 60000 });
  const predicted = await problems.locator('.jp-codetutor-predicted').first().innerText();
  check(/^Predicted \d+%/.test(predicted), `a recommendation shows its prediction: ${predicted}`);
  const help = await problems.locator('.jp-codetutor-predictedHelp').innerText();
  check(/estimated chance/.test(help) && /not a grade/.test(help), `"predicted" is explained: ${help}`);
  // difficulty filter
  await problems.locator('.jp-codetutor-difficultyFilter').selectOption('2');
  const levels = await items.evaluateAll(els => els.map(e => e.dataset.difficulty));
  check(levels.length > 0 && levels.length < all && levels.every(l => l === '2'), `difficulty 2 only: ${levels}`);
  await problems.locator('.jp-codetutor-difficultyFilter').selectOption('0');
  // sorts: hardest first, then easiest first
  await problems.locator('.jp-codetutor-sort').selectOption('hardest');
  const hardest = (await items.evaluateAll(els => els.map(e => Number(e.dataset.difficulty))));
  check(hardest.every((d, i) => i === 0 || hardest[i - 1] >= d), `hardest first: ${hardest}`);
  await problems.locator('.jp-codetutor-sort').selectOption('easiest');
  const easiest = (await items.evaluateAll(els => els.map(e => Number(e.dataset.difficulty))));
  check(easiest.every((d, i) => i === 0 || easiest[i - 1] <= d), `easiest first: ${easiest}`);
  seen.panel = { all, levels: levels.length, predicted, hardestFirst: hardest[0] };
  return all;
}

/** Each progress filter shows only problems in that state; returns the counts. */
async function stateCounts(problems) {
  const counts = {};
  for (const state of ['solved', 'tried', 'unsolved', 'all']) {
    await problems.locator('.jp-codetutor-stateFilter').selectOption(state);
    const states = await problems.locator('.jp-codetutor-problem').evaluateAll(els => els.map(e => e.dataset.state));
    const ok = {
      solved: s => s === 'solved',
      tried: s => s === 'tried',
      unsolved: s => s !== 'solved',
      all: () => true
    }[state];
    check(states.every(ok), `the ${state} filter shows only ${state} problems: ${states}`);
    counts[state] = states.length;
  }
  return counts;
}

async function main(seen) {
  const browser = await launch();
  try {
    const page = await logIn(browser, seen);
    await page.goto(`${LAB}?reset`, { timeout: 180000 });
    await waitForLab(page);

    // 1. The problems panel: recommendations above, filters and sorts.
    let problems = await openSidebar(page, 'codetutor-problems');
    const all = await panelChecks(page, problems, seen);
    const before = await stateCounts(problems);
    check(before.solved === 0 && before.tried === 0 && before.unsolved === all, `a new student has solved nothing: ${JSON.stringify(before)}`);

    // 2. Open the problem: English statement and comment first; untouched, it is not modified.
    await openProblem(page, problems, PROBLEM);
    const firstStatement = await statementHeading(page);
    check(firstStatement === 'Leap year', `the English statement comes first: ${firstStatement.slice(0, 60)}`);
    const starter = await page.locator(`${NOTEBOOK} .jp-CodeCell .cm-content`).first().innerText();
    check(/# write your code here \/ 여기에/.test(starter), `the starter's English comment comes first: ${starter}`);
    await checkUnmodified(page, 'an untouched problem');

    // 3. A wrong answer: generated case names in English.
    await setStarter(page, env('WRONG_CODE'));
    await page.locator(`${NOTEBOOK} .jp-codetutor-submitButton`).click();
    let card = await verdictShown(page, 'wrong_answer');
    const caseNames = await card.locator('.jp-codetutor-case td:first-child').allInnerTexts();
    check(caseNames.some(n => /^public 1/.test(n)) && caseNames.some(n => /^hidden \d+/.test(n)), `generated case names: ${caseNames}`);

    // 4. A judgement running during a reload resumes its live stream: the single judge worker
    // gets two slow submissions first, then the Submit button queues a third behind them.
    await setStarter(page, `import time\ntime.sleep(4)\n\n${env('RIGHT_CODE')}`);
    await page.keyboard.press('Control+s');
    await page.waitForTimeout(1000);
    for (let i = 0; i < 2; i++) {
      const queued = await apiPost(page, 'submissions', { path: `${PROBLEM}.ipynb` });
      check(queued.status === 202, `a background submission was queued: ${JSON.stringify(queued)}`);
    }
    await page.locator(`${NOTEBOOK} .jp-codetutor-submitButton`).click();
    // queued behind the two (the card names a submission once the judge has it)
    await page.locator(`${NOTEBOOK} .jp-codetutor-card[data-submission] .jp-codetutor-steps`).waitFor();
    const pendingId = await page.locator(`${NOTEBOOK} .jp-codetutor-card`).getAttribute('data-submission');
    await page.reload();
    await waitForLab(page);
    card = page.locator(`${NOTEBOOK} .jp-codetutor-card`);
    await card.locator('.jp-codetutor-steps').waitFor({ timeout: 60000 });
    const resumedId = await card.getAttribute('data-submission');
    check(resumedId === pendingId, `after the reload the card follows submission ${pendingId} (${resumedId})`);
    card = await verdictShown(page, 'accepted', 120000);
    check((await card.getAttribute('data-submission')) === pendingId, 'the resumed stream ended in its verdict');

    // 5. After another reload the card comes back with the last verdict.
    await page.reload();
    await waitForLab(page);
    card = await verdictShown(page, 'accepted', 60000);
    check((await card.getAttribute('data-submission')) === pendingId, 'the last verdict is back after a reload');
    await checkUnmodified(page, 'the problem after a reload');

    // 6. An old entry in the card's history shows its own code, not the notebook's.
    await card.locator('.jp-codetutor-history summary').click();
    const entries = card.locator('.jp-codetutor-historyList li');
    check((await entries.count()) === 4, `the history lists 4 submissions (${await entries.count()})`);
    await entries.last().locator('button').click();
    const oldCode = await card.locator('.jp-codetutor-submittedCode pre').innerText();
    check(oldCode.includes(env('WRONG_MARK')), `the old entry shows its own code: ${oldCode.slice(0, 200)}`);
    check(!oldCode.includes('time.sleep'), 'not the notebook\'s code');
    check(await card.locator('.jp-codetutor-verdict[data-verdict="wrong_answer"]').count() === 1, 'with its verdict');

    // 7. My submissions: every submission; a click shows its code; it comes back after a reload.
    problems = await openSidebar(page, 'codetutor-problems');
    await problems.locator('.jp-codetutor-mySubmissions').click();
    const view = page.locator('#codetutor-my-submissions');
    await view.locator('.jp-codetutor-submissionRow').nth(3).waitFor();
    check((await view.locator('.jp-codetutor-submissionRow').count()) === 4, 'My submissions lists all 4');
    await view.locator('.jp-codetutor-submissionRow').last().click();
    const viewCode = await view.locator('.jp-codetutor-submittedCode pre').innerText();
    check(viewCode.includes(env('WRONG_MARK')), 'My submissions shows the old entry\'s code');
    // JupyterLab saves the layout shortly after a change; a reload after that restores the view
    const saved = await waitForWorkspace(page, 'codetutor-submissions:my-submissions');
    check(saved, 'the layout with My submissions was saved');
    await page.reload();
    await waitForLab(page);
    // JupyterLab restores the view with the rest of the layout: its tab is there again
    const viewTab = page.locator('#jp-main-dock-panel .lm-TabBar-tab', { hasText: 'My submissions' });
    await viewTab.waitFor({ timeout: 60000 });
    await viewTab.click();
    const restored = page.locator('#codetutor-my-submissions');
    await restored.locator('.jp-codetutor-submissionRow').nth(3).waitFor({ timeout: 60000 });
    // the oldest entry: its Wrong Answer and its own code, not the notebook's
    await restored.locator('.jp-codetutor-submissionRow').last().click();
    await restored.locator('.jp-codetutor-verdict[data-verdict="wrong_answer"]').waitFor();
    const restoredCode = await restored.locator('.jp-codetutor-submittedCode pre').innerText();
    check(restoredCode.includes(env('WRONG_MARK')), 'after the reload, an old entry shows its code');
    const verdicts = await restored.locator('.jp-codetutor-submissionRow .jp-codetutor-verdictBadge').evaluateAll(els => els.map(e => e.dataset.verdict));
    check(verdicts.filter(v => v === 'accepted').length === 3 && verdicts.includes('wrong_answer'), `verdicts listed: ${verdicts}`);
    await shot(page, 'my-submissions-after-reload', seen);
    seen.mySubmissions = { verdicts };

    // 8. The panel's progress filters now see a solved problem.
    problems = await openSidebar(page, 'codetutor-problems');
    await problems.locator('.jp-codetutor-refresh').click();
    await problems.locator(`.jp-codetutor-problem[data-problem="${PROBLEM}"][data-state="solved"]`).waitFor();
    const after = await stateCounts(problems);
    check(after.solved === 1 && after.unsolved === all - 1, `one problem solved: ${JSON.stringify(after)}`);

    // 9. A notebook with megabytes of saved debug output is submitted (outputs stripped).
    await page.goto(`${HUB_URL}/user/${USERNAME}/lab/tree/${env('DEBUG_NOTEBOOK')}`);
    await waitForLab(page);
    await page.locator(`${NOTEBOOK} .jp-codetutor-submitButton`).waitFor({ state: 'visible', timeout: 60000 });
    await page.locator(`${NOTEBOOK} .jp-codetutor-submitButton`).click();
    await verdictShown(page, 'accepted');

    // 10. Reset to starter: the notebook is the starter again, the old one kept as a copy.
    problems = await openSidebar(page, 'codetutor-problems');
    await openProblem(page, problems, PROBLEM);
    await page.locator(`${NOTEBOOK} .jp-codetutor-resetButton`).click();
    await page.locator('.jp-Dialog .jp-mod-accept').click();
    await page.locator('.jp-toast-message', { hasText: 'before reset 1' }).waitFor({ timeout: 30000 });
    const resetStarter = await page.locator(`${NOTEBOOK} .jp-CodeCell .cm-content`).first().innerText();
    check(/pass/.test(resetStarter) && !/sleep/.test(resetStarter), `the starter is back: ${resetStarter}`);
    check(await contentsExists(page, `${PROBLEM} (before reset 1).ipynb`), 'the old notebook is kept');

    // 11. The tutor: the message limit as the student types; a message too long stays.
    let tutor = await openSidebar(page, 'codetutor-tutor');
    await tutor.locator('.jp-codetutor-context').filter({ hasText: PROBLEM }).waitFor();
    await tutor.locator('textarea').fill('Why does 1900 fail?');
    check((await tutor.locator('.jp-codetutor-count').innerText()) === '19 / 4000 characters', 'the count shows as the student types');
    const long = 'x'.repeat(4001);
    await tutor.locator('textarea').fill(long);
    check(await tutor.locator('.jp-codetutor-count.jp-mod-over').count() === 1, 'over the limit is marked');
    check(await tutor.locator('.jp-codetutor-send').isDisabled(), 'Send is disabled past the limit');
    await tutor.locator('textarea').press('Enter');
    const tooLong = await tutor.locator('.jp-codetutor-notice').innerText();
    check(/4001 characters/.test(tooLong) && /at most 4000/.test(tooLong), `the notice says why: ${tooLong}`);
    check((await tutor.locator('textarea').inputValue()) === long, 'the long message is kept in the box');
    await tutor.locator('textarea').fill('');
    // a hint about this problem; then another problem has its own (empty) conversation
    await tutor.locator('.jp-codetutor-hint').click();
    await tutor.locator('.jp-codetutor-from-tutor.jp-mod-streaming').waitFor({ state: 'detached', timeout: 240000 });
    const hint = (await tutor.locator('.jp-codetutor-from-tutor .jp-codetutor-text').last().innerText()).trim();
    check(hint.length > 0, 'the tutor answered the hint');
    problems = await openSidebar(page, 'codetutor-problems');
    await openProblem(page, problems, env('OTHER_PROBLEM'));
    tutor = await openSidebar(page, 'codetutor-tutor');
    await tutor.locator('.jp-codetutor-context').filter({ hasText: env('OTHER_PROBLEM') }).waitFor();
    check(await tutor.locator('.jp-codetutor-message').count() === 0, 'another problem has its own conversation');
    await page.locator('#jp-main-dock-panel .lm-TabBar-tab', { hasText: `${PROBLEM}.ipynb` }).click();
    await tutor.locator('.jp-codetutor-context').filter({ hasText: PROBLEM }).waitFor();
    check(await tutor.locator('.jp-codetutor-message').count() === 2, 'the problem\'s conversation is back');
    await page.reload();
    await waitForLab(page);
    await page.locator('#jp-main-dock-panel .lm-TabBar-tab', { hasText: `${PROBLEM}.ipynb` }).click();
    tutor = await openSidebar(page, 'codetutor-tutor');
    await tutor.locator('.jp-codetutor-context').filter({ hasText: PROBLEM }).waitFor();
    await tutor.locator('.jp-codetutor-message').nth(1).waitFor();
    const kept = (await tutor.locator('.jp-codetutor-from-tutor .jp-codetutor-text').last().innerText()).trim();
    check(kept === hint, 'the conversation comes back after a reload');
    seen.tutor = { hint: hint.slice(0, 200) };

    // 12. Korean: statement and starter comment in Korean first, tags and case names translated.
    await page.locator('.lm-MenuBar-itemLabel', { hasText: /^Settings$/ }).click();
    await page.locator('.lm-Menu-itemLabel', { hasText: /^Language$/ }).click();
    await page.locator('.lm-Menu-itemLabel', { hasText: /한국어/ }).click();
    await Promise.all([
      page.waitForNavigation({ timeout: 120000 }),
      page.locator('.jp-Dialog .jp-mod-accept').click()
    ]);
    await waitForLab(page);
    problems = await openSidebar(page, 'codetutor-problems');
    await problems.locator('.jp-codetutor-heading', { hasText: '문제' }).waitFor();
    const tag = await problems.locator(`.jp-codetutor-problem[data-problem="${PROBLEM}"] .jp-codetutor-tagChip`).first().innerText();
    check(tag === '조건문', `the tag is in Korean: ${tag}`);
    await openProblem(page, problems, env('KOREAN_PROBLEM'));
    const koStatement = await statementHeading(page);
    check(/^[가-힣 ]+$/.test(koStatement), `the Korean statement comes first: ${koStatement.slice(0, 60)}`);
    const koStarter = await page.locator(`${NOTEBOOK} .jp-CodeCell .cm-content`).first().innerText();
    check(/# 여기에 코드를 작성하세요 \/ write/.test(koStarter), `the starter's Korean comment comes first: ${koStarter}`);
    await page.locator('#jp-main-dock-panel .lm-TabBar-tab', { hasText: `${PROBLEM}.ipynb` }).click();
    // the card is back with the last verdict; the oldest entry of its history is the wrong one
    card = page.locator(`${NOTEBOOK} .jp-codetutor-card`);
    await card.locator('.jp-codetutor-verdict').waitFor({ timeout: 60000 });
    await card.locator('.jp-codetutor-history summary').click();
    await card.locator('.jp-codetutor-historyList li').last().locator('button').click();
    await card.locator('.jp-codetutor-verdict[data-verdict="wrong_answer"]').waitFor();
    const koCases = await card.locator('.jp-codetutor-case td:first-child').allInnerTexts();
    check(koCases.some(n => /^공개 테스트 1/.test(n)) && koCases.some(n => /^숨겨진 테스트 \d+/.test(n)), `case names in Korean: ${koCases}`);
    seen.korean = { tag, cases: koCases.slice(0, 4) };
    await shot(page, 'korean-case-names', seen);

    check(seen.pageErrors.length === 0, `no uncaught page errors: ${seen.pageErrors.join('; ')}`);
  } finally {
    await browser.close();
  }
}

run(main);
