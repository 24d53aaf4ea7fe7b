// "Explain This env.py": the server's `alembic-env.explain` returns Markdown with a ```mermaid
// block; it is rendered in a webview with the Mermaid library shipped inside the extension
// (dist/media/mermaid.min.js), so the diagram draws with no network.
import * as crypto from 'crypto';
import MarkdownIt from 'markdown-it';
import type { Uri, WebviewPanel } from 'vscode';
import * as vsc from './vscodeapi';

export interface ExplainResult {
  markdown: string;
  summary: string;
}

export function parseExplainResult(value: unknown): ExplainResult | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.markdown !== 'string') return undefined;
  return { markdown: v.markdown, summary: typeof v.summary === 'string' ? v.summary : '' };
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

let md: MarkdownIt | undefined;

/** Markdown to HTML. Raw HTML in the input is escaped, never passed through. */
export function renderMarkdown(markdown: string): string {
  if (!md) {
    md = new MarkdownIt({ html: false, linkify: false });
    const fence = md.renderer.rules.fence!;
    md.renderer.rules.fence = (tokens, idx, options, env, self) => {
      const token = tokens[idx];
      if (token.info.trim().split(/\s+/)[0] === 'mermaid') {
        // Mermaid reads the element's text, so the escaped source is what it parses.
        return `<pre class="mermaid">${escapeHtml(token.content)}</pre>\n`;
      }
      return fence(tokens, idx, options, env, self);
    };
  }
  return md.render(markdown);
}

export interface PageOptions {
  /** `webview.cspSource` */
  cspSource: string;
  /** webview URI of mermaid.min.js */
  mermaidSrc: string;
  nonce: string;
  dark: boolean;
  title: string;
}

export function renderExplainHtml(result: ExplainResult, o: PageOptions): string {
  const body = renderMarkdown(result.markdown);
  const hasMermaid = body.includes('<pre class="mermaid">');
  const csp = [
    "default-src 'none'",
    `img-src ${o.cspSource} data:`,
    // Mermaid puts <style> elements into the SVGs it draws.
    `style-src ${o.cspSource} 'unsafe-inline'`,
    `font-src ${o.cspSource}`,
    `script-src 'nonce-${o.nonce}'`,
  ].join('; ');
  const scripts = hasMermaid
    ? `<script nonce="${o.nonce}" src="${escapeHtml(o.mermaidSrc)}"></script>
<script nonce="${o.nonce}">
  mermaid.initialize({ startOnLoad: false, securityLevel: 'strict', theme: ${o.dark ? "'dark'" : "'default'"} });
  mermaid.run({ querySelector: 'pre.mermaid' })
    .then(() => document.body.setAttribute('data-mermaid', 'done'))
    .catch((e) => {
      document.body.setAttribute('data-mermaid', 'error');
      const p = document.createElement('p');
      p.className = 'error';
      p.textContent = 'The diagram could not be drawn: ' + (e && e.message ? e.message : e);
      document.querySelector('main').prepend(p);
    });
</script>`
    : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(o.title)}</title>
<style>
  body { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); color: var(--vscode-foreground); padding: 0 1.5em 2em; line-height: 1.5; }
  header { border-bottom: 1px solid var(--vscode-panel-border, #8884); padding: .6em 0; margin-bottom: 1em; color: var(--vscode-descriptionForeground); }
  code, pre { font-family: var(--vscode-editor-font-family); font-size: var(--vscode-editor-font-size); }
  pre:not(.mermaid) { background: var(--vscode-textCodeBlock-background); padding: .6em .8em; overflow-x: auto; }
  pre.mermaid { background: transparent; text-align: center; }
  table { border-collapse: collapse; } th, td { border: 1px solid var(--vscode-panel-border, #8884); padding: .2em .6em; }
  a { color: var(--vscode-textLink-foreground); }
  .error { color: var(--vscode-errorForeground); }
</style>
</head>
<body data-mermaid="${hasMermaid ? 'pending' : 'none'}">
${result.summary ? `<header>${escapeHtml(result.summary)}</header>` : ''}
<main>
${body}
</main>
${scripts}
</body>
</html>`;
}

export function basename(uri: Uri): string {
  const parts = uri.path.split('/');
  return parts[parts.length - 1] || uri.path;
}

/** One "Explain" panel, reused for every request. */
export class ExplainView {
  private panel: WebviewPanel | undefined;

  constructor(private readonly mediaRoot: Uri) {}

  show(value: unknown, uri?: Uri): boolean {
    const result = parseExplainResult(value);
    if (!result) return false;
    const title = `Explain ${uri ? basename(uri) : 'env.py'}`;
    if (!this.panel) {
      this.panel = vsc.createWebviewPanel('alembicEnv.explain', title, [this.mediaRoot]);
      this.panel.onDidDispose(() => (this.panel = undefined));
    } else {
      this.panel.title = title;
      this.panel.reveal(undefined, true);
    }
    const webview = this.panel.webview;
    webview.html = renderExplainHtml(result, {
      cspSource: webview.cspSource,
      mermaidSrc: webview.asWebviewUri(vsc.joinPath(this.mediaRoot, 'mermaid.min.js')).toString(),
      nonce: crypto.randomBytes(16).toString('base64'),
      dark: vsc.isDarkTheme(),
      title,
    });
    return true;
  }

  dispose(): void {
    this.panel?.dispose();
  }
}
