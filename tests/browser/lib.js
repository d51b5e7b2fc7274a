/* What the browser scripts share: settings from the environment, Chromium, logging in,
 * screenshots, sidebar panels, and the run/report convention. */
'use strict';

const fs = require('fs');
const path = require('path');

function env(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set`);
  }
  return value;
}

function check(condition, message) {
  if (!condition) {
    throw new Error(`check failed: ${message}`);
  }
}

/** Debian's Chromium, headless, through playwright-core (no browser download). */
async function launch() {
  const { chromium } = require(env('PLAYWRIGHT_CORE'));
  return chromium.launch({
    executablePath: env('CHROMIUM'),
    args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage']
  });
}

/**
 * A page logged in to the Hub as USERNAME with PASSWORD (the Hub starts the server);
 * uncaught page errors are collected into `seen.pageErrors`.
 */
async function logIn(browser, seen) {
  const context = await browser.newContext({
    viewport: { width: 1440, height: 900 },
    locale: 'en-US'
  });
  context.setDefaultTimeout(60000);
  const page = await context.newPage();
  page.on('pageerror', error => seen.pageErrors.push(String(error)));
  await page.goto(`${env('HUB_URL')}/hub/login`);
  await page.fill('input[name="username"]', env('USERNAME'));
  await page.fill('input[name="password"]', env('PASSWORD'));
  await Promise.all([page.waitForNavigation(), page.press('input[name="password"]', 'Enter')]);
  return page;
}

/** Save a screenshot of the page as OUT_DIR/<name>.png and note the step. */
async function shot(page, name, seen) {
  // JupyterLab asks once whether to fetch Jupyter news; answer so it leaves the pictures
  const news = page.locator('.jp-toast-message', { hasText: 'Jupyter news' });
  if (await news.count()) {
    await page.locator('.Toastify__toast button', { hasText: /^No$/ }).first().click();
    await news.waitFor({ state: 'detached' });
  }
  await page.screenshot({ path: path.join(env('OUT_DIR'), `${name}.png`) });
  seen.steps.push(name);
}

/** Show a sidebar panel (the panel's id is its tab's data-id); returns its locator. */
async function openSidebar(page, id) {
  const tab = page.locator(`.lm-TabBar-tab[data-id="${id}"]`);
  await tab.waitFor({ state: 'visible', timeout: 60000 });
  const panel = page.locator(`#${id}`);
  // the tab toggles the panel, and JupyterLab may still be restoring its layout: click
  // until the panel shows
  for (let attempt = 0; attempt < 5 && !(await panel.isVisible()); attempt++) {
    await tab.click();
    await panel.waitFor({ state: 'visible', timeout: 3000 }).catch(() => undefined);
  }
  await panel.waitFor({ state: 'visible' });
  return panel;
}

/** Run `main(seen)`; print `seen` as one JSON line; exit 1 with the reason on failure. */
function run(main) {
  const seen = { steps: [], pageErrors: [] };
  fs.mkdirSync(env('OUT_DIR'), { recursive: true });
  main(seen).then(
    () => process.stdout.write(JSON.stringify(seen) + '\n'),
    error => {
      process.stdout.write(JSON.stringify(seen) + '\n');
      process.stderr.write(`${error.stack || error}\n`);
      process.exit(1);
    }
  );
}

module.exports = { check, env, launch, logIn, openSidebar, run, shot };
