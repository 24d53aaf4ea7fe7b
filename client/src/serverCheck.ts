// Is the server package importable by the chosen interpreter, and installing it there.
import type { Interpreter } from './interpreter';
import type { Runner } from './process';

export const SERVER_MODULE = 'alembic_env_lsp';
export const SERVER_PACKAGE = 'alembic-env-lsp';
export const MIN_PYTHON: readonly [number, number] = [3, 10];

// Printed as one JSON line; runs with any Python 3 (also old ones, to report the version).
const PROBE_SCRIPT = [
  'import json, sys',
  'r = {"version": list(sys.version_info[:3]), "executable": sys.executable, "basePrefix": getattr(sys, "base_prefix", sys.prefix)}',
  'try:',
  `    import ${SERVER_MODULE} as m`,
  '    r["found"] = True',
  '    r["serverVersion"] = getattr(m, "__version__", None)',
  'except ImportError as e:',
  '    r["found"] = False',
  '    r["error"] = "%s: %s" % (type(e).__name__, e)',
  'print(json.dumps(r))',
].join('\n');

export type ProbeResult =
  | { kind: 'ok'; version: string; executable: string; basePrefix: string; serverVersion: string | null }
  | { kind: 'missing'; version: string; executable: string; basePrefix: string; detail: string }
  | { kind: 'old-python'; version: string; executable: string }
  | { kind: 'no-interpreter'; detail: string }
  | { kind: 'failed'; detail: string };

export function serverArgs(interp: Interpreter, extraArgs: readonly string[]): string[] {
  return [...interp.prefixArgs, '-m', SERVER_MODULE, 'serve', ...extraArgs];
}

export async function probeServer(run: Runner, interp: Interpreter, cwd: string, timeoutMs = 30000): Promise<ProbeResult> {
  const res = await run(interp.command, [...interp.prefixArgs, '-c', PROBE_SCRIPT], { cwd, timeoutMs });
  if (res.error && (res.error.code === 'ENOENT' || res.error.code === 'EACCES')) {
    return { kind: 'no-interpreter', detail: `${interp.command}: ${res.error.code === 'ENOENT' ? 'not found' : 'not executable'}` };
  }
  if (res.error) return { kind: 'failed', detail: res.error.message };
  const line = res.stdout.trim().split(/\r?\n/).pop() ?? '';
  let parsed: { version?: number[]; executable?: string; basePrefix?: string; found?: boolean; serverVersion?: string | null; error?: string };
  try {
    parsed = JSON.parse(line);
  } catch {
    // A shell wrapper that exits 127, or something that is not Python at all.
    if (res.code === 127) return { kind: 'no-interpreter', detail: `${interp.command}: ${res.stderr.trim() || 'command not found'}` };
    return { kind: 'failed', detail: `unexpected output from ${interp.command} (exit ${res.code}): ${(res.stderr || res.stdout).trim().slice(0, 500)}` };
  }
  const v = parsed.version ?? [0, 0, 0];
  const version = v.join('.');
  const executable = parsed.executable || interp.command;
  const basePrefix = parsed.basePrefix || executable;
  if (v[0] < MIN_PYTHON[0] || (v[0] === MIN_PYTHON[0] && v[1] < MIN_PYTHON[1])) return { kind: 'old-python', version, executable };
  if (parsed.found) return { kind: 'ok', version, executable, basePrefix, serverVersion: parsed.serverVersion ?? null };
  return { kind: 'missing', version, executable, basePrefix, detail: parsed.error ?? `cannot import ${SERVER_MODULE}` };
}

export interface InstallOutcome {
  ok: boolean;
  /** Why it failed, for the notification (the full output went to the log). */
  reason?: string;
}

/** `<interpreter> -m pip install alembic-env-lsp`, every output line passed to `onLine`. */
export async function installServer(
  run: Runner,
  interp: Interpreter,
  cwd: string,
  onLine: (line: string, stream: 'stdout' | 'stderr') => void,
  timeoutMs = 10 * 60 * 1000,
): Promise<InstallOutcome> {
  const args = [...interp.prefixArgs, '-m', 'pip', 'install', SERVER_PACKAGE];
  onLine(`$ ${[interp.command, ...args].join(' ')}`, 'stdout');
  const res = await run(interp.command, args, { cwd, timeoutMs, onLine, env: { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: '1', PYTHONUNBUFFERED: '1' } });
  if (res.code === 0) return { ok: true };
  const all = `${res.stdout}\n${res.stderr}`;
  if (/externally-managed-environment/.test(all)) {
    return { ok: false, reason: 'this Python is managed by the system (PEP 668); select a virtual environment instead' };
  }
  if (/No module named pip/.test(all)) return { ok: false, reason: 'pip is not available in this Python' };
  if (res.error) return { ok: false, reason: res.error.message };
  return { ok: false, reason: `pip exited with code ${res.code}` };
}
