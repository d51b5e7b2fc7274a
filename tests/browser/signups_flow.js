/*
 * An admin finds pending sign-ups from the Hub's admin page, in headless Chromium: a
 * newcomer signs up (NativeAuthenticator: an administrator must approve), the admin page
 * links to the pending sign-ups, and the admin approves the newcomer there.
 *
 * Run by tests/browser/test_instructor_workflow.py with: HUB_URL, USERNAME and PASSWORD
 * (the admin), NEWCOMER, NEWCOMER_PASSWORD, OUT_DIR, CHROMIUM, PLAYWRIGHT_CORE. Prints one
 * JSON line with what it saw; exits non-zero (with the reason) when a check fails.
 */
'use strict';

const { check, env, launch, logIn, run, shot } = require('./lib');

async function main(seen) {
  const browser = await launch();
  try {
    const hub = env('HUB_URL');
    const newcomer = env('NEWCOMER');
    // a newcomer signs up
    const visitor = await (await browser.newContext()).newPage();
    await visitor.goto(`${hub}/hub/signup`);
    await visitor.fill('input[name="username"]', newcomer);
    await visitor.fill('input[name="signup_password"]', env('NEWCOMER_PASSWORD'));
    await visitor.fill('input[name="signup_password_confirmation"]', env('NEWCOMER_PASSWORD'));
    await Promise.all([
      visitor.waitForNavigation(),
      visitor.press('input[name="signup_password_confirmation"]', 'Enter')
    ]);
    seen.signup = (await visitor.locator('body').innerText()).slice(0, 200);

    // the admin's admin page links to the pending sign-ups
    const page = await logIn(browser, seen);
    await page.goto(`${hub}/hub/admin`);
    const link = page.locator('#codetutor-signups');
    await link.waitFor();
    check(
      (await page.locator('#codetutor-signups-nav').count()) === 1,
      'the navigation bar links there too'
    );
    await shot(page, 'admin-01-admin-page', seen);
    await link.click();
    const row = page.locator(`tr[id="${newcomer}"]`);
    await row.waitFor();
    check(/\bNo\b/.test(await row.innerText()), 'the newcomer waits for approval');
    await shot(page, 'admin-02-signups', seen);
    await row.locator('a', { hasText: /^Authorize$/ }).click();
    await page.goto(`${hub}/hub/authorize`);
    check(
      /\bYes\b/.test(await page.locator(`tr[id="${newcomer}"]`).innerText()),
      'the newcomer is approved'
    );
    check(seen.pageErrors.length === 0, `no uncaught page errors: ${seen.pageErrors.join('; ')}`);
  } finally {
    await browser.close();
  }
}

run(main);
