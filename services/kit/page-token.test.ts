import { status } from '@grpc/grpc-js';
import { decodePageToken, encodePageToken, pageSize } from './page-token';
import { checkUpdateMask } from './field-mask';
import { createIdGenerator } from './ids';
import { toTimestamp } from './timestamp';

describe('page tokens', () => {
  it('round-trips the last id for the same filters', () => {
    const id = 2n ** 60n + 1n;
    const token = encodePageToken(id, { tag: 'a' });
    expect(decodePageToken(token, { tag: 'a' })).toBe(id);
    expect(decodePageToken('', {})).toBeUndefined();
  });

  it.each([['garbage'], [encodePageToken(5n, { tag: 'a' })]])('rejects %s with INVALID_ARGUMENT', (token) => {
    expect(() => decodePageToken(token, { tag: 'b' })).toThrow(expect.objectContaining({ code: status.INVALID_ARGUMENT }));
  });

  it.each([
    [0, 20],
    [5, 5],
    [1000, 100],
  ])('page size %i resolves to %i', (requested, expected) => {
    expect(pageSize(requested, 20, 100)).toBe(expected);
  });
});

describe('update masks', () => {
  it('accepts allowed paths', () => {
    expect(checkUpdateMask(['title', 'tags'], ['title', 'body', 'tags'])).toEqual(new Set(['title', 'tags']));
  });
  it.each([[undefined], [[]], [['id']]])('rejects %j', (mask) => {
    expect(() => checkUpdateMask(mask, ['title'])).toThrow(expect.objectContaining({ code: status.INVALID_ARGUMENT }));
  });
});

describe('ids', () => {
  it('are increasing, unique and beyond 2^53', () => {
    const next = createIdGenerator(3, () => 1_700_000_000_000);
    const ids = Array.from({ length: 5000 }, next);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort((a, b) => (a < b ? -1 : 1))).toEqual(ids);
    expect(ids[0] > 2n ** 53n).toBe(true);
    expect(ids[ids.length - 1] < 2n ** 63n).toBe(true);
  });
});

describe('timestamps', () => {
  it('splits milliseconds into seconds and nanos', () => {
    expect(toTimestamp(new Date(1_700_000_000_123))).toEqual({ seconds: 1_700_000_000n, nanos: 123_000_000 });
  });
});
