#!/usr/bin/env node
/**
 * The `g4f` command. Runs the bundled command line, dist/cli/g4f.cjs (scripts/build-cli.mjs),
 * through V8's code cache, which spares compiling it on every start; falls back to the tsc
 * output, dist/cli/main.js, when there is no bundle or it is older than that output.
 *
 * This file is fastest run as CommonJS (a `{"type": "commonjs"}` package.json beside it): an ES
 * module entry costs Node several milliseconds of loader set-up. It has no import statement so
 * that it also runs as an ES module.
 *
 * The code cache is a file in the user cache folder (G4F_CACHE_DIR, else e.g. ~/.cache/g4f-ts),
 * named after the package version, the build, V8 and the command; written at exit when missing
 * or refused by V8, never an error when it cannot be read or written. G4F_CODE_CACHE=0 turns it
 * off.
 *
 * `g4f serve` runs in a child Node with the heap flags of package.json's `g4f.serveNodeOptions`, or
 * those of G4F_SERVE_NODE_OPTIONS (whitespace-separated; empty for none); signals are passed on to
 * it and its exit code is ours.
 */
'use strict';

if (typeof require === 'function') {
  main(require);
} else {
  // An ES module: a require for the built-ins first (this file is process.argv[1]).
  void import('node:module').then(({ createRequire }) => main(createRequire(process.argv[1])));
}

function main(require) {
  const { realpathSync } = require('node:fs');
  const { dirname, join } = require('node:path');
  const self = typeof __filename === 'string' ? __filename : realpathSync(process.argv[1]);
  const root = join(dirname(self), '..');
  const args = process.argv.slice(2);
  if (commandOf(args) === 'serve' && process.env.G4F_SERVE_CHILD !== '1') {
    const serveFlags = serveNodeOptions(require, root);
    if (serveFlags.length > 0) {
      runServeWithFlags(require, self, args, serveFlags);
      return;
    }
  }
  if (process.env.G4F_SERVE_CHILD === '1') watchParent();
  const bundlePath = join(root, 'dist', 'cli', 'g4f.cjs');
  const compiledPath = join(root, 'dist', 'cli', 'main.js');
  const source = freshBundle(require, bundlePath, compiledPath);
  if (source === undefined) void import(require('node:url').pathToFileURL(compiledPath).href);
  else runBundle(require, bundlePath, source, args);
}

/** The bundle's text, unless it is missing or older than the tsc output (tsc ran alone since). */
function freshBundle(require, bundlePath, compiledPath) {
  const { readFileSync, statSync } = require('node:fs');
  const bundleTime = statSync(bundlePath, { throwIfNoEntry: false })?.mtimeMs;
  if (bundleTime === undefined) return undefined;
  const compiledTime = statSync(compiledPath, { throwIfNoEntry: false })?.mtimeMs ?? 0;
  return bundleTime >= compiledTime ? readFileSync(bundlePath, 'utf8') : undefined;
}

