/**
 * Validation micro-benchmark: the CPU the buf.validate check (gateway/edge/request-validation.ts)
 * adds per call on routes of our user and content protos, against the same chain without it
 * (both build the request message from its JSON, so the difference is the check alone: decoding
 * the bytes with protobuf-es and running protovalidate). A second column runs the same rules on
 * protovalidate's default regex engine (RE2 for every pattern) instead of ours
 * (shared-kit/regex-match.ts), to show what that choice is worth. One process, a few seconds;
 * not part of `npm run bench`. Alternates rounds; prints medians.
 *
 *   npx tsc -p tsconfig.build.json && node dist/bench/validation-bench.js [--ms=1000]
 */
import { fromBinary } from '@bufbuild/protobuf';
import { createValidator } from '@bufbuild/protovalidate';
import { BUILTIN_DESCRIPTOR } from '../gateway/config';
import { loadDescriptors } from '../gateway/descriptors';
import { validationInterceptor } from '../gateway/edge/request-validation';
import { compileRouteHandlers, encodeRequest, type Call, type Handler, type Result } from '../gateway/pipeline';
import { compileRoutes, DEFAULT_JSON_OPTIONS, type Route } from '../gateway/transcode';
import { Cancellation } from '../gateway/upstream/transport';

const ROUNDS = 7;
const RESULT: Result = { message: new Uint8Array(0), headers: [], trailers: [] };
const answered = Promise.resolve(RESULT);
/** The upstream stand-in: builds the request (as the transport would) and answers at once. */
const last = (): Handler => (call) => {
  encodeRequest(call);
  return answered;
};

interface Case {
  name: string;
  method: string;
  path: string;
  query?: string;
  body?: unknown;
}

const words = (n: number): string => 'lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(Math.ceil(n / 57)).slice(0, n);
const CASES: Case[] = [
  {
    name: 'CreateUser (3 fields, email)',
    method: 'POST',
    path: '/v1/users',
    body: { email: 'ada@example.com', displayName: 'Ada Lovelace', password: 'correct horse battery' },
  },
  {
    name: 'CreatePost (60-char title, 1 KiB body, 3 tags)',
    method: 'POST',
    path: '/v1/posts',
    body: { title: words(60), body: words(1024), tags: ['intro', 'go', 'grpc-json'] },
  },
  {
    name: 'CreatePost (100,000-char body, the most allowed)',
    method: 'POST',
    path: '/v1/posts',
    body: { title: words(60), body: words(100_000), tags: ['intro'] },
  },
  { name: 'ListPosts (?tag=go&pageSize=20)', method: 'GET', path: '/v1/posts', query: 'tag=go&pageSize=20' },
];

function newCall(route: Route, c: Case, body: Buffer | undefined): Call {
  return {
    route,
    headers: {},
    metadata: [],
    deadline: undefined,
    signal: new Cancellation(),
    values: [],
    rawQuery: c.query ?? '',
    body,
    contentType: body ? 'application/json' : undefined,
    request: undefined,
    input: undefined,
    messages: undefined,
    sink: undefined,
  };
}

/** Nanoseconds per call of `run`, over about `ms`, calls made one after another. */
async function nsPerCall(run: () => Promise<unknown> | unknown, ms: number): Promise<number> {
  let calls = 0;
  const start = process.hrtime.bigint();
  const budget = BigInt(ms) * 1_000_000n;
  while (process.hrtime.bigint() - start < budget) {
    for (let i = 0; i < 20; i++) await run();
    calls += 20;
  }
  return Number(process.hrtime.bigint() - start) / calls;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const us = (ns: number): string => (ns / 1000).toFixed(2);

async function main(): Promise<void> {
  const ms = Number(process.argv.find((a) => a.startsWith('--ms='))?.slice(5) ?? 1000);
  const { files, registry } = loadDescriptors(BUILTIN_DESCRIPTOR, BUILTIN_DESCRIPTOR);
  const services = ['acme.user.v1.UserService', 'acme.content.v1.ContentService'].map((s) => files.getService(s)!);
  const table = compileRoutes(files, services, DEFAULT_JSON_OPTIONS);
  const find = (c: Case): Route => table.routes.find((r) => r.binding.httpMethod === c.method && r.binding.path === c.path)!;
  const routes = CASES.map(find);
  const bare = compileRouteHandlers(routes, [], last);
  const checked = compileRouteHandlers(routes, [validationInterceptor(registry, () => false)], last);
  const re2Only = createValidator({ registry }); // protovalidate's default engine: RE2 for every pattern
  for (const c of CASES) {
    const route = find(c);
    const body = c.body === undefined ? undefined : Buffer.from(JSON.stringify(c.body));
    const bytes = encodeRequest(newCall(route, c, body));
    const input = route.rpc.input;
    const ok = re2Only.validate(input, fromBinary(input, bytes));
    if (ok.kind !== 'valid') throw new Error(`${c.name}: the bench request is not valid (${ok.kind})`);
    const b: number[] = [];
    const v: number[] = [];
    const r: number[] = [];
    const runBare = () => bare.get(route)!(newCall(route, c, body));
    const runChecked = () => checked.get(route)!(newCall(route, c, body));
    const runRe2 = () => re2Only.validate(input, fromBinary(input, bytes));
    await nsPerCall(runChecked, ms / 2); // warm-up
    await nsPerCall(runRe2, ms / 2);
    for (let round = 0; round < ROUNDS; round++) {
      b.push(await nsPerCall(runBare, ms));
      v.push(await nsPerCall(runChecked, ms));
      r.push(await nsPerCall(runRe2, ms));
    }
    console.log(
      `${c.name}: ${body?.length ?? 0} B; without validation ${us(median(b))} us/call, with ${us(median(v))} us: +${us(median(v) - median(b))} us per call; ` +
        `the check on RE2 alone (decode + validate) ${us(median(r))} us`,
    );
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
