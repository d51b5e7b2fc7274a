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

const { check, env, launch, logIn, openSidebar, run, shot } = require('./lib');

const HUB_URL = env('HUB_URL');
const USERNAME = env('USERNAME');
const PROBLEM = env('PROBLEM');

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

async function main(seen) {
  const browser = await launch();
  try {
    const page = await logIn(browser, seen);
    const chatFrames = [];
    page.on('websocket', socket => {
      if (socket.url().includes('codetutor/api/tutor/chat')) {
        socket.on('framereceived', frame =>
          chatFrames.push({ ...JSON.parse(String(frame.payload)), receivedAt: Date.now() })
        );
      }
    });

    // 1. Logged in as the student, the Hub starts their server and JupyterLab opens.
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
    await shot(page, '01-problems-panel', seen);
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
    // its starter and public test cells (the notebook renders its cells after the toolbar)
    await page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell').nth(1).waitFor();

    // 4. A wrong solution: Wrong Answer, with the hidden case that failed (status only).
    await setStarter(page, env('WRONG_CODE'));
    let card = await submitAndWait(page, 'wrong_answer');
    const wrongText = await card.innerText();
    check(/Wrong Answer/.test(wrongText), `the card says Wrong Answer: ${wrongText}`);
    check(/hidden/.test(wrongText), 'hidden cases are listed');
    const failedRows = await card.locator('.jp-codetutor-case-failed').count();
    check(failedRows >= 1, 'a failed case row is shown');
    seen.wrong = { text: wrongText.slice(0, 400), failedRows };
    await shot(page, '02-wrong-answer', seen);

    // 4b. A solution that fails a public case, and a hint: it arrives at once (before any
    // model text) and names the failing public input and its expected value.
    await setStarter(page, 'def is_leap(year):\n    return year % 4 == 0\n');
    await submitAndWait(page, 'wrong_answer');
    const hintPanel = await openSidebar(page, 'codetutor-tutor');
    await hintPanel.locator('.jp-codetutor-context').filter({ hasText: PROBLEM }).waitFor();
    const groundedFrom = chatFrames.length;
    const askedAt = Date.now();
    await hintPanel.locator('.jp-codetutor-hint').click();
    await hintPanel
      .locator('.jp-codetutor-from-tutor.jp-mod-streaming')
      .waitFor({ state: 'detached', timeout: 240000 });
    const groundedFrames = chatFrames.slice(groundedFrom);
    const firstToken = groundedFrames.find(f => f.type === 'token');
    check(firstToken, `the hint streamed text (${JSON.stringify(groundedFrames).slice(0, 300)})`);
    const firstMs = firstToken.receivedAt - askedAt;
    const groundedDone = groundedFrames.find(f => f.type === 'done');
    const groundedBubble = hintPanel.locator('.jp-codetutor-from-tutor').last();
    const groundedText = (await groundedBubble.locator('.jp-codetutor-text').innerText()).trim();
    check(/is_leap\(1900\)/.test(firstToken.text), `the first text names the failing input: ${firstToken.text}`);
    check(/`False`/.test(groundedText) && /`True`/.test(groundedText), `the hint gives expected and actual: ${groundedText}`);
    check(groundedDone && (groundedDone.sources || []).includes('grounded'), `the hint is grounded (${JSON.stringify(groundedDone)})`);
    check(firstMs < 1500, `the grounded hint's first text came in ${firstMs} ms`);
    const origin = (await groundedBubble.locator('.jp-codetutor-origin').innerText()).trim();
    check(/test results/.test(origin), `the reply says where it came from: ${origin}`);
    seen.groundedHint = { firstMs, text: groundedText.slice(0, 400), origin, done: groundedDone };

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
    await shot(page, '03-accepted', seen);
    // the panel now shows the best verdict for the problem
    await problems.locator(`.jp-codetutor-problem[data-problem="${PROBLEM}"] .jp-codetutor-verdictBadge`).waitFor();

    // 6. Ask the tutor: the reply's tokens show in the panel as they arrive, before it is done.
    const tutor = await openSidebar(page, 'codetutor-tutor');
    await tutor.locator('.jp-codetutor-context').filter({ hasText: PROBLEM }).waitFor();
    const repliesBefore = await tutor.locator('.jp-codetutor-from-tutor').count();
    const chatFrom = chatFrames.length;
    await page.evaluate(() => {
      // every state the reply bubble goes through, recorded as the DOM changes
      const states = (window.__codetutorStates = []);
      const log = document.querySelector('#codetutor-tutor .jp-codetutor-chatLog');
      new MutationObserver(() => {
        const bubbles = log.querySelectorAll('.jp-codetutor-from-tutor');
        const bubble = bubbles[bubbles.length - 1];
        if (bubble) {
          states.push({
            text: bubble.querySelector('.jp-codetutor-text').textContent,
            streaming: bubble.classList.contains('jp-mod-streaming')
          });
        }
      }).observe(log, { childList: true, subtree: true, characterData: true, attributes: true });
    });
    await tutor.locator('textarea').fill('How do I check whether a year is a leap year?');
    await tutor.locator('textarea').press('Enter');
    const bubble = tutor.locator('.jp-codetutor-from-tutor').last();
    await bubble.waitFor();
    await tutor
      .locator('.jp-codetutor-from-tutor.jp-mod-streaming')
      .waitFor({ state: 'detached', timeout: 240000 });
    const notice = (await tutor.locator('.jp-codetutor-notice').first().innerText()).trim();
    check(!notice, `the tutor answered without an error: ${notice}`);
    const reply = (await bubble.locator('.jp-codetutor-text').innerText()).trim();
    check(reply.length > 0, 'the tutor replied');
    const tokens = chatFrames.slice(chatFrom).filter(f => f.type === 'token');
    check(tokens.length >= 1, `the tutor streamed tokens (${JSON.stringify(chatFrames).slice(0, 300)})`);
    check(chatFrames[chatFrames.length - 1].type === 'done', 'the reply ended with done');
    const states = await page.evaluate(() => window.__codetutorStates);
    const shownWhileStreaming = new Set(states.filter(st => st.streaming && st.text).map(st => st.text));
    check(shownWhileStreaming.size >= 1, 'the reply was shown before it was complete');
    check(
      shownWhileStreaming.size >= Math.min(tokens.length, 2),
      `each token was shown as it came (${tokens.length} tokens, ${shownWhileStreaming.size} states)`
    );
    check(
      reply === tokens.map(t => t.text).join('').trim(),
      'the reply shown is the tokens received'
    );
    seen.tutor = { reply: reply.slice(0, 400), tokens: tokens.length, states: shownWhileStreaming.size };

    // Hint: one rung up the ladder, answered in the same conversation.
    const framesBefore = chatFrames.length;
    await tutor.locator('.jp-codetutor-hint').click();
    // the second 'Hint, please.' of the conversation (the first asked in step 4b)
    await tutor.locator('.jp-codetutor-from-student', { hasText: 'Hint, please.' }).nth(1).waitFor();
    await tutor
      .locator('.jp-codetutor-from-tutor.jp-mod-streaming')
      .waitFor({ state: 'detached', timeout: 240000 });
    const hintNotice = (await tutor.locator('.jp-codetutor-notice').first().innerText()).trim();
    check(!hintNotice, `the tutor gave a hint without an error: ${hintNotice}`);
    const hintDone = chatFrames.slice(framesBefore).find(f => f.type === 'done');
    check(hintDone && hintDone.level, `the hint has its rung (${JSON.stringify(hintDone)})`);
    check(
      (await tutor.locator('.jp-codetutor-from-tutor').count()) === repliesBefore + 2,
      'two more replies are shown'
    );
    const rung = (await tutor.locator('.jp-codetutor-from-tutor').last().locator('.jp-codetutor-rung').innerText()).trim();
    check(rung === `Hint ${hintDone.level}`, `the reply shows its rung: ${rung}`);
    seen.hint = { level: hintDone.level };

    // 7. A code review of the notebook: a list of findings (each a button to its line) or "none".
    await tutor.locator('.jp-codetutor-review').click();
    const findings = tutor.locator('.jp-codetutor-findings');
    await findings.locator('.jp-codetutor-subheading').waitFor({ timeout: 240000 });
    const reviewText = await findings.innerText();
    check(!/failed/.test(reviewText), `the review came back: ${reviewText}`);
    const findingCount = await findings.locator('.jp-codetutor-finding').count();
    if (findingCount) {
      // a finding jumps to its line in the notebook
      await findings.locator('.jp-codetutor-finding').first().click();
      await page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell.jp-mod-active').waitFor();
    } else {
      check(/No findings/.test(reviewText), `an empty review says so: ${reviewText}`);
    }
    seen.review = { findings: findingCount, text: reviewText.slice(0, 300) };
    await shot(page, '04-tutor', seen);

    // 8. The dark theme: the panels and the card follow JupyterLab's theme variables.
    const lightBackground = await card.evaluate(el => getComputedStyle(el.firstElementChild).backgroundColor);
    await page.locator('.lm-MenuBar-itemLabel', { hasText: /^Settings$/ }).click();
    await page.locator('.lm-Menu-itemLabel', { hasText: /^Theme$/ }).click();
    await page.locator('.lm-Menu-itemLabel', { hasText: /^JupyterLab Dark$/ }).click();
    await page.waitForFunction(() => document.body.dataset.jpThemeLight === 'false');
    await page.waitForTimeout(500);
    const darkBackground = await card.evaluate(el => getComputedStyle(el.firstElementChild).backgroundColor);
    check(darkBackground !== lightBackground, `the card follows the theme (${lightBackground} -> ${darkBackground})`);
    seen.dark = { light: lightBackground, dark: darkBackground };
    await shot(page, '05-dark-theme', seen);

    // 9. Switch JupyterLab to Korean from the Settings menu; the page reloads in Korean.
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
    await shot(page, '06-korean', seen);

    // 10. A hint in Korean: grounded in the last verdict (accepted now), in Korean, and the
    // reply says where it came from in Korean.
    const tutorKo = await openSidebar(page, 'codetutor-tutor');
    await tutorKo.locator('.jp-codetutor-context').filter({ hasText: PROBLEM }).waitFor();
    const koFrom = chatFrames.length;
    const koAskedAt = Date.now();
    await tutorKo.locator('.jp-codetutor-hint').click();
    await tutorKo
      .locator('.jp-codetutor-from-tutor.jp-mod-streaming')
      .waitFor({ state: 'detached', timeout: 240000 });
    const koFirst = chatFrames.slice(koFrom).find(f => f.type === 'token');
    check(koFirst, 'the Korean hint streamed text');
    const koBubble = tutorKo.locator('.jp-codetutor-from-tutor').last();
    const koText = (await koBubble.locator('.jp-codetutor-text').innerText()).trim();
    check(/정답/.test(koText), `the Korean hint is grounded in the accepted verdict: ${koText}`);
    const koOrigin = (await koBubble.locator('.jp-codetutor-origin').innerText()).trim();
    check(/테스트 결과/.test(koOrigin), `the Korean reply says where it came from: ${koOrigin}`);
    seen.koreanHint = { firstMs: koFirst.receivedAt - koAskedAt, text: koText.slice(0, 300), origin: koOrigin };

    check(seen.pageErrors.length === 0, `no uncaught page errors: ${seen.pageErrors.join('; ')}`);
  } finally {
    await browser.close();
  }
}

run(main);
