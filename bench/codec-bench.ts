/**
 * Codec micro-benchmark: ops/s of a route's request building (JSON body / path + query →
 * protobuf bytes) and response rendering (protobuf bytes → JSON text), on the direct codecs
 * (gateway/transcode/codec: json-to-binary, binary-to-json) and on the canonical @bufbuild/protobuf
 * path they fall back to, for the bodies of the bench cases (bench-cases.ts). The echo
 * backend answers with the request's bytes, so those are also the response. One process, a
 * few seconds; not part of `npm run bench`.
 *
 *   npx tsc -p tsconfig.build.json && node dist/bench/codec-bench.js [--ms=2000]   (per row and path)
 */
import { BUILTIN_DESCRIPTOR } from '../gateway/config';
import { loadDescriptors } from '../gateway/descriptors';
import { compileRoutes, DEFAULT_JSON_OPTIONS, type Route } from '../gateway/transcode';
import { largeBody, SMALL_BODY } from './bench-cases';

const ROUNDS = 5;

interface Row {
  readonly name: string;
  readonly direct: () => unknown;
  readonly canonical: () => unknown;
}

/** Calls per second of `fn`, measured over about `ms` milliseconds after a warm-up. */
function opsPerSecond(fn: () => unknown, ms: number): number {
  const deadline = Date.now() + ms / 4;
  while (Date.now() < deadline) fn();
  let calls = 0;
  const start = process.hrtime.bigint();
  const budget = BigInt(ms) * 1_000_000n;
  let elapsed = 0n;
  while (elapsed < budget) {
    for (let i = 0; i < 100; i++) fn();
    calls += 100;
    elapsed = process.hrtime.bigint() - start;
  }
  return (calls * 1e9) / Number(elapsed);
}

function routeFor(routes: readonly Route[], method: string, path: string): Route {
  const route = routes.find((r) => r.binding.httpMethod === method && r.binding.path === path && r.rpc.name === 'Echo');
  if (!route) throw new Error(`no route ${method} ${path}`);
  return route;
}

function main(): void {
  const ms = Number(/--ms=(\d+)/.exec(process.argv.join(' '))?.[1] ?? 2000);
  const { files, registry } = loadDescriptors(BUILTIN_DESCRIPTOR, BUILTIN_DESCRIPTOR);
  const table = compileRoutes(registry, [files.getService('acme.echo.v1.EchoService')!], DEFAULT_JSON_OPTIONS);
  const post = routeFor(table.routes, 'POST', '/v1/echo');
  const get = routeFor(table.routes, 'GET', '/v1/echo/{id}');
  // The private canonical paths are what every request took before the direct codecs.
  const canonical = (r: Route) => ({
    build: (body: Uint8Array | undefined, values: string[], query: string) => r.request['buildCanonical'](values, query, body, 'application/json'),
    render: (bytes: Uint8Array) => r.response['renderCanonical'](bytes),
  });

  const rows: Row[] = [];
  const bodies: Array<[string, string]> = [
    ['case 2: POST 150 B', SMALL_BODY],
    ['case 6: POST 1 KiB', largeBody(1024)],
    ['case 3: POST 64 KiB', largeBody()],
  ];
  for (const [name, text] of bodies) {
    const body = Buffer.from(text);
    const bytes = post.request.build([], '', body, 'application/json');
    const old = canonical(post);
    if (Buffer.compare(Buffer.from(bytes), Buffer.from(old.build(body, [], ''))) !== 0) throw new Error(`${name}: request bytes differ`);
    if (post.response.render(bytes).body !== old.render(bytes).body) throw new Error(`${name}: response JSON differs`);
    rows.push({ name: `${name} request`, direct: () => post.request.build([], '', body, 'application/json'), canonical: () => old.build(body, [], '') });
    rows.push({ name: `${name} response`, direct: () => post.response.render(bytes), canonical: () => old.render(bytes) });
  }
  const query = 'name=bench-item&small=25&kind=KIND_ONE';
  const getBytes = get.request.build(['12345'], query, undefined, undefined);
  const oldGet = canonical(get);
  rows.push({
    name: 'case 1: GET path + query request',
    direct: () => get.request.build(['12345'], query, undefined, undefined),
    canonical: () => oldGet.build(undefined, ['12345'], query),
  });
  rows.push({ name: 'case 1: GET response', direct: () => get.response.render(getBytes), canonical: () => oldGet.render(getBytes) });

  console.log(`${'what'.padEnd(36)} ${'direct ops/s'.padStart(14)} ${'protobuf-es ops/s'.padStart(18)} ${'speed-up'.padStart(9)}`);
  for (const row of rows) {
    // Alternating rounds, best of each: the cores may be shared, and the best round is the least disturbed.
    let direct = 0;
    let old = 0;
    for (let round = 0; round < ROUNDS; round++) {
      direct = Math.max(direct, opsPerSecond(row.direct, ms / ROUNDS));
      old = Math.max(old, opsPerSecond(row.canonical, ms / ROUNDS));
    }
    console.log(
      `${row.name.padEnd(36)} ${Math.round(direct).toLocaleString('en-US').padStart(14)} ${Math.round(old).toLocaleString('en-US').padStart(18)} ${(direct / old).toFixed(2).padStart(8)}x`,
    );
  }
}

main();
