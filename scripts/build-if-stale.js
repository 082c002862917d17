#!/usr/bin/env node
// Runs before `npm start`, `npm run gateway|user|content`: compiles to dist/ only when a source
// changed since the last build, so a start without changes costs milliseconds, not a tsc run
// (7-15 s). Plain JS, so it needs no build itself. Staleness: the newest mtime of every source
// file and folder (a deleted file changes its folder's mtime) against dist/.build-stamp.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const stamp = path.join(root, 'dist', '.build-stamp');
const SOURCE_DIRS = ['gateway', 'services', 'scripts', 'shared-kit', 'gen', 'bench'];
const SOURCE_FILES = ['tsconfig.json', 'tsconfig.build.json', 'package-lock.json'];

function newest(dir) {
  let latest = fs.statSync(dir).mtimeMs;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) latest = Math.max(latest, newest(full));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) latest = Math.max(latest, fs.statSync(full).mtimeMs);
  }
  return latest;
}

function sourcesTime() {
  let latest = 0;
  for (const d of SOURCE_DIRS) if (fs.existsSync(path.join(root, d))) latest = Math.max(latest, newest(path.join(root, d)));
  for (const f of SOURCE_FILES) if (fs.existsSync(path.join(root, f))) latest = Math.max(latest, fs.statSync(path.join(root, f)).mtimeMs);
  return latest;
}

const started = Date.now();
const built = fs.existsSync(stamp) ? fs.statSync(stamp).mtimeMs : 0;
if (built >= sourcesTime()) process.exit(0);
process.stderr.write(built ? 'sources changed: compiling (tsc --incremental)...\n' : 'first start: compiling to dist/ (tsc)...\n');
try {
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--incremental'], { cwd: root, stdio: 'inherit' });
} catch {
  process.exit(1);
}
fs.writeFileSync(stamp, `${new Date(started).toISOString()}\n`);
// The stamp's time is when the build began, so a file saved during the build is still seen as newer.
const t = new Date(started);
fs.utimesSync(stamp, t, t);
process.stderr.write(`compiled in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
