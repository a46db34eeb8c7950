/**
 * totalize's progress line on stderr while a total takes more than a second: pages listed and keys, or values
 * fetched, and an estimate of the time left from the pace so far. One line, rewritten in place at most four times
 * a second, and erased before the result is printed. Only for a terminal: the caller decides.
 */
import type { Progress } from '../client/progress.js';

const QUIET_MS = 1000;
const EVERY_MS = 250;

const int = (n: number) => Math.round(n).toLocaleString('en-US');

export interface ProgressLine {
  progress: Progress;
  /** Erases the line (if one was shown). */
  end(): void;
}

export function progressLine(out: NodeJS.WriteStream, now: () => number = () => performance.now()): ProgressLine {
  const started = now();
  let shown = false;
  let last = 0;
  /** When the current phase began, and what it is, for its estimate. */
  let phase = { name: '', since: started, from: 0 };
  const show = (name: string, done: number, total: number, text: string) => {
    const t = now();
    if (phase.name !== name) phase = { name, since: t, from: done };
    if (t - started < QUIET_MS || (t - last < EVERY_MS && done < total)) return;
    last = t;
    // The pace of this phase since its first report: the wait before it (a scan, a count) is not its pace.
    const rate = (done - phase.from) / Math.max(1, t - phase.since);
    const left = rate > 0 && done < total ? `, about ${int(Math.ceil((total - done) / rate / 1000))} s left` : '';
    // Kept within the terminal's width: a wrapped line cannot be rewritten in place.
    const line = `${text}${left}`.slice(0, Math.max(20, (out.columns || 80) - 1));
    out.write(`\r\x1b[K${line}`);
    shown = true;
  };
  return {
    progress: {
      pages: (listing, done, pages, keys) =>
        pages === 0
          ? show(`${listing} count`, 0, 0, `listing ${listing}: counting its keys`)
          : show(listing, done, pages, `listing ${listing}: ${int(done)} of ${int(pages)} pages, ${int(keys)} keys`),
      values: (done, total) => show('values', done, total, `reading values: ${int(done)} of ${int(total)}`),
      totalling: (keys) => show('totalling', 0, 0, `totalling ${int(keys)} keys`),
    },
    end() {
      if (shown) out.write('\r\x1b[K');
      shown = false;
    },
  };
}
