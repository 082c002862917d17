/**
 * The post counts survive crashes (issue 15): the user and content services run as real
 * processes on one data directory (PGlite) or one PostgreSQL (TEST_DATABASE_URL), 500 post
 * operations (create, publish, delete across several users) run against the content service
 * while each service is SIGKILLed and restarted at random moments, and afterwards every
 * user's post_count and published_post_count equal a recount of the content store.
 *
 * Operations whose outcome is unknown (the content service died mid-call) are retried: a
 * create may then make two posts, a publish or delete find its work done. The recount reads
 * what the content store holds, whatever the client believes.
 */
import * as path from 'node:path';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { ContentServiceClient, PostStatus } from '../gen/acme/content/v1/content';
import { UserServiceClient } from '../gen/acme/user/v1/user';
import { compileProject, type CompiledProject } from '../gateway/test-support/compiled-project';
import { freePort } from '../shared-kit/free-port';
import { killAll, NodeProcess } from '../shared-kit/test-support/node-process';
import { bearer, call, dropSchema, tempDir, uniqueSchema } from './test-support';

const OPERATIONS = 500;
const USERS = 6;
const WORKERS = 4;
/** Kills of each service, at random points of the run (spread over the operations). */
const KILLS_EACH = 2;
const PASSWORD = 'correct horse battery';
// Channels that find a restarted service within 100-500 ms (grpc-js's default backoff grows to 120 s).
const CHANNEL = { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 500 };
const CALL_DEADLINE_MS = 5_000;

type Who = { id: bigint; token: string };
type Service = 'user' | 'content';

const databaseUrl = process.env.TEST_DATABASE_URL || undefined;
const schemaPrefix = uniqueSchema('kill');
const dir = tempDir('acme-kill-');
let project: CompiledProject;
const procs: Record<Service, NodeProcess | undefined> = { user: undefined, content: undefined };
let env: Record<string, string>;

function start(service: Service): Promise<number> {
  const p = new NodeProcess(path.join(project.dir, `services/${service}/main.js`), [], env);
  procs[service] = p;
  return p.port();
}

