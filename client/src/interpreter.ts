// The project's Python: the `alembicEnv.interpreter` setting, else the interpreter selected in
// the Python extension (through its published API, @vscode/python-extension, when that
// extension is installed; it is not a dependency), else `python3`. The environment rules judge
// it; with importStrategy fromEnvironment it also runs the server.
import * as os from 'os';
import * as path from 'path';
import type { PythonExtension } from '@vscode/python-extension';
import type { Disposable, Uri } from 'vscode';
import * as vsc from './vscodeapi';
import { primaryFolder, readSettings } from './settings';

export const PYTHON_EXTENSION_ID = 'ms-python.python';
export const DEFAULT_PYTHON = process.platform === 'win32' ? 'python' : 'python3';

export type InterpreterSource = 'setting' | 'python-extension' | 'default';

export interface Interpreter {
  /** Executable to run. */
  command: string;
  /** Arguments that come before `-m ...` (e.g. from `conda run -n env python`). */
  prefixArgs: string[];
  source: InterpreterSource;
}

/** Where the interpreter was chosen: "alembicEnv.interpreter", "the Python extension" or "default". */
export function describeSource(interp: Interpreter): string {
  return interp.source === 'setting' ? 'alembicEnv.interpreter' : interp.source === 'python-extension' ? 'the Python extension' : 'default';
}

export function describe(interp: Interpreter): string {
  return `${[interp.command, ...interp.prefixArgs].join(' ')} (${describeSource(interp)})`;
}

/** Expands `${workspaceFolder}`, `${workspaceFolder:name}`, `${userHome}`, `${env:NAME}` and `~`;
 * resolves a relative path (one with a separator) against the first workspace folder. */
export function expandInterpreterPath(value: string, env: NodeJS.ProcessEnv = process.env): string {
  const folders = vsc.getWorkspaceFolders();
  const first = folders[0]?.uri.fsPath;
  let out = value.replace(/\$\{(workspaceFolder(?::([^}]+))?|userHome|env:([^}]+))\}/g, (whole, name: string, folderName?: string, envName?: string) => {
    if (name === 'userHome') return os.homedir();
    if (envName !== undefined) return env[envName] ?? '';
    if (folderName !== undefined) return folders.find((f) => f.name === folderName)?.uri.fsPath ?? whole;
    return first ?? whole;
  });
  if (out === '~' || out.startsWith('~/') || out.startsWith('~\\')) out = path.join(os.homedir(), out.slice(1));
  const looksLikePath = out.includes('/') || out.includes('\\');
  if (looksLikePath && !path.isAbsolute(out) && first) out = path.resolve(first, out);
  return out;
}

async function pythonApi(log: vsc.LogChannel): Promise<PythonExtension | undefined> {
  try {
    return await vsc.pythonExtensionApi();
  } catch (e) {
    log.warn(`The Python extension did not activate: ${(e as Error).message}`);
    return undefined;
  }
}

async function fromPythonExtension(log: vsc.LogChannel, resource: Uri | undefined): Promise<Interpreter | undefined> {
  const api = await pythonApi(log);
  if (!api) return undefined;
  try {
    const envPath = api.environments.getActiveEnvironmentPath(resource);
    const resolved = await api.environments.resolveEnvironment(envPath);
    const exe = resolved?.executable?.uri?.fsPath ?? envPath?.path;
    if (exe) return { command: exe, prefixArgs: [], source: 'python-extension' };
  } catch (e) {
    log.warn(`Could not read the interpreter selected in the Python extension: ${(e as Error).message}`);
  }
  return undefined;
}

/** The project's interpreter for `scope` (a folder or file URI; none: the first folder). */
export async function resolveInterpreter(log: vsc.LogChannel, scope?: Uri): Promise<Interpreter> {
  const folderUri = (scope && vsc.getWorkspaceFolder(scope)?.uri) ?? primaryFolder()?.uri;
  const configured = readSettings(folderUri).interpreter;
  if (configured) {
    return { command: expandInterpreterPath(configured), prefixArgs: [], source: 'setting' };
  }
  const fromExt = await fromPythonExtension(log, folderUri);
  if (fromExt) return fromExt;
  return { command: DEFAULT_PYTHON, prefixArgs: [], source: 'default' };
}

/** Whether the Python extension's choice is the project interpreter of some folder (one
 * without alembicEnv.interpreter): then a change of that choice restarts the server. */
export function followsPythonExtension(): boolean {
  const folders = vsc.getWorkspaceFolders();
  if (folders.length === 0) return !readSettings(null).interpreter;
  return folders.some((f) => !readSettings(f.uri).interpreter);
}

/** Calls `listener` when the interpreter selected in the Python extension changes (for any folder). */
export async function onPythonInterpreterChanged(log: vsc.LogChannel, listener: () => unknown): Promise<Disposable | undefined> {
  const api = await pythonApi(log);
  if (!api) return undefined;
  return api.environments.onDidChangeActiveEnvironmentPath(() => listener());
}
