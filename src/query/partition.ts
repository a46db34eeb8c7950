/**
 * Partitioned listings: `<i>of<n>.<pattern>.<op>.<zone>` lists only the keys of partition i of n. A key's
 * partition is the top log2(n) bits of the 32-bit FNV-1a hash of its bytes, so it depends on the key alone:
 * pages answered at different times (and cached separately by resolvers) never hold the same key twice,
 * and partition i of n is exactly partitions 2i and 2i+1 of 2n, which lets a client split a page that is
 * still too large without starting over.
 */

export interface Partition {
  index: number;
  /** A power of two from 1 to MAX_PARTITIONS. */
  count: number;
}

export const MAX_PARTITIONS = 65536;
/** Keys are bucketed by this many top hash bits; every allowed partition is a run of whole buckets. */
export const PARTITION_BITS = 16;

const LABEL = /^(\d{1,5})of(\d{1,5})$/i;

export function fnv1a32(key: Buffer): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The hash bucket (top PARTITION_BITS bits) of a key. */
export function bucketOf(key: Buffer): number {
  return fnv1a32(key) >>> (32 - PARTITION_BITS);
}

/** Buckets [first, end) that make up a partition. */
export function bucketRange(p: Partition): [number, number] {
  const width = (1 << PARTITION_BITS) / p.count;
  return [p.index * width, (p.index + 1) * width];
}

export function partitionOf(key: Buffer, count: number): number {
  return Math.floor(bucketOf(key) / ((1 << PARTITION_BITS) / count));
}

export function parsePartition(label: Buffer): Partition | string {
  const text = label.toString('latin1');
  const m = LABEL.exec(text);
  if (!m) return `partition '${text}' is not of the form <index>of<count>`;
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || count > MAX_PARTITIONS || (count & (count - 1)) !== 0) return `partition count ${count} is not a power of two from 1 to ${MAX_PARTITIONS}`;
  if (index >= count) return `partition index ${index} is not below the count ${count}`;
  return { index, count };
}

export function partitionLabel(p: Partition): string {
  return `${p.index}of${p.count}`;
}

/** The two halves of a partition, for a page still too large for one answer. */
export function splitPartition(p: Partition): [Partition, Partition] | null {
  if (p.count >= MAX_PARTITIONS) return null;
  return [
    { index: 2 * p.index, count: 2 * p.count },
    { index: 2 * p.index + 1, count: 2 * p.count },
  ];
}
