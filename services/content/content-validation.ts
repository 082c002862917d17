/** Field rules of acme.content.v1 (see the comments in content.proto); each returns the violations it finds. */
import { checkNoControl, checkText, INT64_MAX, type FieldViolation } from '../kit';

const MAX_TITLE = 200;
const MAX_BODY = 100_000;
const MAX_TAGS = 10;
const TAG = /^[a-z0-9-]{1,32}$/;
const NAME = /^users\/(\d{1,19})\/posts\/(\d{1,19})$/;

export function checkTitle(field: string, title: string): FieldViolation[] {
  return checkText(field, title, MAX_TITLE);
}

export function checkBody(field: string, body: string): FieldViolation[] {
  const control = checkNoControl(field, body, true);
  if (control.length > 0) return control;
  return [...body].length > MAX_BODY ? [{ field, description: `must be at most ${MAX_BODY} characters` }] : [];
}

export function checkTags(field: string, tags: readonly string[]): FieldViolation[] {
  const out: FieldViolation[] = [];
  if (tags.length > MAX_TAGS) out.push({ field, description: `at most ${MAX_TAGS} tags` });
  tags.forEach((t, i) => {
    if (!TAG.test(t)) out.push({ field: `${field}[${i}]`, description: 'must be 1 to 32 characters of [a-z0-9-]' });
  });
  return out;
}

/** A tag used as a filter: empty means no filter. */
export function checkTagFilter(field: string, tag: string): FieldViolation[] {
  return tag === '' || TAG.test(tag) ? [] : [{ field, description: 'must be 1 to 32 characters of [a-z0-9-]' }];
}

/** Parses `users/{author_id}/posts/{id}`; undefined when malformed or an id is past int64. */
export function parsePostName(name: string): { authorId: bigint; id: bigint } | undefined {
  const m = NAME.exec(name);
  if (!m) return undefined;
  const authorId = BigInt(m[1]);
  const id = BigInt(m[2]);
  return authorId > INT64_MAX || id > INT64_MAX ? undefined : { authorId, id };
}
