/** askWorkers: the primary's question to its workers, with workers that answer, die, or say nothing. */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { askWorkers, type Askable } from '../../../src/common/workers.js';

type Questions = Map<number, (value: unknown) => void>;

/**
 * A worker as node:cluster's primary sees it. `dead`: it died an instant ago, its pipe is closed and the primary has
 * not yet noticed, so it still looks connected and a write to it fails with EPIPE, reported as Node reports it: to
 * the send's callback when there is one, else as an 'error' event (which, with no listener, throws).
 */
class FakeWorker extends EventEmitter implements Askable {
  constructor(
    private readonly questions: Questions,
    private readonly answer: unknown,
    private readonly dead = false,
  ) {
    super();
  }

  isConnected(): boolean {
    return true;
  }

  send(message: { ask: number }, callback?: (error: Error | null) => void): boolean {
    if (this.dead) {
      const epipe = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
      if (callback) process.nextTick(callback, epipe);
      else process.nextTick(() => this.emit('error', epipe));
      return false;
    }
    process.nextTick(() => callback?.(null));
    if (this.answer !== undefined) setImmediate(() => this.questions.get(message.ask)?.(this.answer));
    return true;
  }
}

describe('askWorkers', () => {
  it('gathers every answer, without waiting out the time', async () => {
    const questions: Questions = new Map();
    const workers = [new FakeWorker(questions, 'a'), new FakeWorker(questions, 'b')];
    const r = await askWorkers<string>(workers, questions, 7, 60_000);
    expect(r).toEqual({ answers: ['a', 'b'], asked: 2 });
    expect(questions.size).toBe(0);
  });

  it('a worker that died an instant ago counts as not asked: the primary goes on, and does not wait for it', async () => {
    const questions: Questions = new Map();
    const workers = [new FakeWorker(questions, undefined, true), new FakeWorker(questions, 'b')];
    const r = await askWorkers<string>(workers, questions, 1, 60_000);
    expect(r).toEqual({ answers: ['b'], asked: 1 });
  });

  it('a worker that does not answer is missing from the answers once the time is out', async () => {
    const questions: Questions = new Map();
    const workers = [new FakeWorker(questions, undefined), new FakeWorker(questions, 'b')];
    const r = await askWorkers<string>(workers, questions, 2, 50);
    expect(r).toEqual({ answers: ['b'], asked: 2 });
    expect(questions.size).toBe(0);
  });
});
