/**
 * `npm start`: the user service, the content service and the gateway in front of them, each
 * in its own child process (as they are deployed), with their logs in one terminal, each line
 * marked with the piece's name. On the embedded store by default (PGlite under ./data, one
 * directory per service), or PostgreSQL when DATABASE_URL is set.
 *
 * Ctrl-C (or SIGTERM) stops all three gracefully, a second Ctrl-C at once. If a piece dies,
 * the launcher says so and the others keep running (the gateway answers 503 for the missing
 * service until it is back).
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { closeOnSignals, DEFAULT_LOG_SETTINGS, isPretty, parseLogFormat, prettyPrinter, WATCHDOG_MARGIN_MS, type LogSettings } from '../shared-kit';
import { freePort } from '../shared-kit/free-port';
import { describeExit, startPiece, type LineSink, type Piece, type PieceSpec } from './piece-process';

const USAGE = `usage: npm start -- [options] [gateway options]

  --user-port <n>       user service port (default 50051; 0 = any free port; env USER_ADDR=host:port)
  --content-port <n>    content service port (default 50052; env CONTENT_ADDR=host:port)
  -h, --help            this text

Every other option goes to the gateway (see \`npm run gateway -- --help\`), e.g. --port 8080,
--auth off. The services read their settings from the environment (services/README.md):
DATA_DIR, DATABASE_URL, USER_ADMIN_EMAILS, SHUTDOWN_GRACE_MS, LOG_LEVEL, LOG_FORMAT…
METRICS_PORT=N serves the user service's metrics on N and the content service's on N+1
(0: a free port each, logged).`;

const LAUNCHER_FLAGS = {
  'user-port': { type: 'string' },
  'content-port': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

interface LauncherArgs {
  help: boolean;
  userAddr: string;
  contentAddr: string;
  /** Everything not for the launcher, in order: the gateway's flags. */
  gatewayArgs: string[];
}

/** Splits argv into the launcher's own flags and the gateway's. */
export function parseLauncherArgs(argv: readonly string[], env: NodeJS.ProcessEnv): LauncherArgs {
  const { values, tokens } = parseArgs({ args: [...argv], options: LAUNCHER_FLAGS, strict: false, allowPositionals: true, tokens: true });
  const ours = new Set<number>();
  for (const t of tokens) {
    if (t.kind !== 'option' || !(t.name in LAUNCHER_FLAGS)) continue;
    ours.add(t.index);
    if (t.value !== undefined && t.inlineValue === false) ours.add(t.index + 1);
  }
  const addr = (flag: unknown, fromEnv: string | undefined, fallback: string): string => {
    const base = fromEnv || fallback;
    if (flag === undefined) return base;
    if (typeof flag !== 'string' || !/^\d+$/.test(flag)) throw new Error(`a port is a number, got "${String(flag)}"`);
    return `${base.slice(0, base.lastIndexOf(':'))}:${flag}`;
  };
  return {
    help: values.help === true,
    userAddr: addr(values['user-port'], env.USER_ADDR, '127.0.0.1:50051'),
    contentAddr: addr(values['content-port'], env.CONTENT_ADDR, '127.0.0.1:50052'),
    gatewayArgs: argv.filter((_, i) => !ours.has(i)),
  };
}

/**
 * METRICS_PORT for each service: one port cannot serve two processes, so METRICS_PORT=N gives
 * the user service N and the content service N+1; 0 gives each a free port of its own (each
 * logs `metrics on http://…`). Unset, neither serves metrics. A value that is not a port is
 * passed on as it is, for the service to refuse by name.
 */
export function servicesMetricsPorts(env: NodeJS.ProcessEnv): { user: Record<string, string>; content: Record<string, string> } {
  const raw = env.METRICS_PORT?.trim();
  if (!raw) return { user: {}, content: {} };
  const port = /^\d+$/.test(raw) ? Number(raw) : NaN;
  const content = port > 0 ? String(port + 1) : raw;
  return { user: { METRICS_PORT: raw }, content: { METRICS_PORT: content } };
}

const COLORS: Record<string, string> = { user: '\x1b[36m', content: '\x1b[35m', gateway: '\x1b[33m', start: '\x1b[32m' };

/** Writes the pieces' lines: pretty with a `name │` margin for a person, JSON lines (as they are) for a machine. */
function lineSink(settings: LogSettings): LineSink {
  if (!isPretty(settings)) {
    return (name, line, stream) => {
      // Children log JSON already; anything else (a crash's stack on stderr) is wrapped so the output stays JSON lines.
      const out = line.startsWith('{') ? line : JSON.stringify({ level: stream === 2 ? 50 : 30, time: Date.now(), name, msg: line });
      process.stdout.write(`${out}\n`);
    };
  }
  const pretty = prettyPrinter();
  const color = process.stdout.isTTY === true;
  return (name, line) => {
    const margin = color ? `${COLORS[name] ?? ''}${name.padEnd(7)}\x1b[0m │ ` : `${name.padEnd(7)} │ `;
    process.stdout.write(
      pretty(line)
        .split('\n')
        .map((l) => margin + l)
        .join('\n') + '\n',
    );
  };
}

