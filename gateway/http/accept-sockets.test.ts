/**
 * AcceptSockets on real loopback sockets: a backlog of new connections is taken several per
 * event-loop iteration (node takes one per listening socket), and a connection accepted by an
 * extra socket is the HTTP server's own: served, counted by maxConnections, awaited by close().
 */
import * as http from 'node:http';
import * as net from 'node:net';
import { AcceptSockets } from './accept-sockets';

const servers: Array<{ server: http.Server; accept: AcceptSockets }> = [];
const clients: net.Socket[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  for (const { server, accept } of servers.splice(0)) {
    accept.close();
    server.closeAllConnections();
    if (server.listening) await new Promise((resolve) => server.close(resolve));
  }
});

async function start(count: number, handler: http.RequestListener = (_req, res) => res.end('ok')): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer(handler);
  const accept = new AcceptSockets(server, count);
  servers.push({ server, accept });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0, reusePort: accept.reusePort }, resolve));
  await accept.open();
  return { server, port: (server.address() as net.AddressInfo).port };
}

function connect(port: number): net.Socket {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  clients.push(socket);
  return socket;
}

/** Opens `n` connections while this event loop is blocked; counts those accepted in the first iteration after. */
async function acceptedInOneIteration(server: http.Server, port: number, n: number): Promise<number> {
  let accepted = 0;
  server.on('connection', () => accepted++);
  const sockets = Array.from({ length: n }, () => connect(port));
  await new Promise((resolve) => setImmediate(resolve)); // the connect() calls are made
  let first = -1;
  await new Promise<void>((resolve) =>
    setTimeout(() => {
      const before = accepted;
      // The kernel completes the handshakes meanwhile: every connection waits in an accept queue.
      const until = Date.now() + 150;
      while (Date.now() < until);
      // Runs after this iteration's poll phase, which takes one connection per listening socket.
      setImmediate(() => {
        first = accepted - before;
        resolve();
      });
    }, 0),
  );
  while (accepted < n) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(sockets.every((s) => !s.destroyed)).toBe(true);
  return first;
}

it('node alone takes one connection of a backlog per event-loop iteration', async () => {
  const { server, port } = await start(1);
  expect(await acceptedInOneIteration(server, port, 32)).toBe(1);
});

it('8 sockets take several per iteration, each connection served by the same HTTP server', async () => {
  const { server, port } = await start(8);
  expect(await acceptedInOneIteration(server, port, 32)).toBeGreaterThan(1);
  for (let i = 0; i < 16; i++) {
    const res = await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } });
    expect(await res.text()).toBe('ok');
  }
});

it('maxConnections counts the connections of every socket, and freed slots serve again', async () => {
  const { server, port } = await start(8);
  server.maxConnections = 5;
  const sockets = Array.from({ length: 24 }, () => connect(port));
  const closedEarly = await Promise.all(
    sockets.map(
      (s) =>
        new Promise<boolean>((resolve) => {
          s.once('close', () => resolve(true));
          setTimeout(() => resolve(false), 500);
        }),
    ),
  );
  expect(closedEarly.filter((c) => !c)).toHaveLength(5);
  expect(await new Promise((resolve) => server.getConnections((_err, n) => resolve(n)))).toBe(5);
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('ok');
});

it('close() stops every socket accepting, and the server closes only once all requests in flight are answered', async () => {
  const held: http.ServerResponse[] = [];
  const { server, port } = await start(8, (_req, res) => held.push(res));
  // Connection: close, so no connection stays open idle once answered.
  const answers = Array.from({ length: 16 }, () => fetch(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } }).then((r) => r.text()));
  while (held.length < 16) await new Promise((resolve) => setTimeout(resolve, 5));
  servers[0]!.accept.close();
  let closed = false;
  server.close(() => (closed = true));
  await new Promise((resolve) => setTimeout(resolve, 100));
  const refused = await new Promise<string>((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => resolve('connected'));
    s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
  });
  expect(refused).toBe('ECONNREFUSED');
  for (const res of held.slice(0, 15)) res.end('late');
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(closed).toBe(false);
  held[15]!.end('late');
  expect(await Promise.all(answers)).toEqual(Array(16).fill('late'));
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(closed).toBe(true);
});
