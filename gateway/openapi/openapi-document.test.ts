/**
 * The document built from the compiled route table: valid OpenAPI 3.1, one operation per
 * HttpRule binding of every annotated method, and the proto3 JSON mapping as the gateway
 * writes it. Live traffic against the document is checked by the end-to-end tests
 * (test-support/contract.ts).
 */
import { getOption, hasOption, type DescExtension, type DescMethod } from '@bufbuild/protobuf';
import { BUILTIN_DESCRIPTOR, resolveConfig, type ConfigInput } from '../config';
import { loadDescriptors } from '../descriptors';
import { validateOpenApiSpec } from '../test-support/openapi-validator';
import { compileRoutes } from '../transcode';
import { servedServices } from '../upstream/upstream-pool';
import { openApiForConfig, type OpenApiDocument } from '.';

type Any = any;

const ACME = { 'acme.user.v1': 'unused:1', 'acme.content.v1': 'unused:1' };
const ECHO = { 'acme.echo.v1': 'unused:1' };

function documentFor(upstreams: Record<string, string>, extra: ConfigInput = {}): OpenApiDocument {
  return openApiForConfig(resolveConfig({ upstreams, ...extra }));
}

/** Every operation with its method and path, `x-additionalOperations` (custom verbs) included. */
function operations(doc: OpenApiDocument): Array<{ method: string; path: string; op: Any }> {
  const out: Array<{ method: string; path: string; op: Any }> = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (method === 'x-additionalOperations') for (const [verb, o] of Object.entries(op as object)) out.push({ method: verb, path, op: o });
      else out.push({ method: method.toUpperCase(), path, op });
    }
  }
  return out;
}

function operation(doc: OpenApiDocument, id: string): Any {
  const found = operations(doc).find((o) => o.op.operationId === id);
  if (!found) throw new Error(`no operation ${id}`);
  return found.op;
}

const acme = documentFor(ACME);
const echo = documentFor(ECHO);
const schemas = (doc: OpenApiDocument): Any => doc.components.schemas;

describe('validity', () => {
  it.each([
    ['user and content', acme],
    ['echo (every HttpRule shape)', echo],
    ['echo with proto names and enum numbers', documentFor(ECHO, { json: { useProtoNames: true, enumsAsNumbers: true } })],
  ])('%s: a valid OpenAPI 3.1 document', async (_name, doc) => {
    const result = await validateOpenApiSpec(doc);
    expect(result.errors).toEqual([]);
    expect(result.valid).toBe(true);
    expect(result.version).toBe('3.1');
  });
});

