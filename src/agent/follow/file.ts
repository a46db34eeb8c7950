/**
 * One followed log file, read as `tail -F` reads it but in whole lines only, and with its place kept:
 * - rename rotation (logrotate's default): when another file appears at the path, it is read from its start at
 *   once, while the old one is read on until it has been quiet for `rotateAfterMs` (writers that still hold it
 *   finish their lines); its last line then counts even without a newline;
 * - copytruncate: a file shorter than the position, or whose first bytes changed, is read again from its start;
 * - a restart resumes at the saved positions when the files there are the ones saved (same inode, same first
 *   bytes); files rotated meanwhile are found by their inode in the same directory and finished.
 */
import { readdirSync, statSync, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Logger } from '../../common/log.js';
import { headOf, OpenFile, type Chunk } from './open-file.js';
import { HEAD_BYTES, type FilePosition, type FollowPosition } from './state.js';

export { MAX_LINE } from './open-file.js';

export class FollowedFile {
  /** The file at the path. */
  private current: OpenFile | null = null;
  /** Files rotated away, read on until quiet. */
  private draining: OpenFile[] = [];
  private waitingLogged = false;
  private tooLongBefore = 0;

  constructor(
    readonly path: string,
    private readonly log: Logger,
    private readonly rotateAfterMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Lines longer than MAX_LINE skipped, in every file read. */
  get linesTooLong(): number {
    return this.tooLongBefore + [this.current, ...this.draining].reduce((n, f) => n + (f?.linesTooLong ?? 0), 0);
  }

  /**
   * Opens the file where `saved` left off, else at its end (or start: `fromStart`). Throws on a file that cannot be
   * read for a reason other than not existing yet.
   */
  open(saved: FollowPosition | undefined, fromStart: boolean): void {
    const st = this.statPath();
    for (const r of saved?.rotated ?? []) this.resumeRotated(r);
    if (saved && st && st.dev === saved.dev && st.ino === saved.ino) {
      this.current = this.openAt(this.path, st, 0);
      if (st.size >= saved.pos && this.current.head().startsWith(saved.head)) {
        this.current.seek(saved.pos);
        this.log.info(`following ${this.path} from byte ${saved.pos}, where the last run left it`);
      } else this.log.warn(`${this.path} was truncated or replaced since the last run: reading it from its start`);
      return;
    }
    if (saved) {
      this.resumeRotated(saved);
      if (st) this.current = this.openAt(this.path, st, 0);
      else this.waitForPath();
      if (st) this.log.info(`following ${this.path} from its start (it was rotated since the last run)`);
      return;
    }
    if (!st) return this.waitForPath();
    this.current = this.openAt(this.path, st, fromStart ? 0 : st.size);
    this.log.info(`following ${this.path} from ${fromStart ? 'its start' : `its end (byte ${st.size}; --from-start reads what is there)`}`);
  }

  /** Where the last whole line read ends in each file, for the state file; null while no file is open. */
  position(): FollowPosition | null {
    const rotated = this.draining.map((f) => f.position());
    if (!this.current) return rotated.length ? { ...rotated[0]!, rotated: rotated.slice(1) } : null;
    return { ...this.current.position(), ...(rotated.length ? { rotated } : {}) };
  }

  /** Whole lines read since the last call (each ending in a newline), or null when there are none now. */
  read(): Chunk | null {
    for (const old of this.draining) {
      const text = old.read();
      if (text) return text;
      if (this.now() - old.grewAt < this.rotateAfterMs) continue;
      // Quiet: its last line counts even without a newline, and it is done.
      this.draining = this.draining.filter((f) => f !== old);
      this.tooLongBefore += old.linesTooLong;
      const last = old.finish();
      this.log.info(`${old.path === this.path ? `the file rotated away from ${this.path} (inode ${old.ino})` : old.path} is read to its end`);
      if (last) return last;
    }
    if (!this.current) {
      const st = this.statPath();
      if (!st) return null;
      this.current = this.openAt(this.path, st, 0);
      this.log.info(`${this.path} appeared: following it from its start`);
    }
    const text = this.current.read();
    if (text) return text;
    if (this.current.truncated()) {
      // copytruncate copied the file before cutting it: the lines written after the last read are in the copy.
      const from = this.current.position().pos;
      const copy = this.findCopy(this.current.recordedHead, from);
      if (copy) this.draining.push(this.openAt(copy.path, copy.st, from));
      this.log.info(`${this.path} was truncated (copytruncate?): reading it from its start${copy ? `, and its copy ${copy.path} from byte ${from}` : ''}`);
      this.current.restart();
      return this.read();
    }
    const st = this.statPath();
    if (st && st.dev === this.current.dev && st.ino === this.current.ino) return null;
    // Rotated: the new file (if there is one yet) is read from its start, the old one on until quiet.
    this.log.info(`${this.path} was rotated: following the new file from its start, the old one until it is quiet`);
    this.draining.push(this.current);
    this.current = st ? this.openAt(this.path, st, 0) : null;
    return this.read();
  }

  close(): void {
    for (const f of [this.current, ...this.draining]) f?.close();
    this.current = null;
    this.draining = [];
  }

  private resumeRotated(saved: FilePosition): void {
    const old = this.findByInode(saved);
    if (old) {
      const f = this.openAt(old.path, old.st, saved.pos);
      if (f.head().startsWith(saved.head)) {
        this.draining.push(f);
        this.log.info(`${this.path} was rotated since the last run: finishing ${old.path} from byte ${saved.pos}`);
        return;
      }
      f.close();
    }
    this.log.warn(
      `${this.path} was rotated since the last run and the old file is gone (compressed or removed): lines written to it after byte ${saved.pos} were not sent`,
    );
  }

  private openAt(path: string, st: Stats, pos: number): OpenFile {
    return new OpenFile(path, st, pos, this.log, this.now);
  }

  private statPath(): Stats | null {
    try {
      return statSync(this.path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  private waitForPath(): void {
    if (this.waitingLogged) return;
    this.waitingLogged = true;
    this.log.warn(`${this.path} does not exist yet: waiting for it to appear`);
  }

  /** The newest other file in the directory that begins with `head` and holds at least `size` bytes. */
  private findCopy(head: string, size: number): { path: string; st: Stats } | null {
    if (head.length < HEAD_BYTES * 2) return null;
    let found: { path: string; st: Stats } | null = null;
    for (const { path, st } of this.siblings()) {
      if (st.size < size || (found && found.st.mtimeMs >= st.mtimeMs)) continue;
      if (headOf(path) === head) found = { path, st };
    }
    return found;
  }

  /** The other regular files in the path's directory. */
  private *siblings(): Generator<{ path: string; st: Stats }> {
    const dir = dirname(this.path);
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (path === this.path) continue;
      try {
        const st = statSync(path);
        if (st.isFile()) yield { path, st };
      } catch {
        // Gone between the listing and the stat.
      }
    }
  }

  /** The saved file under another name in the same directory (rotated while this program was not running). */
  private findByInode(saved: FilePosition): { path: string; st: Stats } | null {
    for (const f of this.siblings()) if (f.st.dev === saved.dev && f.st.ino === saved.ino) return f;
    return null;
  }
}
