/**
 * The distinct keys seen so far, in order, indexed by an open-addressing table of 32-bit FNV-1a hashes
 * (bytes compared only when hashes meet): a million keys cost two typed arrays, not a million strings in a
 * Set. SCAN may return a key more than once (while the keyspace rehashes, or a slot migrates); this keeps one.
 */
import { fnv1a32 } from '../query/partition.js';

export class SeenKeys {
  readonly keys: Buffer[] = [];
  private hashes = new Uint32Array(1024);
  /** Slot → index + 1 into keys; 0 is empty. */
  private slots = new Uint32Array(2048);

  /** True when the key was not seen before (and is now). */
  add(key: Buffer): boolean {
    const h = fnv1a32(key);
    const mask = this.slots.length - 1;
    let i = h & mask;
    for (let at = this.slots[i]!; at !== 0; i = (i + 1) & mask, at = this.slots[i]!) {
      if (this.hashes[at - 1] === h && this.keys[at - 1]!.equals(key)) return false;
    }
    const n = this.keys.push(key);
    if (n > this.hashes.length) {
      const grown = new Uint32Array(this.hashes.length * 2);
      grown.set(this.hashes);
      this.hashes = grown;
    }
    this.hashes[n - 1] = h;
    this.slots[i] = n;
    if (2 * n > this.slots.length) this.rehash();
    return true;
  }

  private rehash(): void {
    this.slots = new Uint32Array(this.slots.length * 2);
    const mask = this.slots.length - 1;
    for (let k = 0; k < this.keys.length; k++) {
      let i = this.hashes[k]! & mask;
      while (this.slots[i] !== 0) i = (i + 1) & mask;
      this.slots[i] = k + 1;
    }
  }
}
