/**
 * The route table: parsed path templates (path-template.ts) compiled into an immutable trie,
 * as grpc-httpjson-transcoding does behind Envoy. Each node has a map of literal children,
 * one `*` child and one `**` child; leaves are keyed by verb, then HTTP method. A lookup
 * costs in proportion to the path's length, not to the number of routes.
 *
 * Matching rules (google/api/http.proto, "Path template syntax", plus what it leaves open):
 * - Priority: literal beats `*` beats `**`; a branch that fails deeper is backtracked, so
 *   `GET /v1/users/me` and `GET /v1/users/{id}/posts` both serve `/v1/users/me/posts`.
 *   The HTTP method takes part in the search: the most specific route *for this method* wins.
 * - The path is split once on raw `/`, so `%2F` never splits a segment. The query string is
 *   not part of the path: the caller strips it.
 * - Segments after `**` (`/v1/{path=**}/manifest`) match from the end of the path: `**`
 *   takes whatever lies between what is before it and what is after it (zero or more).
 * - An empty segment never matches: `//`, and a trailing slash (`/v1/users/` is not
 *   `/v1/users`; templates cannot express a trailing slash, so it is always not-found, even
 *   under `**`). The bare path `/` has zero segments (only `/**`-like routes match it).
 * - Literal segments match the raw segment or its percent-decoded form (`/v1/caf%C3%A9`
 *   matches the literal `café` and `caf%C3%A9`).
 * - Verb: when the last segment holds a `:`, the text after the LAST `:` is a candidate verb;
 *   routes with that verb are tried first on the path without it. Routes without a verb are
 *   then tried on the full path, so `/v1/users/a:b` binds `a:b` to `{id}` (as Envoy and
 *   grpc-gateway do). Verbs compare raw (no percent-decoding).
 * - Bindings are percent-decoded: a single-segment variable fully (`%2F` becomes `/`); a
 *   multi-segment one everything except `%2F`/`%2f`, which stay as sent. An invalid encoding
 *   (`%zz`, bad UTF-8) in a bound segment makes the whole lookup not-found rather than bind
 *   undecoded text.
 * - HTTP methods compare case-sensitively (RFC 9110 §9.1) and are expected upper-case; any
 *   token is accepted (SEARCH, PURGE...). HEAD is NOT mapped to GET here: whoever wants that
 *   (the HTTP adapter) does it explicitly, so the table stays a plain function of its routes.
 */
import type { PathTemplate } from './path-template';

/** The outcome of RouteTrie.match. Bindings are in template order, already decoded. */
export type MatchResult<T> =
  | { kind: 'match'; value: T; bindings: Array<[fieldPath: readonly string[], value: string]> }
  /** The path matches some route, but none for this method; `allow` is sorted, for the Allow header. */
  | { kind: 'method-not-allowed'; allow: readonly string[] }
  | { kind: 'not-found' };

/** Thrown by RouteTrieBuilder.add when a route with the same method and shape already exists. */
export class DuplicateRouteError extends Error {
  constructor(
    readonly httpMethod: string,
    /** The template being added. */
    readonly template: PathTemplate,
    /** The value being added. */
    readonly duplicate: unknown,
    /** The template already in the table (it may differ in variable names). */
    readonly existingTemplate: PathTemplate,
    /** The value already in the table. */
    readonly existing: unknown,
  ) {
    super(`duplicate route: ${httpMethod} ${template.text} has the same shape as ${httpMethod} ${existingTemplate.text}`);
    this.name = 'DuplicateRouteError';
  }
}

/** A variable's span in the split path (index 0 of the split is the empty text before the first `/`). */
interface Binder {
  readonly fieldPath: readonly string[];
  /** Index in the split path; <= 0 counts from its end (0 is segs.length), for segments after `**`. */
  readonly from: number;
  /** Exclusive, same encoding as `from`. */
  readonly to: number;
  readonly multiSegment: boolean;
}

interface Route<T> {
  readonly value: T;
  readonly httpMethod: string;
  readonly template: PathTemplate;
  readonly binders: readonly Binder[];
}

