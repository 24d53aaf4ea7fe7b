import { fake, FakeUri } from './fakeVscode';
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { escapeHtml, ExplainView, lineOfNode, parseExplainResult, renderExplainHtml, renderMarkdown } from '../src/explain';

const page = { cspSource: 'vscode-webview://x', mermaidSrc: 'vscode-webview://x/mermaid.min.js', nonce: 'N0nce', dark: true, title: 'Explain env.py' };

describe('explain view', () => {
  it('turns ```mermaid fences into <pre class="mermaid"> and leaves other code blocks as code', () => {
    const html = renderMarkdown('```mermaid\nflowchart LR\n  url["URL (alembic.ini)"] --> engine\n```\n\n```python\nx = 1 < 2\n```\n');
    assert.match(html, /<pre class="mermaid">flowchart LR\n {2}url\[&quot;URL \(alembic\.ini\)&quot;\] --&gt; engine\n<\/pre>/);
    assert.match(html, /<pre><code class="language-python">x = 1 &lt; 2\n<\/code><\/pre>/);
  });

  it('never passes raw HTML from the server through', () => {
    const html = renderExplainHtml({ markdown: 'hi <script>alert(1)</script> <img src=x onerror=alert(1)>', summary: '<b>s</b>' }, page);
    assert.doesNotMatch(html, /<script>alert/);
    assert.doesNotMatch(html, /<img src=x/);
    assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assert.match(html, /<header>&lt;b&gt;s&lt;\/b&gt;<\/header>/);
  });

  it('a strict CSP: scripts only with the nonce, no eval, Mermaid from the extension itself', () => {
    const html = renderExplainHtml({ markdown: '```mermaid\nflowchart LR\nA-->B\n```', summary: '' }, page);
    const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)![1];
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'nonce-N0nce'/);
    assert.doesNotMatch(csp, /unsafe-eval/);
    assert.doesNotMatch(csp, /https?:/);
    const scripts = html.match(/<script[^>]*>/g)!;
    assert.equal(scripts.length, 2);
    for (const s of scripts) assert.match(s, /nonce="N0nce"/);
    assert.match(html, /src="vscode-webview:\/\/x\/mermaid\.min\.js"/);
    assert.match(html, /theme: 'dark'/);
    assert.match(html, /data-mermaid="pending"/);
  });

  it('no diagram: no script at all', () => {
    const html = renderExplainHtml({ markdown: '# Flow\n\nplain', summary: '' }, page);
    assert.doesNotMatch(html, /<script/);
    assert.match(html, /<h1>Flow<\/h1>/);
  });

  it('accepts only {markdown: string, summary?: string}', () => {
    assert.deepEqual(parseExplainResult({ markdown: 'm', summary: 's' }), { markdown: 'm', summary: 's' });
    assert.deepEqual(parseExplainResult({ markdown: 'm' }), { markdown: 'm', summary: '' });
    assert.equal(parseExplainResult({ summary: 's' }), undefined);
    assert.equal(parseExplainResult('m'), undefined);
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});

describe('explain view: live and clickable', () => {
  const ENV = '/proj/migrations/env.py';
  const reply = (label: string) => ({ markdown: `\`\`\`mermaid\nflowchart TD\n  n0["${label}"]\n\`\`\``, summary: 's' });

  function live() {
    const asked: string[] = [];
    let label = 'fileConfig(config.config_file_name) · line 9';
    const view = new ExplainView(FakeUri.file('/ext/dist/media') as never, async (uri) => {
      asked.push((uri as unknown as FakeUri).path);
      return reply(label);
    }, 1);
    return { view, asked, setLabel: (l: string) => (label = l) };
  }

  beforeEach(() => fake.reset());

  it('the node text says which line it is about', () => {
    assert.equal(lineOfNode('context.configure() · line 42'), 42);
    assert.equal(lineOfNode('engine_from_config(...) \u00b7  line 7\nasync'), 7);
    assert.equal(lineOfNode('URL from alembic.ini'), undefined);
    assert.equal(lineOfNode('see line 3'), undefined, 'only the "· line N" the diagram writes');
  });

  it('the page links the nodes with the same function, posting {type: "reveal", line}', () => {
    const html = renderExplainHtml(reply('x · line 1'), page);
    assert.ok(html.includes(`const lineOfNode = ${lineOfNode.toString()};`));
    assert.match(html, /acquireVsCodeApi\(\)/);
    assert.match(html, /postMessage\(\{ type: 'reveal', line \}\)/);
  });

  it('asks the server again when the file or an alembic.ini changes, not for other files', async () => {
    const t = live();
    assert.ok(t.view.show(reply('fileConfig(config.config_file_name) · line 9'), FakeUri.file(ENV) as never));
    assert.equal(fake.webviews.length, 1);
    assert.match(fake.webviews[0].html, /fileConfig\(config\.config_file_name\) · line 9/);

    t.setLabel('no logging set up');
    await fake.editDocument('/proj/migrations/other.py', 'x = 1');
    await t.view.lastRefresh;
    assert.deepEqual(t.asked, [], 'another file: nothing asked');

    await fake.editDocument(ENV, 'changed');
    await fake.editDocument(ENV, 'changed again');
    await t.view.lastRefresh;
    assert.deepEqual(t.asked, [ENV], 'two quick edits: asked once');
    assert.doesNotMatch(fake.webviews[0].html, /fileConfig/);
    assert.match(fake.webviews[0].html, /no logging set up/);

    t.setLabel('URL from alembic.ini: postgresql+asyncpg://app:***@db/app');
    for (const l of fake.watcherListeners) await l(FakeUri.file('/proj/alembic.ini'));
    await t.view.lastRefresh;
    assert.deepEqual(t.asked, [ENV, ENV], 'alembic.ini changed on disk: asked about env.py again');
    assert.match(fake.webviews[0].html, /asyncpg/);
    assert.equal(fake.webviews.length, 1, 'the same panel, updated');
  });

  it('a node click reveals that line of the explained file; other messages are ignored', () => {
    const t = live();
    t.view.show(reply('x · line 9'), FakeUri.file(ENV) as never);
    const receive = fake.webviews[0].receive!;
    receive({ type: 'reveal', line: 9 });
    receive({ type: 'reveal', line: 0 });
    receive({ type: 'reveal', line: '3' });
    receive({ type: 'other', line: 2 });
    receive(null);
    assert.deepEqual(fake.revealed, [{ path: ENV, line: 8 }]);
  });

  it('closing the panel stops listening', async () => {
    const t = live();
    t.view.show(reply('x · line 9'), FakeUri.file(ENV) as never);
    assert.ok(fake.changeListeners.length > 0);
    t.view.dispose();
    assert.equal(fake.webviews[0].disposed, true);
    assert.equal(fake.changeListeners.length, 0);
    await fake.editDocument(ENV, 'changed');
    await t.view.lastRefresh;
    assert.deepEqual(t.asked, []);
  });
});
