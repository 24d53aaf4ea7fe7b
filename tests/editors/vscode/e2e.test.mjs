// End-to-end test of the VS Code extension in a real VS Code (code-server 4.100.3 = VS Code
// 1.100.3) driven through Debian's Chromium with playwright-core, against the real language
// server. A user's path: open an Alembic project made by `alembic init -t async` whose
// alembic.ini names a sync driver; see ENV001 in the Problems panel and under the
// `async_engine_from_config` call; hover it; apply "Use async driver …"; alembic.ini is saved
// with the asyncpg URL and the error is gone. Screenshots: test-artifacts/vscode/.
//
// Run: npm run e2e   (after scripts/setup-vscode.sh and npm run package)
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import {
  ARTIFACTS,
  CHROMIUM,
  checkPrerequisites,
  collectLogs,
  DB_URL,
  extensionLog,
  FIXED_URL,
  freePort,
  installVsix,
  log,
  makeAlembicProject,
  makeRunDir,
  prepareInstallTarget,
  startCodeServer,
  writeUserSettings,
} from './harness.mjs';

const STEP_TIMEOUT = 90_000;

describe('VS Code extension in code-server, real server', { timeout: 300_000 }, () => {
  let run;
  let project;
  let server;
  let context;
  let page;
  let failed = false;
  let installTarget;

  const shot = async (name) => {
    const file = path.join(ARTIFACTS, name);
    await page.screenshot({ path: file });
    log(`screenshot ${path.relative(process.cwd(), file)}`);
    return file;
  };

  /** One user-visible step; after a failure the later steps are skipped, with a screenshot of the failure. */
  const step = (name, fn) =>
    it(name, { timeout: STEP_TIMEOUT }, async (t) => {
      if (failed) return t.skip('an earlier step failed');
      try {
        await fn();
      } catch (e) {
        failed = true;
        if (page) await shot(`FAIL-${name.replace(/[^a-z0-9]+/gi, '-')}.png`).catch(() => {});
        throw e;
      }
    });

  /** Waits until the status bar item shows the codicon for a server state. */
  const waitForStatus = (codicon, timeout = 30000) =>
    page.waitForFunction(
      (c) => [...document.querySelectorAll('.statusbar-item')].some((e) => /Alembic env/.test(e.textContent) && e.querySelector(`.${c}`)),
      codicon,
      { timeout },
    );

  const editor = () => page.locator('.editor-group-container.active .monaco-editor').first();
  const squiggle = () => editor().locator('.squiggly-error');

  /** Screen box of `word` in the first rendered editor line whose text matches `lineRe`
   * (Monaco's tokens do not follow word boundaries, so measure the word itself). */
  const wordBox = (lineRe, word) =>
    page.evaluate(
      ([src, w]) => {
        const re = new RegExp(src);
        for (const line of document.querySelectorAll('.editor-group-container.active .monaco-editor .view-line')) {
          const text = line.textContent.replace(/\u00a0/g, ' ');
          if (!re.test(text)) continue;
          const walker = document.createTreeWalker(line, NodeFilter.SHOW_TEXT);
          for (let n = walker.nextNode(); n; n = walker.nextNode()) {
            const i = n.data.replace(/\u00a0/g, ' ').indexOf(w);
            if (i < 0) continue;
            const range = document.createRange();
            range.setStart(n, i);
            range.setEnd(n, i + w.length);
            const r = range.getBoundingClientRect();
            return { x: r.x, y: r.y, width: r.width, height: r.height };
          }
        }
        return null;
      },
      [lineRe.source, word],
    );

  before(async () => {
    checkPrerequisites();
    fs.rmSync(ARTIFACTS, { recursive: true, force: true });
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    run = makeRunDir();
    project = makeAlembicProject(path.join(run, 'ws'));
    writeUserSettings(run);
    log(`workspace ${path.join(run, 'ws')} (async template, ${DB_URL}); call on line ${project.callLine}`);
    log(installVsix(run).split('\n').pop());
    installTarget = prepareInstallTarget(run);
    server = await startCodeServer(run, await freePort(), {
      // pip, when the extension runs it, installs from the wheels of this checkout only
      PIP_NO_INDEX: '1',
      PIP_FIND_LINKS: installTarget.wheels,
      PIP_DISABLE_PIP_VERSION_CHECK: '1',
    });
    log(`code-server ${server.url} (pid ${server.pid})`);
    context = await chromium.launchPersistentContext(path.join(run, 'browser'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1400, height: 860 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    // Loopback only: anything else the workbench might ask for is refused.
    await page.route('**/*', (route) => {
      const u = new URL(route.request().url());
      if (['127.0.0.1', 'localhost'].includes(u.hostname) || ['data:', 'blob:'].includes(u.protocol)) return route.continue();
      log(`blocked ${u.href}`);
      return route.abort();
    });
  });

  after(async () => {
    await context?.close().catch(() => {});
    await server?.stop();
    if (run) {
      const dest = collectLogs(run);
      log(`logs in ${path.relative(process.cwd(), dest)}`);
      if (!failed && !process.env.KEEP_RUN) fs.rmSync(run, { recursive: true, force: true });
      else log(`kept ${run}`);
    }
  });

  step('the workbench opens the Alembic project and the extension starts its server', async () => {
    await page.goto(`${server.url}/?folder=${encodeURIComponent(path.join(run, 'ws'))}`, { waitUntil: 'domcontentloaded' });
    await page.locator('.monaco-workbench').waitFor({ timeout: 60000 });
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'alembic.ini' }).waitFor({ timeout: 60000 });
    // workspaceContains:**/alembic.ini activates the extension; its status item shows the state.
    const status = page.locator('.statusbar-item', { hasText: 'Alembic env' });
    await status.first().waitFor({ timeout: 60000 });
    await waitForStatus('codicon-database', 60000);
    log('workbench loaded; status bar: Alembic env (running)');
    await shot('01-workbench.png');
  });

  step('ENV001 is underlined in env.py and listed in the Problems panel', async () => {
    // Quick Open: "migrations/env.py", then go to the engine call's line.
    await page.keyboard.press('Control+P');
    await page.keyboard.type('migrations/env.py');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'env.py' }).first().waitFor({ timeout: 15000 });
    await page.keyboard.press('Enter');
    await page.locator('.tab.active', { hasText: 'env.py' }).waitFor({ timeout: 30000 });
    await page.keyboard.press('Control+P');
    await page.keyboard.type(`:${project.callLine}`);
    await page.keyboard.press('Enter');
    await squiggle().first().waitFor({ timeout: 60000 });
    log('error squiggle visible in env.py');
    await page.keyboard.press('Control+Shift+M');
    const row = page.locator('.markers-panel .monaco-list-row', { hasText: 'ENV001' }).first();
    await row.waitFor({ timeout: 30000 });
    const text = await row.innerText();
    assert.match(text, /psycopg2/);
    assert.match(text, /alembic-env/);
    assert.doesNotMatch(text, /secret/);
    log(`Problems panel: ${text.replace(/\s+/g, ' ')}`);
    await shot('02-diagnostic.png');
  });

  step('hovering async_engine_from_config explains it (async, psycopg2, no password)', async () => {
    const box = await wordBox(/=\s*async_engine_from_config\(/, 'async_engine_from_config');
    assert.ok(box, 'the async_engine_from_config call is on screen');
    await page.mouse.move(box.x + box.width / 2, box.y - 60);
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2, { steps: 6 });
    const hover = page.locator('.monaco-hover:visible', { hasText: 'psycopg2' }).first();
    await hover.waitFor({ timeout: 20000 });
    // The server's own hover (Markdown), not only the diagnostic's text that VS Code shows above it.
    const explanation = hover.locator('.markdown-hover .rendered-markdown').first();
    await explanation.waitFor({ timeout: 20000 });
    await page.waitForTimeout(300); // let the hover finish laying out for the screenshot
    const text = await explanation.innerText();
    assert.match(text, /async/i);
    assert.match(text, /psycopg2/);
    assert.doesNotMatch(await hover.innerText(), /secret/, 'the password from alembic.ini is never shown');
    log(`hover: ${text.replace(/\s+/g, ' ').slice(0, 300)}`);
    await shot('03-hover.png');
  });

  step('the quick fix "Use async driver …" rewrites the URL in alembic.ini', async () => {
    await page.mouse.move(5, 5);
    await page.keyboard.press('Escape');
    const box = await wordBox(/=\s*async_engine_from_config\(/, 'async_engine_from_config');
    assert.ok(box, 'the async_engine_from_config call is on screen');
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await page.keyboard.press('Control+.');
    const menu = page.locator('.action-widget');
    await menu.locator('.monaco-list-row', { hasText: 'Use async driver' }).first().waitFor({ timeout: 20000 });
    // The menu sits under a pointer-blocking overlay: pick the entry with the keyboard.
    for (let i = 0; i < 15; i++) {
      const focused = await menu.locator('.monaco-list-row.focused').first().innerText().catch(() => '');
      if (/Use async driver/.test(focused)) break;
      await page.keyboard.press('ArrowDown');
    }
    const chosen = await menu.locator('.monaco-list-row.focused').first().innerText();
    assert.match(chosen, /Use async driver/);
    log(`quick fix menu: "${chosen.trim()}"`);
    await shot('04-quickfix-menu.png');
    await page.keyboard.press('Enter');
    await menu.waitFor({ state: 'hidden', timeout: 10000 });
  });

  step('alembic.ini is saved with the asyncpg URL and the diagnostic disappears', async () => {
    // VS Code saves files that a refactoring changed without opening them
    // (files.refactoring.autoSave); wait for the file on disk.
    const deadline = Date.now() + 20000;
    let ini = '';
    while (Date.now() < deadline) {
      ini = fs.readFileSync(project.iniPath, 'utf8');
      if (ini.includes(FIXED_URL)) break;
      await page.waitForTimeout(200);
    }
    const urlLine = ini.split('\n').find((l) => l.startsWith('sqlalchemy.url'));
    assert.equal(urlLine, `sqlalchemy.url = ${FIXED_URL}`, 'alembic.ini on disk has the async driver');
    log(`alembic.ini saved: ${urlLine}`);
    await squiggle().first().waitFor({ state: 'detached', timeout: 30000 });
    await page.locator('.markers-panel .monaco-list-row', { hasText: 'ENV001' }).first().waitFor({ state: 'detached', timeout: 30000 });
    assert.equal(await page.locator('.tab.dirty').count(), 0, 'no unsaved editors left');
    log('ENV001 gone from the editor and the Problems panel');
    await shot('05-after-fix.png');
  });

  step('the code lens summarises env.py and opens the explanation with its Mermaid diagram', async () => {
    await page.keyboard.press('Control+P');
    await page.keyboard.type(':1');
    await page.keyboard.press('Enter');
    const lens = editor().locator('.codelens-decoration a').first();
    await lens.waitFor({ timeout: 30000 });
    const title = (await lens.innerText()).trim();
    assert.ok(title.length > 0, 'the code lens has a summary');
    assert.doesNotMatch(title, /secret/);
    log(`code lens: ${title}`);
    await lens.click();
    await page.locator('.tab', { hasText: 'Explain env.py' }).waitFor({ timeout: 30000 });
    const view = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    await view.locator('body[data-mermaid="done"] pre.mermaid svg').first().waitFor({ timeout: 30000 });
    const text = await view.locator('main').innerText();
    assert.doesNotMatch(text, /secret/);
    log(`explain view: Mermaid diagram drawn; ${text.replace(/\s+/g, ' ').slice(0, 160)}`);
    await shot('06-explain.png');
  });

  step('an interpreter without the server: one offer; "Install" runs pip there, then the server starts', async () => {
    // A new venv without the server becomes the workspace's interpreter: the extension
    // restarts, finds the package missing and asks once.
    const { python } = await installTarget.done;
    const settingsFile = path.join(run, 'ws', '.vscode', 'settings.json');
    const settings = JSON.parse(fs.readFileSync(settingsFile, 'utf8'));
    fs.writeFileSync(settingsFile, JSON.stringify({ ...settings, 'alembicEnv.interpreter': python }, null, 2));
    const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'not installed' });
    await toast.first().waitFor({ timeout: 30000 });
    const text = await toast.first().innerText();
    assert.match(text, /alembic-env-lsp/);
    await page.waitForTimeout(2000); // a restart loop would show more
    assert.equal(await toast.count(), 1);
    await waitForStatus('codicon-warning');
    log(`notification: ${text.replace(/\s+/g, ' ')}`);
    await shot('07-server-missing.png');

    await toast.first().locator('.monaco-button', { hasText: 'Install' }).click();
    await waitForStatus('codicon-database', 120000);
    const logText = extensionLog(run);
    assert.match(logText, /pip: .*Successfully installed .*alembic-env-lsp-/);
    assert.ok(logText.includes(`found for ${python} `), 'the server was found in the new venv after the install');
    assert.equal(await page.locator('.notifications-toasts .notification-toast', { hasText: /failed|error/i }).count(), 0);
    await shot('08-installed-log.png'); // the log channel, shown during the install, has pip's output
    // the new server checks the workspace again
    await page.keyboard.press('Control+Shift+M');
    await page.locator('.markers-panel .monaco-list-row', { hasText: 'alembic-env' }).first().waitFor({ timeout: 30000 });
    log('Install: pip installed the server into the new venv; the server runs from it');
  });

  step('the extension log: interpreter from the workspace settings, LSP trace (alembicEnv.trace.server)', async () => {
    const text = extensionLog(run);
    assert.match(text, /Interpreter: .*\(alembicEnv\.interpreter\)/);
    assert.match(text, /Starting the server: .* -m alembic_env_lsp serve/);
    assert.match(text, /Sending request 'initialize/);
    assert.match(text, /(Received notification 'textDocument\/publishDiagnostics'|Received response 'textDocument\/diagnostic)/);
    assert.doesNotMatch(text, /app:secret@/, 'no password in the log');
  });
});
