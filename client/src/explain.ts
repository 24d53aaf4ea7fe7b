// "Explain This env.py": the server's `alembic-env.explain` returns Markdown with a ```mermaid
// block; it is rendered in a webview with the Mermaid library shipped inside the extension
// (dist/media/mermaid.min.js), so the diagram draws with no network. The view stays live: it
// is asked again when the file or an alembic.ini changes (in the editor or on disk), and a
// click on a diagram node ("… · line N") reveals that line in the editor.
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

/** The env.py line (1-based) a diagram node's text points at ("… · line 12"), if any. Also
 * embedded in the webview's script (its source text), so the page runs this very function. */
export function lineOfNode(text: string): number | undefined {
  const m = /\u00b7\s*line (\d+)/.exec(text);
  return m ? Number(m[1]) : undefined;
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
  const vscodeApi = acquireVsCodeApi();
  const lineOfNode = ${lineOfNode.toString()};
  const linkNodes = () => {
    for (const node of document.querySelectorAll('pre.mermaid g.node')) {
      const line = lineOfNode(node.textContent || '');
      if (line === undefined) continue;
      node.style.cursor = 'pointer';
      node.setAttribute('data-line', String(line));
      node.addEventListener('click', () => vscodeApi.postMessage({ type: 'reveal', line }));
    }
  };
  mermaid.initialize({ startOnLoad: false, securityLevel: 'strict', theme: ${o.dark ? "'dark'" : "'default'"} });
  mermaid.run({ querySelector: 'pre.mermaid' })
    .then(() => { linkNodes(); document.body.setAttribute('data-mermaid', 'done'); })
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

/** Asks the server for the explanation of a file (undefined: it could not). */
export type ExplainFetch = (uri: Uri) => Promise<unknown>;

const REFRESH_DELAY_MS = 400;

/** One "Explain" panel, reused for every request, kept up to date while it is open. */
export class ExplainView {
  private panel: WebviewPanel | undefined;
  private uri: Uri | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly subscriptions: { dispose(): void }[] = [];
  /** Completes when the last scheduled refresh has been drawn (tests wait on it). */
  lastRefresh: Promise<void> = Promise.resolve();

  constructor(
    private readonly mediaRoot: Uri,
    private readonly fetch: ExplainFetch,
    private readonly delayMs = REFRESH_DELAY_MS,
  ) {}

  show(value: unknown, uri?: Uri): boolean {
    const result = parseExplainResult(value);
    if (!result) return false;
    if (uri) this.uri = uri;
    const title = `Explain ${this.uri ? basename(this.uri) : 'env.py'}`;
    if (!this.panel) {
      this.panel = vsc.createWebviewPanel('alembicEnv.explain', title, [this.mediaRoot]);
      this.panel.onDidDispose(() => this.closed());
      this.panel.webview.onDidReceiveMessage((message: unknown) => this.onMessage(message));
      this.watch();
    } else {
      this.panel.title = title;
      this.panel.reveal(undefined, true);
    }
    this.render(result, title);
    return true;
  }

  private render(result: ExplainResult, title: string): void {
    if (!this.panel) return;
    const webview = this.panel.webview;
    webview.html = renderExplainHtml(result, {
      cspSource: webview.cspSource,
      mermaidSrc: webview.asWebviewUri(vsc.joinPath(this.mediaRoot, 'mermaid.min.js')).toString(),
      nonce: crypto.randomBytes(16).toString('base64'),
      dark: vsc.isDarkTheme(),
      title,
    });
  }

  /** Whether a change to `changed` can change the explanation shown. */
  private affects(changed: Uri): boolean {
    if (!this.uri || changed.scheme !== 'file') return false;
    return changed.toString() === this.uri.toString() || basename(changed) === 'alembic.ini';
  }

  private watch(): void {
    const onChange = (changed: Uri) => {
      if (this.affects(changed)) this.schedule();
    };
    const watcher = vsc.createFileSystemWatcher('**/{alembic.ini,env.py}');
    this.subscriptions.push(
      vsc.onDidChangeTextDocument((e) => onChange(e.document.uri)),
      watcher,
      watcher.onDidChange(onChange),
      watcher.onDidCreate(onChange),
      watcher.onDidDelete(onChange),
    );
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    let done!: () => void;
    this.lastRefresh = new Promise((r) => (done = r));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.refresh().finally(done);
    }, this.delayMs);
  }

  private async refresh(): Promise<void> {
    const uri = this.uri;
    if (!uri || !this.panel) return;
    let value: unknown;
    try {
      value = await this.fetch(uri);
    } catch {
      return; // the server said why in the log; the last explanation stays
    }
    const result = parseExplainResult(value);
    if (result && this.panel && this.uri === uri) this.render(result, this.panel.title);
  }

  private onMessage(message: unknown): void {
    const m = message as { type?: unknown; line?: unknown };
    if (!this.uri || m?.type !== 'reveal' || typeof m.line !== 'number' || !Number.isInteger(m.line) || m.line < 1) return;
    void vsc.revealLine(this.uri, m.line - 1);
  }

  private closed(): void {
    this.panel = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const s of this.subscriptions.splice(0)) s.dispose();
  }

  dispose(): void {
    this.panel?.dispose();
    this.closed();
  }
}
