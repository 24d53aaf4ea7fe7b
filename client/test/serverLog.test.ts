import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { logAt, StderrLevels } from '../src/serverLog';
import { FakeLog } from './fakeVscode';

describe('server stderr in the log channel', () => {
  it('each record at its own level; a traceback stays with its record; unlabelled output first is an error', () => {
    const log = new FakeLog();
    const levels = new StderrLevels();
    for (const line of [
      'Traceback (most recent call last):',
      'WARNING pygls.protocol.json_rpc: Cancel notification for unknown message id "12"',
      'INFO alembic_env_lsp: started',
      'ERROR pygls.server: Error in handler',
      'Traceback (most recent call last):',
      '  File "x.py", line 1, in <module>',
      'DEBUG asyncio: Using selector: EpollSelector',
      'CRITICAL root: out of memory',
    ]) {
      const { level, text } = levels.classify(line);
      logAt(log as never, level, text);
    }
    assert.deepEqual(log.lines, [
      { level: 'error', text: 'Traceback (most recent call last):' },
      { level: 'warn', text: 'pygls.protocol.json_rpc: Cancel notification for unknown message id "12"' },
      { level: 'info', text: 'alembic_env_lsp: started' },
      { level: 'error', text: 'pygls.server: Error in handler' },
      { level: 'error', text: 'Traceback (most recent call last):' },
      { level: 'error', text: '  File "x.py", line 1, in <module>' },
      { level: 'debug', text: 'asyncio: Using selector: EpollSelector' },
      { level: 'error', text: 'root: out of memory' },
    ]);
  });

  it('a word that only looks like a level is not one', () => {
    const levels = new StderrLevels();
    levels.classify('WARNING pygls: w');
    assert.deepEqual(levels.classify('WARNINGS are fine'), { level: 'warn', text: 'WARNINGS are fine' });
    assert.deepEqual(levels.classify('error: something'), { level: 'warn', text: 'error: something' }, 'continuation of the warning record');
  });
});
