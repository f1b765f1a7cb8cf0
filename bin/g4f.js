#!/usr/bin/env node
/**
 * The `g4f` command: the command line of dist/cli/main.js (the tsc output), in this process.
 * Where Node has a module compile cache (22.1 and later), it is turned on first, so that later
 * starts skip compiling the modules they load (kept in Node's own cache folder); elsewhere the
 * modules load as usual.
 */
import module from 'node:module';

module.enableCompileCache?.();
await import('../dist/cli/main.js');
