import { thrownBy } from '../test-support/thrown';
import { GatewayError } from '../transcode';
import { DEFAULT_FORWARDED_HEADERS, MetadataMapper, type ClientInfo } from './metadata';
import type { Metadata } from './transport';

const CLIENT: ClientInfo = { remoteAddress: '127.0.0.1', host: 'gw.local', protocol: 'http' };
const FORWARDED = [
  ['x-forwarded-for', '127.0.0.1'],
  ['x-forwarded-host', 'gw.local'],
  ['x-forwarded-proto', 'http'],
];

describe('MetadataMapper.incoming', () => {
  const mapper = new MetadataMapper(DEFAULT_FORWARDED_HEADERS, 'Grpc-Metadata-', 'Grpc-Metadata-');

  it.each<[string, Record<string, string | string[]>, Metadata]>([
    [
      'allowlisted headers pass',
      { authorization: 'Bearer t', 'x-request-id': 'r' },
      [
        ['authorization', 'Bearer t'],
        ['x-request-id', 'r'],
      ],
    ],
    ['grpc-metadata- prefix is removed', { 'grpc-metadata-foo': 'bar' }, [['foo', 'bar']]],
    [
      'repeated values stay separate',
      { 'grpc-metadata-foo': ['a', 'b'] },
      [
        ['foo', 'a'],
        ['foo', 'b'],
      ],
    ],
    ['-bin values are decoded', { 'grpc-metadata-k-bin': 'AAH/' }, [['k-bin', new Uint8Array([0, 1, 255])]]],
    ['unlisted headers are dropped', { 'x-random': '1', cookie: 'c' }, []],
  ])('%s', (_name, headers, expected) => {
    const out = mapper.incoming(headers, CLIENT);
    expect(out.slice(0, -3).map(([k, v]) => [k, typeof v === 'string' ? v : new Uint8Array(v)])).toEqual(expected);
    expect(out.slice(-3)).toEqual(FORWARDED);
  });

  it.each<[string, Record<string, string>, ClientInfo, Metadata]>([
    [
      'X-Forwarded-For is appended to',
      { 'x-forwarded-for': '10.0.0.1' },
      CLIENT,
      [
        ['x-forwarded-for', '10.0.0.1, 127.0.0.1'],
        ['x-forwarded-host', 'gw.local'],
        ['x-forwarded-proto', 'http'],
      ],
    ],
    [
      'a sent host and proto win',
      { 'x-forwarded-host': 'api', 'x-forwarded-proto': 'https' },
      CLIENT,
      [
        ['x-forwarded-for', '127.0.0.1'],
        ['x-forwarded-host', 'api'],
        ['x-forwarded-proto', 'https'],
      ],
    ],
    [
      'no remote address keeps the sent chain',
      { 'x-forwarded-for': '10.0.0.1' },
      { ...CLIENT, remoteAddress: undefined },
      [
        ['x-forwarded-for', '10.0.0.1'],
        ['x-forwarded-host', 'gw.local'],
        ['x-forwarded-proto', 'http'],
      ],
    ],
    [
      'https from the connection',
      {},
      { ...CLIENT, protocol: 'https', host: undefined },
      [
        ['x-forwarded-for', '127.0.0.1'],
        ['x-forwarded-proto', 'https'],
      ],
    ],
  ])('%s', (_name, headers, client, expected) => {
    expect(mapper.incoming(headers, client)).toEqual(expected);
  });

  it.each<[string, Record<string, string>]>([
    ['a latin-1 value', { 'x-request-id': 'caf\u00e9' }],
    ['a control character', { 'grpc-metadata-foo': 'a\u0001b' }],
    ['bad base64 on a -bin key', { 'grpc-metadata-foo-bin': 'not base64!' }],
    ['an invalid metadata name', { 'grpc-metadata-f\u00f6o': 'x' }],
    // Names the gateway forwards or sets itself cannot be smuggled in under the prefix (issue 12, item 7).
    ['a second authorization via the prefix', { 'grpc-metadata-authorization': 'Bearer other' }],
    ['a forwarded name via the prefix', { 'grpc-metadata-x-request-id': 'r' }],
    ['x-forwarded-for via the prefix', { 'grpc-metadata-x-forwarded-for': '10.0.0.1' }],
    ['a hop-by-hop name via the prefix', { 'grpc-metadata-connection': 'close' }],
    ['te via the prefix', { 'grpc-metadata-te': 'trailers' }],
    ['a reserved grpc- name via the prefix', { 'grpc-metadata-grpc-timeout': '1S' }],
    ['a non-ASCII host', { host: 'h\u00f6st' }],
  ])('%s → INVALID_HEADER', (_name, headers) => {
    const client = { ...CLIENT, host: headers.host ?? CLIENT.host };
    const thrown = thrownBy(() => mapper.incoming(headers, client));
    expect(thrown).toBeInstanceOf(GatewayError);
    expect((thrown as GatewayError).reason).toBe('INVALID_HEADER');
  });

  it('metadata past 8 KiB (600 small headers) is HEADERS_TOO_LARGE, 431', () => {
    const many = Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`grpc-metadata-x${i}`, 'v']));
    const thrown = thrownBy(() => mapper.incoming(many, CLIENT)) as GatewayError;
    expect([thrown.reason, thrown.httpStatus]).toEqual(['HEADERS_TOO_LARGE', 431]);
    const fine = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`grpc-metadata-x${i}`, 'v']));
    expect(mapper.incoming(fine, CLIENT)).toHaveLength(103);
  });

  it('a configured allowlist replaces the default one, case-insensitively', () => {
    const custom = new MetadataMapper(['X-Tenant'], 'Grpc-Metadata-', 'Grpc-Metadata-');
    expect(custom.incoming({ 'x-tenant': 't1', authorization: 'a' }, CLIENT).slice(0, -3)).toEqual([['x-tenant', 't1']]);
  });
});

describe('MetadataMapper.outgoing', () => {
  it.each<[string, string, string, Metadata, Metadata, Record<string, string | string[]>]>([
    [
      'headers and trailers under one prefix',
      'Grpc-Metadata-',
      'Grpc-Metadata-',
      [['a', '1']],
      [['b', '2']],
      { 'Grpc-Metadata-a': '1', 'Grpc-Metadata-b': '2' },
    ],
    [
      'repeated names become a list',
      'p-',
      't-',
      [
        ['a', '1'],
        ['a', '2'],
      ],
      [['a', '3']],
      { 'p-a': ['1', '2'], 't-a': '3' },
    ],
    ['the same name in headers and trailers joins', 'p-', 'p-', [['a', '1']], [['a', '2']], { 'p-a': ['1', '2'] }],
    ['binary values are base64', 'p-', 'p-', [['k-bin', new Uint8Array([0, 255])]], [], { 'p-k-bin': 'AP8=' }],
  ])('%s', (_name, prefix, trailerPrefix, headers, trailers, expected) => {
    const into: Record<string, string | string[]> = {};
    new MetadataMapper([], prefix, trailerPrefix).outgoing(headers, trailers, into);
    expect(into).toEqual(expected);
  });
});
