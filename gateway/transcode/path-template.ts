/**
 * Parser for google.api.http path templates (google/api/http.proto, "Path template syntax"):
 *
 *     Template = "/" Segments [ Verb ] ;
 *     Segments = Segment { "/" Segment } ;
 *     Segment  = "*" | "**" | LITERAL | Variable ;
 *     Variable = "{" FieldPath [ "=" Segments ] "}" ;
 *     FieldPath = IDENT { "." IDENT } ;
 *     Verb     = ":" LITERAL ;
 *
 * Templates are parsed once at start-up; a bad one throws PathTemplateError naming the
 * problem and its 0-based position. Matching lives in route-trie.ts.
 *
 * Rules beyond the grammar, from the same spec: `{var}` means `{var=*}`; variables do not
 * nest; a field path may be bound once. One `**` per template: segments may follow it
 * (`/v1/{path=**}/manifest`), as the grammar allows and grpc-gateway and Envoy serve; they
 * are matched from the end of the path. `/` alone is the template of the root path.
 * LITERAL and the verb are RFC 3986 path characters (pchar) minus the template's own
 * punctuation (`* = : { } /`), or non-ASCII; reserved characters are written percent-encoded.
 */

/** One segment of a template, after variables' own segments are inlined. */
export type TemplateSegment =
  /** Literal text as written in the template (percent-encodings kept). */
  | { kind: 'literal'; value: string }
  /** `*`: exactly one path segment. */
  | { kind: 'wildcard' }
  /** `**`: zero or more path segments; at most one per template, segments after it match from the end. */
  | { kind: 'deep' };

/** A `{field.path=...}` binding over a run of template segments. */
export interface TemplateVariable {
  readonly fieldPath: readonly string[];
  /** Index of the variable's first segment in PathTemplate.segments. */
  readonly start: number;
  /** Exclusive end index in PathTemplate.segments. */
  readonly end: number;
  /**
   * True when the variable may span several path segments (more than one template segment,
   * or `**`). Per http.proto, such values keep `%2F` encoded; single-segment values are
   * decoded fully.
   */
  readonly multiSegment: boolean;
}

/** A parsed, frozen path template. */
export interface PathTemplate {
  /** Original text, for error messages. */
  readonly text: string;
  /** Flattened: variables' own segments inlined. */
  readonly segments: readonly TemplateSegment[];
  /** The custom verb after the last `:`, or undefined. */
  readonly verb: string | undefined;
  readonly variables: readonly TemplateVariable[];
}

/** A template that does not follow the grammar; `position` is a 0-based index into `template`. */
export class PathTemplateError extends Error {
  constructor(
    readonly template: string,
    readonly position: number,
    readonly problem: string,
  ) {
    super(`invalid path template ${JSON.stringify(template)}: ${problem} at position ${position}`);
    this.name = 'PathTemplateError';
  }
}

const IDENT_START = /^[A-Za-z_]$/;
const IDENT_PART = /^[A-Za-z0-9_]$/;
/**
 * pchar (RFC 3986 §3.3) less `%` (checked apart), `:`, `*` and `=`, which are template syntax
 * here; plus non-ASCII letters (RFC 3987 ucschar), so `café` may be written as such.
 */