describe('one operation per binding', () => {
  // Counted from the descriptor set itself, not from the route table the document is built from.
  const { files } = loadDescriptors(BUILTIN_DESCRIPTOR, BUILTIN_DESCRIPTOR);
  const http = files.getExtension('google.api.http') as DescExtension;
  const bindingsOf = (m: DescMethod): number => {
    if (!(hasOption as Any)(m, http)) return 0;
    return 1 + ((getOption as Any)(m, http) as { additionalBindings: unknown[] }).additionalBindings.length;
  };
  it.each([
    ['acme.user.v1.UserService', acme],
    ['acme.content.v1.ContentService', acme],
    ['acme.echo.v1.EchoService', echo],
  ])('%s', (serviceName, doc) => {
    const service = files.getService(serviceName)!;
    const ops = operations(doc);
    for (const method of service.methods) {
      const mine = ops.filter((o) => o.op['x-grpc-method'] === `/${serviceName}/${method.name}`);
      expect([method.name, mine.length]).toEqual([method.name, bindingsOf(method)]);
    }
    const ids = ops.map((o) => o.op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('documents exactly the routes a table with warnings serves (replaced and unservable bindings left out), bidi as a stream', () => {
    const config = resolveConfig({ upstreams: { 'acme.conformance.v1': 'unused:1' } });
    const { files } = loadDescriptors(config.descriptor, BUILTIN_DESCRIPTOR);
    const table = compileRoutes(
      files,
      servedServices(files, config.upstreams).map(([s]) => s),
      config.json,
    );
    expect(table.warnings.length).toBeGreaterThan(0);
    const served = table.routes.map((r) => `${r.rpc.grpcPath} ${r.binding.httpMethod}`).sort();
    const documented = operations(documentFor(config.upstreams))
      .map((o) => `${o.op['x-grpc-method']} ${o.method}`)
      .sort();
    expect(documented).toEqual(served);
    const chat = operations(documentFor(config.upstreams)).find((o) => o.op.operationId === 'ShapesService_Chat')!;
    expect(Object.keys(chat.op.responses)).toContain('200');
  });

  it('is valid with every shape the route table serves (** in the middle, repeated path fields, /)', async () => {
    const doc = documentFor({ 'acme.conformance.v1': 'unused:1' });
    expect(operations(doc).find((o) => o.op.operationId === 'ShapesService_Archive')!.path).toBe('/v1/archive/{name}/manifest');
    expect(operations(doc).find((o) => o.op.operationId === 'ShapesService_Root')!.path).toBe('/');
    expect((await validateOpenApiSpec(doc)).errors).toEqual([]);
  });

  it('lists no service that has no upstream', () => {
    expect(operations(acme).some((o) => o.op['x-grpc-method'].startsWith('/acme.echo.'))).toBe(false);
    expect(acme.tags.map((t) => t.name)).toEqual(['ContentService', 'UserService']);
  });
});

describe('paths and parameters', () => {
  it.each([
    ['EchoService_Echo', '/v1/echo/{id}', 'GET'],
    ['EchoService_Echo_8', '/v1/shelves/{name_1}/books/{name_2}', 'GET'],
    ['EchoService_Echo_9', '/v1/files/{name}', 'GET'],
    ['EchoService_Echo_10', '/v1/tail/{id}/rest/{name_1}:peek', 'GET'],
    ['EchoService_Echo_12', '/v1/echo:search', 'SEARCH'],
    ['EchoService_Echo_13', '/v1/wild/{any_1}/x/{name}', 'GET'],
    ['EchoService_Echo_7', '/v1/echo/{nested.inner.value}/deep/{name}', 'GET'],
  ])('%s is %s', (id, path, method) => {
    const found = operations(echo).find((o) => o.op.operationId === id)!;
    expect([found.method, found.path]).toEqual([method, path]);
  });

  it('marks ** parameters as multi-segment', () => {
    const p = operation(echo, 'EchoService_Echo_9').parameters.find((x: Any) => x.name === 'name');
    expect(p).toMatchObject({ in: 'path', required: true, 'x-multi-segment': true });
  });

  it('merges paths that differ only in parameter names, naming the bound field', () => {
    const patch = acme.paths['/v1/users/{id}'].patch as Any;
    expect(patch.operationId).toBe('UserService_UpdateUser');
    expect(patch.parameters[0]).toMatchObject({ name: 'id', in: 'path', description: expect.stringContaining('Binds `user.id`') });
  });

  it('lists unbound fields as query parameters: nested a.b names, repeated, enums, maps, WKTs', () => {
    const params = new Map<string, Any>(operation(echo, 'EchoService_Echo').parameters.map((p: Any) => [p.name, p]));
    expect(params.has('id')).toBe(true); // the path
    expect(params.get('nested.inner.count')).toMatchObject({ in: 'query', schema: { type: 'string', format: 'int64' } });
    expect(params.get('tags')).toMatchObject({ style: 'form', explode: true, schema: { type: 'array', items: { type: 'string' } } });
    expect(params.get('kind').schema).toEqual({ $ref: '#/components/schemas/acme.echo.v1.Kind' });
    expect(params.get('labels')).toMatchObject({ style: 'deepObject', explode: true, schema: { type: 'object', additionalProperties: { type: 'string' } } });
    expect(params.get('when').schema).toMatchObject({ type: 'string', format: 'date-time' });
    expect(params.get('maybeInt').schema).toMatchObject({ type: 'integer' });
    expect(params.get('customName')).toBeDefined(); // json_name
    // Messages without a text form and maps of messages cannot come from the query.
    for (const name of ['meta', 'payload', 'indexed', 'nested', 'list']) expect([name, params.has(name)]).toEqual([name, false]);
    // A body: "*" route has no query parameters at all; a body: "nested" route has the rest.
    expect(operation(echo, 'EchoService_Echo_2').parameters).toBeUndefined();
    const patch = operation(echo, 'EchoService_Echo_4').parameters.map((p: Any) => p.name);
    expect(patch).toContain('name');
    expect(patch.some((n: string) => n.startsWith('nested'))).toBe(false);
  });
});

describe('schemas follow the proto3 JSON mapping', () => {
  const echoMessage = schemas(echo)['acme.echo.v1.EchoMessage'];
  it.each([
    ['id', { type: 'string', format: 'int64', pattern: '^-?[0-9]+$' }],
    ['big', { type: 'string', format: 'uint64' }],
    ['signed', { type: 'string', format: 'int64' }],
    ['fixed', { type: 'string', format: 'uint64' }],
    ['small', { type: 'integer', format: 'int32' }],
    ['flag', { type: 'boolean' }],
    ['ratio', { anyOf: [{ type: 'number' }, { type: 'string', enum: ['NaN', 'Infinity', '-Infinity'] }] }],
    ['data', { type: 'string', contentEncoding: 'base64' }],
    ['kind', { $ref: '#/components/schemas/acme.echo.v1.Kind' }],
    ['numbers', { type: 'array', items: { type: 'string', format: 'int64' } }],
    ['labels', { type: 'object', additionalProperties: { type: 'string' } }],
    ['indexed', { type: 'object', additionalProperties: { $ref: '#/components/schemas/acme.echo.v1.Nested' }, propertyNames: { pattern: '^-?[0-9]+$' } }],
    ['when', { type: 'string', format: 'date-time' }],
    ['ttl', { type: 'string', pattern: '^-?[0-9]+(\\.[0-9]{1,9})?s$' }],
    ['mask', { type: 'string' }],
    ['meta', { type: 'object', additionalProperties: true }],
    ['list', { type: 'array' }],
    ['maybeInt', { type: 'integer', format: 'int32' }],
    ['maybeBig', { type: 'string', format: 'int64' }],
    ['maybeString', { type: 'string' }],
    ['maybeBool', { type: 'boolean' }],
    ['payload', { type: 'object', required: ['@type'] }],
    ['nothing', { type: 'object', additionalProperties: false }],
    ['customName', { type: 'integer' }],
    ['opt', { type: 'string' }],
  ])('%s', (name, expected) => {
    expect(echoMessage.properties[name]).toMatchObject(expected);
  });

  it('uses json_name and has no property under the proto name', () => {
    expect(echoMessage.properties.renamed).toBeUndefined();
    expect(echoMessage.properties.maybe_int).toBeUndefined();
    expect(echoMessage.additionalProperties).toBe(false);
  });

  it('allows at most one member of a oneof', () => {
    expect(echoMessage.not.anyOf).toEqual([{ required: ['text', 'number'] }, { required: ['text', 'object'] }, { required: ['number', 'object'] }]);
  });

  it('writes enums as names, or as numbers with enumsAsNumbers; proto names with useProtoNames', () => {
    expect(schemas(echo)['acme.echo.v1.Kind']).toMatchObject({ type: 'string', enum: ['KIND_UNSPECIFIED', 'KIND_ONE', 'KIND_TWO'] });
    const other = documentFor(ECHO, { json: { useProtoNames: true, enumsAsNumbers: true } });
    expect(schemas(other)['acme.echo.v1.Kind']).toMatchObject({ type: 'integer', enum: [0, 1, 2] });
    expect(Object.keys(schemas(other)['acme.echo.v1.EchoMessage'].properties)).toContain('maybe_int');
    expect(operation(other, 'EchoService_Echo').parameters.map((p: Any) => p.name)).toContain('maybe_int');
  });

  it('carries descriptions from comments and field_behavior as required/readOnly/writeOnly', () => {
    const user = schemas(acme)['acme.user.v1.User'];
    expect(user.description).toBe('An account.');
    expect(user.properties.id).toMatchObject({ readOnly: true, description: expect.stringContaining('64-bit number') });
    const create = schemas(acme)['acme.user.v1.CreateUserRequest'];
    expect(create.required).toEqual(['email', 'displayName', 'password']);
    expect(create.properties.password.writeOnly).toBe(true);
    expect(schemas(acme)['acme.content.v1.PostStatus'].description).toContain('`POST_STATUS_DRAFT`: Visible only to its author and admins.');
    const op = operation(acme, 'UserService_GetUser');
    expect(op.summary).toBe('Returns one account.');
    expect(op.description).toContain('the email is\nshown only to the account itself');
    expect(acme.tags.find((t) => t.name === 'UserService')!.description).toContain('Accounts, sign-in');
  });
});

describe('buf.validate rules as JSON Schema keywords', () => {
  it('maps lengths, patterns, email, ranges and item counts', () => {
    const create = schemas(acme)['acme.user.v1.CreateUserRequest'].properties;
    expect(create.email).toMatchObject({ format: 'email', maxLength: 254 });
    expect(create.displayName).toMatchObject({ minLength: 1, maxLength: 80 });
    expect(create.password).toMatchObject({ minLength: 8, maxLength: 1024 });
    const post = schemas(acme)['acme.content.v1.Post'].properties;
    expect(post.tags).toMatchObject({ maxItems: 10, items: { type: 'string', pattern: '^[a-z0-9-]{1,32}$' } });
    expect(post.title).toMatchObject({ maxLength: 200 });
    const pageSize = operation(acme, 'ContentService_ListPosts').parameters.find((p: Any) => p.name === 'pageSize');
    expect(pageSize.schema).toMatchObject({ type: 'integer', minimum: 0 });
  });
});

describe('bodies, answers and statuses', () => {
  const json = (op: Any, status: string): Any => op.responses[status].content['application/json'].schema;

  it('body "*" is the whole request; body "field" that field; response_body picks a field', () => {
    expect(operation(acme, 'UserService_CreateUser').requestBody.content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/acme.user.v1.CreateUserRequest',
    });
    expect(operation(acme, 'ContentService_CreatePost').requestBody.content['application/json'].schema).toMatchObject({
      $ref: '#/components/schemas/acme.content.v1.Post',
    });
    expect(json(operation(acme, 'UserService_CreateUser'), '201')).toMatchObject({ $ref: '#/components/schemas/acme.user.v1.User' });
    expect(json(operation(echo, 'EchoService_EchoNested'), '200')).toMatchObject({ $ref: '#/components/schemas/acme.echo.v1.Nested' });
    expect(operation(acme, 'UserService_GetUser').requestBody).toBeUndefined();
  });

  it('uses the success status of the method option; 204 has no body', () => {
    expect(Object.keys(operation(acme, 'UserService_Login').responses)[0]).toBe('201');
    expect(operation(acme, 'ContentService_DeletePost').responses['204']).toEqual({ description: 'Done; no body.' });
    expect(operation(acme, 'ContentService_GetPost').responses['200']).toBeDefined();
  });

  it('takes and answers HttpBody as raw content', () => {
    expect(operation(echo, 'EchoService_Upload').requestBody.content).toEqual({ '*/*': {} });
    expect(operation(echo, 'EchoService_Upload').responses['200'].content).toEqual({ '*/*': {} });
    expect(operation(echo, 'EchoService_Raw').responses['415']).toBeUndefined();
  });

  it('answers server streams as NDJSON and Server-Sent Events; takes client streams as NDJSON', () => {
    const stream = operation(echo, 'EchoService_Expand').responses['200'].content;
    expect(Object.keys(stream)).toEqual(['application/x-ndjson', 'text/event-stream']);
    expect(stream['application/x-ndjson'].schema.properties).toEqual({
      result: { $ref: '#/components/schemas/acme.echo.v1.EchoMessage' },
      error: { $ref: '#/components/schemas/google.rpc.Status' },
    });
    expect(Object.keys(operation(echo, 'EchoService_Collect').requestBody.content)).toEqual(['application/x-ndjson']);
  });

  it('lists the error statuses each route can answer, all google.rpc.Status', () => {
    const statuses = (id: string, doc = acme): string[] => Object.keys(operation(doc, id).responses).filter((s) => s !== '200' && s !== '201' && s !== '204');
    expect(statuses('UserService_ListUsers')).toEqual(['400', '401', '429', '503', '504', 'default']);
    expect(statuses('UserService_CreateUser')).toEqual(['400', '401', '413', '415', '429', '503', '504', 'default']);
    expect(statuses('UserService_ListUsers', documentFor(ACME, { auth: { mode: 'off' }, rateLimit: { enabled: false } }))).toEqual([
      '400',
      '503',
      '504',
      'default',
    ]);
    expect(json(operation(acme, 'UserService_ListUsers'), '401')).toEqual({ $ref: '#/components/schemas/google.rpc.Status' });
    expect(schemas(acme)['google.rpc.Status'].required).toEqual(['code', 'message', 'details']);
  });

  it('names the bearer scheme: required on protected methods, optional on public ones', () => {
    expect(acme.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    expect(operation(acme, 'UserService_ListUsers').security).toEqual([{ bearerAuth: [] }]);
    expect(operation(acme, 'ContentService_ListPosts').security).toEqual([{}, { bearerAuth: [] }]);
  });
});
