/*
 * An instructor publishes a problem from JupyterLab, in headless Chromium: an authoring
 * notebook whose public tests do not parse is refused, the error is shown at its cell and
 * the cell is marked; once fixed, it is published.
 *
 * Run by tests/browser/test_browser.py with: HUB_URL, USERNAME, PASSWORD, NOTEBOOK (its
 * path in the instructor's home), BROKEN_CELL (0-based index of the broken cell), FIXED_SOURCE
 * (that cell's source once fixed), OUT_DIR, CHROMIUM, PLAYWRIGHT_CORE. Prints one JSON line
 * with what it saw; exits non-zero (with the reason) when a check fails.
 */
'use strict';

const { check, env, launch, logIn, run, shot } = require('./lib');

async function main(seen) {
  const browser = await launch();
  try {
    const page = await logIn(browser);
    const user = env('USERNAME');
    await page.goto(`${env('HUB_URL')}/user/${user}/lab/tree/${env('NOTEBOOK')}`);
    const panel = page.locator('.jp-NotebookPanel:not(.lm-mod-hidden)');
    const publish = panel.locator('.jp-codetutor-publishButton');
    await publish.waitFor({ state: 'visible', timeout: 120000 });
    check(
      !(await panel.locator('.jp-codetutor-submitButton').isVisible()),
      'an authoring notebook offers Publish, not Submit'
    );

    // the broken notebook: refused, with the cell and line of the error, the cell marked
    await publish.click();
    const card = panel.locator('.jp-codetutor-card');
    await card.locator('.jp-codetutor-verdict', { hasText: 'Not published' }).waitFor();
    const refused = await card.innerText();
    const broken = Number(env('BROKEN_CELL'));
    check(new RegExp(`Cell ${broken + 1}, line \\d+`).test(refused), `the error names its cell: ${refused}`);
    const marked = panel.locator('.jp-Notebook .jp-Cell.jp-codetutor-cellError');
    check((await marked.count()) === 1, 'the broken cell is marked');
    const markedIndex = await marked.evaluate(el => [...el.parentElement.children].filter(c => c.classList.contains('jp-Cell')).indexOf(el));
    check(markedIndex === broken, `the marked cell is the broken one (${markedIndex})`);
    seen.refused = refused.slice(0, 300);
    await shot(page, 'instructor-01-refused', seen);

    // fixed in the editor: published
    await marked.locator('.cm-content').click();
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    await page.keyboard.insertText(env('FIXED_SOURCE'));
    await page.keyboard.press('Escape');
    await publish.click();
    await card.locator('.jp-codetutor-verdict', { hasText: /^Published$/ }).waitFor();
    const published = await card.innerText();
    check(/published as version 1/.test(published), `the problem is published: ${published}`);
    check((await marked.count()) === 0, 'the mark is gone');
    seen.published = published.slice(0, 300);
    await shot(page, 'instructor-02-published', seen);
    check(seen.pageErrors.length === 0, `no uncaught page errors: ${seen.pageErrors.join('; ')}`);
  } finally {
    await browser.close();
  }
}

run(main);
