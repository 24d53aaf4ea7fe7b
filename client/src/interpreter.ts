// Which Python runs the server: the `alembicEnv.interpreter` setting, else the interpreter
// selected in the Python extension (through its API, if that extension is installed; it is
// not a dependency), else `python3`.
import * as os from 'os';
import * as path from 'path';
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

export function describe(interp: Interpreter): string {
  const cmd = [interp.command, ...interp.prefixArgs].join(' ');
  const from = interp.source === 'setting' ? 'alembicEnv.interpreter' : interp.source === 'python-extension' ? 'the Python extension' : 'default';
  return `${cmd} (${from})`;
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

// The parts of the Python extension's API used here. Both shapes are handled: the current
// `environments` API and the older `settings.getExecutionDetails`.
interface EnvironmentPath {
  id?: string;
  path: string;
}
interface ResolvedEnvironment {
  executable?: { uri?: { fsPath: string } };
}
interface PythonApi {
  environments?: {
    getActiveEnvironmentPath(resource?: Uri): EnvironmentPath;
    resolveEnvironment(env: EnvironmentPath | string): Promise<ResolvedEnvironment | undefined>;
    onDidChangeActiveEnvironmentPath?: (listener: () => unknown) => Disposable;
  };
  settings?: {
    getExecutionDetails(resource?: Uri): { execCommand: string[] | undefined };
    onDidChangeExecutionDetails?: (listener: () => unknown) => Disposable;
  };
}

async function pythonApi(log: vsc.LogChannel): Promise<PythonApi | undefined> {
  const ext = vsc.getExtension(PYTHON_EXTENSION_ID);
  if (!ext) return undefined;
  try {
    const api = (ext.isActive ? ext.exports : await ext.activate()) as PythonApi | undefined;
    return api ?? undefined;
  } catch (e) {
    log.warn(`The Python extension did not activate: ${(e as Error).message}`);
    return undefined;
  }
}

async function fromPythonExtension(log: vsc.LogChannel, resource: Uri | undefined): Promise<Interpreter | undefined> {
  const api = await pythonApi(log);
  if (!api) return undefined;
  try {
    if (api.environments?.getActiveEnvironmentPath) {
      const envPath = api.environments.getActiveEnvironmentPath(resource);
      const resolved = await api.environments.resolveEnvironment(envPath);
      const exe = resolved?.executable?.uri?.fsPath ?? envPath?.path;
      if (exe) return { command: exe, prefixArgs: [], source: 'python-extension' };
    }
    if (api.settings?.getExecutionDetails) {
      const exec = api.settings.getExecutionDetails(resource).execCommand;
      if (exec && exec.length > 0 && exec[0]) return { command: exec[0], prefixArgs: exec.slice(1), source: 'python-extension' };
    }
  } catch (e) {
    log.warn(`Could not read the interpreter selected in the Python extension: ${(e as Error).message}`);
  }
  return undefined;
}

export async function resolveInterpreter(log: vsc.LogChannel): Promise<Interpreter> {
  const folder = primaryFolder();
  const configured = readSettings(folder?.uri).interpreter;
  if (configured) {
    return { command: expandInterpreterPath(configured), prefixArgs: [], source: 'setting' };
  }
  const fromExt = await fromPythonExtension(log, folder?.uri);
  if (fromExt) return fromExt;
  return { command: DEFAULT_PYTHON, prefixArgs: [], source: 'default' };
}

/** Calls `listener` when the interpreter selected in the Python extension changes. */
export async function onPythonInterpreterChanged(log: vsc.LogChannel, listener: () => unknown): Promise<Disposable | undefined> {
  const api = await pythonApi(log);
  if (!api) return undefined;
  if (api.environments?.onDidChangeActiveEnvironmentPath) return api.environments.onDidChangeActiveEnvironmentPath(listener);
  if (api.settings?.onDidChangeExecutionDetails) return api.settings.onDidChangeExecutionDetails(listener);
  return undefined;
}
