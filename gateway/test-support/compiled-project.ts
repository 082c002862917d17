/**
 * For tests that must run the gateway as its own process (node:cluster forks real node
 * processes, which cannot load .ts): compiles the project as `npm run build` does, but into a
 * private temporary directory and without type-checking (`--noCheck`, the same transpile-only
 * choice jest makes; `npm run typecheck` checks types). A private directory rather than dist/
 * so a test never rewrites files that another process (a bench run) is loading. About 2 s.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const ROOT = path.resolve(__dirname, '..', '..');

export interface CompiledProject {
  /** The output root: `<dir>/gateway/main.js` and so on. */
  readonly dir: string;
  remove(): void;
}

/**
 * Compiles tsconfig.build.json into a temporary directory laid out like the repository.
 * `extraEntries` (repository paths, e.g. test-support entry points the build leaves out)
 * are compiled into the same tree, with what they import.
 */
export async function compileProject(extraEntries: readonly string[] = []): Promise<CompiledProject> {
  const dir = mkdtempSync(path.join(tmpdir(), 'gateway-build-'));
  const remove = (): void => rmSync(dir, { recursive: true, force: true });
  const tsc = (project: string): Promise<unknown> =>
    promisify(execFile)(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', project, '--noCheck', '--outDir', dir]);
  try {
    await tsc(path.join(ROOT, 'tsconfig.build.json'));
    if (extraEntries.length > 0) {
      const extra = path.join(dir, 'tsconfig.extra.json');
      writeFileSync(
        extra,
        JSON.stringify({
          extends: path.join(ROOT, 'tsconfig.json'),
          compilerOptions: { noEmit: false, rootDir: ROOT, types: ['node'], typeRoots: [path.join(ROOT, 'node_modules', '@types')] },
          files: extraEntries.map((e) => path.join(ROOT, e)),
          include: [],
        }),
      );
      await tsc(extra);
    }
    // The compiled files resolve packages and find gen/api.binpb relative to themselves.
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
    copyFileSync(path.join(ROOT, 'gen', 'api.binpb'), path.join(dir, 'gen', 'api.binpb'));
  } catch (err) {
    remove();
    throw err;
  }
  return { dir, remove };
}
