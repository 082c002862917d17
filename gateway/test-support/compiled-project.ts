/**
 * For tests that must run the gateway as its own process (node:cluster forks real node
 * processes, which cannot load .ts): compiles the project as `npm run build` does, but into a
 * private temporary directory and without type-checking (`--noCheck`, the same transpile-only
 * choice jest makes; `npm run typecheck` checks types). A private directory rather than dist/
 * so a test never rewrites files that another process (a bench run) is loading. About 2 s.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const ROOT = path.resolve(__dirname, '..', '..');

export interface CompiledProject {
  /** The output root: `<dir>/gateway/main.js` and so on. */
  readonly dir: string;
  remove(): void;
}

/** Compiles tsconfig.build.json into a temporary directory laid out like the repository. */
export async function compileProject(): Promise<CompiledProject> {
  const dir = mkdtempSync(path.join(tmpdir(), 'gateway-build-'));
  const remove = (): void => rmSync(dir, { recursive: true, force: true });
  try {
    await promisify(execFile)(process.execPath, [
      require.resolve('typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.build.json'), '--noCheck', '--outDir', dir,
    ]);
    // The compiled files resolve packages and find gen/api.binpb relative to themselves.
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
    copyFileSync(path.join(ROOT, 'gen', 'api.binpb'), path.join(dir, 'gen', 'api.binpb'));
  } catch (err) {
    remove();
    throw err;
  }
  return { dir, remove };
}
