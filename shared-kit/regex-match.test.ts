/**
 * The pattern engine: which patterns may run on RegExp, and a differential test proving those
 * answer exactly as RE2 does (RE2 stays the meaning) on random text full of the characters where
 * the engines' dialects could part: controls, separators, BOM, astral, digits, dashes, slashes.
 */
import { RE2JS } from '@bufbuild/re2';
import { backtrackSafe, createRegexMatch } from './regex-match';

// Our protos' patterns (content.proto, validate/v1/text.proto), then a few more shapes.
const OURS = [
  '^[a-z0-9-]{1,32}$',
  '^[a-z0-9-]{0,32}$',
  '^users/[0-9]{1,19}/posts/[0-9]{1,19}$',
  '^[^\\x00-\\x1F\\x7F-\\x9F\\x{2028}\\x{2029}]*$',
  '^[^\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F\\x7F-\\x9F]*$',
  '[^\\x09-\\x0D\\p{Z}\\x{FEFF}]',
];
const OTHERS = ['^\\d{3}-\\d{4}$', '^[A-Z][a-z]+$', 'ab?c', '^\\p{Lu}\\w*$', '^\\/v1\\/[^/]+$', '^x{2,}$'];

describe('backtrackSafe', () => {
  it.each([...OURS, ...OTHERS])('runs %s on RegExp', (pattern) => {
    expect(backtrackSafe(pattern)).toBeInstanceOf(RegExp);
  });

  it.each([
    ['nested quantifiers', '^(a+)+$'],
    ['a group', '^(ab)*$'],
    ['alternation', '^a|b$'],
    ['two unbounded quantifiers', '^a*b*$'],
    ['an unbounded quantifier without ^', 'a*b'],
    ['ranges multiplying past the bound', '^a{0,99}b{0,99}$'],
    ['a dot (RE2 and RegExp differ on line breaks)', '^.{1,5}$'],
    ['\\s (ASCII in RE2, Unicode in RegExp)', '^\\s?$'],
    ['a lazy quantifier', '^a{1,3}?$'],
    ['a POSIX class', '^[[:alpha:]]$'],
    ['a script property', '^\\p{Greek}$'],
  ])('leaves %s to RE2', (_what, pattern) => {
    expect(backtrackSafe(pattern)).toBeUndefined();
  });
});

describe('createRegexMatch', () => {
  const ALPHABET = [
    'a',
    'z',
    'A',
    '0',
    '9',
    '-',
    '/',
    ' ',
    '\t',
    '\n',
    '\r',
    '\u0000',
    '\u001b',
    '\u007f',
    '\u0085',
    '\u009f',
    '\u00a0',
    '\u2028',
    '\u2029',
    '\u3000',
    '\ufeff',
    'é',
    '😀',
    'users/',
    '/posts/',
  ];
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const text = () => Array.from({ length: Math.floor(random() * 12) }, () => ALPHABET[Math.floor(random() * ALPHABET.length)]).join('');

  it.each([...OURS, ...OTHERS])('answers as RE2 does for %s (2,000 random texts)', (pattern) => {
    const match = createRegexMatch();
    const re2 = RE2JS.compile(pattern);
    const samples = [...Array.from({ length: 2000 }, text), 'users/1/posts/2', 'abc-123', '555-1234', 'Hello', 'xx'];
    const differing = samples.filter((s) => match(pattern, s) !== re2.test(s));
    expect(differing).toEqual([]);
  });

  it('refuses what RE2 refuses, even where RegExp would run it', () => {
    expect(() => createRegexMatch()('^(a)\\1$', 'aa')).toThrow();
    expect(() => createRegexMatch()('^(?=a)a$', 'a')).toThrow();
  });
});
