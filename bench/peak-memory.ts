/**
 * What a gateway's peak RSS is made of, per case and concurrency (issue 16: "peak RSS < 120 MB
 * at 256 connections"; say what a Node process cannot go below). From the window with the
 * highest peak, the sample at that peak: file-backed pages (the node binary and shared
 * libraries: the floor, shared with other node processes but counted in RSS), the V8 heap
 * (committed, and how much of it is live or not yet collected), ArrayBuffers (malloc'd outside
 * the heap), and the rest of the process's own memory: malloc's free chunks kept in its arenas,
 * native buffers (HTTP parser, sockets, the heap's bookkeeping), thread stacks, JIT code.
 */
import { fmt, table, type WindowRecord } from './report';

export interface PeakMemoryRow {
  caseN: number;
  connections: number;
  target: string;
  peakRssMb: number;
  fileMb: number;
  heapTotalMb: number;
  heapUsedMb: number;
  arrayBuffersMb: number;
  /** RSS less file pages less the committed V8 heap: malloc (ArrayBuffers among it) and other native memory. */
  nativeMb: number;
}

const mb = (bytes: number): number => Math.round((bytes / 2 ** 20) * 10) / 10;

/** One row per (case, connections, Node target) that reported a breakdown. */
export function peakMemory(windows: readonly WindowRecord[]): PeakMemoryRow[] {
  const top = new Map<string, WindowRecord>();
  for (const w of windows) {
    if (!w.serverPeak?.heapTotalBytes || w.serverPeakRssBytes === undefined) continue;
    const key = `${w.caseN}|${w.connections}|${w.target}`;
    const held = top.get(key);
    if (!held || w.serverPeakRssBytes > held.serverPeakRssBytes!) top.set(key, w);
  }
  return [...top.values()].map((w) => {
    const p = w.serverPeak!;
    const rss = w.serverPeakRssBytes!;
    return {
      caseN: w.caseN,
      connections: w.connections,
      target: w.target,
      peakRssMb: mb(rss),
      fileMb: mb(p.fileBytes),
      heapTotalMb: mb(p.heapTotalBytes),
      heapUsedMb: mb(p.heapUsedBytes),
      arrayBuffersMb: mb(p.arrayBuffersBytes),
      nativeMb: mb(rss - p.fileBytes - p.heapTotalBytes),
    };
  });
}

export function peakMemoryTable(rows: readonly PeakMemoryRow[]): string {
  return table(
    ['case', 'conns', 'target', 'peak RSS', 'file (node binary, libs)', 'V8 heap', 'of it used', 'malloc + native', 'of it ArrayBuffers'],
    rows.map((r) => [
      String(r.caseN),
      String(r.connections),
      r.target,
      fmt(r.peakRssMb, 1),
      fmt(r.fileMb, 1),
      fmt(r.heapTotalMb, 1),
      fmt(r.heapUsedMb, 1),
      fmt(r.nativeMb, 1),
      fmt(r.arrayBuffersMb, 1),
    ]),
    3,
  );
}
