/*
 * An instructor reads the similarity report in headless Chromium: the problems list,
 * a problem's ranked pairs and its cluster, a pair side by side with its matching
 * regions highlighted, "Compare now", and the same in Korean.
 *
 * Run by tests/browser/test_similarity_browser.py with: DASHBOARD_URL (the service's
 * base URL, ending in /), TOKEN (an instructor's Hub token, sent as a header), PROBLEM,
 * OUT_DIR, CHROMIUM, PLAYWRIGHT_CORE. Prints one JSON line with what it saw; exits
 * non-zero (with the reason) when a check fails.
 */
'use strict';

const path = require('path');
const { check, env, launch, run } = require('./lib');

async function main(seen) {
  const browser = await launch();
  try {
    const context = await browser.newContext({
      viewport: { width: 1440, height: 900 },
      locale: 'en-US',
      extraHTTPHeaders: { Authorization: `token ${env('TOKEN')}` }
    });
    context.setDefaultTimeout(30000);
    const page = await context.newPage();
    page.on('pageerror', error => seen.pageErrors.push(String(error)));
    const base = env('DASHBOARD_URL');
    const problem = env('PROBLEM');
    const picture = async name => {
      await page.screenshot({ path: path.join(env('OUT_DIR'), `${name}.png`), fullPage: true });
      seen.steps.push(name);
    };

    // from the dashboard's header to the report
    await page.goto(`${base}?lang=en`);
    await page.click('a#similarity');
    const row = page.locator(`#table-similarity-problems tr[data-problem="${problem}"]`);
    await row.waitFor();
    seen.problemRow = (await row.innerText()).replace(/\s+/g, ' ');
    await picture('similarity-01-problems');

    // the problem: ranked pairs, the cluster, each student's activity
    await row.locator('a').click();
    const pairs = page.locator('#table-similarity-pairs tr.pair');
    await pairs.first().waitFor();
    seen.pairs = await pairs.evaluateAll(rows => rows.map(r => [r.dataset.a, r.dataset.b]));
    seen.clusters = await page.locator('#similarity-clusters li.cluster').allInnerTexts();
    seen.tutor = await page
      .locator('#table-similarity-students tr[data-student]')
      .evaluateAll(rows => Object.fromEntries(rows.map(r => [r.dataset.student, r.querySelector('.tutor-messages').textContent.trim()])));
    await picture('similarity-02-pairs');

    // the first pair side by side, the matching regions highlighted in both
    await pairs.first().locator('a.compare').click();
    const sides = page.locator('section.side');
    await sides.first().waitFor();
    check((await sides.count()) === 2, 'two submissions side by side');
    seen.marks = [];
    for (let i = 0; i < 2; i++) {
      const marks = sides.nth(i).locator('mark');
      seen.marks.push(await marks.count());
      const background = await marks.first().evaluate(el => getComputedStyle(el).backgroundColor);
      check(background !== 'rgba(0, 0, 0, 0)', `matches are highlighted (${background})`);
    }
    seen.score = await page.locator('#pair-score').innerText();
    await picture('similarity-03-side-by-side');

    // compare now: the report is made again and the page comes back
    await page.goto(`${base}similarity?lang=en`);
    const before = await page.locator('#similarity-generated').innerText();
    await Promise.all([page.waitForNavigation(), page.click('#similarity-run button')]);
    await page.locator('#table-similarity-problems').waitFor();
    seen.generated = [before, await page.locator('#similarity-generated').innerText()];

    // in Korean
    await page.click('a#switch-language');
    await page.waitForURL(/lang=ko/);
    seen.koreanHeading = await page.locator('header h1').innerText();
    await page.goto(`${base}similarity/${problem}?lang=ko`);
    seen.koreanHeaders = await page.locator('#table-similarity-students th').allInnerTexts();
    await picture('similarity-04-korean');
    check(seen.pageErrors.length === 0, `no uncaught page errors: ${seen.pageErrors.join('; ')}`);
  } finally {
    await browser.close();
  }
}

run(main);