function main(): void {
  const env = process.env;
  let args: LauncherArgs;
  try {
    args = parseLauncherArgs(process.argv.slice(2), env);
  } catch (err) {
    process.stderr.write(`start: ${(err as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const settings: LogSettings = {
    level: env.LOG_LEVEL || DEFAULT_LOG_SETTINGS.level,
    format: parseLogFormat(env.LOG_FORMAT) ?? DEFAULT_LOG_SETTINGS.format,
  };
  const sink = lineSink(settings);
  const log = pino({ name: 'start', level: settings.level, base: { pid: process.pid } }, { write: (s: string) => sink('start', s.trimEnd(), 1) });
  const graceMs = Number(env.SHUTDOWN_GRACE_MS) || 10_000;
  const dist = path.resolve(__dirname, '..');
  const pieces: Piece[] = [];
  let stopping = false;
  let started = false;

  const launch = (spec: PieceSpec): Piece => {
    // The children log JSON; this process renders it (one place decides colours and layout).
    const piece = startPiece({ ...spec, env: { ...spec.env, LOG_FORMAT: 'json' } }, sink);
    pieces.push(piece);
    void piece.exited.then((exit) => {
      // While starting, the start sequence reports the failure (and stops the rest).
      if (stopping || !started) return;
      const others = pieces.filter((p) => p.running()).map((p) => p.name);
      if (others.length === 0) {
        log.error(`${piece.name} ${describeExit(exit)}; nothing is running any more`);
        process.exit(1);
      }
      log.error(`${piece.name} ${describeExit(exit)}; ${others.join(' and ')} keep running (restart it with \`npm run ${piece.name}\`)`);
    });
    return piece;
  };

  const stopAll = async (): Promise<void> => {
    stopping = true;
    // In the order `docker compose` uses, dependents first: the gateway drains its in-flight
    // requests while the services still answer them, then the services drain their own.
    const unclean: string[] = [];
    for (const group of [['gateway'], ['content', 'user']]) {
      const running = pieces.filter((p) => group.includes(p.name) && p.running());
      for (const p of running) p.kill('SIGTERM');
      for (const p of running) {
        const exit = await p.exited;
        if (exit.code !== 0) unclean.push(`${p.name} ${describeExit(exit)}`);
      }
    }
    if (unclean.length) throw new Error(unclean.join('; '));
  };

  closeOnSignals(stopAll, {
    log,
    // Each piece has its own grace and watchdog; this one covers the gateway's and then the services'.
    graceMs: 2 * (graceMs + WATCHDOG_MARGIN_MS),
    exit: (code) => {
      if (code !== 0) for (const p of pieces) p.kill('SIGKILL');
      process.exit(code);
    },
  });

  (async () => {
    // The user service reads the content service's post events, and the content service starts second: a
    // content port of 0 is chosen here so the user service can be told it.
    const contentAddr = args.contentAddr.endsWith(':0') ? `${args.contentAddr.slice(0, -2)}:${await freePort()}` : args.contentAddr;
    const metrics = servicesMetricsPorts(env);
    const user = await launch({
      name: 'user',
      entry: path.join(dist, 'services/user/main.js'),
      env: { USER_ADDR: args.userAddr, CONTENT_SERVICE_TARGET: env.CONTENT_SERVICE_TARGET || contentAddr, ...metrics.user },
    }).ready;
    const content = await launch({
      name: 'content',
      entry: path.join(dist, 'services/content/main.js'),
      env: { CONTENT_ADDR: contentAddr, USER_SERVICE_TARGET: user, ...metrics.content },
    }).ready;
    const gateway = await launch({
      name: 'gateway',
      entry: path.join(dist, 'gateway/main.js'),
      execArgv: ['--max-semi-space-size=8', '--max-old-space-size=1024'],
      // As package.json's `gateway` script: released request bodies' pages go back to the system.
      env: { GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=131072' },
      args: [
        '--upstream',
        `acme.user.v1=${user}`,
        '--upstream',
        `acme.content.v1=${content}`,
        // The aggregation endpoints (/v1/users/{id}/profile, /v1/me/home), answered by the gateway itself.
        '--upstream',
        'acme.bff.v1=local',
        '--shutdown-grace-ms',
        String(graceMs),
        ...args.gatewayArgs,
      ],
    }).ready;
    started = true;
    log.info(`ready: gateway http://${gateway}  user ${user}  content ${content}`);
  })().catch(async (err: unknown) => {
    if (stopping) return;
    log.error(`start failed: ${(err as Error).message}`);
    await stopAll().catch(() => undefined);
    process.exit(1);
  });
}

if (require.main === module) main();
