import { parsePathTemplate, PathTemplateError, type TemplateSegment } from './path-template';

const lit = (value: string): TemplateSegment => ({ kind: 'literal', value });
const star: TemplateSegment = { kind: 'wildcard' };
const deep: TemplateSegment = { kind: 'deep' };

describe('parsePathTemplate accepts', () => {
  it.each([
    ['/v1/users', [lit('v1'), lit('users')], undefined, []],
    ['/v1/users/{id}', [lit('v1'), lit('users'), star], undefined, [{ fieldPath: ['id'], start: 2, end: 3, multiSegment: false }]],
    ['/v1/users/{id=*}', [lit('v1'), lit('users'), star], undefined, [{ fieldPath: ['id'], start: 2, end: 3, multiSegment: false }]],
    [
      '/v1/{name=shelves/*/books/*}',
      [lit('v1'), lit('shelves'), star, lit('books'), star],
      undefined,
      [{ fieldPath: ['name'], start: 1, end: 5, multiSegment: true }],
    ],
    ['/v1/{name=**}', [lit('v1'), deep], undefined, [{ fieldPath: ['name'], start: 1, end: 2, multiSegment: true }]],
    ['/v1/files/{path=**}:download', [lit('v1'), lit('files'), deep], 'download', [{ fieldPath: ['path'], start: 2, end: 3, multiSegment: true }]],
    [
      '/v1/{name=shelves/*/books/**}',
      [lit('v1'), lit('shelves'), star, lit('books'), deep],
      undefined,
      [{ fieldPath: ['name'], start: 1, end: 5, multiSegment: true }],
    ],
    ['/v1/a/*/b/**', [lit('v1'), lit('a'), star, lit('b'), deep], undefined, []],
    ['/v1/{a.b.c}', [lit('v1'), star], undefined, [{ fieldPath: ['a', 'b', 'c'], start: 1, end: 2, multiSegment: false }]],
    ['/v1/x:custom', [lit('v1'), lit('x')], 'custom', []],
    ['/v1/{id}:publish', [lit('v1'), star], 'publish', [{ fieldPath: ['id'], start: 1, end: 2, multiSegment: false }]],
    ['/v1/{single=foo}', [lit('v1'), lit('foo')], undefined, [{ fieldPath: ['single'], start: 1, end: 2, multiSegment: false }]],
    [
      '/v1/{parent=projects/*}/items/{item_id}',
      [lit('v1'), lit('projects'), star, lit('items'), star],
      undefined,
      [
        { fieldPath: ['parent'], start: 1, end: 3, multiSegment: true },
        { fieldPath: ['item_id'], start: 4, end: 5, multiSegment: false },
      ],
    ],
    ['/**', [deep], undefined, []],
    ['/', [], undefined, []],
    ['/v1/**/x', [lit('v1'), deep, lit('x')], undefined, []],
    [
      '/v1/archive/{path=**}/manifest',
      [lit('v1'), lit('archive'), deep, lit('manifest')],
      undefined,
      [{ fieldPath: ['path'], start: 2, end: 3, multiSegment: true }],
    ],
    [
      '/v1/{a=**}/x/{b}:get',
      [lit('v1'), deep, lit('x'), star],
      'get',
      [
        { fieldPath: ['a'], start: 1, end: 2, multiSegment: true },
        { fieldPath: ['b'], start: 3, end: 4, multiSegment: false },
      ],
    ],
    ['/v1/places/café', [lit('v1'), lit('places'), lit('café')], undefined, []],
    ["/v1/caf%C3%A9/a-b_c.d~e!$&'()+,;@", [lit('v1'), lit('caf%C3%A9'), lit("a-b_c.d~e!$&'()+,;@")], undefined, []],
  ])('%s', (text, segments, verb, variables) => {
    const t = parsePathTemplate(text);
    expect(t.text).toBe(text);
    expect(t.segments).toEqual(segments);
    expect(t.verb).toBe(verb);
    expect(t.variables).toEqual(variables);
  });

  it('returns a frozen template', () => {
    const t = parsePathTemplate('/v1/{name=shelves/*}');
    expect(Object.isFrozen(t)).toBe(true);
    expect(Object.isFrozen(t.segments)).toBe(true);
    expect(Object.isFrozen(t.variables[0])).toBe(true);
    expect(Object.isFrozen(t.variables[0].fieldPath)).toBe(true);
  });
});

describe('parsePathTemplate rejects', () => {
  it.each([
    ['v1/users', "a template must start with '/'", 0],
    ['', "a template must start with '/'", 0],
    ['/:verb', 'empty segment', 1],
    ['/v1//users', 'empty segment', 4],
    ['/v1/users/', 'empty segment', 10],
    ['/v1/:verb', 'empty segment', 4],
    ['/v1/**/x/**', "only one '**' may appear in a template", 9],
    ['/v1/{a=**}/{b=**}', "only one '**' may appear in a template", 14],
    ['/v1/*x', "'*' must be a whole segment", 4],
    ['/v1/***', "'**' must be a whole segment", 4],
    ['/v1/{id', "unbalanced '{': missing '}'", 4],
    ['/v1/{name=shelves/*', "unbalanced '{': missing '}'", 4],
    ['/v1/id}', "unbalanced '}'", 6],
    ['/v1/}', "unbalanced '}'", 4],
    ['/v1/{a={b}}', 'variables cannot be nested', 7],
    ['/v1/{a=x/{b}}', 'variables cannot be nested', 9],
    ['/v1/{}', 'bad identifier: expected a letter or \'_\', found "}"', 5],
    ['/v1/{1a}', 'bad identifier: expected a letter or \'_\', found "1"', 5],
    ['/v1/{a.}', 'bad identifier: expected a letter or \'_\', found "}"', 7],
    ['/v1/{a-b}', 'bad identifier: unexpected "-" in field path', 6],
    ['/v1/{a}/{a}', "variable 'a' appears twice", 8],
    ['/v1/{a.b}/x/{a.b=*}', "variable 'a.b' appears twice", 12],
    ['/v1/x:', "empty verb after ':'", 6],
    ['/v1/x:a:b', 'invalid character ":" in verb', 7],
    ['/v1/x:a/b', 'the verb must end the template', 7],
    ['/v1/{a=x:y}', 'a verb cannot appear inside a variable', 8],
    ['/v1/{a}x', 'a variable must be a whole segment', 7],
    ['/v1/a{b}', 'invalid character "{" in literal', 5],
    ['/v1/a b', 'invalid character " " in literal', 5],
    ['/v1/a?b', 'invalid character "?" in literal', 5],
    ['/v1/a=b', 'invalid character "=" in literal', 5],
    ['/v1/%zz', 'bad percent-encoding in literal', 4],
    ['/v1/%C3', 'percent-encoding in literal is not valid UTF-8', 4],
    ['/v1/{a=}', 'empty segment', 7],
  ])('%j: %s at %d', (text, problem, position) => {
    let caught: unknown;
    try {
      parsePathTemplate(text);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(PathTemplateError);
    const err = caught as PathTemplateError;
    expect(err.problem).toBe(problem);
    expect(err.position).toBe(position);
    expect(err.template).toBe(text);
    expect(err.message).toBe(`invalid path template ${JSON.stringify(text)}: ${problem} at position ${position}`);
  });
});
