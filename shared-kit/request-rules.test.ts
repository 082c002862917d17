/**
 * shared-kit's rule checks on descriptors built here, for what our protos do not show: a
 * pattern that would take a backtracking engine exponential time, a pattern RE2 refuses
 * (which must stop the start, naming the method), and how violations name their fields.
 */
import { create, createFileRegistry, setExtension, type Registry } from '@bufbuild/protobuf';
import { FieldDescriptorProto_Label, FieldDescriptorProto_Type, FieldOptionsSchema, FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import { field as fieldRules, FieldRulesSchema, file_buf_validate_validate, StringRulesSchema } from '@bufbuild/protovalidate/gen/buf/validate/validate_pb.js';
import { createRuleChecks } from './request-rules';

const { STRING, MESSAGE } = FieldDescriptorProto_Type;
const { REPEATED, OPTIONAL } = FieldDescriptorProto_Label;

/** A registry of `test.v1`: Outer { repeated Inner inner_items = 1; string plain = 2 }, Inner { string some_text = 1 [pattern] }. */
function registryWith(pattern: string): Registry {
  const options = create(FieldOptionsSchema);
  setExtension(options, fieldRules, create(FieldRulesSchema, { type: { case: 'string', value: create(StringRulesSchema, { pattern }) } }));
  const file = create(FileDescriptorProtoSchema, {
    name: 'test/v1/test.proto',
    package: 'test.v1',
    syntax: 'proto3',
    dependency: ['buf/validate/validate.proto'],
    messageType: [
      {
        name: 'Outer',
        field: [
          { name: 'inner_items', jsonName: 'innerItems', number: 1, type: MESSAGE, typeName: '.test.v1.Inner', label: REPEATED },
          { name: 'plain', jsonName: 'plain', number: 2, type: STRING, label: OPTIONAL },
        ],
      },
      { name: 'Inner', field: [{ name: 'some_text', jsonName: 'someText', number: 1, type: STRING, label: OPTIONAL, options }] },
      { name: 'Free', field: [{ name: 'anything', jsonName: 'anything', number: 1, type: STRING, label: OPTIONAL }] },
    ],
  });
  return createFileRegistry(file, (name) => (name === 'buf/validate/validate.proto' ? file_buf_validate_validate : undefined));
}

describe('createRuleChecks', () => {
  it('names violations by JSON path or proto path, index included', () => {
    const registry = registryWith('^[a-z]+$');
    const outer = registry.getMessage('test.v1.Outer')!;
    const inner = registry.getMessage('test.v1.Inner')!;
    const message = create(outer, { innerItems: [create(inner, { someText: 'ok' }), create(inner, { someText: 'NOT OK' })] });
    expect(createRuleChecks(registry, 'json')(outer, 'test.v1.S/M')!(message)).toEqual([
      { field: 'innerItems[1].someText', description: expect.stringContaining('regex') },
    ]);
    expect(createRuleChecks(registry, 'proto')(outer, 'test.v1.S/M')!(message).map((v) => v.field)).toEqual(['inner_items[1].some_text']);
  });

  it('gives no check to a message without rules', () => {
    const registry = registryWith('^[a-z]+$');
    expect(createRuleChecks(registry, 'json')(registry.getMessage('test.v1.Free')!, 'test.v1.S/M')).toBeUndefined();
  });

  it('matches on RE2: a pattern that backtracks exponentially in JavaScript answers at once', () => {
    // /^(a+)+$/ on 'a' x 40 + '!' makes a backtracking engine try about 2^40 ways: it would not
    // finish within the test's timeout. RE2 runs in time linear in the input.
    const registry = registryWith('^(a+)+$');
    const inner = registry.getMessage('test.v1.Inner')!;
    const check = createRuleChecks(registry, 'json')(inner, 'test.v1.S/M')!;
    expect(check(create(inner, { someText: `${'a'.repeat(40)}!` })).map((v) => v.field)).toEqual(['someText']);
    expect(check(create(inner, { someText: 'a'.repeat(100_000) }))).toEqual([]);
  });

  it.each([
    ['a backreference', '^(a)\\1$'],
    ['a lookahead', '^(?=a)a$'],
  ])('refuses at start-up a pattern RE2 cannot run (%s), naming the method', (_what, pattern) => {
    const registry = registryWith(pattern);
    const checkFor = createRuleChecks(registry, 'json');
    expect(() => checkFor(registry.getMessage('test.v1.Outer')!, 'test.v1.Things/GetThing')).toThrow(
      /^test\.v1\.Things\/GetThing: a buf\.validate rule of test\.v1\.Inner does not compile/,
    );
  });
});
