/**
 * Child side: CPU time and peak RSS of this process over a measured window. The parent asks
 * `window-start` just before load begins and `window-end` just after it stops. RSS is
 * sampled every 50 ms (process.memoryUsage.rss() is one syscall), because the kernel's
 * maxRSS is a lifetime peak and the same process serves several cases.
 */

/** What a window cost this process. */
export interface WindowStats {
  /** User + system CPU time over the window, µs. */
  cpuUs: number;
  userUs: number;
  systemUs: number;
  /** Highest sampled RSS during the window, bytes. */
  peakRssBytes: number;
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
  let peak = process.memoryUsage.rss();
  setInterval(() => {
    const rss = process.memoryUsage.rss();
    if (rss > peak) peak = rss;
  }, 50).unref();
  return {
    'window-start': () => {
      peak = process.memoryUsage.rss();
      startCpu = process.cpuUsage();
      return true;
    },
    'window-end': (): WindowStats => {
      const cpu = process.cpuUsage(startCpu);
      const mem = process.memoryUsage();
      return {
        cpuUs: cpu.user + cpu.system,
        userUs: cpu.user,
        systemUs: cpu.system,
        peakRssBytes: Math.max(peak, mem.rss),
        maxRssBytes: process.resourceUsage().maxRSS * 1024,
        heapUsedBytes: mem.heapUsed,
        heapTotalBytes: mem.heapTotal,
        externalBytes: mem.external,
      };
    },
  };
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
