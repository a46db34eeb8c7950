/**
 * ALLOW_QUERY: only clients in the list are answered; others get REFUSED, as BIND's `allow-query` does. It comes
 * before admission, so a refused query costs no Redis read, no flight and no pending slot; only RRL, which must
 * see every response, comes before it.
 */
import { RCODE } from '../dns/constants.js';
import { AddressList } from '../common/cidr.js';
import type { Link, Resolution } from './chain.js';

const REFUSED: Resolution = { answer: { rcode: RCODE.REFUSED, answers: [], authority: [] }, outcome: 'refused_acl' };

export function allowQueryLink(allowQuery: string): Link {
  const allowed = new AddressList(allowQuery);
  return { name: 'ALLOW_QUERY', cache: 'client', run: (qc, next) => (allowed.has(qc.client) ? next(qc) : REFUSED) };
}
