/**
 * Start-up failures of the route table name the proto method at fault. Each case builds a
 * small service over our own descriptor set, with its google.api.http rule set in code.
 */
import { readFileSync } from 'node:fs';
import { create, createFileRegistry, fromBinary, setExtension, toBinary, type DescExtension, type FileRegistry } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, FileDescriptorSetSchema, MethodOptionsSchema } from '@bufbuild/protobuf/wkt';
import { buildGateway } from '../app';
import { thrownBy } from '../test-support/thrown';
import { BUILTIN_DESCRIPTOR, resolveConfig } from '../config';
import { UpstreamConfigError } from '../upstream/upstream-pool';
import { DEFAULT_JSON_OPTIONS } from './json-options';
import { compileRoutes, RouteCompileError } from './route-table';

const BASE = fromBinary(FileDescriptorSetSchema, readFileSync(BUILTIN_DESCRIPTOR));
const BASE_REGISTRY = createFileRegistry(BASE);
const HTTP = BASE_REGISTRY.getExtension('google.api.http')!;
const HTTP_RULE = BASE_REGISTRY.getMessage('google.api.HttpRule')!;
const SERVICE = 'test.v1.TestService';

type Rule = Record<string, unknown>;

/** A registry with `test.v1.TestService`, one EchoMessage → EchoMessage method per rule. */
function serviceWith(rules: Record<string, Rule>): FileRegistry {
  const methods = Object.entries(rules).map(([name, rule]) => {
    const options = create(MethodOptionsSchema);
    setExtension(options, HTTP as DescExtension, create(HTTP_RULE, rule as never) as never);
    return { name, inputType: '.acme.echo.v1.EchoMessage', outputType: '.acme.echo.v1.EchoMessage', options };
  });
  const file = create(FileDescriptorProtoSchema, {
    name: 'test/v1/test.proto',
    package: 'test.v1',
    syntax: 'proto3',
    dependency: ['google/api/annotations.proto', 'acme/echo/v1/echo.proto'],
    service: [{ name: 'TestService', method: methods }],
  });
  // Through the wire, as a descriptor set from `buf build` would arrive.
  const set = create(FileDescriptorSetSchema, { file: [...BASE.file, file] });
  return createFileRegistry(fromBinary(FileDescriptorSetSchema, toBinary(FileDescriptorSetSchema, set)));
}

const get = (path: string, more: Rule = {}): Rule => ({ pattern: { case: 'get', value: path }, ...more });
const post = (path: string, more: Rule = {}): Rule => ({ pattern: { case: 'post', value: path }, ...more });

function compile(rules: Record<string, Rule>, strict = false) {
  const registry = serviceWith(rules);
  return compileRoutes(registry, [registry.getService(SERVICE)!], DEFAULT_JSON_OPTIONS, { strict });
}

const served = (table: ReturnType<typeof compile>): string[] => table.routes.map((r) => `${r.rpc.name} ${r.binding.httpMethod} ${r.binding.path}`);

