/** Test helpers shared by the upstream transport tests (not part of the transport). */
import { CallError, type CallStatus } from '../upstream/transport';

/** The status a call rejected with; fails the test when the call succeeded. */
export async function rejectedStatus(promise: Promise<unknown>): Promise<CallStatus> {
  try {
    await promise;
  } catch (err) {
    if (!(err instanceof CallError)) throw err;
    return err.status;
  }
  throw new Error('call succeeded');
}
