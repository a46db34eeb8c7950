import { describe, expect, it } from 'vitest';
import { planQuery } from '../../../src/query/operators.js';

const L = (...s: string[]) => s.map((x) => Buffer.from(x, 'latin1'));

describe('planQuery', () => {
  it.each([
    // [labels, expected op or error]
    [L('foo', 'get'), 'get'],
    [L('foo', 'GET'), 'get'],
    [L('field', 'h', 'hget'), 'hget'],
    [L('h', 'hkeys'), 'hkeys'],
    [L('h', 'hlen'), 'hlen'],
    [L('a;*', 'keys'), 'keys'],
    [L('a;*', 'klen'), 'klen'],
    [L('a;', 'kplen'), 'kplen'],
    [L('-1', 'l', 'lindex'), 'lindex'],
    [L('l', 'llen'), 'llen'],
    [L(':', 'l', 'lrange'), 'lrange'],
    [L('s', 'scard'), 'scard'],
    [L('s', 'smembers'), 'smembers'],
    [L('a;*', 'shards'), 'shards'],
    [L('a;*', 'shget'), 'shget'],
    [L('config'), 'config'],
    [L('Queues'), 'queues'],
    [L('stats'), 'stats'],
    [L('get'), 'parameter'],
    [L('x', 'y', 'get'), 'parameter'],
    [L('h', 'hget'), 'parameter'],
    [L('foo', 'frobnicate'), 'operand'],
    [L('frobnicate'), 'operand'],
    [L('x', 'l', 'lindex'), 'syntax'],
    [L('1.5', 'l', 'lindex'), 'syntax'],
    [L('1-2', 'l', 'lrange'), 'syntax'],
    [L('a;b', 'shards'), 'syntax'],
    [L('a;**', 'shget'), 'syntax'],
    [L('foo', 'config'), 'operand'],
    [L('', 'get'), 'parameter'],
    [L('3of8', 'a;*', 'keys'), 'keys'],
    [L('0OF1', 'a;*', 'klen'), 'klen'],
    [L('1of2', 'a;', 'kplen'), 'kplen'],
    [L('5of16', 'a;*', 'shards'), 'shards'],
    [L('5of16', 'a;*', 'shget'), 'shget'],
    [L('3of6', 'a;*', 'shget'), 'syntax'],
    [L('8of8', 'a;*', 'keys'), 'syntax'],
    [L('page2', 'a;*', 'keys'), 'syntax'],
    [L('1of2', 'foo', 'get'), 'parameter'],
    [L('1of2', 'x', 'a;*', 'keys'), 'parameter'],
  ])('%j → %s', (labels, expected) => {
    const r = planQuery(labels, 'none');
    expect('plan' in r ? r.plan.op : r.error).toBe(expected);
  });

  it.each([
    [':', 0, -1],
    [':-2', 0, -2],
    ['3:', 3, -1],
    ['-3:-1', -3, -1],
    ['2:5', 2, 5],
  ])('lrange %s → %i..%i', (range, start, stop) => {
    const r = planQuery(L(range, 'l', 'lrange'), 'none');
    expect('plan' in r && r.plan).toMatchObject({ op: 'lrange', start, stop });
  });

  it('a partition label pages a listing; without partitions it is a parameter error, as upstream', () => {
    const r = planQuery(L('3of8', 'a;*', 'shget'), 'none');
    expect('plan' in r && r.plan).toMatchObject({ op: 'shget', part: { index: 3, count: 8 } });
    // Case-randomising resolvers must not split one page into several marshalling ids.
    const upper = planQuery(L('3OF8', 'a;*', 'shget'), 'none');
    expect('id' in upper && upper.id).toBe('id' in r && r.id);
    const off = planQuery(L('3of8', 'a;*', 'shget'), 'none', false);
    expect('error' in off && off.error).toBe('parameter');
  });

  it('kplen escapes glob characters in the prefix and appends *', () => {
    const r = planQuery(L('a*b?[', 'kplen'), 'none');
    expect('plan' in r && r.plan.op === 'kplen' && r.plan.glob.toString()).toBe('a\\*b\\?\\[*');
  });

  it('folds the key and the hget field but not a range', () => {
    const r = planQuery(L('Field', 'Key', 'hget'), 'lower');
    expect('plan' in r && r.plan).toMatchObject({ key: Buffer.from('key'), field: Buffer.from('field') });
  });
});
