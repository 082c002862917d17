/**
 * The scheduling of an aggregated answer's parts, without servers: deadlines within the
 * request's, cancellation of the rest when the primary fails or the client leaves, and the
 * PartialFailure each failure becomes (types from the built-in descriptor set).
 */
import { toJson, type Message } from '@bufbuild/protobuf';
import { BUILTIN_DESCRIPTOR } from '../config';
import { loadDescriptors } from '../descriptors';
import type { Call } from '../pipeline';
import { Code, GatewayError } from '../transcode';
import { CallError, Cancellation } from '../upstream/transport';
import { PartialFailures } from './partial-failure';
import { Aggregation } from './parts';
import type { PartScope } from './upstream-rpc';

const { registry } = loadDescriptors(BUILTIN_DESCRIPTOR, BUILTIN_DESCRIPTOR);
const logged: unknown[] = [];
const failures = new PartialFailures(registry, { error: (obj) => logged.push(obj) });
const failureDesc = registry.getMessage('acme.bff.v1.PartialFailure')!;
const json = (messages: Message[]): unknown => messages.map((m) => toJson(failureDesc, m, { registry }));

function requestCall(deadline: number | undefined): Call {
  return { deadline, signal: new Cancellation(), headers: {}, metadata: [] } as unknown as Call;
}

/** A part that never answers by itself: it ends only when its scope is aborted (as a transport call would). */
function hanging(scopes: PartScope[]): (scope: PartScope) => Promise<never> {
  return (scope) => {
    scopes.push(scope);
    return new Promise((_, reject) =>
      scope.signal.addEventListener('abort', () => reject(new CallError({ code: Code.CANCELLED, message: 'cancelled', trailers: [] }))),
    );
  };
}

describe('Aggregation', () => {
  it('gives every part a deadline within the request: the part timeout, or the request deadline less a reserve', () => {
    const now = Date.now();
    const scopes: PartScope[] = [];
    const far = new Aggregation(requestCall(now + 60_000), 500, failures);
    void far.secondary('a', async (s) => scopes.push(s));
    expect(scopes[0].deadline).toBeGreaterThanOrEqual(now + 500);
    expect(scopes[0].deadline).toBeLessThan(now + 1_000);
    const near = new Aggregation(requestCall(now + 400), 5_000, failures);
    void near.secondary('b', async (s) => scopes.push(s));
    // 400 ms left: a tenth of it (at most 40 ms) is kept back to answer in.
    expect(scopes[1].deadline).toBeLessThan(now + 400);
    expect(scopes[1].deadline).toBeGreaterThanOrEqual(now + 359);
    const none = new Aggregation(requestCall(undefined), 700, failures);
    void none.secondary('c', async (s) => scopes.push(s));
    expect(scopes[2].deadline).toBeLessThanOrEqual(Date.now() + 700);
  });

  it('a secondary part past its deadline is cancelled and reported DEADLINE_EXCEEDED; the others are kept', async () => {
    const scopes: PartScope[] = [];
    const agg = new Aggregation(requestCall(Date.now() + 30_000), 50, failures);
    const user = agg.primary(async () => 'ada');
    const slow = agg.secondary('recent_posts', hanging(scopes));
    const fast = agg.secondary('post_count', async () => 3n);
    await expect(user).resolves.toBe('ada');
    await expect(slow).resolves.toBeUndefined();
    await expect(fast).resolves.toBe(3n);
    expect(scopes[0].signal.aborted).toBe(true);
    expect(json(await agg.partialFailures())).toEqual([
      {
        part: 'recent_posts',
        status: {
          code: Code.DEADLINE_EXCEEDED,
          message: 'the part did not complete within its deadline',
          details: [
            {
              '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
              reason: 'DEADLINE_EXCEEDED',
              domain: 'gateway.acme.dev',
            },
          ],
        },
      },
    ]);
  });

  it('a failed primary cancels the secondary parts and is the request error', async () => {
    const scopes: PartScope[] = [];
    const agg = new Aggregation(requestCall(Date.now() + 30_000), 30_000, failures);
    const notFound = new CallError({ code: Code.NOT_FOUND, message: 'no user 5', trailers: [] });
    const user = agg.primary(async () => {
      await new Promise((r) => setTimeout(r, 5));
      throw notFound;
    });
    const posts = agg.secondary('recent_posts', hanging(scopes));
    await expect(user).rejects.toBe(notFound);
    await expect(posts).resolves.toBeUndefined();
    expect(scopes[0].signal.aborted).toBe(true);
  });

  it('the client leaving cancels every part', async () => {
    const scopes: PartScope[] = [];
    const call = requestCall(Date.now() + 30_000);
    const agg = new Aggregation(call, 30_000, failures);
    const user = agg.primary(hanging(scopes));
    const posts = agg.secondary('recent_posts', hanging(scopes));
    call.signal.abort();
    await expect(user).rejects.toBeInstanceOf(CallError);
    await expect(posts).resolves.toBeUndefined();
    expect(scopes.every((s) => s.signal.aborted)).toBe(true);
  });

  it.each([
    [
      'a gateway refusal keeps its reason and metadata',
      new GatewayError('CIRCUIT_OPEN', 'x is unavailable (circuit open)', [], {}, { service: 'x' }),
      14,
      'CIRCUIT_OPEN',
    ],
    ['a service status keeps its code and message', new CallError({ code: Code.PERMISSION_DENIED, message: 'not yours', trailers: [] }), 7, undefined],
    ['anything else is INTERNAL, its words only in the log', new TypeError('undefined is not a function'), 13, 'INTERNAL'],
  ])('PartialFailure status: %s', (_name, err, code, reason) => {
    const [f] = json([failures.of('p', err)]) as Array<{ part: string; status: { code: number; message: string; details?: Array<{ reason: string }> } }>;
    expect(f.part).toBe('p');
    expect(f.status.code).toBe(code);
    expect(f.status.details?.[0]?.reason).toBe(reason);
    expect(f.status.message).not.toContain('undefined is not a function');
  });
});
