// importStrategy "useBundled": the server runs from a virtual environment the extension owns,
// in its global storage, so nothing is installed into the project's interpreter. The
// environment is made once per (server version, Python version, base Python) with the chosen
// Python, from the wheels shipped inside the .vsix (bundled/wheels, built at package time);
// when they do not fit that Python (binary wheels of another version) pip completes them from
// the package index. It is built in a temporary folder and renamed into place when complete,
// so an interrupted setup is never mistaken for a ready one.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { Runner } from './process';
import { SERVER_MODULE, SERVER_PACKAGE } from './serverCheck';

export const MARKER = 'alembic-env-lsp-env.json';

export interface BasePython {
  command: string;
  prefixArgs: string[];
  /** "3.11.7" */
  version: string;
  /** sys.base_prefix: environments made from venvs of the same Python share one server env. */
  basePrefix: string;
}

export interface EnvRequest {
  run: Runner;
  base: BasePython;
  /** The extension's global storage folder. */
  storageDir: string;
  /** Folder of wheels shipped with the extension (may be missing in a development build). */
  wheelsDir: string;
  /** The extension's version: the server version it installs. */
  serverVersion: string;
  cwd: string;
  onLine: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Each step, in words, as it starts (for the progress notification). */
  onStep?: (step: string) => void;
  timeoutMs?: number;
}

export type EnvOutcome =
  | { ok: true; python: string; dir: string; created: boolean; source: 'existing' | 'bundled' | 'index' }
  | { ok: false; reason: string };

const short = (text: string) => crypto.createHash('sha256').update(text).digest('hex').slice(0, 12);

export function envDir(storageDir: string, serverVersion: string, base: Pick<BasePython, 'version' | 'basePrefix'>): string {
  const [major, minor] = base.version.split('.');
  return path.join(storageDir, 'server-env', `${serverVersion}-py${major}.${minor}-${short(base.basePrefix)}`);
}

export function envPython(dir: string, platform: NodeJS.Platform = process.platform): string {
  return platform === 'win32' ? path.join(dir, 'Scripts', 'python.exe') : path.join(dir, 'bin', 'python');
}

/** The server's wheel among the bundled ones, for this version (undefined: none shipped). */
export function bundledServerWheel(wheelsDir: string, serverVersion: string): string | undefined {
  let names: string[];
  try {
    names = fs.readdirSync(wheelsDir);
  } catch {
    return undefined;
  }
  const prefix = `${SERVER_MODULE}-${serverVersion}-`;
  const found = names.find((n) => n.startsWith(prefix) && n.endsWith('.whl'));
  return found ? path.join(wheelsDir, found) : undefined;
}

/** What the environment was made from: a different wheel (a rebuilt extension) means a new env. */
function fingerprint(req: EnvRequest): string {
  const wheel = bundledServerWheel(req.wheelsDir, req.serverVersion);
  const wheelHash = wheel ? short(fs.readFileSync(wheel).toString('base64')) : 'index';
  return `${req.serverVersion}/${wheelHash}`;
}

function readMarker(dir: string): string | undefined {
  try {
    return (JSON.parse(fs.readFileSync(path.join(dir, MARKER), 'utf8')) as { fingerprint?: string }).fingerprint;
  } catch {
    return undefined;
  }
}

/** True when the environment for this request exists and is complete (no process is run). */
export function isReady(req: EnvRequest): boolean {
  const dir = envDir(req.storageDir, req.serverVersion, req.base);
  return readMarker(dir) === fingerprint(req) && fs.existsSync(envPython(dir));
}

/** The last line of output that says what went wrong, for the notification. */
function lastError(text: string): string | undefined {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  return [...lines].reverse().find((l) => /^error|error:|not found|no matching distribution/i.test(l)) ?? lines[lines.length - 1];
}

