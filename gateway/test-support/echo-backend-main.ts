/**
 * The echo backend as its own process, for fault tests that kill and restart a service:
 * `node echo-backend-main.js [--port N]`. Prints `listening <port>` once bound, and
 * `cancelled <path>` for each call it saw cancelled; runs until killed.
 */
import { startEchoBackend } from './echo-backend';

async function main(): Promise<void> {
  const i = process.argv.indexOf('--port');
  const port = i > 0 ? Number(process.argv[i + 1]) : 0;
  const backend = await startEchoBackend(port);
  let reported = 0;
  setInterval(() => {
    while (reported < backend.cancelled.length) console.log(`cancelled ${backend.cancelled[reported++]}`);
  }, 5);
  console.log(`listening ${backend.port}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
