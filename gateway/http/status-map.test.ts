import { Code } from '../transcode';
import { httpStatusFromCode } from './status-map';

// grpc-gateway runtime.HTTPStatusFromCode, row for row.
const TABLE: Array<[name: keyof typeof Code, http: number]> = [
  ['OK', 200],
  ['CANCELLED', 499],
  ['UNKNOWN', 500],
  ['INVALID_ARGUMENT', 400],
  ['DEADLINE_EXCEEDED', 504],
  ['NOT_FOUND', 404],
  ['ALREADY_EXISTS', 409],
  ['PERMISSION_DENIED', 403],
  ['RESOURCE_EXHAUSTED', 429],
  ['FAILED_PRECONDITION', 400],
  ['ABORTED', 409],
  ['OUT_OF_RANGE', 400],
  ['UNIMPLEMENTED', 501],
  ['INTERNAL', 500],
  ['UNAVAILABLE', 503],
  ['DATA_LOSS', 500],
  ['UNAUTHENTICATED', 401],
];

describe('httpStatusFromCode', () => {
  it('covers every code', () => {
    expect(TABLE.map(([name]) => Code[name]).sort((a, b) => a - b)).toEqual([...Array(17).keys()]);
  });

  it.each(TABLE)('%s → %i', (name, http) => {
    expect(httpStatusFromCode(Code[name])).toBe(http);
  });

  it.each([-1, 17, 99, 1.5])('an out-of-spec code %p → 500', (code) => {
    expect(httpStatusFromCode(code)).toBe(500);
  });
});
