import { bearerToken } from './bearer';

describe('bearerToken', () => {
  it.each<[string | undefined, string | undefined | null]>([
    [undefined, undefined],
    ['Bearer abc.def.ghi', 'abc.def.ghi'],
    ['bearer abc', 'abc'],
    ['  Bearer   abc  ', 'abc'],
    ['Bearer\tabc', 'abc'],
    ['Basic dXNlcjpwdw==', null],
    ['Bearer', null],
    ['Bearer a b', null],
    ['', null],
  ])('%j -> %j', (value, expected) => {
    expect(bearerToken(value)).toBe(expected);
  });
});
