#!/usr/bin/env node
// Builds native/ (the batched UDP I/O of scans, Linux only) with node-gyp against this Node's own headers.
// Not fatal: without the module the UDP pool uses node:dgram, and says so (`nativeDatagramIo()`).
import { spawnSync } from 'node:child_process';
import process from 'node:process';
import console from 'node:console';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
if (process.platform !== 'linux') {
  console.log('native: not built (batched datagram I/O is Linux only); scans use node:dgram');
  process.exit(0);
}
const prefix = resolve(dirname(process.execPath), '..');
const nodeGyp = [
  process.env.npm_config_node_gyp,
  join(prefix, 'lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
].find((p) => p && existsSync(p));
// The headers of the running Node: npm's setting when there is one, else the ones installed beside node.
const nodedir =
  process.env.npm_config_nodedir || (existsSync(join(prefix, 'include/node/node_api.h')) ? prefix : undefined);
if (!nodeGyp) fail('node-gyp was not found (it comes with npm)');
const args = [nodeGyp, 'rebuild', '--directory', join(root, 'native'), ...(nodedir ? ['--nodedir', nodedir] : [])];
const run = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
if (run.status !== 0) fail(`node-gyp failed:\n${run.stderr.trim().split('\n').slice(-15).join('\n')}`);
console.log('native: built native/build/Release/mxray_udp.node (batched UDP I/O)');

function fail(why) {
  console.warn(`native: not built: ${why}\nScans will use node:dgram (slower). Needs python3, make and a C compiler.`);
  process.exit(0);
}
