#!/usr/bin/env node
/**
 * Bundles the command line into one minified classic script, dist/cli/g4f.cjs, which
 * `bin/g4f.js` runs through V8's code cache: start-up is most of what a short `g4f ask` costs,
 * and one cached script starts faster than dozens of modules compiled on every run.
 *
 * Kept out of the bundle, loaded from the tsc output in dist/ when a command needs them (their
 * paths relative to dist/cli are those of src/cli): the configuration file (zod), the
 * conversation store (better-sqlite3), the server (it reads files relative to itself), and the
 * tokenizer (large tables). Runs after tsc (`npm run build`). Usage: node scripts/build-cli.mjs
 */
import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const source = join(root, 'src');
const cli = join(source, 'cli');
const output = join(root, 'dist', 'cli', 'g4f.cjs');

/** Modules under src/ that stay the tsc output (imported lazily by the commands that need them). */
const FROM_DIST = [join(source, 'config.ts'), join(source, 'store') + '/', join(source, 'server') + '/'];

/**
 * Marks the imports that stay dynamic `import()`s: the bundle runs as a classic script from V8's
 * code cache, where `import()` has no loader in Node 20, so they become calls of `__g4fImport`,
 * which the loader (bin/g4f.js) passes in.
 */
const IMPORT_MARK = '__G4F_IMPORT__';

/** Imports of FROM_DIST modules become imports of dist/, relative to dist/cli as to src/cli. */
const fromDist = {
  name: 'from-dist',
  setup(builder) {
    builder.onResolve({ filter: /^\.\.?\// }, (args) => {
      if (args.importer === '') return undefined;
      const target = resolve(dirname(args.importer), args.path.replace(/\.js$/, '.ts'));
      if (!FROM_DIST.some((prefix) => (prefix.endsWith('/') ? target.startsWith(prefix) : target === prefix))) return undefined;
      // Only commands import them, lazily: a static import would be a require() of an ES module.
      if (!args.importer.startsWith(cli + '/') || args.kind !== 'dynamic-import') {
        return { errors: [{ text: `${relative(root, args.importer)}: import ${args.path} with await import(), from src/cli only` }] };
      }
      return { path: IMPORT_MARK + relative(cli, target).replace(/\.ts$/, '.js'), external: true };
    });
    builder.onResolve({ filter: /^gpt-tokenizer\// }, (args) => {
      if (args.kind !== 'dynamic-import') return { errors: [{ text: `${relative(root, args.importer)}: import gpt-tokenizer with await import()` }] };
      return { path: IMPORT_MARK + args.path, external: true };
    });
    // The package entry of undici (only for a proxy) stays a package; its files on the request path are bundled.
    builder.onResolve({ filter: /^undici$/ }, () => ({ path: 'undici', external: true }));
    // src/core/undici.ts loads undici's files through createRequire, which a bundler cannot see:
    // the plain `require` of the bundle does the same job and lets them be bundled.
    builder.onLoad({ filter: /[\\/]src[\\/]core[\\/]undici\.ts$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      const line = 'const require = createRequire(import.meta.url);';
      return { contents: text.includes(line) ? text.replace(line, '') : text, loader: 'ts' };
    });
  },
};

export async function buildCli() {
  const manifest = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
  await rm(output, { force: true });
  const result = await build({
    entryPoints: [join(cli, 'main.ts')],
    write: false,
    outfile: output,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    minify: true,
    legalComments: 'none',
    external: ['better-sqlite3'],
    define: {
      __G4F_VERSION__: JSON.stringify(String(manifest.version)),
      // A classic script has no import.meta: its file URL, from the loader's __filename.
      'import.meta.url': '__g4fFileUrl',
    },
    banner: { js: '"use strict";var __g4fFileUrl=require("node:url").pathToFileURL(__filename).href;' },
    plugins: [fromDist],
    logLevel: 'warning',
  });
  const text = result.outputFiles.find((file) => file.path === output)?.text;
  if (text === undefined) throw new Error('esbuild wrote no dist/cli/g4f.cjs');
  const code = text.replace(new RegExp(`\\bimport\\("${IMPORT_MARK}([^"]+)"\\)`, 'g'), '__g4fImport("$1")');
  const left = /\bimport\(/.exec(code);
  if (left !== null) throw new Error(`dist/cli/g4f.cjs: an import() is left, which a cached script cannot run: …${code.slice(left.index - 60, left.index + 60)}…`);
  // The first line names the build: the loader keys its code cache on it.
  const id = createHash('sha256').update(code).digest('hex').slice(0, 16);
  await writeFile(output, `//g4f-build ${manifest.version} ${id}\n${code}`);
  return output;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  await buildCli();
}
