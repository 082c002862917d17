/**
 * Summarises a V8 .cpuprofile (from `npm run bench -- --cpu-prof=/tmp/prof`) by where the
 * self time goes: fastify, our transcode, protobuf-es, the h2 transport, grpc-js, node
 * internals, GC. Prints the groups, the top functions by self time, and the inclusive time
 * of the functions named with --inclusive.
 *
 *   node dist/bench/profile-summary.js /tmp/prof/gateway-h2.cpuprofile [--top=30] [--inclusive=render,build]
 *     [--callers=writev,deprecate]
 */
import { readFileSync } from 'node:fs';
import { argValue } from './ipc';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The group of a frame, by its script URL (compiled paths: dist/gateway/...). */
export function groupOf(fn: string, url: string): string {
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(idle)') return 'idle';
  if (fn === '(program)') return 'node internals (native, unattributed)';
  if (url.includes('/node_modules/')) {
    const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)![1];
    if (
      pkg === 'fastify' ||
      pkg.startsWith('@fastify/') ||
      [
        'find-my-way',
        'avvio',
        'light-my-request',
        'fast-json-stringify',
        'secure-json-parse',
        'toad-cache',
        'rfdc',
        'process-warning',
        'abstract-logging',
        'pino',
      ].includes(pkg)
    )
      return 'fastify (+ deps)';
    if (pkg === '@bufbuild/protobuf') return 'protobuf-es';
    if (pkg === '@grpc/grpc-js') return 'grpc-js';
    return `other: ${pkg}`;
  }
  if (url.includes('/gateway/transcode/')) return 'our transcode';
  if (url.includes('/gateway/http/')) return 'our http adapter';
  if (/\/gateway\/upstream\/(h2\/|transport)/.test(url)) return 'h2 transport';
  if (url.includes('/gateway/upstream/grpc-js')) return 'grpc-js transport adapter';
  if (url.includes('/gateway/')) return 'our gateway (other: metadata, deadline, edge)';
  if (url.includes('/bench/')) return 'bench harness';
  if (url.startsWith('node:internal/http2/')) return 'node internals: http2 client';
  if (/^node:(_http_|internal\/http)/.test(url)) return 'node internals: http/1 server';
  if (/^node:(net|internal\/stream|internal\/streams\/|stream)/.test(url)) return 'node internals: net + streams';
  if (/^node:(events|internal\/event_target|internal\/abort_controller)/.test(url)) return 'node internals: events + AbortController';
  if (/^node:(async_hooks|internal\/util|internal\/async_hooks)/.test(url)) return 'node internals: async_hooks (AsyncResource.bind)';
  if (url.startsWith('node:') || url === '') return 'node internals: other';
  return `other: ${url}`;
}

/** Builtins and natives (no script URL) count towards the group of the JS that called them. */
const SPECIAL = new Set(['(garbage collector)', '(idle)', '(program)', '(root)']);

function main(): void {
  const file = process.argv[2];
  if (!file) throw new Error('usage: profile-summary <file.cpuprofile> [--top=30] [--inclusive=fn1,fn2]');
  const top = Number(argValue('top') ?? 30);
  const inclusiveNames = (argValue('inclusive') ?? '').split(',').filter(Boolean);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i] ?? 0;
    self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + dt);
    total += dt;
  }
  const idle = [...self].filter(([id]) => byId.get(id)!.callFrame.functionName === '(idle)').reduce((a, [, t]) => a + t, 0);
  const busy = total - idle;
  const pct = (t: number): string => `${((100 * t) / busy).toFixed(1)}%`.padStart(6);

  const parentOf = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
  const groupOfNode = (id: number): string => {
    let cur: number | undefined = id;
    while (cur !== undefined) {
      const { functionName, url } = byId.get(cur)!.callFrame;
      if (url !== '' || SPECIAL.has(functionName)) return groupOf(functionName, url);
      cur = parentOf.get(cur);
    }
    return 'node internals: other';
  };
  const groups = new Map<string, number>();
  const fns = new Map<string, { t: number; group: string }>();
  for (const [id, t] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const group = groupOfNode(id);
    groups.set(group, (groups.get(group) ?? 0) + t);
    const key = `${functionName || '(anonymous)'}  ${url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${lineNumber + 1}`;
    const f = fns.get(key) ?? { t: 0, group };
    f.t += t;
    fns.set(key, f);
  }
  console.log(`${file}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy (percentages are of busy time)\n`);
  console.log('self time by group');
  for (const [g, t] of [...groups].filter(([g]) => g !== 'idle').sort((a, b) => b[1] - a[1])) console.log(`  ${pct(t)}  ${g}`);
  console.log(`\ntop ${top} functions by self time`);
  for (const [k, f] of [...fns]
    .filter(([, f]) => f.group !== 'idle')
    .sort((a, b) => b[1].t - a[1].t)
    .slice(0, top)) {
    console.log(`  ${pct(f.t)}  ${k}  [${f.group}]`);
  }

  const callerNames = (argValue('callers') ?? '').split(',').filter(Boolean);
  if (callerNames.length) {
    // Self time of each named function, split by its caller (two frames up).
    const parent = new Map<number, number>();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const label = (id: number | undefined): string => {
      if (id === undefined) return '(root)';
      const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
      return `${functionName || '(anonymous)'} ${url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${lineNumber + 1}`;
    };
    for (const name of callerNames) {
      const by = new Map<string, number>();
      for (const [id, t] of self) {
        if (byId.get(id)!.callFrame.functionName !== name) continue;
        const p1 = parent.get(id);
        const key = `${label(p1)}  <  ${label(p1 === undefined ? undefined : parent.get(p1))}`;
        by.set(key, (by.get(key) ?? 0) + t);
      }
      console.log(`\ncallers of ${name} (self time)`);
      for (const [k, t] of [...by].sort((a, b) => b[1] - a[1]).slice(0, 6)) console.log(`  ${pct(t)}  ${k}`);
    }
  }

  if (inclusiveNames.length) {
    // Inclusive time per function name, counting a subtree once even under recursion.
    const parent = new Map<number, number>();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const inclusive = new Map<string, number>(inclusiveNames.map((n) => [n, 0]));
    for (const [id, t] of self) {
      const seen = new Set<string>();
      for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
        const name = byId.get(cur)!.callFrame.functionName;
        if (inclusive.has(name) && !seen.has(name)) {
          seen.add(name);
          inclusive.set(name, inclusive.get(name)! + t);
        }
      }
    }
    console.log('\ninclusive time');
    for (const [n, t] of inclusive) console.log(`  ${pct(t)}  ${n}`);
  }
}

if (require.main === module) main();
