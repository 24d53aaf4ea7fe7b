// Bundles the extension into dist/extension.js and copies the webview assets into dist/media.
// Usage: node esbuild.mjs [--watch] [--production]
import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
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
