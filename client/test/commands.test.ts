import { fake, FakeLog, FakeUri } from './fakeVscode';
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { CLIENT_COMMANDS, parseEditResult, registerCommands, SERVER_COMMANDS } from '../src/commands';
import { ExplainView } from '../src/explain';
import { Notifier } from '../src/notify';

function setup(reply: (command: string, args: unknown[]) => unknown) {
  const calls: { command: string; args: unknown[] }[] = [];
  let restarts = 0;
  const log = new FakeLog();
  const target = {
    restart: async () => {
      restarts++;
    },
    executeServerCommand: async (command: string, args: unknown[]) => {
      calls.push({ command, args });
      return reply(command, args);
    },
  };
  const view = new ExplainView(FakeUri.file('/ext/dist/media') as never, async () => undefined);
  registerCommands(target, log as never, new Notifier(log as never), view);
  const run = (id: string, ...args: unknown[]) => fake.commands.get(id)!(...args);
  return { calls, log, run, restarts: () => restarts };
}

const ENV = '/proj/migrations/env.py';

describe('commands', () => {
  beforeEach(() => {
    fake.reset();
    fake.activeDocument = { uri: FakeUri.file(ENV), languageId: 'python' };
  });

  it('contributes exactly the commands declared in package.json', () => {
    setup(() => undefined);
    const manifest = require('../../package.json');
    const declared = manifest.contributes.commands.map((c: { command: string }) => c.command).sort();
    assert.deepEqual([...fake.commands.keys()].sort(), declared);
    assert.deepEqual(Object.values(CLIENT_COMMANDS).sort(), declared);
  });

  it('Explain This env.py asks the server about the active file and renders Markdown with the Mermaid diagram', async () => {
    const t = setup(() => ({ markdown: '# Flow\n\n```mermaid\nflowchart LR\n  A --> B\n```\n', summary: 'async engine' }));
    await t.run(CLIENT_COMMANDS.explain);
    assert.deepEqual(t.calls, [{ command: SERVER_COMMANDS.explain, args: [`file://${ENV}`] }]);
    assert.equal(fake.webviews.length, 1);
    assert.equal(fake.webviews[0].title, 'Explain env.py');
    assert.match(fake.webviews[0].html, /<pre class="mermaid">flowchart LR\n {2}A --&gt; B\n<\/pre>/);
    assert.match(fake.webviews[0].html, /<header>async engine<\/header>/);
    assert.match(fake.webviews[0].html, /src="vscode-webview:\/\/\/ext\/dist\/media\/mermaid\.min\.js"/);
  });

  it('a URI argument (explorer, editor title menu) wins over the active editor', async () => {
    const t = setup(() => ({ applied: true, reason: null }));
    await t.run(CLIENT_COMMANDS.fixAll, FakeUri.file('/other/env.py'));
    assert.deepEqual(t.calls[0].args, ['file:///other/env.py']);
  });

  it('Convert env.py to Async: when the server applied nothing, the reason is shown', async () => {
    const t = setup(() => ({ applied: false, reason: 'env.py already uses the async pattern' }));
    const result = await t.run(CLIENT_COMMANDS.convertToAsync);
    assert.deepEqual(result, { applied: false, reason: 'env.py already uses the async pattern' });
    assert.deepEqual(t.calls[0].command, SERVER_COMMANDS.convertToAsync);
    assert.deepEqual(fake.messages.map((m) => m.text), ['Alembic env: env.py already uses the async pattern']);
  });

  it('Fix All: an applied edit needs no popup', async () => {
    const t = setup(() => ({ applied: true, reason: null }));
    await t.run(CLIENT_COMMANDS.fixAll);
    assert.equal(t.calls[0].command, SERVER_COMMANDS.fixAll);
    assert.equal(fake.messages.length, 0);
    assert.match(t.log.text(), /fixes applied/);
  });

  it('without an open file the user is told what to do and the server is not asked', async () => {
    fake.activeDocument = undefined;
    const t = setup(() => undefined);
    await t.run(CLIENT_COMMANDS.explain);
    assert.equal(t.calls.length, 0);
    assert.match(fake.messages[0].text, /open an env\.py file first/);
  });

  it('a failing server command is reported once, not once per click', async () => {
    const t = setup(() => {
      throw new Error('Internal error');
    });
    await t.run(CLIENT_COMMANDS.fixAll);
    await t.run(CLIENT_COMMANDS.fixAll);
    await t.run(CLIENT_COMMANDS.fixAll);
    assert.equal(fake.messages.length, 1);
    assert.equal(fake.messages[0].level, 'error');
    assert.match(fake.messages[0].text, /alembic-env\.fixAll failed: Internal error/);
  });

  it('an unexpected reply is logged, not rendered', async () => {
    const t = setup(() => ({ nonsense: true }));
    await t.run(CLIENT_COMMANDS.explain);
    assert.equal(fake.webviews.length, 0);
    assert.match(t.log.text(), /unexpected value/);
  });

  it('Restart Server and Show Logs', async () => {
    const t = setup(() => undefined);
    await t.run(CLIENT_COMMANDS.restart);
    await t.run(CLIENT_COMMANDS.showLogs);
    assert.equal(t.restarts(), 1);
    assert.equal(t.log.shown, 1);
  });

  it('parseEditResult accepts the server shape only', () => {
    assert.deepEqual(parseEditResult({ applied: true, reason: null }), { applied: true, reason: null });
    assert.deepEqual(parseEditResult({ applied: false }), { applied: false, reason: null });
    assert.equal(parseEditResult({ applied: 'yes' }), undefined);
    assert.equal(parseEditResult(null), undefined);
  });
});
