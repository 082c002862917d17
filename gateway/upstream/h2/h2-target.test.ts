import { parseTarget } from './h2-target';

describe('parseTarget', () => {
  it.each([
    ['localhost:50051', { authority: 'localhost:50051', hostname: 'localhost', port: 50051, addresses: [] }],
    ['dns:api.internal:8080', { authority: 'api.internal:8080', hostname: 'api.internal', port: 8080, addresses: [] }],
    ['dns:///api.internal:8080', { authority: 'api.internal:8080', hostname: 'api.internal', port: 8080, addresses: [] }],
    ['api.internal', { authority: 'api.internal:443', hostname: 'api.internal', port: 443, addresses: [] }],
    ['10.0.0.1:9000', { authority: '10.0.0.1:9000', port: 9000, addresses: [{ host: '10.0.0.1', port: 9000 }] }],
    ['[::1]:50051', { authority: '[::1]:50051', port: 50051, addresses: [{ host: '::1', port: 50051 }] }],
    [
      'ipv4:1.2.3.4:50051,1.2.3.5:50052',
      {
        authority: '1.2.3.4:50051',
        port: 50051,
        addresses: [
          { host: '1.2.3.4', port: 50051 },
          { host: '1.2.3.5', port: 50052 },
        ],
      },
    ],
    [
      'ipv6:[::1]:1,[::2]:2',
      {
        authority: '[::1]:1',
        port: 1,
        addresses: [
          { host: '::1', port: 1 },
          { host: '::2', port: 2 },
        ],
      },
    ],
  ])('parses %s', (target, expected) => {
    expect(parseTarget(target)).toEqual(expected);
  });

  it.each(['host:notaport', 'ipv4:::1:5', 'http://host:1', '[::1', ':80'])('rejects %s', (target) => {
    expect(() => parseTarget(target)).toThrow();
  });
});
