import { status } from '@grpc/grpc-js';
import { tempDir } from '../test-support';
import { openDatabase, type Database } from './database';
import { databaseStatus } from './database-errors';
import { decodeStatusDetails } from './status-error';

describe('databaseStatus', () => {
  it.each([
    ['22021', status.INVALID_ARGUMENT, 'INVALID_VALUE'],
    ['22003', status.INVALID_ARGUMENT, 'INVALID_VALUE'],
    ['23505', status.ALREADY_EXISTS, 'ALREADY_EXISTS'],
    ['23503', status.FAILED_PRECONDITION, 'CONSTRAINT_VIOLATION'],
    ['40001', status.ABORTED, 'CONCURRENT_CHANGE'],
    ['57014', status.DEADLINE_EXCEEDED, 'DATABASE_TIMEOUT'],
    ['57P01', status.UNAVAILABLE, 'DATABASE_UNAVAILABLE'],
    ['08006', status.UNAVAILABLE, 'DATABASE_UNAVAILABLE'],
    ['53300', status.UNAVAILABLE, 'DATABASE_UNAVAILABLE'],
    ['ECONNREFUSED', status.UNAVAILABLE, 'DATABASE_UNAVAILABLE'],
  ])('maps SQLSTATE %s to code %i', (code, expected, reason) => {
    const mapped = databaseStatus(Object.assign(new Error('driver text that must not leak'), { code }));
    expect(mapped?.code).toBe(expected);
    expect(mapped?.message).not.toContain('driver text');
    expect(decodeStatusDetails(mapped?.metadata)?.errorInfo?.reason).toBe(reason);
  });

  it.each([['42601'], [undefined], ['not-a-code']])('leaves %s to INTERNAL (our bug, not the request)', (code) => {
    expect(databaseStatus(Object.assign(new Error('x'), { code }))).toBeUndefined();
  });

  describe('on a real database', () => {
    const dir = tempDir();
    let db: Database;
    beforeAll(async () => {
      db = await openDatabase({ pgliteDir: dir.path, schema: 'errs', migrations: [] });
    }, 120_000); // PGlite's first open compiles its WebAssembly
    afterAll(async () => {
      await db.close();
      dir.remove();
    });

    it.each([
      ['a NUL character in text', 'SELECT $1::text AS v', 'a\u0000b'],
      ['an integer past int64', 'SELECT $1::bigint AS v', '9223372036854775808'],
    ])('maps %s to INVALID_ARGUMENT', async (_what, sql, value) => {
      const err = await db.query(sql, [value]).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(databaseStatus(err)?.code).toBe(status.INVALID_ARGUMENT);
    });
  });
});
