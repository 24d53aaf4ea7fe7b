// Plumbing for the VS Code end-to-end test: a throw-away Alembic project, a fresh code-server
// profile with the built .vsix installed, code-server on a loopback port, and Debian's Chromium
// driven by playwright-core. Nothing here talks to anything but 127.0.0.1.
import { execFile, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const CODE_SERVER_VERSION = '4.100.3';
export const CODE_SERVER =
  process.env.CODE_SERVER ||
  path.join(process.env.CODE_SERVER_DIR || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'alembic-env-lsp', `code-server-${CODE_SERVER_VERSION}`), 'node_modules', '.bin', 'code-server');
export const VSIX = process.env.VSIX || path.join(ROOT, 'dist', 'alembic-env-lsp.vsix');
/** The Python with the server installed (editable) — what alembicEnv.interpreter is set to. */
export const PYTHON = process.env.ALEMBIC_ENV_E2E_PYTHON || path.join(ROOT, '.venv', 'bin', 'python');
/** alembic's own CLI, used to write the `async` template exactly as users get it. */
export const ALEMBIC = process.env.ALEMBIC_ENV_E2E_ALEMBIC || path.join(path.dirname(PYTHON), 'alembic');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const ARTIFACTS = process.env.ARTIFACTS || path.join(ROOT, 'test-artifacts', 'vscode');

export const DB_URL = 'postgresql+psycopg2://app:secret@localhost/app';
export const FIXED_URL = 'postgresql+asyncpg://app:secret@localhost/app';

const T0 = Date.now();
export const log = (m) => console.log(`[e2e ${String(((Date.now() - T0) / 1000).toFixed(1)).padStart(5)}s] ${m}`);

export function checkPrerequisites() {
  const missing = [];
  for (const [what, p] of [['code-server (run scripts/setup-vscode.sh)', CODE_SERVER], ['the .vsix (run npm run package)', VSIX], ['the venv python', PYTHON], ['alembic', ALEMBIC], ['chromium (run scripts/setup-vscode.sh)', CHROMIUM]]) {
    if (!fs.existsSync(p)) missing.push(`${what}: ${p}`);
  }
  if (missing.length) throw new Error(`missing:\n  ${missing.join('\n  ')}`);
}

/** A temp folder with ws/ (the workspace folders), user/, ext/ and browser/. */
export function makeRunDir() {
  const run = fs.mkdtempSync(path.join(os.tmpdir(), 'alembic-env-vscode-'));
  for (const d of ['ws', 'user/User', 'ext', 'browser']) fs.mkdirSync(path.join(run, d), { recursive: true });
  return run;
}

/** `alembic init -t <template> migrations` in `dir`, then the URL and script_location set in
 * alembic.ini, and the folder's own settings (as a user would write them). */
