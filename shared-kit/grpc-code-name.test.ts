import { status } from '@grpc/grpc-js';
import { grpcCodeName } from './grpc-code-name';

describe('grpcCodeName', () => {
  it.each([
    [0, 'OK'],
    [1, 'Canceled'],
    [4, 'DeadlineExceeded'],
    [5, 'NotFound'],
    [14, 'Unavailable'],
    [16, 'Unauthenticated'],
    [17, 'Code(17)'],
    [-1, 'Code(-1)'],
  ])('%i is %s', (code, name) => {
    expect(grpcCodeName(code)).toBe(name);
  });

  it("names every code grpc-js knows, as grpc-js's enum name without underscores (CANCELLED is Go's Canceled)", () => {
    for (const [name, code] of Object.entries(status)) {
      if (typeof code !== 'number') continue;
      const camel = name
        .toLowerCase()
        .replace(/(^|_)([a-z])/g, (_m, _u, c: string) => c.toUpperCase())
        .replace('Cancelled', 'Canceled')
        .replace(/^Ok$/, 'OK');
      expect(grpcCodeName(code)).toBe(camel);
    }
  });
});
