/**
 * Child side: CPU time and peak RSS of this process over a measured window. The parent asks
 * `window-start` just before load begins and `window-end` just after it stops. RSS is
 * sampled every 50 ms (process.memoryUsage.rss() is one syscall), because the kernel's
 * maxRSS is a lifetime peak and the same process serves several cases.
 */
import { readFileSync } from 'node:fs';

/** What a window cost this process. */
export interface WindowStats {
  /** User + system CPU time over the window, µs. */
  cpuUs: number;
  userUs: number;
  systemUs: number;
  /** Highest sampled RSS during the window, bytes. */
  peakRssBytes: number;
  /**
   * What the peak sample was made of, bytes: file-backed pages (the node binary and shared
   * libraries, from /proc/self/statm), the V8 heap (committed and used) and live ArrayBuffers
   * (malloc'd outside it). RSS less file pages less the V8 heap is malloc and other native memory:
   * live buffers, free chunks glibc keeps in its arenas, thread stacks, JIT code.
   */
  peakFileBytes: number;
  peakHeapTotalBytes: number;
  peakHeapUsedBytes: number;
  peakArrayBuffersBytes: number;
  /** Lifetime peak RSS (getrusage maxrss), bytes. */
  maxRssBytes: number;
  /** V8 heap and off-heap memory at the window's end, bytes. */
  heapUsedBytes: number;
  heapTotalBytes: number;
  externalBytes: number;
}

/** Request handlers `window-start` and `window-end` for serveRequests(). */
export function windowStatsHandlers(): Record<string, () => unknown> {
  let startCpu = process.cpuUsage();
  let peak = memorySample(process.memoryUsage.rss());
  setInterval(() => {
    const rss = process.memoryUsage.rss();
    // The breakdown is read again only when the peak grows by 1 MiB: a sample costs two reads.
    if (rss > peak.rss + MiB) peak = memorySample(rss);
    else if (rss > peak.rss) peak.rss = rss;
  }, 50).unref();
  return {
    'window-start': () => {
      peak = memorySample(process.memoryUsage.rss());
      startCpu = process.cpuUsage();
      return true;
    },
    'window-end': (): WindowStats => {
      const cpu = process.cpuUsage(startCpu);
      const mem = process.memoryUsage();
      if (mem.rss > peak.rss) peak = memorySample(mem.rss);
      return {
        cpuUs: cpu.user + cpu.system,
        userUs: cpu.user,
        systemUs: cpu.system,
        peakRssBytes: peak.rss,
        peakFileBytes: peak.file,
        peakHeapTotalBytes: peak.heapTotal,
        peakHeapUsedBytes: peak.heapUsed,
        peakArrayBuffersBytes: peak.arrayBuffers,
        maxRssBytes: process.resourceUsage().maxRSS * 1024,
        heapUsedBytes: mem.heapUsed,
        heapTotalBytes: mem.heapTotal,
        externalBytes: mem.external,
      };
    },
  };
}

const MiB = 2 ** 20;
const PAGE = 4096;

interface MemorySample {
  rss: number;
  file: number;
  heapTotal: number;
  heapUsed: number;
  arrayBuffers: number;
}

function memorySample(rss: number): MemorySample {
  const { heapTotal, heapUsed, arrayBuffers } = process.memoryUsage();
  return { rss, file: residentFileBytes(), heapTotal, heapUsed, arrayBuffers };
}

/** Resident file-backed (and shared) pages: the third field of /proc/self/statm; 0 where there is none. */
function residentFileBytes(): number {
  try {
    return Number(readFileSync('/proc/self/statm', 'latin1').split(' ')[2]) * PAGE;
  } catch {
    return 0;
  }
}

/**
 * One target served by several processes (a cluster primary and its workers): their windows
 * added up. CPU time adds exactly. Peak RSS is the sum of each process's own peak, an upper
 * bound on their peak together; and RSS counts pages the processes share (the node binary's
 * code) once per process, so the sum overstates the memory they take together.
 */
export function sumWindowStats(all: readonly WindowStats[]): WindowStats {
  const total = {} as WindowStats;
  for (const key of Object.keys(all[0]) as Array<keyof WindowStats>) total[key] = all.reduce((sum, s) => sum + s[key], 0);
  return total;
}
