/**
 * One piece of the stack (a service or the gateway) as a child process of the launcher: its
 * log lines relayed with its name, its readiness (the address it listens on, sent over IPC),
 * its exit. Children run detached in their own process group, so a terminal's Ctrl-C reaches
 * only the launcher, which then stops each piece once; a piece whose launcher goes away (its
 * IPC channel closes) shuts itself down.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { LAUNCHED_ENV, type ReadyMessage } from '../shared-kit';

export interface PieceSpec {
  /** Short name shown before each line: `user`, `content`, `gateway`. */
  name: string;
  /** The compiled entry point (dist/…/main.js). */
  entry: string;
  args?: string[];
  /** node flags for this piece (the gateway's heap sizing). */
  execArgv?: string[];
  /** Added to the launcher's environment. */
  env?: Record<string, string>;
}

/** How the piece ended: its exit code, or the signal that killed it. */
export interface PieceExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Piece {
  readonly name: string;
  readonly pid: number;
  /** Resolves with the address once the piece listens; rejects if it exits first. */
  readonly ready: Promise<string>;
  /** Resolves when the process has exited. */
  readonly exited: Promise<PieceExit>;
  /** Whether it is still running. */
  running(): boolean;
  /** Sends a signal if it is still running. */
  kill(signal: NodeJS.Signals): void;
}

/** Where each output line of a piece goes: `stream` is 1 for stdout, 2 for stderr. */
export type LineSink = (piece: string, line: string, stream: 1 | 2) => void;

/** Starts `spec` as a child process, relaying its lines to `sink`. */
export function startPiece(spec: PieceSpec, sink: LineSink): Piece {
  const child: ChildProcess = fork(spec.entry, spec.args ?? [], {
    execArgv: spec.execArgv ?? [],
    env: { ...process.env, ...spec.env, [LAUNCHED_ENV]: '1' },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    detached: true,
  });
  for (const [stream, fd] of [
    [child.stdout, 1],
    [child.stderr, 2],
  ] as const) {
    if (stream) createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => sink(spec.name, line, fd));
  }
  let alive = true;
  const exited = new Promise<PieceExit>((resolve) => {
    child.once('exit', (code, signal) => {
      alive = false;
      resolve({ code, signal });
    });
  });
  const ready = new Promise<string>((resolve, reject) => {
    child.on('message', (msg: ReadyMessage) => {
      if (msg?.type === 'acme:ready') resolve(msg.address);
    });
    child.once('error', reject);
    void exited.then((exit) => reject(new Error(`${spec.name} ${describeExit(exit)} before it was ready`)));
  });
  // Not awaited by everyone: a start failure is reported through `exited` too.
  ready.catch(() => undefined);
  return {
    name: spec.name,
    pid: child.pid ?? -1,
    ready,
    exited,
    running: () => alive,
    kill: (signal) => {
      if (alive) child.kill(signal);
    },
  };
}

/** "exited with code 1", "was killed by SIGKILL". */
export function describeExit(exit: PieceExit): string {
  return exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
}
