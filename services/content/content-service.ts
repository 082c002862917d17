/** RPC handlers of acme.content.v1.ContentService; behaviour follows the comments in content.proto. */
import { Metadata, status } from '@grpc/grpc-js';
import {
  checkId,
  checkUpdateMask,
  decodePageToken,
  encodePageToken,
  pageSize,
  rejectViolations,
  requireCaller,
  requireOwnerOrAdmin,
  statusError,
  toTimestamp,
  type Caller,
  type Handlers,
} from '../kit';
import { PostStatus, type ContentServiceService, type Post } from '../../gen/acme/content/v1/content';
import type { PostChanges, PostRecord, PostStore, Viewer } from './content-store';
import { checkBody, checkTagFilter, checkTags, checkTitle, parsePostName } from './content-validation';
import { streamPostEvents } from './post-event-stream';
import type { PostEvents } from './post-events';

export interface ContentServiceDeps {
  store: PostStore;
  events: PostEvents;
  nextId: () => bigint;
}

const LIST_DEFAULT = 20;
const LIST_MAX = 100;
const UPDATABLE = ['title', 'body', 'tags'] as const;

/** The handlers, to be bound with kit's bindService. */
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
      rejectViolations(
        p ? [] : [{ field: 'post', description: 'is required' }],
        checkTitle('post.title', p?.title ?? 'x'),
        checkBody('post.body', p?.body ?? ''),
        checkTags('post.tags', p?.tags ?? []),
      );
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
        if (!ref) rejectViolations([{ field: 'name', description: 'must be users/{author_id}/posts/{id}' }]);
        if (req.id !== 0n && req.id !== ref!.id) rejectViolations([{ field: 'id', description: 'does not match name' }]);
        const post = await visiblePost(ref!.id, caller);
        if (post.authorId !== ref!.authorId) throw notFound(ref!.id);
        return { post: toPost(post) };
      }
      rejectViolations(req.id === 0n ? [{ field: 'id', description: 'id or name is required' }] : checkId('id', req.id));
      return { post: toPost(await visiblePost(req.id, caller)) };
    },

    async listPosts(req, { caller }) {
      rejectViolations(req.authorId < 0n ? [{ field: 'author_id', description: 'must be a positive id or 0' }] : [], checkTagFilter('tag', req.tag));
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
      rejectViolations(
        p ? checkId('post.id', p.id) : [{ field: 'post', description: 'is required' }],
        p && paths.has('title') ? checkTitle('post.title', p.title) : [],
        p && paths.has('body') ? checkBody('post.body', p.body) : [],
        p && paths.has('tags') ? checkTags('post.tags', p.tags) : [],
      );
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
      rejectViolations(checkId('id', req.id));
      await ownedPost(req.id, requireCaller(caller));
      if (!(await store.delete(req.id))) throw notFound(req.id);
      return {};
    },

    async publishPost(req, { caller }) {
      rejectViolations(checkId('id', req.id));
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
      rejectViolations(authorId < 0n ? [{ field: 'author_id', description: 'must be a positive id or 0' }] : [], checkTagFilter('tag', tag));
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
      // bindService admitted only a service credential (the method's policy role is "service").
      rejectViolations(call.request.afterSequence < 0n ? [{ field: 'after_sequence', description: 'must be 0 or more' }] : []);
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
