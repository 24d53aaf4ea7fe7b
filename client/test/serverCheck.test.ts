import './fakeVscode';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { runProcess } from '../src/process';
import { installServer, probeServer, serverArgs } from '../src/serverCheck';
import { fakeRunner } from './helpers';

const interp = (command: string, prefixArgs: string[] = []) => ({ command, prefixArgs, source: 'setting' as const });

function hasPython3(): boolean {
  try {
    execFileSync('python3', ['-c', 'pass']);
    return true;
  } catch {
    return false;
  }
}

describe('server probe and install', () => {
  it('the server command line', () => {
    assert.deepEqual(serverArgs(interp('/v/bin/python'), ['--x']), ['-m', 'alembic_env_lsp', 'serve', '--x']);
    assert.deepEqual(serverArgs(interp('conda', ['run', '-n', 'db', 'python']), []), ['run', '-n', 'db', 'python', '-m', 'alembic_env_lsp', 'serve']);
  });

  it('probes a real interpreter: found (with version) and missing', { skip: !hasPython3() && 'no python3' }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'probe-'));
    try {
      // A stand-in package in the probe's working folder: `-c` puts that folder on sys.path.
      fs.mkdirSync(path.join(dir, 'alembic_env_lsp'));
      fs.writeFileSync(path.join(dir, 'alembic_env_lsp', '__init__.py'), '__version__ = "9.9.9"\n');
      const found = await probeServer(runProcess, interp('python3'), dir);
      assert.equal(found.kind, 'ok');
      assert.equal(found.kind === 'ok' && found.serverVersion, '9.9.9');
      const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'probe-empty-'));
      const bogus = `alembic_env_lsp_${process.pid}`;
      // Rewrite the module name so "missing" does not depend on what this machine has installed.
      const missing = await probeServer(
        (cmd, args, opts) => runProcess(cmd, args.map((a) => a.replace(/alembic_env_lsp/g, bogus)), opts),
        interp('python3'),
        empty,
      );
      assert.equal(missing.kind, 'missing');
      assert.match(missing.kind === 'missing' ? missing.detail : '', /ModuleNotFoundError/);
      fs.rmSync(empty, { recursive: true });
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
  });

  it('an interpreter that does not exist', async () => {
    const r = await probeServer(runProcess, interp('/nonexistent/bin/python'), os.tmpdir());
    assert.deepEqual(r, { kind: 'no-interpreter', detail: '/nonexistent/bin/python: not found' });
  });

  it('something that is not Python', async () => {
    const r = await probeServer(runProcess, interp(process.execPath), os.tmpdir());
    assert.equal(r.kind, 'failed');
  });

  it('old Python is reported with its version', async () => {
    const { run } = fakeRunner(() => ({ code: 0, stdout: '{"version": [3, 9, 1], "executable": "/usr/bin/python3.9", "found": true}\n', stderr: '' }));
    assert.deepEqual(await probeServer(run, interp('python3.9'), '/'), { kind: 'old-python', version: '3.9.1', executable: '/usr/bin/python3.9' });
  });

  it('pip install: the command, its output line by line, and clear reasons when it fails', async () => {
    const lines: string[] = [];
    const ok = fakeRunner((c) => {
      c.options?.onLine?.('Successfully installed alembic-env-lsp-0.1.0', 'stdout');
      return { code: 0, stdout: '', stderr: '' };
    });
    assert.deepEqual(await installServer(ok.run, interp('/v/bin/python'), '/n', (l) => lines.push(l)), { ok: true });
    assert.deepEqual(ok.calls[0].args, ['-m', 'pip', 'install', 'alembic-env-lsp']);
    assert.deepEqual(lines, ['$ /v/bin/python -m pip install alembic-env-lsp', 'Successfully installed alembic-env-lsp-0.1.0']);

    const pep668 = fakeRunner(() => ({ code: 1, stdout: '', stderr: 'error: externally-managed-environment' }));
    assert.match((await installServer(pep668.run, interp('python3'), '/n', () => {})).reason!, /PEP 668/);
    const nopip = fakeRunner(() => ({ code: 1, stdout: '', stderr: '/usr/bin/python3: No module named pip' }));
    assert.match((await installServer(nopip.run, interp('python3'), '/n', () => {})).reason!, /pip is not available/);
    const other = fakeRunner(() => ({ code: 2, stdout: '', stderr: 'ERROR: No matching distribution' }));
    assert.equal((await installServer(other.run, interp('python3'), '/n', () => {})).reason, 'pip exited with code 2');
  });
});

describe('runProcess', () => {
  it('streams lines, including a last one without a newline', async () => {
    const lines: string[] = [];
    const r = await runProcess(process.execPath, ['-e', 'process.stdout.write("a\\nb\\nc"); process.stderr.write("e\\n")'], { onLine: (l, s) => lines.push(`${s}:${l}`) });
    assert.equal(r.code, 0);
    assert.deepEqual(lines.sort(), ['stderr:e', 'stdout:a', 'stdout:b', 'stdout:c']);
  });

  it('reports a missing command and a timeout', async () => {
    assert.equal((await runProcess('/no/such/cmd', [])).error?.code, 'ENOENT');
    const slow = await runProcess(process.execPath, ['-e', 'setTimeout(() => {}, 5000)'], { timeoutMs: 200 });
    assert.equal(slow.error?.code, 'ETIMEDOUT');
    assert.equal(slow.code, null);
  });
});
