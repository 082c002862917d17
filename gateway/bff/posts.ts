/**
 * The content service as the aggregation endpoints read it (ContentService/ListPosts, newest
 * first): a few recent posts, and a count of posts found by paging through the listing.
 * Counting by paging is the stopgap while the user does not carry its counts (see
 * post-counts.ts): one call per hundred posts, all within the part's deadline.
 */
import { create, type Message } from '@bufbuild/protobuf';
import type { Call } from '../pipeline';
import type { PartScope, UpstreamRpc, UpstreamRpcs } from './upstream-rpc';

export const CONTENT_SERVICE = 'acme.content.v1.ContentService';

/** ListPosts' largest page (acme.content.v1.ListPostsRequest.page_size). */
const MAX_PAGE = 100;

/** Which posts: an author (0n for everyone) and a status (0 for any the caller may see). */
export interface PostFilter {
  readonly authorId: bigint;
  readonly status: number;
}

type ListPostsResponse = Message & { posts: Message[]; nextPageToken: string };

export class Posts {
  private readonly listPosts: UpstreamRpc;
  /** acme.content.v1.PostStatus values, from the descriptor. */
  readonly published: number;
  readonly draft: number;

  constructor(rpcs: UpstreamRpcs) {
    this.listPosts = rpcs(CONTENT_SERVICE, 'ListPosts');
    const status = this.listPosts.input.fields.find((f) => f.name === 'status');
    const value = (name: string): number => {
      const v = status?.fieldKind === 'enum' ? status.enum.values.find((e) => e.name === name) : undefined;
      if (v === undefined) throw new Error(`acme.content.v1.ListPostsRequest.status has no ${name}`);
      return v.number;
    };
    this.published = value('POST_STATUS_PUBLISHED');
    this.draft = value('POST_STATUS_DRAFT');
  }

  /** The `limit` (at most 100) newest posts matching `filter`, as the caller may see them. */
  async recent(call: Call, filter: PostFilter, limit: number, scope: PartScope): Promise<Message[]> {
    return (await this.page(call, filter, limit, '', scope)).posts;
  }

  /** How many posts match `filter`, as the caller may see them. */
  async count(call: Call, filter: PostFilter, scope: PartScope): Promise<bigint> {
    let n = 0n;
    let token = '';
    do {
      const page = await this.page(call, filter, MAX_PAGE, token, scope);
      n += BigInt(page.posts.length);
      token = page.nextPageToken;
    } while (token !== '');
    return n;
  }

  private async page(call: Call, filter: PostFilter, pageSize: number, pageToken: string, scope: PartScope): Promise<ListPostsResponse> {
    const request = create(this.listPosts.input, { authorId: filter.authorId, status: filter.status, pageSize, pageToken });
    return (await this.listPosts.call(call, request, scope)) as ListPostsResponse;
  }
}
