/** Datagram → lines, with bytes outside printable ASCII (32..126) rendered as the four characters `\xNN`. */

function escapeLine(buf: Buffer, start: number, end: number): string {
  let clean = true;
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    if (b < 32 || b > 126) {
      clean = false;
      break;
    }
  }
  if (clean) return buf.toString('latin1', start, end);
  let s = '';
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    s += b < 32 || b > 126 ? '\\x' + (b < 16 ? '0' : '') + b.toString(16) : String.fromCharCode(b);
  }
  return s;
}

/** Splits on `\n`; a trailing `\r` is part of line endings, not of the line. Empty lines are skipped. */
export function splitLines(buf: Buffer): string[] {
  const lines: string[] = [];
  let start = 0;
  for (;;) {
    let end = buf.indexOf(10, start);
    const last = end < 0;
    if (last) end = buf.length;
    let e = end;
    if (e > start && buf[e - 1] === 13) e--;
    if (e > start) lines.push(escapeLine(buf, start, e));
    if (last) break;
    start = end + 1;
  }
  return lines;
}
