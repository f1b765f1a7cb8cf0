#!/usr/bin/env node
/**
 * Bundles the chat page (web/src, web/index.html) into web/dist/, which `g4f serve` serves.
 * Everything is bundled locally (marked, DOMPurify, highlight.js): the page loads nothing from
 * another origin. Usage: node scripts/build-web.mjs [--dev]
 */
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const web = fileURLToPath(new URL('../web/', import.meta.url));
const out = `${web}dist/`;

export async function buildWeb({ dev = false } = {}) {
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  await build({
    entryPoints: { app: `${web}src/main.ts`, style: `${web}src/styles.css` },
    outdir: out,
    bundle: true,
    format: 'esm',
    target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
    minify: !dev,
    sourcemap: true,
    legalComments: 'linked',
    logLevel: 'warning',
  });
  await copyFile(`${web}index.html`, `${out}index.html`);
  await copyFile(`${web}favicon.svg`, `${out}favicon.svg`);
  return out;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildWeb({ dev: process.argv.includes('--dev') });
}
