// Fakes for the controller's injected dependencies (process runner, language client).
import type { ClientHooks, LaunchSpec, ServerHandle, ServerSettings } from '../src/controller';
import type { RunOptions, RunResult } from '../src/process';

export interface RunCall {
  command: string;
  args: readonly string[];
  options?: RunOptions;
}

export type Script = (call: RunCall) => RunResult | Promise<RunResult>;

export function fakeRunner(script: Script) {
  const calls: RunCall[] = [];
  const run = async (command: string, args: readonly string[], options?: RunOptions): Promise<RunResult> => {
    const call = { command, args, options };
    calls.push(call);
    return script(call);
  };
  return { run, calls };
}

export const isProbe = (c: RunCall) => c.args.includes('-c');
export const isPip = (c: RunCall) => c.args.includes('pip');

export function probeOutput(found: boolean, version = [3, 11, 7], executable = '/venv/bin/python'): RunResult {
  const r = found
    ? { version, executable, found: true, serverVersion: '0.1.0' }
    : { version, executable, found: false, error: "ModuleNotFoundError: No module named 'alembic_env_lsp'" };
  return { code: 0, stdout: `${JSON.stringify(r)}\n`, stderr: '' };
}

export interface FakeClient extends ServerHandle {
  spec: LaunchSpec;
  hooks: ClientHooks;
  started: number;
  stopped: number;
  configChanges: ServerSettings[];
  commands: { command: string; args: unknown[] }[];
}

export function fakeClients(opts: { failStart?: string; commandResult?: unknown } = {}) {
  const created: FakeClient[] = [];
  const createClient = (spec: LaunchSpec, hooks: ClientHooks): ServerHandle => {
    const c: FakeClient = {
      spec,
      hooks,
      started: 0,
      stopped: 0,
      configChanges: [],
      commands: [],
      start: async () => {
        c.started++;
        if (opts.failStart) throw new Error(opts.failStart);
      },
      stop: async () => {
        c.stopped++;
      },
      notifyConfigurationChanged: async (s) => {
        c.configChanges.push(s);
      },
      executeCommand: async (command, args) => {
        c.commands.push({ command, args });
        return opts.commandResult;
      },
    };
    created.push(c);
    return c;
  };
  return { created, createClient };
}
