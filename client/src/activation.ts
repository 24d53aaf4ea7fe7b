// Starting the server only where it is useful: a workspace with an alembic.ini or env.py,
// or once such a file is opened (the extension also activates on any Python file).
import type { TextDocument, Uri } from 'vscode';
import * as vsc from './vscodeapi';

export function fileName(uri: Uri): string {
  const parts = uri.path.split('/');
  return parts[parts.length - 1] ?? '';
}

export function isAlembicFile(doc: Pick<TextDocument, 'uri' | 'languageId'>): boolean {
  if (doc.uri.scheme !== 'file') return false;
  const name = fileName(doc.uri);
  return name === 'alembic.ini' || (name === 'env.py' && doc.languageId === 'python');
}

export async function workspaceHasAlembicFiles(): Promise<boolean> {
  if (vsc.getWorkspaceFolders().length === 0) return false;
  if ((await vsc.findFiles('**/alembic.ini', 1)).length > 0) return true;
  return (await vsc.findFiles('**/env.py', 1)).length > 0;
}

/** Calls `start` once: now if the workspace or an open file calls for it, else when an env.py / alembic.ini is opened. */
export async function startWhenRelevant(start: () => void): Promise<{ dispose(): void }> {
  let started = false;
  const once = () => {
    if (!started) {
      started = true;
      start();
    }
  };
  // Listen first, so a file opened while the workspace is searched is not missed.
  const sub = vsc.onDidOpenTextDocument((doc) => {
    if (isAlembicFile(doc)) {
      sub.dispose();
      once();
    }
  });
  if (vsc.textDocuments().some(isAlembicFile) || (await workspaceHasAlembicFiles())) {
    sub.dispose();
    once();
  }
  return sub;
}