export function makeAlembicProject(dir, { template = 'async', settings = {} } = {}) {
  fs.mkdirSync(dir, { recursive: true });
  execFileSync(ALEMBIC, ['init', '-t', template, 'migrations'], { cwd: dir, stdio: 'pipe' });
  const iniPath = path.join(dir, 'alembic.ini');
  let ini = fs.readFileSync(iniPath, 'utf8');
  const before = ini;
  ini = ini.replace(/^sqlalchemy\.url\s*=.*$/m, `sqlalchemy.url = ${DB_URL}`);
  ini = ini.replace(/^script_location\s*=.*$/m, 'script_location = %(here)s/migrations');
  if (ini === before || !ini.includes(DB_URL)) throw new Error('alembic.ini from alembic init has no sqlalchemy.url line');
  fs.writeFileSync(iniPath, ini);
  const envPath = path.join(dir, 'migrations', 'env.py');
  const envPy = fs.readFileSync(envPath, 'utf8');
  const callLine = envPy.split('\n').findIndex((l) => /=\s*(async_)?engine_from_config\(/.test(l));
  if (callLine < 0) throw new Error('the template has no `= engine_from_config(` line');
  fs.mkdirSync(path.join(dir, '.vscode'));
  fs.writeFileSync(path.join(dir, '.vscode', 'settings.json'), `${JSON.stringify(settings, null, 2)}\n`);
  return { dir, iniPath, envPath, callLine: callLine + 1 };
}

/** A two-folder (multi-root) workspace file; window-scoped settings live in it. */
export function makeWorkspaceFile(run, folders, settings) {
  const file = path.join(run, 'alembic-projects.code-workspace');
  fs.writeFileSync(file, `${JSON.stringify({ folders: folders.map((f) => ({ path: f })), settings }, null, 2)}\n`);
  return file;
}

/** A new venv without the server: the project's interpreter. */
export function makeBareVenv(dir) {
  execFileSync(PYTHON, ['-m', 'venv', dir], { stdio: 'pipe' });
  return path.join(dir, 'bin', 'python');
}

/** `pip list` of an interpreter (name==version lines), to prove nothing was installed into it. */
export function pipList(python) {
  return execFileSync(python, ['-m', 'pip', 'list', '--format=freeze', '--disable-pip-version-check'], { encoding: 'utf8' }).trim();
}

/** The folder the .vsix was installed to (its bundled wheels are there). */
export function installedExtensionDir(run) {
  const ext = path.join(run, 'ext');
  const dir = fs.readdirSync(ext).find((d) => d.startsWith('alembic-env-lsp.'));
  if (!dir) throw new Error(`no installed extension in ${ext}`);
  return path.join(ext, dir);
}

export function writeUserSettings(run, extra = {}) {
  const settings = {
    'workbench.startupEditor': 'none',
    'security.workspace.trust.enabled': false,
    'telemetry.telemetryLevel': 'off',
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'extensions.ignoreRecommendations': true,
    'workbench.enableExperiments': false,
    'workbench.tips.enabled': false,
    'update.mode': 'none',
    'editor.hover.delay': 300,
    'editor.stickyScroll.enabled': false,
    'window.commandCenter': false,
    'workbench.colorTheme': 'Default Dark Modern',
    'chat.commandCenter.enabled': false,
    'workbench.secondarySideBar.defaultVisibility': 'hidden',
    ...extra,
  };
  fs.writeFileSync(path.join(run, 'user', 'User', 'settings.json'), JSON.stringify(settings, null, 2));
}

export function installVsix(run) {
  const out = execFileSync(CODE_SERVER, ['--user-data-dir', path.join(run, 'user'), '--extensions-dir', path.join(run, 'ext'), '--install-extension', VSIX], {
    encoding: 'utf8',
    stdio: 'pipe',
  });
  if (!/successfully installed/i.test(out)) throw new Error(`installing the vsix: ${out}`);
  return out.trim();
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Starts code-server in its own process group; `stop()` ends that group only. `trust`: keep
 * VS Code's workspace trust on (the folder opens in Restricted Mode until trusted). */
export async function startCodeServer(run, port, extraEnv = {}, { trust = false } = {}) {
  const logFile = fs.openSync(path.join(run, 'code-server.log'), 'a');
  const child = spawn(
    CODE_SERVER,
    [
      '--config', '/dev/null',
      '--bind-addr', `127.0.0.1:${port}`,
      '--auth', 'none',
      '--disable-telemetry',
      '--disable-update-check',
      ...(trust ? [] : ['--disable-workspace-trust']),
      '--disable-getting-started-override',
      '--user-data-dir', path.join(run, 'user'),
      '--extensions-dir', path.join(run, 'ext'),
    ],
    {
      detached: true, // own process group: its file watcher and extension host die with it
      stdio: ['ignore', logFile, logFile],
      env: {
        ...process.env,
        // keep the workbench from asking the public gallery about extensions
        EXTENSIONS_GALLERY: JSON.stringify({ serviceUrl: 'http://127.0.0.1:9/gallery', itemUrl: 'http://127.0.0.1:9/items' }),
        ...extraEnv,
      },
    },
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`code-server exited with ${child.exitCode}; see ${run}/code-server.log`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error('code-server did not answer /healthz within 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  const stop = async () => {
    if (child.exitCode !== null) return;
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      return;
    }
    for (let i = 0; i < 30 && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 100));
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  };
  return { url, stop, pid: child.pid };
}

/** Copies the extension's and code-server's logs next to the screenshots. */
export function collectLogs(run, name = 'logs') {
  const dest = path.join(ARTIFACTS, name);
  fs.mkdirSync(dest, { recursive: true });
  const copy = (src, name) => {
    try {
      fs.copyFileSync(src, path.join(dest, name));
    } catch {
      /* absent */
    }
  };
  copy(path.join(run, 'code-server.log'), 'code-server.log');
  const walk = (dir) => {
    for (const entry of fs.existsSync(dir) ? fs.readdirSync(dir, { withFileTypes: true }) : []) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (/Alembic env|exthost|remoteexthost/i.test(entry.name)) copy(p, entry.name.replace(/\s+/g, '-'));
    }
  };
  walk(path.join(run, 'user', 'logs'));
  return dest;
}

/** The text of the "Alembic env" output channel (its log file), or '' if not written yet. */
export function extensionLog(run) {
  let found = '';
  const walk = (dir) => {
    for (const entry of fs.existsSync(dir) ? fs.readdirSync(dir, { withFileTypes: true }) : []) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (/Alembic env\.log$/.test(entry.name)) found += fs.readFileSync(p, 'utf8');
    }
  };
  walk(path.join(run, 'user', 'logs'));
  return found;
}

function run(command, args) {
  return new Promise((resolve, reject) => {
    execFile(command, args, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')}: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}
