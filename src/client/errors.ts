/** A total that cannot be given: bad arguments, or a listing the DNS would not answer. */
export class TotalError extends Error {}
