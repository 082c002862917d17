/**
 * What acme.content.v1's buf.validate rules cannot say (content.proto carries the rest: lengths,
 * control characters, tags, positive ids, the shape of a post name), checked by bindService with
 * the rules. Post is both what CreatePost and UpdatePost send and what every method answers, so
 * its rules apply only to fields that are set: a title is required on create and when named in
 * update_mask, which no field rule sees. A post name's ids must fit in int64 and agree with `id`.
 */
import { checkId, checkRequired, INT64_MAX, updateMaskViolations, type FieldViolation, type RequestChecks } from '../kit';
import type { ContentServiceService } from '../../gen/acme/content/v1/content';

/** The paths UpdatePost may change. */
export const UPDATABLE = ['title', 'body', 'tags'] as const;

const NAME = /^users\/(\d{1,19})\/posts\/(\d{1,19})$/;

export const contentChecks: RequestChecks<typeof ContentServiceService> = {
  createPost: (req) => (req.post ? checkRequired('post.title', req.post.title) : []),

  getPost(req): FieldViolation[] {
    if (req.name === '') return req.id === 0n ? [{ field: 'id', description: 'id or name is required' }] : [];
    if (!NAME.test(req.name)) return []; // malformed: the rule's pattern names it
    const ref = parsePostName(req.name);
    if (!ref) return [{ field: 'name', description: `ids must be at most ${INT64_MAX}` }];
    return req.id !== 0n && req.id !== ref.id ? [{ field: 'id', description: 'does not match name' }] : [];
  },

  updatePost(req) {
    const paths: readonly string[] = req.updateMask ?? [];
    const post = req.post;
    return [
      // An absent mask or post is the rules' `required`.
      ...(req.updateMask ? updateMaskViolations(paths, UPDATABLE) : []),
      ...(post ? checkId('post.id', post.id) : []), // Post.id is output-only elsewhere
      ...(post && paths.includes('title') ? checkRequired('post.title', post.title) : []),
    ];
  },
};

/** Parses `users/{author_id}/posts/{id}`; undefined when malformed or an id is past int64. */
export function parsePostName(name: string): { authorId: bigint; id: bigint } | undefined {
  const m = NAME.exec(name);
  if (!m) return undefined;
  const authorId = BigInt(m[1]);
  const id = BigInt(m[2]);
  return authorId > INT64_MAX || id > INT64_MAX ? undefined : { authorId, id };
}
