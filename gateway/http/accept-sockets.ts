/**
 * More listening sockets on the gateway's port (SO_REUSEPORT), all feeding the one HTTP server,
 * so a burst of new connections is accepted in a few event-loop iterations instead of one per
 * iteration.
 *
 * Why: since libuv 1.45 (Node 20) a listening socket accepts ONE connection per loop iteration
 * (libuv/libuv#3696; nodejs/node#57364). At saturation an iteration serves every ready socket
 * and lasts 10-60 ms, so 256 connections opened at once waited up to 1.1-1.5 s in the kernel's
 * accept queue (`ss -ltn` Recv-Q 185-219 draining for ~1.1 s; strace: one accept4 per
 * epoll_pwait), and their first requests were the bench's p99 at 256 connections (1.0-1.4 s,
 * grpc-gateway's 0.2-0.3 s in the same run; Go accepts on a goroutine of its own). With N
 * sockets the kernel spreads new connections over N queues by hash and each iteration takes one
 * from each. Still bounded per iteration (the reason libuv stopped accepting in a loop), N times
 * the rate. How many: 256 connections spread by hash put ~45 on the fullest of 8 queues, ~15 of
 * 32, and iterations lengthen as the accepted connections start sending; measured in one run
 * (wrk bursts of 256, load ~14), the last of 256 connections was accepted 400-590 ms after the
 * first with 8 sockets, 45-130 ms with 32 (p99 of the window 130-1,250 vs 185-670 ms). A
 * listening socket costs a descriptor and its queue. Linux (and a few BSDs) only:
 * `limits.acceptSockets` defaults to 1 elsewhere.
 *
 * A connection accepted here is handed to the HTTP server as one it accepted itself: node's own
 * accounting (`_connections`, the socket's `_server`, as net.Server's onconnection sets them)
 * moves to the HTTP server, so `limits.maxConnections`, getConnections() and close() waiting for
 * open connections count it alike (accept-sockets.test.ts proves each).
 */
import type { Server as HttpServer } from 'node:http';
import * as net from 'node:net';

/** Node's own fields: the count behind maxConnections and close(), and the options its accepted sockets get. */
type Counted = net.Server & {
  _connections: number;
  allowHalfOpen: boolean;
  noDelay: boolean;
  keepAlive: boolean;
  keepAliveInitialDelay: number;
  highWaterMark: number;
};
type OwnedSocket = net.Socket & { _server: net.Server | null; server: net.Server | null };

/** The HTTP server's extra listening sockets: `open()` once it listens, `close()` before it closes. */
export class AcceptSockets {
  private readonly extra: net.Server[] = [];

  /** `count` listening sockets in all (the server's own included); 1 = the server's own only. */
  constructor(
    private readonly server: HttpServer,
    private readonly count: number,
  ) {}

  /** Whether the server itself must listen with `reusePort` (the extra sockets join its group). */
  get reusePort(): boolean {
    return this.count > 1;
  }

  /** Opens the extra sockets on the server's address and port; the server must listen (with `reusePort`). */
  async open(): Promise<void> {
    const address = this.server.address();
    if (this.count <= 1 || !address || typeof address === 'string') return;
    const server = this.server as unknown as Counted;
    // The options node's HTTP server gives its own accepted sockets (net.Server's constructor).
    const options: net.ServerOpts = {
      allowHalfOpen: server.allowHalfOpen,
      noDelay: server.noDelay,
      keepAlive: server.keepAlive,
      keepAliveInitialDelay: server.keepAliveInitialDelay * 1000,
      highWaterMark: server.highWaterMark,
    };
    for (let i = 1; i < this.count; i++) {
      const extra = net.createServer(options, (socket) => this.handOver(extra as Counted, socket as OwnedSocket));
      this.extra.push(extra);
      await new Promise<void>((resolve, reject) => {
        extra.once('error', reject);
        extra.listen({ host: address.address, port: address.port, reusePort: true }, () => {
          extra.off('error', reject);
          resolve();
        });
      });
    }
  }

  /** Stops accepting on the extra sockets (their connections stay the HTTP server's until they end). */
  close(): void {
    for (const extra of this.extra.splice(0)) extra.close();
  }

  private handOver(extra: Counted, socket: OwnedSocket): void {
    const server = this.server as unknown as Counted;
    extra._connections--;
    if (server._connections >= server.maxConnections || !server.listening) {
      // As node refuses past maxConnections at accept (the client sees the connection closed).
      socket._server = null;
      socket.destroy();
      return;
    }
    server._connections++;
    socket._server = server;
    socket.server = server;
    server.emit('connection', socket);
  }
}