/** A unary call with a deadline, retried while the outcome is an outage (either service down, or restarting). */
async function retrying<T>(attempt: (md: Metadata, deadline: number) => Promise<T>, token: string, stats: { retries: number }): Promise<T> {
  for (;;) {
    try {
      return await attempt(bearer(token), Date.now() + CALL_DEADLINE_MS);
    } catch (err) {
      const code = (err as ServiceError).code;
      if (code !== status.UNAVAILABLE && code !== status.DEADLINE_EXCEEDED && code !== status.CANCELLED) throw err;
      stats.retries++;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

beforeAll(async () => {
  project = await compileProject();
}, 120_000);

afterAll(async () => {
  await killAll();
  project?.remove();
  if (databaseUrl) for (const s of ['user', 'content']) await dropSchema(databaseUrl, `${schemaPrefix}_${s}`);
  dir.remove();
});

it(`keeps every user's post counts exact through ${OPERATIONS} operations and ${KILLS_EACH} SIGKILLs of each service`, async () => {
  const began = Date.now();
  const [userAddr, contentAddr] = [`127.0.0.1:${await freePort()}`, `127.0.0.1:${await freePort()}`];
  env = {
    USER_ADDR: userAddr,
    CONTENT_ADDR: contentAddr,
    USER_SERVICE_TARGET: userAddr,
    CONTENT_SERVICE_TARGET: contentAddr,
    DATA_DIR: dir.path,
    DATABASE_URL: databaseUrl ?? '',
    DATABASE_SCHEMA_PREFIX: schemaPrefix,
    USER_ADMIN_EMAILS: 'root@example.com',
    // The content service checks each token's account with the user service; a long window keeps posting possible while it is down.
    ACCOUNT_CACHE_MS: '10000',
    LOG_FORMAT: 'json',
    LOG_LEVEL: 'info',
  };
  await Promise.all([start('user'), start('content')]);
  const u = new UserServiceClient(userAddr, credentials.createInsecure(), CHANNEL);
  const c = new ContentServiceClient(contentAddr, credentials.createInsecure(), CHANNEL);
  const stats = { retries: 0, created: 0, published: 0, deleted: 0, alreadyDone: 0 };

  const signUp = async (email: string): Promise<Who> => {
    await call(u.createUser.bind(u), { email, displayName: email.split('@')[0], password: PASSWORD });
    const res = await call(u.login.bind(u), { email, password: PASSWORD });
    return { id: res.user!.id, token: res.accessToken };
  };
  const admin = await signUp('root@example.com');
  const users = await Promise.all(Array.from({ length: USERS }, (_, i) => signUp(`u${i}@example.com`)));
  const drafts = new Map<bigint, bigint[]>(users.map((w) => [w.id, []]));
  const live = new Map<bigint, bigint[]>(users.map((w) => [w.id, []]));
  const take = (list: bigint[]) => list.splice(Math.floor(Math.random() * list.length), 1)[0];
  const setup = Date.now() - began;

  // One operation for a random user: create (always possible), publish a draft, or delete a post.
  const operate = async (): Promise<void> => {
    const who = users[Math.floor(Math.random() * users.length)];
    const [mine, published] = [drafts.get(who.id)!, live.get(who.id)!];
    const r = Math.random();
    if (r < 0.45 || mine.length + published.length === 0) {
      const { post } = await retrying(
        (md, deadline) =>
          new Promise<{ post?: { id: bigint } }>((resolve, reject) =>
            c.createPost(
              {
                post: { id: 0n, authorId: 0n, title: 't', body: '', tags: [], status: 0, createTime: undefined, updateTime: undefined, publishTime: undefined },
              },
              md,
              { deadline },
              (err, res) => (err ? reject(err) : resolve(res)),
            ),
          ),
        who.token,
        stats,
      );
      mine.push(post!.id);
      stats.created++;
    } else if (r < 0.75 && mine.length > 0) {
      const id = take(mine);
      try {
        await retrying(
          (md, deadline) => new Promise((resolve, reject) => c.publishPost({ id }, md, { deadline }, (err, res) => (err ? reject(err) : resolve(res)))),
          who.token,
          stats,
        );
        stats.published++;
      } catch (err) {
        // An earlier attempt committed before its answer was lost.
        if ((err as ServiceError).code !== status.FAILED_PRECONDITION) throw err;
        stats.alreadyDone++;
      }
      published.push(id);
    } else {
      const fromDrafts = published.length === 0 || (mine.length > 0 && Math.random() < 0.5);
      const id = take(fromDrafts ? mine : published);
      try {
        await retrying(
          (md, deadline) => new Promise((resolve, reject) => c.deletePost({ id }, md, { deadline }, (err, res) => (err ? reject(err) : resolve(res)))),
          who.token,
          stats,
        );
        stats.deleted++;
      } catch (err) {
        if ((err as ServiceError).code !== status.NOT_FOUND) throw err;
        stats.alreadyDone++;
      }
    }
  };

  // Kills at random operation counts, the two services interleaved in random order.
  let done = 0;
  const killAt = Array.from({ length: 2 * KILLS_EACH }, () => 20 + Math.floor(Math.random() * (OPERATIONS - 60))).sort((a, b) => a - b);
  const victims: Service[] = [...Array<Service>(KILLS_EACH).fill('user'), ...Array<Service>(KILLS_EACH).fill('content')].sort(() => Math.random() - 0.5);
  const downtime: Record<Service, number[]> = { user: [], content: [] };
  const chaos = (async () => {
    for (const [i, at] of killAt.entries()) {
      while (done < at) await new Promise((r) => setTimeout(r, 10));
      const victim = victims[i];
      const killedAt = Date.now();
      procs[victim]!.kill('SIGKILL');
      await procs[victim]!.exited;
      await new Promise((r) => setTimeout(r, Math.random() * 300));
      await start(victim);
      downtime[victim].push(Date.now() - killedAt);
    }
  })();
  const workers = Array.from({ length: WORKERS }, async () => {
    while (done < OPERATIONS) {
      done++;
      await operate();
    }
  });
  await Promise.all([...workers, chaos]);
  const opsMs = Date.now() - began - setup;

  // Afterwards every user's counts equal a recount of the content store (ListPosts as admin sees drafts too).
  const recount = async (who: Who) => {
    let [all, pub, pageToken] = [0, 0, ''];
    do {
      const page = await retrying(
        (md, deadline) =>
          new Promise<{ posts: { status: PostStatus }[]; nextPageToken: string }>((resolve, reject) =>
            c.listPosts({ authorId: who.id, status: 0, tag: '', pageSize: 100, pageToken }, md, { deadline }, (err, res) => (err ? reject(err) : resolve(res))),
          ),
        admin.token,
        stats,
      );
      all += page.posts.length;
      pub += page.posts.filter((p) => p.status === PostStatus.POST_STATUS_PUBLISHED).length;
      pageToken = page.nextPageToken;
    } while (pageToken);
    return [all, pub];
  };
  const counted = async (who: Who) => {
    const { user } = await retrying(
      (md, deadline) =>
        new Promise<{ user?: { postCount: number; publishedPostCount: number } }>((resolve, reject) =>
          u.getUser({ id: who.id }, md, { deadline }, (err, res) => (err ? reject(err) : resolve(res))),
        ),
      admin.token,
      stats,
    );
    return [user!.postCount, user!.publishedPostCount];
  };
  const truth = await Promise.all(users.map(recount));
  const settleFrom = Date.now();
  let seen = await Promise.all(users.map(counted));
  while (JSON.stringify(seen) !== JSON.stringify(truth) && Date.now() - settleFrom < 30_000) {
    await new Promise((r) => setTimeout(r, 100));
    seen = await Promise.all(users.map(counted));
  }
  const settleMs = Date.now() - settleFrom;
  u.close();
  c.close();

  // The figures, for the report.
  process.stdout.write(
    `post-events kill test (${databaseUrl ? 'postgres' : 'pglite'}): ${OPERATIONS} operations ` +
      `(${stats.created} created, ${stats.published} published, ${stats.deleted} deleted, ${stats.alreadyDone} found done by a lost attempt; ${stats.retries} retried calls) ` +
      `by ${WORKERS} workers over ${USERS} users in ${opsMs} ms; kills at operations ${killAt.join(', ')} (${victims.join(', ')}); ` +
      `down (kill to listening) user ${downtime.user.join('/')} ms, content ${downtime.content.join('/')} ms; ` +
      `posts now ${truth.map((t) => t.join('/')).join(' ')}; counts equal after ${settleMs} ms; setup ${setup} ms, total ${Date.now() - began} ms\n`,
  );
  expect(seen).toEqual(truth);
  expect(downtime.user).toHaveLength(KILLS_EACH);
  expect(downtime.content).toHaveLength(KILLS_EACH);
  await Promise.all([procs.user!.stop(), procs.content!.stop()]);
}, 300_000);
