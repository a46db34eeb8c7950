/**
 * Where `follow` has got to in each file, kept across restarts: the file's identity (device and inode), the byte
 * after the last whole line sent, and the file's first bytes (a copytruncate or a replacement shows there even when
 * the new content has grown past the old position). Written whole to a temporary file and renamed over the old
 * one, so a kill never leaves half a state.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';

export interface FilePosition {
  dev: number;
  ino: number;
  /** The byte after the last whole line sent. */
  pos: number;
  /** The file's first bytes (hex) when they were read, up to HEAD_BYTES. */
  head: string;
}

/** A followed path: the file there, and files rotated away from it that are still being read. */
export type FollowPosition = FilePosition & { rotated?: FilePosition[] };

/** How many of a file's first bytes identify its content. */
export const HEAD_BYTES = 64;

export type Positions = Record<string, FollowPosition>;

const isPosition = (p: Partial<FilePosition>) =>
  [p.dev, p.ino, p.pos].every((n) => Number.isSafeInteger(n) && (n as number) >= 0) && typeof p.head === 'string';

/** The default state file for these paths: /var/lib/totalizer when root, else the XDG state directory. */
export function defaultStatePath(paths: readonly string[]): string {
  const dir = process.getuid?.() === 0 ? '/var/lib/totalizer' : join(process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'totalizer');
  const id = createHash('sha256').update(paths.join('\0')).digest('hex').slice(0, 8);
  return join(dir, `follow-${basename(paths[0]!).replace(/[^\w.-]/g, '_')}-${id}.json`);
}

/** The saved positions; `problem` says why there are none when the file exists but cannot be used. */
export function loadPositions(path: string): { positions: Positions; problem: string | null } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { positions: {}, problem: null };
    return { positions: {}, problem: `cannot read it: ${(e as Error).message}` };
  }
  try {
    const raw = JSON.parse(text) as { files?: unknown };
    const files = raw.files as Record<string, Partial<FollowPosition>> | undefined;
    if (typeof files !== 'object' || files === null) throw new Error('no "files" object');
    const positions: Positions = {};
    for (const [file, p] of Object.entries(files)) {
      if (!isPosition(p) || !(p.rotated === undefined || (Array.isArray(p.rotated) && p.rotated.every(isPosition))))
        throw new Error(`the entry for ${file} is not {dev, ino, pos, head, rotated?}`);
      positions[file] = p as FollowPosition;
    }
    return { positions, problem: null };
  } catch (e) {
    return { positions: {}, problem: `it is not a follow state file (${(e as Error).message})` };
  }
}

export function savePositions(path: string, positions: Positions): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ files: positions }) + '\n');
  renameSync(tmp, path);
}
