/** The content service as the aggregation endpoints read it: a few recent posts (ContentService/ListPosts, newest first). */
import { create, type Message } from '@bufbuild/protobuf';
import type { Call } from '../pipeline';
import type { PartScope, UpstreamRpc, UpstreamRpcs } from './upstream-rpc';

export const CONTENT_SERVICE = 'acme.content.v1.ContentService';

/** Which posts: an author (0n for everyone) and a status (0 for any the caller may see). */
export interface PostFilter {
  readonly authorId: bigint;
  readonly status: number;
}

export class Posts {
  private readonly listPosts: UpstreamRpc;
  /** acme.content.v1.PostStatus.POST_STATUS_PUBLISHED, from the descriptor. */
  readonly published: number;

  constructor(rpcs: UpstreamRpcs) {
    this.listPosts = rpcs(CONTENT_SERVICE, 'ListPosts');
    const status = this.listPosts.input.fields.find((f) => f.name === 'status');
    const published = status?.fieldKind === 'enum' ? status.enum.values.find((e) => e.name === 'POST_STATUS_PUBLISHED') : undefined;
    if (published === undefined) throw new Error('acme.content.v1.ListPostsRequest.status has no POST_STATUS_PUBLISHED');
    this.published = published.number;
  }

  /** The `limit` (at most 100) newest posts matching `filter`, as the caller may see them. */
  async recent(call: Call, filter: PostFilter, limit: number, scope: PartScope): Promise<Message[]> {
    const request = create(this.listPosts.input, { authorId: filter.authorId, status: filter.status, pageSize: limit });
    return ((await this.listPosts.call(call, request, scope)) as Message & { posts: Message[] }).posts;
  }
}
