/** What a total tells as it goes, for a display of progress (totalize on a terminal). */
export interface Progress {
  /** A listing paged in `pages` pages: `done` of them answered so far, holding `keys` keys (no pages yet: counting them). */
  pages?(listing: string, done: number, pages: number, keys: number): void;
  /** Bucket values read one GET each: `done` of `total`. */
  values?(done: number, total: number): void;
  /** The keys listed are being totalled. */
  totalling?(keys: number): void;
}
