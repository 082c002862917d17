/**
 * A plain HTTP service as its own process, behind the gateway's HTTP routes in tests:
 * `node http-upstream-main.ts --name a [--port N]` (Node runs the TypeScript as it is: type
 * annotations only, node: imports only). Prints `listening on 127.0.0.1:<port>`. Paths (as
 * the upstream sees them, after any prefix stripping):
 *   /upload          reads the body, answers { bytes, sha256, firstChunkAt, chunks }
 *   /slow?n=&ms=     n chunks `chunk i\n`, one every ms (chunked)
 *   /late?ms=        answers after ms
 *   /status?code=    answers that status
 *   /set-cookie      answers with Set-Cookie
 *   /flaky?key=&fail=  the first `fail` requests per key answer 503, then 200
 *   /reset?key=&fail=  the first `fail` requests per key lose their connection, then 200
 *   /count?key=      how many requests /flaky or /reset saw for key
 *   anything else    { name, method, url, headers }
 */
import { createHash } from 'node:crypto';
import * as http from 'node:http';

const arg = (flag: string, fallback: string): string => {
  const i = process.argv.indexOf(flag);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const name = arg('--name', 'upstream');
const port = Number(arg('--port', '0'));
const seen = new Map<string, number>();

const json = (res: http.ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://upstream');
  const q = (k: string, d: string): string => url.searchParams.get(k) ?? d;
  const last = url.pathname.slice(url.pathname.lastIndexOf('/'));
  const count = (): number => {
    const key = q('key', '');
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    return n;
  };
  switch (last) {
    case '/upload': {
      const hash = createHash('sha256');
      let bytes = 0;
      let chunks = 0;
      let firstChunkAt = 0;
      req.on('data', (chunk: Buffer) => {
        if (chunks++ === 0) firstChunkAt = Date.now();
        bytes += chunk.length;
        hash.update(chunk);
      });
      req.on('end', () => json(res, 200, { name, bytes, chunks, firstChunkAt, sha256: hash.digest('hex') }));
      return;
    }
    case '/slow': {
      const n = Number(q('n', '5'));
      const ms = Number(q('ms', '200'));
      res.writeHead(200, { 'content-type': 'text/plain' });
      let i = 0;
      const tick = (): void => {
        res.write(`chunk ${i} ${Date.now()}\n`);
        if (++i === n) res.end();
        else setTimeout(tick, ms);
      };
      tick();
      return;
    }
    case '/late':
      setTimeout(() => json(res, 200, { name, late: true }), Number(q('ms', '1000')));
      return;
    case '/status':
      return json(res, Number(q('code', '200')), { name });
    case '/set-cookie':
      res.writeHead(200, { 'set-cookie': 'session=secret; HttpOnly', 'x-upstream': name, 'content-type': 'application/json' });
      res.end('{}');
      return;
    case '/flaky':
      return count() <= Number(q('fail', '1')) ? json(res, 503, { name, flaky: true }) : json(res, 200, { name, ok: true });
    case '/reset':
      if (count() <= Number(q('fail', '1'))) {
        req.socket.destroy();
        return;
      }
      return json(res, 200, { name, ok: true });
    case '/count':
      return json(res, 200, { name, count: seen.get(q('key', '')) ?? 0 });
    default:
      req.resume();
      req.on('end', () => json(res, 200, { name, method: req.method, url: req.url, headers: req.headers }));
  }
});

server.listen(port, '127.0.0.1', () => {
  const address = server.address() as { port: number };
  console.log(`listening on 127.0.0.1:${address.port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
