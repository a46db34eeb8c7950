/**
 * Vitest's global setup. Integration tests run the programs as built (dist/, build/Release/), so a run straight
 * from `npx vitest run` after an edit would test the old code: dist/ is rebuilt when any source is newer than it,
 * and an addon built from older sources than those in src/native is refused, naming the command that rebuilds it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The newest and the oldest modification time of the files under `dir` whose names end in `ext`. */
function mtimes(dir: string, ext: string): { newest: number; oldest: number } {
  let newest = 0;
  let oldest = Infinity;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(ext)) {
        const t = statSync(p).mtimeMs;
        newest = Math.max(newest, t);
        oldest = Math.min(oldest, t);
      }
    }
  };
  if (existsSync(dir)) walk(dir);
  return { newest, oldest };
}

export default function setup(): void {
  const sources = mtimes(join(root, 'src'), '.ts').newest;
  const built = mtimes(join(root, 'dist'), '.js').oldest;
  if (built === Infinity || sources > built) {
    process.stdout.write('dist/ is older than src/: building it (tsc) before the tests\n');
    execFileSync(process.execPath, [join(root, 'node_modules/typescript-7/bin/tsc'), '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });
  }
  const addon = join(root, 'build/Release/udp_batch.node');
  const native = Math.max(mtimes(join(root, 'src/native'), '.cc').newest, mtimes(join(root, 'src/native'), '.h').newest);
  if (existsSync(addon) && statSync(addon).mtimeMs < native)
    throw new Error('build/Release/udp_batch.node is older than src/native: run npm run build:native before the tests');
}
