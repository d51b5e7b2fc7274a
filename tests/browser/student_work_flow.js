/*
 * An instructor reads a student's work in the class dashboard, in headless Chromium:
 * dashboard → the student → their submissions → one submission (its code cell by cell,
 * every case with the hidden ones in full) → a diff with their other submission → the
 * gradebook → back to the submissions; the student's submissions as a zip of notebooks.
 *
 * Run by tests/browser/test_instructor_workflow.py with: HUB_URL, USERNAME, PASSWORD,
 * STUDENT (whose work to read), PROBLEM, OUT_DIR, CHROMIUM, PLAYWRIGHT_CORE. Prints one
 * JSON line with what it saw; exits non-zero (with the reason) when a check fails.
 */
'use strict';

const path = require('path');

const { check, env, launch, logIn, run, shot } = require('./lib');

async function main(seen) {
  const browser = await launch();
  try {
    const page = await logIn(browser, seen);
    const student = env('STUDENT');
    const problem = env('PROBLEM');
    // the dashboard is a Hub service: the Hub's OAuth lets the instructor in
    await page.goto(`${env('HUB_URL')}/services/dashboard/?lang=en`, { timeout: 120000 });
    await page.locator('#table-students').waitFor();

    // dashboard → the student's page → all their submissions
    await page.locator(`#table-students tr[data-user="${student}"] a`).first().click();
    await page.locator('#student-submissions').click();
    const list = page.locator('#table-submissions');
    await list.waitFor();
    const rows = list.locator(`tr[data-user="${student}"][data-problem="${problem}"]`);
    check((await rows.count()) >= 2, `two submissions of ${problem} (${await rows.count()})`);

    // the older one (a wrong answer): its code, and the hidden cases in full
    await rows.last().locator('a.submission-link').click();
    await page.locator('#code .cell').first().waitFor();
    const code = await page.locator('#code').innerText();
    check(
      /In \[1\]:/.test(code) && /def is_leap/.test(code),
      `the code, cell by cell: ${code.slice(0, 200)}`
    );
    const hidden = page.locator('tr.case[data-visibility="hidden"]');
    check((await hidden.count()) >= 1, 'hidden cases are listed');
    const failed = page.locator('tr.case.case-failed');
    check((await failed.count()) >= 1, 'the failing cases are marked');
    const failedText = await failed.first().innerText();
    check(/is_leap\(/.test(failedText), `a failing case shows its test: ${failedText}`);
    seen.submission = {
      verdict: await page.locator('#verdict').innerText(),
      hidden: await hidden.count(),
      failed: failedText.slice(0, 200)
    };
    await shot(page, 'work-01-submission', seen);

    // a diff against the accepted one
    await page.locator('#diff-form button[type="submit"]').click();
    await page.locator('#diff').waitFor();
    const added = await page.locator('#diff pre.add').count();
    const removed = await page.locator('#diff pre.del').count();
    check(added + removed > 0, `the diff shows changed lines (+${added} -${removed})`);
    seen.diff = { added, removed };
    await shot(page, 'work-02-diff', seen);

    // diff → submission → gradebook → the student's submissions of the problem
    await page.locator('#new-link').click();
    await page.locator('#gradebook-page').click();
    const cell = page.locator(
      `#table-gradebook tr[data-user="${student}"] td[data-problem="${problem}"] a`
    );
    await cell.waitFor();
    seen.gradebook = await cell.innerText();
    await cell.click();
    await page.locator('#table-submissions').waitFor();
    check(
      page.url().includes(`user=${student}`) && page.url().includes(`problem=${problem}`),
      page.url()
    );

    // the student's submissions as notebooks
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.locator('#download-zip').click()
    ]);
    const saved = path.join(env('OUT_DIR'), 'submissions.zip');
    await download.saveAs(saved);
    seen.zip = saved;

    // and back to the dashboard
    await page.locator('header h1 a').first().click();
    await page.locator('#table-students').waitFor();

    // the judge's API answers an instructor's browser too (after the Hub's OAuth)
    await page.goto(`${env('HUB_URL')}/services/judge/api/submissions?user=${student}`);
    const listed = JSON.parse(await page.locator('pre').first().innerText());
    check(
      listed.submissions.length >= 2,
      `the judge lists ${student}'s submissions: ${listed.submissions.length}`
    );
    seen.judgeApi = listed.submissions.length;
    check(seen.pageErrors.length === 0, `no uncaught page errors: ${seen.pageErrors.join('; ')}`);
  } finally {
    await browser.close();
  }
}

run(main);
