// Bundles the extension into dist/extension.js and copies the webview assets into dist/media.
// With --production (the .vsix) it also builds the server's wheel and the wheels of its
// dependencies into dist/bundled/wheels: the environment the extension makes for the server
// (alembicEnv.importStrategy "useBundled") installs from them without the network.
// Usage: node esbuild.mjs [--watch] [--production]
// Env: ALEMBIC_ENV_BUNDLE_PYTHON  the Python that builds the wheels (default .venv/bin/python, else python3)
import * as esbuild from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

if (!watch) rmSync('dist', { recursive: true, force: true });
mkdirSync('dist/media', { recursive: true });
// Mermaid for the "Explain This env.py" view, shipped in the .vsix so it works offline.
const mermaid = join(dirname(require.resolve('mermaid/package.json')), 'dist', 'mermaid.min.js');
copyFileSync(mermaid, 'dist/media/mermaid.min.js');

const options = {
  entryPoints: ['client/src/extension.ts'],
  bundle: true,
  outfile: 'dist/extension.js',
  external: ['vscode'],
  format: 'cjs',
  platform: 'node',
  target: 'node18',
  sourcemap: !production,
  minify: production,
  logLevel: 'info',
};

if (watch) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
} else {
  await esbuild.build(options);
}

if (production) {
  const python = process.env.ALEMBIC_ENV_BUNDLE_PYTHON || (existsSync('.venv/bin/python') ? '.venv/bin/python' : 'python3');
  const wheels = 'dist/bundled/wheels';
  mkdirSync(wheels, { recursive: true });
  execFileSync(python, ['-m', 'pip', 'wheel', '--disable-pip-version-check', '--quiet', '--wheel-dir', wheels, '.'], { stdio: 'inherit' });
  console.log(`bundled wheels: ${readdirSync(wheels).join(', ')}`);
}
