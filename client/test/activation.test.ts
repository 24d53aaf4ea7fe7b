import { fake, FakeUri } from './fakeVscode';
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { isAlembicFile, startWhenRelevant } from '../src/activation';

const doc = (p: string, languageId: string, scheme = 'file') => ({ uri: new FakeUri(scheme, p), languageId });

describe('activation', () => {
  beforeEach(() => {
    fake.reset();
    fake.addFolder('/proj');
  });

  it('env.py (Python) and alembic.ini are Alembic files; other files are not', () => {
    assert.equal(isAlembicFile(doc('/p/migrations/env.py', 'python') as never), true);
    assert.equal(isAlembicFile(doc('/p/alembic.ini', 'ini') as never), true);
    assert.equal(isAlembicFile(doc('/p/alembic.ini', 'plaintext') as never), true);
    assert.equal(isAlembicFile(doc('/p/app/models.py', 'python') as never), false);
    assert.equal(isAlembicFile(doc('/p/my_env.py', 'python') as never), false);
    assert.equal(isAlembicFile(doc('/p/env.py', 'plaintext') as never), false);
    assert.equal(isAlembicFile(doc('/p/env.py', 'python', 'git') as never), false);
  });

  it('a workspace with alembic.ini starts the server at once', async () => {
    fake.files = ['/proj/alembic.ini'];
    let starts = 0;
    await startWhenRelevant(() => starts++);
    assert.equal(starts, 1);
    await fake.openDocument('/proj/migrations/env.py', 'python');
    assert.equal(starts, 1, 'only once');
  });

  it('a Python project without Alembic files waits for an env.py to be opened', async () => {
    fake.files = ['/proj/app.py'];
    let starts = 0;
    await startWhenRelevant(() => starts++);
    assert.equal(starts, 0);
    await fake.openDocument('/proj/app.py', 'python');
    assert.equal(starts, 0, 'an ordinary Python file does not start the server');
    await fake.openDocument('/tmp/x/env.py', 'python');
    assert.equal(starts, 1);
    await fake.openDocument('/tmp/y/env.py', 'python');
    assert.equal(starts, 1);
  });

  it('an env.py already open when the extension activates starts it', async () => {
    fake.documents = [doc('/elsewhere/env.py', 'python') as never];
    let starts = 0;
    await startWhenRelevant(() => starts++);
    assert.equal(starts, 1);
  });

  it('no folder open: nothing is searched, opening env.py starts it', async () => {
    fake.folders = [];
    fake.files = ['/proj/alembic.ini'];
    let starts = 0;
    await startWhenRelevant(() => starts++);
    assert.equal(starts, 0);
    await fake.openDocument('/a/env.py', 'python');
    assert.equal(starts, 1);
  });
});
