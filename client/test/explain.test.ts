import './fakeVscode';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { escapeHtml, parseExplainResult, renderExplainHtml, renderMarkdown } from '../src/explain';

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
