/*
 * An instructor authors a problem from zero in JupyterLab, in headless Chromium: the
 * Launcher's "New Problem" card opens the bilingual template, the Problem sidebar's form
 * writes the metadata (refusing a bad id), Validate shows each case's expected value, an
 * error names the cell and line the notebook shows, Publish puts the problem in the
 * Problems panel without a refresh, and Unpublish hides it again.
 *
 * Run by tests/browser/test_instructor_workflow.py with: HUB_URL, USERNAME, PASSWORD,
 * PROBLEM_ID (the id to give the new problem), OUT_DIR, CHROMIUM, PLAYWRIGHT_CORE.
 * Prints one JSON line with what it saw; exits non-zero (with the reason) when a check fails.
 */
'use strict';

const { check, env, launch, logIn, openSidebar, run, shot } = require('./lib');

async function main(seen) {
  const browser = await launch();
  try {
    const page = await logIn(browser, seen);
    const user = env('USERNAME');
    const id = env('PROBLEM_ID');
    await page.goto(`${env('HUB_URL')}/user/${user}/lab?reset`, { timeout: 180000 });
    await page.locator('#jp-main-dock-panel').waitFor({ timeout: 180000 });

    // 1. The Launcher has a New Problem card (Code Tutor section); it opens the template
    const card = page.locator('.jp-LauncherCard', { hasText: 'New Problem' });
    await card.first().waitFor({ timeout: 60000 });
    await card.first().click();
    const panel = page.locator('.jp-NotebookPanel:not(.lm-mod-hidden)');
    await panel
      .locator('.jp-codetutor-publishButton')
      .waitFor({ state: 'visible', timeout: 60000 });
    const sidebar = page.locator('#codetutor-authoring');
    await sidebar.waitFor({ state: 'visible' });
    const cells = panel.locator('.jp-Notebook .jp-Cell');
    check((await cells.count()) === 6, `the template has six cells (${await cells.count()})`);
    // the statements (rendered, in Korean and English) and the explained starter
    await panel.locator('.jp-MarkdownOutput h1', { hasText: '두 수의 합' }).waitFor();
    await panel.locator('.jp-MarkdownOutput h1', { hasText: 'Sum of two numbers' }).waitFor();
    await panel.locator('.jp-CodeCell .cm-content', { hasText: '[starter]' }).first().waitFor();
    const idInput = sidebar.locator('input[name="id"]');
    check((await idInput.inputValue()) === 'new-problem', 'the form shows the template id');
    seen.template = { cells: await cells.count() };
    await shot(page, 'authoring-01-template', seen);

    // 2. The form: a bad id is refused where it is typed; good values are written
    await idInput.fill('Not An Id');
    await idInput.press('Enter');
    const idError = sidebar.locator('.jp-codetutor-fieldError[data-field="id"]');
    check(/lowercase letters/.test(await idError.innerText()), 'a bad id is explained');
    await idInput.fill(id);
    await idInput.press('Enter');
    check((await idError.innerText()) === '', 'the error goes once the id is good');
    await sidebar.locator('input[name="titleEn"]').fill('Add two numbers');
    await sidebar.locator('input[name="titleKo"]').fill('두 수 더하기');
    await sidebar.locator('select[name="difficulty"]').selectOption('2');
    await sidebar.locator('input[name="tags"]').fill('basics, arithmetic');
    await sidebar.locator('input[name="tags"]').press('Enter');
    await sidebar.locator('.jp-codetutor-metaStatus', { hasText: 'metadata.codetutor' }).waitFor();

    // 3. Validate: the expected value of every case, before publishing
    await sidebar.locator('.jp-codetutor-validate').click();
    await sidebar.locator('.jp-codetutor-validOk').waitFor({ timeout: 120000 });
    const rows = sidebar.locator('.jp-codetutor-validCase');
    check((await rows.count()) === 5, `five cases (${await rows.count()})`);
    const small = await sidebar
      .locator('.jp-codetutor-validCase[data-case="small numbers"]')
      .innerText();
    check(
      /add\(1, 2\)/.test(small) && /\b3\b/.test(small),
      `the first case and its value: ${small}`
    );
    const large = await sidebar.locator('.jp-codetutor-validCase[data-case="large"]').innerText();
    check(/1000001/.test(large) && /hidden/.test(large), `a hidden case and its value: ${large}`);
    seen.validated = (await sidebar.locator('.jp-codetutor-validation').innerText()).slice(0, 400);
    await shot(page, 'authoring-02-validated', seen);

    // 4. An error names the cell and line as the notebook counts them (the 6th cell)
    const hidden = cells.nth(5);
    await hidden.locator('.cm-content').click();
    await page.keyboard.press('Control+End');
    await page.keyboard.insertText('\nadd(');
    await page.keyboard.press('Escape');
    await sidebar.locator('.jp-codetutor-validate').click();
    const error = sidebar.locator('.jp-codetutor-validError');
    await error.waitFor({ timeout: 120000 });
    const errorText = await error.innerText();
    const said = errorText.match(/cell (\d+), line (\d+)/);
    const linked = errorText.match(/Cell (\d+), line (\d+)/);
    check(said && linked, `the error names a cell and a line: ${errorText}`);
    check(
      said[1] === '6' && linked[1] === '6' && said[2] === linked[2],
      `message and link agree: ${errorText}`
    );
    seen.error = errorText.slice(0, 300);
    await hidden.locator('.cm-content').click();
    await page.keyboard.press('Control+End');
    for (let i = 0; i < 5; i++) {
      await page.keyboard.press('Backspace');
    }
    await page.keyboard.press('Escape');

    // 5. Publish: the Problems panel shows the new problem without being refreshed
    const problems = await openSidebar(page, 'codetutor-problems');
    check(
      (await problems.locator(`.jp-codetutor-problem[data-problem="${id}"]`).count()) === 0,
      'not listed before publishing'
    );
    await sidebar.locator('.jp-codetutor-publish').click();
    await panel
      .locator('.jp-codetutor-card .jp-codetutor-verdict', { hasText: /^Published$/ })
      .waitFor({ timeout: 120000 });
    await problems
      .locator(`.jp-codetutor-problem[data-problem="${id}"]`)
      .waitFor({ timeout: 30000 });
    seen.listed = (
      await problems.locator(`.jp-codetutor-problem[data-problem="${id}"]`).innerText()
    ).slice(0, 200);

    // 6. Unpublish (after asking): hidden from students, submissions kept
    await sidebar.locator('.jp-codetutor-unpublish').click();
    await page.locator('.jp-Dialog .jp-mod-warn', { hasText: 'Unpublish' }).click();
    const unpublished = sidebar.locator('.jp-codetutor-unpublished');
    await unpublished.waitFor({ timeout: 30000 });
    check(/hidden from students/.test(await unpublished.innerText()), 'says it is hidden');
    await shot(page, 'authoring-03-unpublished', seen);

    // 7. The palette offers the authoring commands too
    await page.keyboard.press('Control+Shift+C');
    await page.locator('.lm-CommandPalette-input').fill('New Problem from the Template');
    await page
      .locator('.lm-CommandPalette-item', { hasText: 'New Problem from the Template' })
      .first()
      .waitFor();
    await page.keyboard.press('Escape');
    await panel.locator('.jp-codetutor-publishButton').waitFor();
    await page.keyboard.press('Control+S');
    check(seen.pageErrors.length === 0, `no uncaught page errors: ${seen.pageErrors.join('; ')}`);
  } finally {
    await browser.close();
  }
}

run(main);