describe('compileRoutes', () => {
  it('compiles a valid service, custom methods included', () => {
    const table = compile({
      Get: get('/v1/things/{id}'),
      Find: { pattern: { case: 'custom', value: { kind: 'find', path: '/v1/things' } }, body: '*' },
    });
    expect(table.routes.map((r) => `${r.binding.httpMethod} ${r.binding.path}`)).toEqual(['GET /v1/things/{id}', 'FIND /v1/things']);
    expect(table.customMethods).toEqual(['FIND']);
    expect(table.warnings).toEqual([]);
    const match = table.trie.match('GET', '/v1/things/5');
    expect(match.kind === 'match' && match.value.rpc.grpcPath).toBe(`/${SERVICE}/Get`);
  });

  it.each<[string, Record<string, Rule>, string, RegExp]>([
    ['an invalid template', { Bad: get('/v1/things/{id') }, 'Bad', /GET \/v1\/things\/\{id/],
    ['a template without a leading /', { Bad: get('v1/things') }, 'Bad', /v1\/things/],
    ['two ** in one template', { Bad: get('/v1/{a=**}/x/{b=**}') }, 'Bad', /only one '\*\*'/],
    ['a path variable naming no field', { Bad: get('/v1/things/{nope}') }, 'Bad', /nope/],
    ['a nested path variable naming no field', { Bad: get('/v1/things/{nested.nope}') }, 'Bad', /nested\.nope/],
    ['a path variable through a scalar', { Bad: get('/v1/things/{name.x}') }, 'Bad', /name/],
    ['a path variable on a map field', { Bad: get('/v1/things/{labels}') }, 'Bad', /map field/],
    ['a path variable on a message with no text form', { Bad: get('/v1/things/{nested}') }, 'Bad', /nested/],
    ['a body field naming no field', { Bad: post('/v1/things', { body: 'nope' }) }, 'Bad', /body "nope"/],
    ['a response_body naming no field', { Bad: get('/v1/things', { responseBody: 'nope' }) }, 'Bad', /response_body "nope"/],
    ['a rule without a pattern', { Bad: { body: '*' } }, 'Bad', /no pattern/],
    ['nested additional_bindings', { Bad: get('/v1/a', { additionalBindings: [get('/v1/b', { additionalBindings: [get('/v1/c')] })] }) }, 'Bad', /nested/],
  ])('leaves out %s with a warning naming the method, serves the rest; strict fails', (_name, rules, method, detail) => {
    const table = compile({ ...rules, Good: get('/v1/good/{id}') });
    expect(table.warnings).toHaveLength(1);
    expect(table.warnings[0].startsWith(`${SERVICE}.${method}`)).toBe(true);
    expect(table.warnings[0]).toMatch(detail);
    expect(served(table)).toEqual(['Good GET /v1/good/{id}']);
    const thrown = thrownBy(() => compile(rules, true));
    expect(thrown).toBeInstanceOf(RouteCompileError);
    expect((thrown as Error).message).toContain(`${SERVICE}.${method}`);
    expect((thrown as Error).message).toMatch(detail);
  });

  it.each<[string, Record<string, Rule>, string, string, string]>([
    ['two methods on one method and path', { First: get('/v1/things/{id}'), Second: get('/v1/things/{name}') }, 'Second', 'First', '/v1/things/7'],
    ["one method's bindings", { Twice: get('/v1/x', { additionalBindings: [get('/v1/x')] }) }, 'Twice', 'Twice', '/v1/x'],
  ])('a duplicate within %s: the last registered wins, with a warning', (_name, rules, winner, loser, path) => {
    const table = compile(rules);
    expect(table.warnings).toHaveLength(1);
    expect(table.warnings[0]).toMatch(new RegExp(`^${SERVICE}\\.${winner} .*replaces ${SERVICE}\\.${loser} .*last registered wins`));
    expect(table.routes).toHaveLength(1);
    const match = table.trie.match('GET', path);
    expect(match.kind === 'match' && match.value.rpc.name).toBe(winner);
    expect(() => compile(rules, true)).toThrow(/strict/);
  });

  it.each<[string, Rule, string, string]>([
    ['literal segments after **', get('/v1/archive/{name=**}/manifest'), '/v1/archive/a/b/manifest', 'name=a/b'],
    ['a repeated field in the path', get('/v1/tagged/{tags}'), '/v1/tagged/a,b', 'tags=a,b'],
    ['the root template', get('/'), '/', ''],
  ])('serves %s without a warning', (_name, rule, path, bindings) => {
    const table = compile({ Shape: rule });
    expect(table.warnings).toEqual([]);
    const match = table.trie.match('GET', path);
    expect(match.kind).toBe('match');
    if (match.kind === 'match') expect(match.bindings.map(([f, v]) => `${f.join('.')}=${v}`).join('&')).toBe(bindings);
  });

  it('service configuration rules add bindings and set method options', () => {
    const registry = serviceWith({ Get: get('/v1/things/{id}') });
    const table = compileRoutes(registry, [registry.getService(SERVICE)!], DEFAULT_JSON_OPTIONS, {
      strict: true,
      rules: {
        http: [{ selector: `${SERVICE}.*`, rule: { pattern: { case: 'get', value: '/v2/any/{name}' }, body: '', responseBody: '', additionalBindings: [] } }],
        methods: [
          { selector: `${SERVICE}.Get`, public: true, roles: ['admin'] },
          { selector: '*', successStatus: 202 },
        ],
      },
    });
    expect(served(table)).toEqual(['Get GET /v1/things/{id}', 'Get GET /v2/any/{name}']);
    expect(table.routes[0].rpc.policy).toEqual({ successStatus: 202, public: true, roles: ['admin'] });
  });

  it('the same path under different HTTP methods is not a duplicate', () => {
    expect(compile({ A: get('/v1/x/{id}'), B: post('/v1/x/{id}', { body: '*' }) }).warnings).toEqual([]);
  });
});

describe('gateway start-up', () => {
  it('an upstream key naming no service or package fails the start', async () => {
    const config = resolveConfig({ port: 0, auth: { mode: 'off' }, upstreams: { 'acme.nope.v1': '127.0.0.1:1' } });
    await expect(buildGateway(config, false)).rejects.toThrow(UpstreamConfigError);
    await expect(buildGateway(config, false)).rejects.toThrow(/acme\.nope\.v1/);
  });

  it('a prefix of a package name is not a package', async () => {
    const config = resolveConfig({ port: 0, auth: { mode: 'off' }, upstreams: { 'acme.ech': '127.0.0.1:1' } });
    await expect(buildGateway(config, false)).rejects.toThrow(UpstreamConfigError);
  });
});
