// Running the interpreter as a child process (probe and pip install). Not part of the
// `vscode` API; the controller takes a Runner so tests can pass a fake one.
import { spawn } from 'child_process';

export interface RunOptions {
  cwd?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Called with each complete line of output as it arrives. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
}

export interface RunResult {
  /** Exit code; null when the process could not start, was killed or timed out. */
  code: number | null;
  stdout: string;
  stderr: string;
  /** Set when the process could not be started (e.g. ENOENT) or timed out. */
  error?: { code?: string; message: string };
}

export type Runner = (command: string, args: readonly string[], options?: RunOptions) => Promise<RunResult>;

export const runProcess: Runner = (command, args, options = {}) =>
  new Promise<RunResult>((resolve) => {
    let stdout = '';
    let stderr = '';
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (result: RunResult) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      resolve(result);
    };
    let child;
    try {
      child = spawn(command, [...args], {
        cwd: options.cwd,
        env: options.env ?? process.env,
        stdio: ['ignore', 'pipe', 'pipe'],
        windowsHide: true,
      });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      finish({ code: null, stdout, stderr, error: { code: err.code, message: err.message } });
      return;
    }
    const splitter = (stream: 'stdout' | 'stderr') => {
      let pending = '';
      return (chunk: Buffer) => {
        const text = chunk.toString('utf8');
        if (stream === 'stdout') stdout += text;
        else stderr += text;
        if (!options.onLine) return;
        pending += text;
        const lines = pending.split(/\r?\n/);
        pending = lines.pop() ?? '';
        for (const line of lines) options.onLine(line, stream);
      };
    };
    child.stdout.on('data', splitter('stdout'));
    child.stderr.on('data', splitter('stderr'));
    child.on('error', (err: NodeJS.ErrnoException) => {
      finish({ code: null, stdout, stderr, error: { code: err.code, message: err.message } });
    });
    child.on('close', (code) => {
      if (options.onLine) {
        // flush a last line without a newline
        const tailOut = stdout.split(/\r?\n/).pop();
        const tailErr = stderr.split(/\r?\n/).pop();
        if (tailOut) options.onLine(tailOut, 'stdout');
        if (tailErr) options.onLine(tailErr, 'stderr');
      }
      finish({ code, stdout, stderr });
    });
    if (options.timeoutMs) {
      timer = setTimeout(() => {
        child.kill();
        finish({ code: null, stdout, stderr, error: { code: 'ETIMEDOUT', message: `timed out after ${options.timeoutMs} ms` } });
      }, options.timeoutMs);
    }
  });
