/*
 * Assignments and exam mode in JupyterLab, in headless Chromium: the student sees
 * their homework (points, due time in their own time zone, credit now) in the
 * Assignments panel, starts the exam, and then the tutor is gone, a countdown runs
 * and each submission shows its receipt (SHA-256 of the notebook). Then the
 * instructor reads the course gradebook page in the dashboard.
 *
 * Run by tests/browser/test_exam_browser.py with: HUB_URL, USERNAME, PASSWORD
 * (the student), INSTRUCTOR, INSTRUCTOR_PASSWORD, COURSE, HOMEWORK, EXAM, PROBLEM,
 * OUT_DIR, CHROMIUM, PLAYWRIGHT_CORE. Prints one JSON line with what it saw; exits
 * non-zero (with the reason) when a check fails.
 */
'use strict';

const { check, env, launch, logIn, openSidebar, run, shot } = require('./lib');

const PANEL = 'codetutor-coursework';

async function countdownSeconds(page) {
  const text = await page.locator(`#${PANEL} .jp-codetutor-countdown`).innerText();
  const match = /(\d+):(\d\d)(?::(\d\d))?/.exec(text);
  check(match, `a countdown: ${text}`);
  const parts = match.slice(1).filter(p => p !== undefined).map(Number);
  return parts.reduce((total, part) => total * 60 + part, 0);
}

async function main(seen) {
  const browser = await launch();
  try {
    const page = await logIn(browser, seen);
    page.on('dialog', dialog => void dialog.accept());
    const panel = await openSidebar(page, PANEL);
    const homework = panel.locator(`[data-assignment="${env('HOMEWORK')}"]`);
    await homework.waitFor({ timeout: 120000 });
    const card = await homework.innerText();
    check(/10 pts/.test(card), `points per problem: ${card}`);
    check(/100%/.test(card), `the credit in force now: ${card}`);
    check(/Due /.test(card), `the due time: ${card}`);
    seen.homework = card;
    // a homework submission counts, with the credit in force
    const hwProblem = homework.locator(`[data-problem="${env('PROBLEM')}"]`);
    await hwProblem.locator('.jp-codetutor-assignmentSubmit').click();
    const result = hwProblem.locator('.jp-codetutor-submitResult');
    await result.filter({ hasText: /credit 100%/ }).waitFor({ timeout: 120000 });
    seen.homeworkResult = await result.innerText();
    await openSidebar(page, PANEL);
    const tutorTab = page.locator('.lm-TabBar-tab[data-id="codetutor-tutor"]');
    check(await tutorTab.isVisible(), 'the tutor is there before the exam');
    await shot(page, 'exam-01-assignments', seen);

    // the exam starts: only it in the panel, the tutor gone, a countdown
    const exam = panel.locator(`[data-assignment="${env('EXAM')}"]`);
    await exam.locator('.jp-codetutor-startExam').click();
    await panel.locator('.jp-codetutor-countdown').waitFor();
    await page.waitForFunction(() => !!document.body.dataset.codetutorExam);
    seen.examFlag = await page.evaluate(() => document.body.dataset.codetutorExam);
    check(seen.examFlag === `${env('COURSE')}/${env('EXAM')}`, `the exam flag: ${seen.examFlag}`);
    check(!(await tutorTab.isVisible()), 'the tutor tab is hidden during the exam');
    check(!(await page.locator('#codetutor-tutor').isVisible()), 'the tutor panel is hidden');
    check((await homework.count()) === 0, 'other assignments are hidden during the exam');
    const first = await countdownSeconds(page);
    await page.waitForTimeout(2500);
    const second = await countdownSeconds(page);
    check(first > 0 && second < first && first <= 30 * 60, `a countdown: ${first}, ${second}`);
    seen.countdown = [first, second];

    // a submission from the exam: its receipt
    const problem = exam.locator(`[data-problem="${env('PROBLEM')}"]`);
    await problem.locator('.jp-codetutor-assignmentSubmit').click();
    const receipt = problem.locator('.jp-codetutor-receipt code');
    await receipt.waitFor({ timeout: 120000 });
    seen.receipt = (await receipt.innerText()).trim();
    check(/^[0-9a-f]{64}$/.test(seen.receipt), `a SHA-256 receipt: ${seen.receipt}`);
    const listed = exam.locator('.jp-codetutor-receipts li');
    await listed.first().waitFor();
    check(
      (await listed.first().getAttribute('title')) === seen.receipt,
      'the receipt is stored with the exam'
    );
    await openSidebar(page, PANEL);
    await shot(page, 'exam-02-receipt', seen);
    await page.context().close();

    // the instructor's course gradebook in the dashboard
    const teacher = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    const tpage = await teacher.newPage();
    tpage.on('pageerror', error => seen.pageErrors.push(String(error)));
    await tpage.goto(`${env('HUB_URL')}/hub/login`);
    await tpage.fill('input[name="username"]', env('INSTRUCTOR'));
    await tpage.fill('input[name="password"]', env('INSTRUCTOR_PASSWORD'));
    await Promise.all([
      tpage.waitForNavigation(),
      tpage.press('input[name="password"]', 'Enter')
    ]);
    await tpage.goto(
      `${env('HUB_URL')}/services/dashboard/courses/${env('COURSE')}/gradebook?lang=en`,
      { timeout: 120000 }
    );
    const table = tpage.locator(`#assignment-${env('EXAM')} tr[data-user="${env('USERNAME')}"]`);
    await table.waitFor();
    seen.gradebook = await tpage.locator('main').innerText();
    await shot(tpage, 'exam-03-gradebook', seen);
  } finally {
    await browser.close();
  }
}

run(main);
