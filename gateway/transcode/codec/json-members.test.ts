import { countJsonMembers, countValueMembers, namesMembers } from './json-members';

describe('countJsonMembers', () => {
  it.each([
    ['{}', 0],
    ['[]', 0],
    ['"a:b"', 0],
    ['{"a":1}', 1],
    ['{ "a" :1, "b"\n:\t{"c":[{"d":"e:f"}]}}', 4],
    ['{"a":"x\\":y","b":2}', 2],
    ['{"a\\\\":"\\\\","b":"\\\\\\"c:"}', 2],
    ['{"k":"v","k":"w"}', 2],
    ['["a",{"b":":"},"c"]', 1],
  ])('%s has %d', (text, count) => {
    expect(JSON.parse(text)).toBeDefined();
    expect(countJsonMembers(text)).toBe(count);
  });

  it('matches the parsed value exactly when no key repeats, and only then', () => {
    const text = JSON.stringify({ a: { b: [1, { c: null, d: 'e":' }], f: {} }, g: 'h' });
    expect(countJsonMembers(text)).toBe(countValueMembers(JSON.parse(text)));
    const repeated = '{"a":{"b":1,"b":2}}';
    expect(countJsonMembers(repeated)).toBe(countValueMembers(JSON.parse(repeated)) + 1);
  });
});

describe('namesMembers', () => {
  it.each([
    ['{}', 0, true],
    ['{"a":1}', 1, true],
    ['{"a":1}', 0, false],
    ['{"a":"x:y"}', 1, true],
    ['{"a":"x:y","a":2}', 1, false],
    ['{"a":{"b":":"},"c":":::"}', 3, true],
    ['{"a":{"b":1,"b":2}}', 2, false],
    ['["a:",":b"]', 0, true],
  ])('%s names %d members: %s', (text, count, expected) => {
    expect(namesMembers(text, count)).toBe(expected);
    expect(countJsonMembers(text) === count).toBe(expected);
  });
});
