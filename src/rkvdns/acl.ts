/**
 * ALLOW_QUERY: only clients in the list are answered; others get REFUSED, as BIND's `allow-query` does. The
 * first link, so a refused query costs no Redis read, no flight and no pending slot.
 */
import { RCODE } from '../dns/constants.js';
import { AddressList } from '../common/cidr.js';
import type { Link, Resolution } from './chain.js';

const REFUSED: Resolution = { answer: { rcode: RCODE.REFUSED, answers: [], authority: [] }, outcome: 'refused_acl' };

export function allowQueryLink(allowQuery: string): Link {
  const allowed = new AddressList(allowQuery);
  return (qc, next) => (allowed.has(qc.client) ? next(qc) : REFUSED);
}