const LITERAL_CHAR = /^[A-Za-z0-9\-._~!$&'()+,;@\u00A0-\uFFFF]$/;
const HEX = /^[0-9A-Fa-f]$/;

/** Parses `text` into a frozen PathTemplate; throws PathTemplateError on any syntax problem. */
export function parsePathTemplate(text: string): PathTemplate {
  return new Parser(text).parse();
}

class Parser {
  private pos = 0;
  private readonly segments: TemplateSegment[] = [];
  /** Where each segment starts in the text, for the `**`-not-last error. */
  private readonly positions: number[] = [];
  private readonly variables: TemplateVariable[] = [];
  private readonly bound = new Set<string>();

  constructor(private readonly text: string) {}

  parse(): PathTemplate {
    const { text } = this;
    if (typeof text !== 'string' || text[0] !== '/') this.fail("a template must start with '/'", 0);
    this.pos = 1;
    if (text.length > 1) this.parseSegments(false); // `/` alone: the root, zero segments
    let verb: string | undefined;
    if (this.peek() === ':') {
      this.pos++;
      const at = this.pos;
      verb = this.readLiteral('verb');
      if (verb === '') this.fail("empty verb after ':'", at);
      if (this.pos < text.length) this.fail('the verb must end the template', this.pos);
    }
    if (this.pos < text.length) {
      const c = text[this.pos];
      this.fail(c === '}' ? "unbalanced '}'" : `unexpected ${JSON.stringify(c)}`, this.pos);
    }
    const deepAt = this.segments.findIndex((s) => s.kind === 'deep');
    const second = deepAt === -1 ? -1 : this.segments.findIndex((s, i) => i > deepAt && s.kind === 'deep');
    if (second !== -1) this.fail("only one '**' may appear in a template", this.positions[second]);
    return Object.freeze({
      text,
      segments: Object.freeze(this.segments.map((s) => Object.freeze(s))),
      verb,
      variables: Object.freeze(this.variables),
    });
  }

  /** Segments { "/" Segment }; stops before `:`, `}` or the end. */
  private parseSegments(inVariable: boolean): void {
    for (;;) {
      this.parseSegment(inVariable);
      if (this.peek() !== '/') return;
      this.pos++;
    }
  }

  private parseSegment(inVariable: boolean): void {
    const at = this.pos;
    const c = this.peek();
    if (c === '}' && !inVariable) this.fail("unbalanced '}'", at);
    if (c === undefined || c === '/' || c === ':' || c === '}') this.fail('empty segment', at);
    if (c === '*') {
      const deep = this.text[at + 1] === '*';
      this.pos += deep ? 2 : 1;
      const next = this.peek();
      if (next !== undefined && next !== '/' && next !== ':' && next !== '}') {
        this.fail(`'${deep ? '**' : '*'}' must be a whole segment`, at);
      }
      this.push(deep ? { kind: 'deep' } : { kind: 'wildcard' }, at);
      return;
    }
    if (c === '{') {
      if (inVariable) this.fail('variables cannot be nested', at);
      this.parseVariable();
      return;
    }
    this.push({ kind: 'literal', value: this.readLiteral('literal') }, at);
  }

  /** "{" FieldPath [ "=" Segments ] "}" — the opening brace is at this.pos. */
  private parseVariable(): void {
    const open = this.pos++;
    const fieldPath = [this.readIdent()];
    while (this.peek() === '.') {
      this.pos++;
      fieldPath.push(this.readIdent());
    }
    const after = this.peek();
    if (after !== undefined && after !== '=' && after !== '}') {
      this.fail(`bad identifier: unexpected ${JSON.stringify(after)} in field path`, this.pos);
    }
    const start = this.segments.length;
    if (this.peek() === '=') {
      this.pos++;
      this.parseSegments(true);
    } else {
      this.push({ kind: 'wildcard' }, open); // `{var}` is `{var=*}`
    }
    if (this.peek() === ':') this.fail('a verb cannot appear inside a variable', this.pos);
    if (this.peek() !== '}') this.fail("unbalanced '{': missing '}'", open);
    this.pos++;
    const next = this.peek();
    if (next !== undefined && next !== '/' && next !== ':' && next !== '}') {
      this.fail('a variable must be a whole segment', this.pos);
    }
    const key = fieldPath.join('.');
    if (this.bound.has(key)) this.fail(`variable '${key}' appears twice`, open);
    this.bound.add(key);
    const own = this.segments.slice(start);
    const deep = own.some((s) => s.kind === 'deep');
    this.variables.push(
      Object.freeze({
        fieldPath: Object.freeze(fieldPath),
        start,
        end: this.segments.length,
        multiSegment: deep || own.length > 1,
      }),
    );
  }

  private readIdent(): string {
    const at = this.pos;
    const { text } = this;
    if (!IDENT_START.test(text[at] ?? '')) {
      this.fail(`bad identifier: expected a letter or '_', found ${describe(text[at])}`, at);
    }
    let end = at + 1;
    while (end < text.length && IDENT_PART.test(text[end])) end++;
    this.pos = end;
    return text.slice(at, end);
  }

  /** Reads LITERAL up to the next `/`, `:`, `}` or the end, checking each character. */
  private readLiteral(what: 'literal' | 'verb'): string {
    const { text } = this;
    const at = this.pos;
    let i = at;
    for (; i < text.length; i++) {
      const c = text[i];
      if (c === '/' || c === '}' || (c === ':' && what === 'literal')) break;
      if (c === '%') {
        if (!HEX.test(text[i + 1] ?? '') || !HEX.test(text[i + 2] ?? '')) {
          this.fail(`bad percent-encoding in ${what}`, i);
        }
        i += 2;
      } else if (!LITERAL_CHAR.test(c)) {
        this.fail(`invalid character ${JSON.stringify(c)} in ${what}`, i);
      }
    }
    const value = text.slice(at, i);
    if (value.includes('%')) {
      try {
        decodeURIComponent(value);
      } catch {
        this.fail(`percent-encoding in ${what} is not valid UTF-8`, at);
      }
    }
    this.pos = i;
    return value;
  }

  private push(segment: TemplateSegment, at: number): void {
    this.segments.push(segment);
    this.positions.push(at);
  }

  private peek(): string | undefined {
    return this.text[this.pos];
  }

  private fail(problem: string, position: number): never {
    throw new PathTemplateError(String(this.text), position, problem);
  }
}

function describe(c: string | undefined): string {
  return c === undefined ? 'end of template' : JSON.stringify(c);
}
