/**
 * A compiled path template → an OpenAPI path and its path parameters. A variable over one
 * segment (`{id}`, `{post.id}`) is one parameter named by its field path. A variable over a
 * sub-template (`{name=users/*\/posts/*}`) is expanded, as grpc-gateway's
 * `expand_slashed_path_patterns` does, into its literals and one parameter per `*`
 * (`/v1/users/{name_1}/posts/{name_2}`): an OpenAPI path parameter cannot hold a `/`, and a
 * client that escaped one as %2F would miss the route. A `**` becomes a parameter marked
 * `x-multi-segment` whose value may hold `/`. A bare `*` outside any variable matches any
 * segment and binds nothing (`{any_1}`).
 */
import type { FieldTarget, PathTemplate } from '../transcode';
import type { Schema } from './json-schema';

/** One path parameter of an operation. */
export interface PathParameter {
  readonly name: string;
  /** The field the whole value binds, for a plain variable; undefined for parts and anonymous segments. */
  readonly field: FieldTarget | undefined;
  readonly description: string | undefined;
  readonly multiSegment: boolean;
  /** The schema when not the field's own. */
  readonly schema: Schema | undefined;
}

export interface OpenApiPath {
  readonly path: string;
  readonly parameters: readonly PathParameter[];
}

/** Renders `template`, whose variables bind `fields` (in template order). */
export function openApiPath(template: PathTemplate, fields: readonly FieldTarget[]): OpenApiPath {
  const parts: string[] = [];
  const parameters: PathParameter[] = [];
  const byStart = new Map(template.variables.map((v, i) => [v.start, i]));
  let anonymous = 0;
  for (let i = 0; i < template.segments.length;) {
    const vi = byStart.get(i);
    if (vi === undefined) {
      const s = template.segments[i];
      if (s.kind === 'literal') parts.push(s.value);
      else {
        const name = `any_${++anonymous}`;
        parts.push(`{${name}}`);
        parameters.push({
          name,
          field: undefined,
          description: s.kind === 'deep' ? 'Any rest of the path, `/` included; not sent upstream.' : 'Any one path segment; not sent upstream.',
          multiSegment: s.kind === 'deep',
          schema: { type: 'string' },
        });
      }
      i++;
      continue;
    }
    const variable = template.variables[vi];
    const field = fields[vi];
    const end = variable.end === -1 ? template.segments.length : variable.end;
    const own = template.segments.slice(i, end);
    const dotted = variable.fieldPath.join('.');
    if (own.length === 1 && own[0].kind !== 'literal') {
      parts.push(`{${dotted}}`);
      const deep = own[0].kind === 'deep';
      const description = deep ? 'Any number of path segments, `/` included (zero drops the `/` before it).' : undefined;
      parameters.push({ name: dotted, field, description, multiSegment: deep, schema: undefined });
    } else {
      let n = 0;
      const names = own.map((s) => (s.kind === 'literal' ? s.value : `{${dotted}_${++n}}`));
      const shape = names.join('/');
      const whole = own.map((s) => (s.kind === 'literal' ? s.value : s.kind === 'wildcard' ? '*' : '**')).join('/');
      own.forEach((s, k) => {
        if (s.kind === 'literal') {
          parts.push(s.value);
          return;
        }
        const name = names[k].slice(1, -1);
        parts.push(`{${name}}`);
        parameters.push({
          name,
          field: undefined,
          description: `Part of \`${dotted}\`, which is sent upstream as \`${shape}\` (pattern \`${whole}\`).`,
          multiSegment: s.kind === 'deep',
          schema: { type: 'string' },
        });
      });
    }
    i = end;
  }
  const path = `/${parts.join('/')}${template.verb === undefined ? '' : `:${template.verb}`}`;
  return { path, parameters };
}

/** The path with every parameter name blanked: equal shapes are one OpenAPI path. */
export function pathShape(path: string): string {
  return path.replace(/\{[^}]*\}/g, '{}');
}
