/**
 * `totalizer-agent follow`: log files (or stdin) to the agent, whole lines only. Each pass reads what every file
 * has new, sends it, makes sure the agent took the last datagram, then saves the positions (at most every
 * SAVE_EVERY_MS while lines flow, and at the end), so a restart neither sends a line again nor skips one; after
 * SIGKILL, the lines of the last SAVE_EVERY_MS may be sent again.
 */
import type { HostPort } from '../../common/hostport.js';
import type { Logger } from '../../common/log.js';
import { FollowedFile } from './file.js';
import { LineSender } from './sender.js';
import { loadPositions, savePositions, type FollowPosition, type Positions } from './state.js';

export interface FollowOptions {
  files: string[];
  to: HostPort;
  /** The state file; null for stdin, which has no position. */
  state: string | null;
  fromStart: boolean;
  datagramBytes: number;
  maxLinesPerSecond: number;
  pollMs: number;
  rotateAfterMs: number;
}

export interface Following {
  /** Stops after the datagram being sent; the positions of what was sent are saved. */
  stop(): Promise<void>;
  /** Resolves when following ends: stop(), or the end of stdin. */
  done: Promise<void>;
  sender: LineSender;
}

const SAVE_EVERY_MS = 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function follow(o: FollowOptions, log: Logger): Promise<Following> {
  const sender = new LineSender(o.to, o.datagramBytes, o.maxLinesPerSecond, log);
  await sender.connect();
  let stopping = false;
  const done = o.files.length === 1 && o.files[0] === '-' ? followStdin(sender, () => stopping) : followFiles(o, sender, log, () => stopping);
  const finished = done.finally(() => sender.close());
  return {
    sender,
    done: finished,
    stop: async () => {
      stopping = true;
      sender.stop();
      await finished.catch(() => undefined);
    },
  };
}

async function followFiles(o: FollowOptions, sender: LineSender, log: Logger, stopping: () => boolean): Promise<void> {
  const { positions: saved, problem } = loadPositions(o.state!);
  if (problem) log.warn(`state file ${o.state}: ${problem}; starting each file at its end`);
  const files = o.files.map((path) => new FollowedFile(path, log, o.rotateAfterMs));
  // Every file is opened before anything is sent, so an unreadable one stops the start.
  for (const f of files) f.open(saved[f.path], o.fromStart);
  const positions: Positions = { ...saved };
  let savedAt = 0;
  let unsaved = false;
  /** Where each file's lines have been sent up to: a send cut short leaves its file where it was. */
  const sentTo = (f: FollowedFile, at: FollowPosition | null) => {
    if (at && JSON.stringify(at) !== JSON.stringify(positions[f.path])) {
      positions[f.path] = at;
      unsaved = true;
    }
  };
  const save = async () => {
    await sender.confirm();
    savePositions(o.state!, positions);
    savedAt = Date.now();
    unsaved = false;
  };
  try {
    while (!stopping()) {
      let read = false;
      for (const f of files) {
        const text = f.read();
        const at = f.position();
        if (text) {
          read = true;
          await sender.send(text);
        }
        sentTo(f, at);
      }
      if (unsaved && (!read || Date.now() - savedAt >= SAVE_EVERY_MS)) await save();
      if (!read) await sleep(o.pollMs);
    }
  } finally {
    if (unsaved) await save().catch((e: Error) => log.warn(`positions not saved (${e.message}): the next run starts from the last saved ones`));
    for (const f of files) f.close();
  }
}

/** stdin (an Apache piped log): whole lines as they come, the last one at the end even without a newline. */
async function followStdin(sender: LineSender, stopping: () => boolean): Promise<void> {
  let carry = Buffer.alloc(0);
  for await (const chunk of process.stdin) {
    const bytes = carry.length ? Buffer.concat([carry, chunk as Buffer]) : (chunk as Buffer);
    const cut = bytes.lastIndexOf(10);
    carry = Buffer.from(bytes.subarray(cut + 1));
    if (cut >= 0) await sender.send(bytes.subarray(0, cut + 1));
    if (stopping()) return;
  }
  if (carry.length) await sender.send(Buffer.concat([carry, Buffer.from('\n')]));
  await sender.confirm();
}