/** verb ('' when none) → HTTP method → route. */
type Leaves<T> = Map<string, Map<string, Route<T>>>;

/** What follows a `**`: decoded literal keys, or undefined for `*`, matched against the path's last segments. */
interface Tail<T> {
  readonly key: string;
  readonly pattern: ReadonlyArray<string | undefined>;
  readonly leaves: Leaves<T>;
}

/** All five fields are always present, so every node has one hidden class. */
interface Node<T> {
  literals: Map<string, Node<T>> | undefined;
  wildcard: Node<T> | undefined;
  /** A final `**`: its "child" is only leaves, it consumes the rest of the path. */
  deep: Leaves<T> | undefined;
  /** A `**` followed by more segments, one entry per distinct run of them. */
  tails: Array<Tail<T>> | undefined;
  leaves: Leaves<T> | undefined;
}

const newNode = <T>(): Node<T> => ({ literals: undefined, wildcard: undefined, deep: undefined, tails: undefined, leaves: undefined });

/** RFC 9110 token, upper-case only. */
const HTTP_METHOD = /^[!#$%&'*+\-.^_`|~0-9A-Z]+$/;

const NOT_FOUND: MatchResult<never> = Object.freeze({ kind: 'not-found' });

/** Collects routes at start-up, failing loudly on duplicates; build() freezes them into a RouteTrie. */
export class RouteTrieBuilder<T> {
  private readonly root: Node<T> = newNode();
  private readonly verbs = new Set<string>();

  /**
   * Throws DuplicateRouteError when method+template (same shape: same literals/wildcards/verb)
   * already exists, unless `replace` is set: then the new route takes the old one's place.
   */
  add(httpMethod: string, template: PathTemplate, value: T, replace = false): void {
    if (!HTTP_METHOD.test(httpMethod)) {
      throw new TypeError(`invalid HTTP method ${JSON.stringify(httpMethod)} for ${template.text}: expected an upper-case token`);
    }
    let node = this.root;
    let leaves: Leaves<T> | undefined;
    const segments = template.segments;
    const deepAt = segments.findIndex((s) => s.kind === 'deep');
    for (const segment of deepAt === -1 ? segments : segments.slice(0, deepAt + 1)) {
      if (segment.kind === 'literal') {
        node.literals ??= new Map();
        const key = decodeURIComponent(segment.value); // the parser checked the encoding
        let child = node.literals.get(key);
        if (child === undefined) node.literals.set(key, (child = newNode()));
        node = child;
      } else if (segment.kind === 'wildcard') {
        node = node.wildcard ??= newNode();
      } else if (deepAt === segments.length - 1) {
        leaves = node.deep ??= new Map();
      } else {
        const pattern = segments.slice(deepAt + 1).map((s) => (s.kind === 'literal' ? decodeURIComponent(s.value) : undefined));
        const key = pattern.map((p) => (p === undefined ? '*' : `=${p}`)).join('/');
        node.tails ??= [];
        let tail = node.tails.find((t) => t.key === key);
        if (tail === undefined) node.tails.push((tail = { key, pattern, leaves: new Map() }));
        leaves = tail.leaves;
      }
    }
    leaves ??= node.leaves ??= new Map();
    const verb = template.verb ?? '';
    let byMethod = leaves.get(verb);
    if (byMethod === undefined) leaves.set(verb, (byMethod = new Map()));
    const existing = byMethod.get(httpMethod);
    if (existing !== undefined && !replace) {
      throw new DuplicateRouteError(httpMethod, template, value, existing.template, existing.value);
    }
    // Template index j is path index j + 1 up to the `**`; after it, it counts from the end.
    const at = (j: number): number => (deepAt === -1 || j <= deepAt ? j + 1 : j - segments.length);
    const binders = template.variables.map((v) => Object.freeze({ fieldPath: v.fieldPath, from: at(v.start), to: at(v.end), multiSegment: v.multiSegment }));
    byMethod.set(httpMethod, Object.freeze({ value, httpMethod, template, binders: Object.freeze(binders) }));
    if (template.verb !== undefined) this.verbs.add(template.verb);
  }

  /** An immutable snapshot: adding to this builder afterwards does not change it. */
  build(): RouteTrie<T> {
    return new RouteTrie(copyNode(this.root), new Set(this.verbs));
  }
}

/** The frozen route table. Build it with RouteTrieBuilder. */
export class RouteTrie<T> {
  /** @internal Use RouteTrieBuilder.build(). */
  constructor(
    private readonly root: Node<T>,
    /** Every verb some route uses: a candidate verb outside it skips the verb pass. */
    private readonly verbs: ReadonlySet<string>,
  ) {
    Object.freeze(this);
  }

  /** Looks up `path` (raw, percent-encoded, without the query string) for `httpMethod`. */
  match(httpMethod: string, path: string): MatchResult<T> {
    const segs = splitPath(path);
    if (segs === undefined) return NOT_FOUND;

    const last = segs.length - 1;
    const full = segs[last];
    const colon = last > 0 ? full.lastIndexOf(':') : -1;
    // colon === 0 would leave an empty last segment (`/v1/x/:verb`): no verb pass.
    const verb = colon > 0 && this.verbs.size > 0 ? full.slice(colon + 1) : '';
    const verbPass = verb !== '' && this.verbs.has(verb);
    if (verbPass) {
      segs[last] = full.slice(0, colon);
      const route = find(this.root, segs, 1, verb, httpMethod);
      if (route !== undefined) return bind(route, segs);
      segs[last] = full;
    }
    const route = find(this.root, segs, 1, '', httpMethod);
    if (route !== undefined) return bind(route, segs);

    // No route for this method: 405 if the path matches under some other method, else 404.
    const allow = new Set<string>();
    collect(this.root, segs, 1, '', allow);
    if (verbPass) {
      segs[last] = full.slice(0, colon);
      collect(this.root, segs, 1, verb, allow);
    }
    return allow.size === 0 ? NOT_FOUND : { kind: 'method-not-allowed', allow: Object.freeze([...allow].sort()) };
  }
}

/**
 * Splits on raw `/` into ['', seg1, seg2...] (index 0 stands for the text before the leading
 * slash, so template index i is path index i + 1). Undefined for a path that does not start
 * with `/` or has an empty segment (`//`, trailing slash). `/` alone has zero segments.
 * A scan with indexOf: about twice as fast as String.prototype.split on fresh strings.
 */
function splitPath(path: string): string[] | undefined {
  if (path.charCodeAt(0) !== 47 /* / */) return undefined;
  const segs = [''];
  if (path.length === 1) return segs;
  for (let from = 1; ;) {
    const slash = path.indexOf('/', from);
    if (slash === from || from === path.length) return undefined;
    if (slash === -1) {
      segs.push(path.slice(from));
      return segs;
    }
    segs.push(path.slice(from, slash));
    from = slash + 1;
  }
}

/** Depth-first search, literal before `*` before `**`, backtracking on failure. */
function find<T>(node: Node<T>, segs: string[], i: number, verb: string, method: string): Route<T> | undefined {
  if (i === segs.length) {
    const route = node.leaves?.get(verb)?.get(method);
    if (route !== undefined) return route;
  } else {
    if (node.literals !== undefined) {
      const child = node.literals.get(literalKey(segs[i]));
      if (child !== undefined) {
        const route = find(child, segs, i + 1, verb, method);
        if (route !== undefined) return route;
      }
    }
    if (node.wildcard !== undefined) {
      const route = find(node.wildcard, segs, i + 1, verb, method);
      if (route !== undefined) return route;
    }
  }
  if (node.tails !== undefined) {
    for (const tail of node.tails) {
      if (tailMatches(tail, segs, i)) {
        const route = tail.leaves.get(verb)?.get(method);
        if (route !== undefined) return route;
      }
    }
  }
  return node.deep?.get(verb)?.get(method);
}

/** True when the path's last segments (at or after `i`) match what follows a `**`. */
function tailMatches<T>(tail: Tail<T>, segs: string[], i: number): boolean {
  const { pattern } = tail;
  const from = segs.length - pattern.length;
  if (from < i) return false;
  for (let k = 0; k < pattern.length; k++) {
    const want = pattern[k];
    if (want !== undefined && literalKey(segs[from + k]) !== want) return false;
  }
  return true;
}

/** Like find, but visits every matching branch and gathers the methods of all matching routes. */
function collect<T>(node: Node<T>, segs: string[], i: number, verb: string, allow: Set<string>): void {
  if (i === segs.length) addMethods(node.leaves, verb, allow);
  else {
    const child = node.literals?.get(literalKey(segs[i]));
    if (child !== undefined) collect(child, segs, i + 1, verb, allow);
    if (node.wildcard !== undefined) collect(node.wildcard, segs, i + 1, verb, allow);
  }
  if (node.tails !== undefined) for (const tail of node.tails) if (tailMatches(tail, segs, i)) addMethods(tail.leaves, verb, allow);
  addMethods(node.deep, verb, allow);
}

function addMethods<T>(leaves: Leaves<T> | undefined, verb: string, allow: Set<string>): void {
  const byMethod = leaves?.get(verb);
  if (byMethod !== undefined) for (const method of byMethod.keys()) allow.add(method);
}

function bind<T>(route: Route<T>, segs: string[]): MatchResult<T> {
  const bindings: Array<[readonly string[], string]> = [];
  for (const b of route.binders) {
    const from = b.from > 0 ? b.from : segs.length + b.from;
    const value = b.multiSegment ? decodeKeepingSlashes(join(segs, from, b.to > 0 ? b.to : segs.length + b.to)) : decode(segs[from]);
    if (value === undefined) return NOT_FOUND;
    bindings.push([b.fieldPath, value]);
  }
  return { kind: 'match', value: route.value, bindings };
}

/** Literal keys are stored decoded, so one lookup covers the raw and the decoded form. */
function literalKey(seg: string): string {
  return seg.indexOf('%') === -1 ? seg : (decode(seg) ?? seg);
}

function join(segs: string[], from: number, to: number): string {
  let out = from < to ? segs[from] : '';
  for (let i = from + 1; i < to; i++) out += '/' + segs[i];
  return out;
}

/** decodeURIComponent, with undefined instead of a throw on a bad encoding. */
function decode(text: string): string | undefined {
  if (text.indexOf('%') === -1) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/** Decodes all but `%2F`/`%2f` (http.proto, multi-segment variables). `%2F` is ASCII, so cutting there never splits a UTF-8 sequence. */
function decodeKeepingSlashes(raw: string): string | undefined {
  let i = raw.indexOf('%');
  if (i === -1) return raw;
  let out = '';
  let from = 0;
  for (; i !== -1; i = raw.indexOf('%', i + 1)) {
    if (raw.charCodeAt(i + 1) === 50 /* 2 */ && (raw.charCodeAt(i + 2) | 0x20) === 102 /* f */) {
      const part = decode(raw.slice(from, i));
      if (part === undefined) return undefined;
      out += part + raw.slice(i, i + 3);
      from = i + 3;
      i += 2;
    }
  }
  const tail = decode(raw.slice(from));
  return tail === undefined ? undefined : out + tail;
}

/** Deep copy with fresh maps, each node frozen: the built trie shares nothing mutable with its builder. */
function copyNode<T>(node: Node<T>): Node<T> {
  let literals: Map<string, Node<T>> | undefined;
  if (node.literals !== undefined) {
    literals = new Map();
    for (const [key, child] of node.literals) literals.set(key, copyNode(child));
  }
  return Object.freeze({
    literals,
    wildcard: node.wildcard && copyNode(node.wildcard),
    deep: copyLeaves(node.deep),
    tails: node.tails && (Object.freeze(node.tails.map((t) => Object.freeze({ ...t, leaves: copyLeaves(t.leaves)! }))) as Array<Tail<T>>),
    leaves: copyLeaves(node.leaves),
  });
}

function copyLeaves<T>(leaves: Leaves<T> | undefined): Leaves<T> | undefined {
  if (leaves === undefined) return undefined;
  const out: Leaves<T> = new Map();
  for (const [verb, byMethod] of leaves) out.set(verb, new Map(byMethod));
  return out;
}