export async function ensureServerEnv(req: EnvRequest): Promise<EnvOutcome> {
  const dir = envDir(req.storageDir, req.serverVersion, req.base);
  const print = fingerprint(req);
  if (readMarker(dir) === print && fs.existsSync(envPython(dir))) return { ok: true, python: envPython(dir), dir, created: false, source: 'existing' };

  const tmp = `${dir}.tmp-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  const cleanup = () => fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const env: NodeJS.ProcessEnv = { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_NO_INPUT: '1', PYTHONUNBUFFERED: '1' };
  // A user's PIP_REQUIRE_VIRTUALENV / PIP_USER must not change where this install goes.
  delete env.PIP_USER;
  const timeoutMs = req.timeoutMs ?? 10 * 60 * 1000;
  const step = async (command: string, args: string[]) => {
    req.onLine(`$ ${[command, ...args].join(' ')}`, 'stdout');
    return req.run(command, args, { cwd: req.cwd, env, timeoutMs, onLine: req.onLine });
  };

  req.onStep?.(`creating a virtual environment with ${req.base.command}`);
  const venv = await step(req.base.command, [...req.base.prefixArgs, '-m', 'venv', tmp]);
  if (venv.code !== 0) {
    cleanup();
    const out = `${venv.stdout}\n${venv.stderr}`;
    if (/ensurepip is not available|No module named venv|No module named ensurepip/.test(out)) {
      return { ok: false, reason: `${req.base.command} cannot create virtual environments (on Debian/Ubuntu: apt install python3-venv), or set "alembicEnv.importStrategy" to "fromEnvironment"` };
    }
    return { ok: false, reason: `creating the server environment failed: ${venv.error?.message ?? lastError(out) ?? `exit ${venv.code}`}` };
  }
  const python = envPython(tmp);
  const requirement = `${SERVER_PACKAGE}==${req.serverVersion}`;
  // --no-compile: byte code written now would name the temporary folder in tracebacks.
  const pip = [python, '-m', 'pip', 'install', '--disable-pip-version-check', '--no-compile'];
  let source: 'bundled' | 'index' = 'index';
  let installed = false;
  let why = '';
  const wheel = bundledServerWheel(req.wheelsDir, req.serverVersion);
  if (wheel) {
    req.onStep?.('installing the server from the wheels in the extension');
    // Offline first: everything from the wheels the extension carries.
    const res = await step(pip[0], [...pip.slice(1), '--no-index', '--find-links', req.wheelsDir, requirement]);
    installed = res.code === 0;
    source = 'bundled';
    if (!installed) {
      why = lastError(`${res.stdout}\n${res.stderr}`) ?? '';
      req.onLine('The bundled wheels do not fit this Python; completing them from the package index.', 'stdout');
    }
  }
  if (!installed) {
    req.onStep?.('installing the server from the package index');
    const links = wheel ? ['--find-links', req.wheelsDir] : [];
    const res = await step(pip[0], [...pip.slice(1), ...links, requirement]);
    installed = res.code === 0;
    source = 'index';
    if (!installed) why = res.error?.message ?? lastError(`${res.stdout}\n${res.stderr}`) ?? `pip exited with code ${res.code}`;
  }
  if (!installed) {
    cleanup();
    return { ok: false, reason: `installing ${requirement} into the server environment failed: ${why}` };
  }
  fs.writeFileSync(path.join(tmp, MARKER), `${JSON.stringify({ fingerprint: print, python: req.base.command, source }, null, 2)}\n`);
  // Another window may have finished the same environment meanwhile (and run a server from it).
  const finishedElsewhere = () => readMarker(dir) === print && fs.existsSync(envPython(dir));
  if (finishedElsewhere()) {
    cleanup();
    return { ok: true, python: envPython(dir), dir, created: false, source: 'existing' };
  }
  try {
    fs.rmSync(dir, { recursive: true, force: true }); // an incomplete or outdated one
    fs.renameSync(tmp, dir);
  } catch (e) {
    cleanup();
    if (finishedElsewhere()) return { ok: true, python: envPython(dir), dir, created: false, source: 'existing' };
    return { ok: false, reason: `could not move the server environment into place: ${(e as Error).message}` };
  }
  removeOtherVersions(path.dirname(dir), req.serverVersion);
  return { ok: true, python: envPython(dir), dir, created: true, source };
}

/** Environments of other server versions (an updated extension) are not used again: free the space. */
export function removeOtherVersions(root: string, serverVersion: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(root);
  } catch {
    return;
  }
  for (const name of names) {
    if (name.startsWith(`${serverVersion}-`)) continue;
    try {
      fs.rmSync(path.join(root, name), { recursive: true, force: true });
    } catch {
      // in use or already gone: it is tried again after the next update
    }
  }
}
