/** RPC handlers of acme.content.v1.ContentService; behaviour follows the comments in content.proto. */
import { Metadata, status } from '@grpc/grpc-js';
import {
  checkUpdateMask,
  decodePageToken,
  encodePageToken,
  pageSize,
  requireCaller,
  requireOwnerOrAdmin,
  statusError,
  toTimestamp,
  type Caller,
  type Handlers,
} from '../kit';
import { PostStatus, type ContentServiceService, type Post } from '../../gen/acme/content/v1/content';
import type { PostChanges, PostRecord, PostStore, Viewer } from './content-store';
import { parsePostName, UPDATABLE } from './content-validation';
import { streamPostEvents } from './post-event-stream';
import type { PostEvents } from './post-events';

export interface ContentServiceDeps {
  store: PostStore;
  events: PostEvents;
  nextId: () => bigint;
}

const LIST_DEFAULT = 20;
const LIST_MAX = 100;

/** The handlers, to be bound with kit's bindService with `contentChecks`: requests arrive validated. */
export function contentHandlers(deps: ContentServiceDeps): Handlers<typeof ContentServiceService> {
  const { store, events } = deps;

  /** The post if the caller may see it; drafts of others are NOT_FOUND, so their existence does not leak. */
  const visiblePost = async (id: bigint, caller: Caller | undefined): Promise<PostRecord> => {
    const post = await store.get(id);
    if (!post || !canSee(post, caller)) throw notFound(id);
    return post;
  };
  /** The post if the caller may change it: visible, and the caller is its author or an admin. */
  const ownedPost = async (id: bigint, caller: Caller): Promise<PostRecord> => {
    const post = await visiblePost(id, caller);
    requireOwnerOrAdmin(caller, post.authorId, 'change this post');
    return post;
  };

  return {
    async createPost(req, { caller }) {
      const author = requireCaller(caller);
      const p = req.post;
      const now = new Date();
      const post = await store.insert({
        id: deps.nextId(),
        authorId: author.userId,
        title: p!.title.trim(),
        body: p!.body,
        tags: dedupe(p!.tags),
        status: PostStatus.POST_STATUS_DRAFT,
        createTime: now,
        updateTime: now,
        publishTime: undefined,
      });
      return { post: toPost(post) };
    },

    async getPost(req, { caller }) {
      if (req.name !== '') {
        const ref = parsePostName(req.name);
        const post = await visiblePost(ref!.id, caller);
        if (post.authorId !== ref!.authorId) throw notFound(ref!.id);
        return { post: toPost(post) };
      }
      return { post: toPost(await visiblePost(req.id, caller)) };
    },

    async listPosts(req, { caller }) {
      const filters = { authorId: req.authorId || undefined, status: req.status || undefined, tag: req.tag || undefined };
      const limit = pageSize(req.pageSize, LIST_DEFAULT, LIST_MAX);
      const beforeId = decodePageToken(req.pageToken, filters);
      const { posts, more } = await store.list({ ...filters, viewer: viewerOf(caller), beforeId, limit });
      const last = posts[posts.length - 1];
      return { posts: posts.map(toPost), nextPageToken: more && last ? encodePageToken(last.id, filters) : '' };
    },

    async updatePost(req, { caller: maybeCaller }) {
      const caller = requireCaller(maybeCaller);
      const paths = checkUpdateMask(req.updateMask, UPDATABLE);
      const p = req.post;
      await ownedPost(p!.id, caller);
      const changes: PostChanges = {};
      if (paths.has('title')) changes.title = p!.title.trim();
      if (paths.has('body')) changes.body = p!.body;
      if (paths.has('tags')) changes.tags = dedupe(p!.tags);
      const updated = await store.update(p!.id, changes, new Date());
      if (!updated) throw notFound(p!.id);
      return { post: toPost(updated) };
    },

    async deletePost(req, { caller }) {
      await ownedPost(req.id, requireCaller(caller));
      if (!(await store.delete(req.id))) throw notFound(req.id);
      return {};
    },

    async publishPost(req, { caller }) {
      const post = await ownedPost(req.id, requireCaller(caller));
      const published = post.status === PostStatus.POST_STATUS_DRAFT ? await store.publish(req.id, new Date()) : undefined;
      if (!published) {
        // Either it was published already, or it changed between the read and the write.
        const now = await store.get(req.id);
        if (!now) throw notFound(req.id);
        throw statusError(status.FAILED_PRECONDITION, `post ${req.id} is already published`, { reason: 'ALREADY_PUBLISHED' });
      }
      events.published(published);
      return { post: toPost(published) };
    },

    async watchPosts(call) {
      const { authorId, tag } = call.request;
      // A client that hung up while its token was being verified must not leave a subscription behind.
      if (call.cancelled) return;
      await new Promise<void>((resolve, reject) => {
        const unsubscribe = events.subscribe(
          (post) => {
            if ((authorId === 0n || post.authorId === authorId) && (tag === '' || post.tags.includes(tag))) call.write({ post: toPost(post) });
          },
          // Shutting down: UNAVAILABLE, not a clean end, so the client knows to reconnect elsewhere or later.
          () => reject(statusError(status.UNAVAILABLE, 'the content service is shutting down; reconnect', { reason: 'SHUTTING_DOWN' })),
        );
        call.on('cancelled', () => {
          unsubscribe();
          resolve();
        });
        // Headers go out once subscribed: a client that saw them will not miss a later publish.
        call.sendMetadata(new Metadata());
      });
    },

    async watchPostEvents(call) {
      // bindService admitted only a service credential (the method's policy role is "service"),
      // and after_sequence >= 0 (the proto's rule).
      if (call.cancelled) return;
      await streamPostEvents(call, store, events);
    },
  };
}

function canSee(post: PostRecord, caller: Caller | undefined): boolean {
  return post.status === PostStatus.POST_STATUS_PUBLISHED || caller?.role === 'admin' || caller?.userId === post.authorId;
}

function viewerOf(caller: Caller | undefined): Viewer {
  if (!caller) return { kind: 'anonymous' };
  return caller.role === 'admin' ? { kind: 'all' } : { kind: 'user', userId: caller.userId };
}

function dedupe(tags: readonly string[]): string[] {
  return [...new Set(tags)];
}

function notFound(id: bigint) {
  return statusError(status.NOT_FOUND, `post ${id} not found`, { reason: 'POST_NOT_FOUND' });
}

function toPost(p: PostRecord): Post {
  return {
    id: p.id,
    authorId: p.authorId,
    title: p.title,
    body: p.body,
    tags: p.tags,
    status: p.status,
    createTime: toTimestamp(p.createTime),
    updateTime: toTimestamp(p.updateTime),
    publishTime: p.publishTime && toTimestamp(p.publishTime),
  };
}