/** Runs the bundle as CommonJS does, with V8's code cache. */
function runBundle(require, bundlePath, source, args) {
  const { readFileSync } = require('node:fs');
  const { createRequire } = require('node:module');
  const { dirname } = require('node:path');
  const { pathToFileURL } = require('node:url');
  const vm = require('node:vm');
  const build = /^\/\/g4f-build (\S+) (\S+)\n/.exec(source);
  const cache = build === null ? undefined : codeCacheFile(require, build[1], build[2], args);
  let cachedData;
  if (cache !== undefined) {
    try {
      cachedData = readFileSync(cache.file);
    } catch {
      // None yet, or unreadable: compiled from source, and written at exit.
    }
  }
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname, __g4fImport) {${source}\n})`, {
    filename: bundlePath,
    cachedData,
  });
  if (cache !== undefined && (cachedData === undefined || script.cachedDataRejected === true)) {
    // At exit the cache also holds every function this run compiled.
    process.once('exit', () => writeCodeCache(require, script, cache));
  }
  // The bundle's dynamic imports (modules of dist/ beside it, packages), which a script run from
  // a code cache cannot do itself in Node 20: relative ones from the bundle's folder.
  const bundleUrl = pathToFileURL(bundlePath);
  const importModule = (specifier) => import(specifier.startsWith('.') ? new URL(specifier, bundleUrl).href : specifier);
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(bundlePath), module, bundlePath, dirname(bundlePath), importModule);
}

function cacheDirectory(require) {
  const { env } = process;
  if (env.G4F_CODE_CACHE === '0') return undefined;
  if (env.G4F_CACHE_DIR) return env.G4F_CACHE_DIR;
  const { homedir } = require('node:os');
  const { join } = require('node:path');
  if (process.platform === 'win32') return join(env.LOCALAPPDATA || join(homedir(), 'AppData', 'Local'), 'g4f-ts', 'Cache');
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Caches', 'g4f-ts');
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'g4f-ts');
}

/** One cache for `ask` (the start-up that matters most), one for the other commands. */
function codeCacheFile(require, version, buildId, args) {
  const directory = cacheDirectory(require);
  if (directory === undefined) return undefined;
  const build = `cli-${version}-${buildId}-`;
  const kind = commandOf(args) === 'ask' ? 'ask' : 'other';
  return { directory, build, file: require('node:path').join(directory, `${build}v8-${process.versions.v8}-${process.arch}-${kind}.cache`) };
}

function writeCodeCache(require, script, cache) {
  const { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } = require('node:fs');
  const { join } = require('node:path');
  try {
    const data = script.createCachedData();
    mkdirSync(cache.directory, { recursive: true });
    // Caches of other builds are of no more use.
    for (const name of readdirSync(cache.directory)) {
      if (name.startsWith('cli-') && name.endsWith('.cache') && !name.startsWith(cache.build)) rmSync(join(cache.directory, name), { force: true });
    }
    // Written whole, then renamed: a reader never sees half a file.
    const temporary = `${cache.file}.${process.pid}.tmp`;
    writeFileSync(temporary, data);
    renameSync(temporary, cache.file);
  } catch {
    // A read-only or full disk only costs start-up time.
  }
}

/** The command word: the first argument that is neither an option nor the value of --config. */
function commandOf(words) {
  for (let index = 0; index < words.length; index++) {
    const word = words[index];
    if (word === '--config') index++;
    else if (!word.startsWith('-')) return word;
  }
  return undefined;
}

/**
 * The Node flags `g4f serve` runs with: G4F_SERVE_NODE_OPTIONS when set (empty: none), else the
 * package's `g4f.serveNodeOptions` (a young generation of 8 MiB semi-spaces and a 128 MiB old
 * generation keep a busy server's memory in bounds), unless Node was started with heap flags.
 */
function serveNodeOptions(require, root) {
  const explicit = process.env.G4F_SERVE_NODE_OPTIONS;
  let options = explicit;
  if (options === undefined) {
    const chosen = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' ');
    if (/--max-(old|semi)-space-size/.test(chosen)) return [];
    try {
      options = JSON.parse(require('node:fs').readFileSync(require('node:path').join(root, 'package.json'), 'utf8')).g4f?.serveNodeOptions;
    } catch {
      options = undefined;
    }
  }
  return (options ?? '').split(/\s+/).filter((flag) => flag !== '');
}

function runServeWithFlags(require, self, args, flags) {
  const { spawn } = require('node:child_process');
  const { constants } = require('node:os');
  // Its own process group: a Ctrl-C in the terminal reaches the child once, through us.
  const child = spawn(process.execPath, [...process.execArgv, ...flags, self, ...args], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, G4F_SERVE_NODE_OPTIONS: '', G4F_SERVE_CHILD: '1' },
    detached: true,
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    });
  }
  child.on('error', (error) => {
    process.stderr.write(`g4f: error: cannot start node with G4F_SERVE_NODE_OPTIONS: ${error.message}\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    process.exit(code ?? 128 + (signal === null ? 0 : (constants.signals[signal] ?? 0)));
  });
}

/** In the child of runServeWithFlags: if the parent dies without passing a signal on, shut down. */
function watchParent() {
  if (typeof process.send !== 'function') return;
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  process.channel?.unref();
}
