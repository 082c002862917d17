/**
 * The optional Go peers (`--peers=DIR`, see bench/README.md): the Go gRPC echo backend and Go
 * grpc-gateway in front of it, both serving bench.v1.EchoService (`DIR/proto`), built from
 * Debian's packages by the shared peers' build-debian.sh into `DIR/bin`. They are not Node
 * processes, so the parent measures them itself: CPU time from /proc/<pid>/stat (clock ticks,
 * 10 ms each) and RSS from /proc/<pid>/status sampled every 50 ms. They answer the same
 * window requests as the Node children (ipc.ts), so the bench treats both alike.
 */
import { execFileSync, execSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { ReadyMessage } from './ipc';
import type { WindowStats } from './process-stats';
import { freePort } from '../shared-kit/free-port';

/** A measured server process: a forked Node child (ipc.ts Child) or a peer binary. */
export interface MeasuredProcess {
  readonly ready: ReadyMessage;
  request<T>(op: string, args?: Record<string, unknown>): Promise<T>;
  stop(): Promise<void>;
}

/** Where a peers folder keeps its binaries and the bench proto. */
export interface PeerPaths {
  backend: string;
  grpcGateway: string;
  protoDir: string;
}

/** The peers under `dir` (build-debian.sh's layout); throws naming what is missing. */
export function peerPaths(dir: string): PeerPaths {
  const paths = {
    backend: path.join(dir, 'bin', 'echo-backend'),
    grpcGateway: path.join(dir, 'bin', 'grpc-gateway-peer'),
    protoDir: path.join(dir, 'proto'),
  };
  for (const p of Object.values(paths)) if (!existsSync(p)) throw new Error(`--peers: ${p} not found (build the peers with build-debian.sh)`);
  return paths;
}

const CLOCK_TICKS = Number(execSync('getconf CLK_TCK').toString().trim()) || 100;

function cpuUs(pid: number): { user: number; system: number } {
  // Fields after the command name, which is in parentheses and may contain spaces.
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const tick = 1e6 / CLOCK_TICKS;
  return { user: Number(fields[11]) * tick, system: Number(fields[12]) * tick };
}

function rssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
  return match ? Number(match[1]) * 1024 : 0;
}

async function waitForPort(port: number, proc: ChildProcess, name: string): Promise<void> {
  const until = Date.now() + 15_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${name} exited during start-up (code ${proc.exitCode})`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`${name} did not listen on ${port} within 15 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A peer binary listening on a port chosen here, measured from /proc. */
export class PeerProcess implements MeasuredProcess {
  private startCpu = { user: 0, system: 0 };
  private peak = 0;
  private readonly sampler: NodeJS.Timeout;

  private constructor(
    readonly name: string,
    private readonly proc: ChildProcess,
    readonly ready: ReadyMessage,
  ) {
    this.sampler = setInterval(() => {
      if (this.proc.exitCode === null) this.peak = Math.max(this.peak, rssBytes(this.proc.pid!));
    }, 50);
    this.sampler.unref();
  }

  /** Starts `binary` with `args(port)` and waits until the port accepts connections. */
  static async start(name: string, binary: string, args: (port: number) => string[]): Promise<PeerProcess> {
    const port = await freePort();
    const started = performance.now();
    // Their logs go to our stderr only when they fail: a Go log line per start is noise.
    const proc = spawn(binary, args(port), { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    proc.stderr!.on('data', (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-4000);
    });
    proc.on('exit', (code, signal) => {
      if (code !== 0 && signal === null) console.error(`${name} exited with ${code}:\n${log}`);
    });
    await waitForPort(port, proc, name);
    const ready: ReadyMessage = {
      type: 'ready',
      port,
      pid: proc.pid!,
      startupMs: Math.round(performance.now() - started),
      rssMb: Math.round(rssBytes(proc.pid!) / 2 ** 17) / 8,
    };
    return new PeerProcess(name, proc, ready);
  }

  request<T>(op: string): Promise<T> {
    const pid = this.proc.pid!;
    if (op === 'window-start') {
      this.startCpu = cpuUs(pid);
      this.peak = rssBytes(pid);
      return Promise.resolve(true as T);
    }
    if (op === 'window-end') {
      const now = cpuUs(pid);
      const user = Math.round(now.user - this.startCpu.user);
      const system = Math.round(now.system - this.startCpu.system);
      const rss = rssBytes(pid);
      const stats: WindowStats = {
        cpuUs: user + system,
        userUs: user,
        systemUs: system,
        peakRssBytes: Math.max(this.peak, rss),
        maxRssBytes: Math.max(this.peak, rss),
        // No V8 heap; its file pages are not sampled at the peak.
        peakFileBytes: 0,
        peakHeapTotalBytes: 0,
        peakHeapUsedBytes: 0,
        peakArrayBuffersBytes: 0,
        heapUsedBytes: 0,
        heapTotalBytes: 0,
        externalBytes: 0,
      };
      return Promise.resolve(stats as T);
    }
    return Promise.reject(new Error(`${this.name}: no op ${op}`));
  }

  async stop(): Promise<void> {
    clearInterval(this.sampler);
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    this.proc.kill('SIGTERM');
    await gone;
  }
}

/**
 * A descriptor set (with imports) of the peers' bench proto for our gateway, built with the
 * project's own buf from a throw-away workspace: the proto plus the googleapis files that
 * scripts/proto-deps.js copies from the google-proto-files package.
 */
export function peerDescriptor(protoDir: string, repoRoot: string): string {
  const work = mkdtempSync(path.join(tmpdir(), 'bench-peer-proto-'));
  cpSync(protoDir, path.join(work, 'peer'), { recursive: true });
  execFileSync(process.execPath, [path.join(repoRoot, 'scripts', 'proto-deps.js')], { stdio: 'ignore' });
  cpSync(path.join(repoRoot, '.proto-deps'), path.join(work, 'deps'), { recursive: true });
  writeFileSync(path.join(work, 'buf.yaml'), 'version: v2\nmodules:\n  - path: peer\n  - path: deps\n');
  const out = path.join(work, 'bench.binpb');
  execFileSync(path.join(repoRoot, 'node_modules', '.bin', 'buf'), ['build', work, '--path', path.join(work, 'peer', 'bench'), '-o', out], {
    stdio: 'inherit',
  });
  return out;
}
