/**
 * ResponsePlan with the direct writer (binary-to-json) against its canonical
 * @bufbuild/protobuf path: the same body, or the same error, for random messages under
 * every JSON option set and response_body pick, and for a table of hand-made wire data,
 * each row saying whether the direct writer renders it or hands it over.
 */
import { toBinary, type DescMessage, type Registry } from '@bufbuild/protobuf';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { echoRegistry } from '../test-support/echo-backend';
import { BinaryToJson } from './codec';
import { randomMessage, seededRandom } from '../test-support/codec-random';
import { GatewayError } from './errors';
import { DEFAULT_JSON_OPTIONS } from './json-options';
import { ResponsePlan, type RenderedBody } from './response-plan';

const registry: Registry = echoRegistry();
const ECHO = registry.getMessage('acme.echo.v1.EchoMessage') as DescMessage;
const PICKS = ['', 'nested', 'name', 'id', 'tags', 'numbers', 'labels', 'indexed', 'opt', 'kind', 'ratio', 'data', 'text', 'object', 'when', 'maybe_int'];

function outcome(fn: () => { body: string | Uint8Array }): unknown {
  try {
    return { body: fn().body };
  } catch (err) {
    return err instanceof GatewayError ? { reason: err.reason, message: err.message } : { thrown: String(err) };
  }
}

describe('ResponsePlan.render: the direct writer changes no answer', () => {
  it.each(PICKS)('response_body "%s", every option set, random messages', (pick) => {
    const rnd = seededRandom(pick.length * 65537 + 1);
    for (let bits = 0; bits < 8; bits++) {
      const options = { ...DEFAULT_JSON_OPTIONS, emitUnpopulated: (bits & 1) !== 0, enumsAsNumbers: (bits & 2) !== 0, useProtoNames: (bits & 4) !== 0 };
      const plan = new ResponsePlan(ECHO, pick, registry, options);
      for (let i = 0; i < 40; i++) {
        const bytes = toBinary(ECHO, randomMessage(ECHO, rnd, { wkt: 0.05, maxDepth: 2 }));
        expect(outcome(() => plan.render(bytes))).toEqual(outcome(() => plan['renderCanonical'](bytes)));
        expect(outcome(() => asText(plan.renderNow(bytes)))).toEqual(outcome(() => plan['renderCanonical'](bytes)));
      }
    }
  });
});

/** renderNow's bytes (a view of the codec's buffer) read as text, before anything renders again. */
function asText(r: RenderedBody): RenderedBody {
  return { contentType: r.contentType, body: typeof r.body === 'string' ? r.body : Buffer.from(r.body).toString('utf8') };
}

/** EchoMessage wire data built by hand. */
function wire(build: (w: BinaryWriter) => void): Uint8Array {
  const w = new BinaryWriter();
  build(w);
  return w.finish();
}

const ROWS: Array<{ name: string; bytes: Uint8Array; direct: boolean }> = [
  { name: 'empty message', bytes: new Uint8Array(0), direct: true },
  { name: 'unknown enum number', bytes: wire((w) => w.tag(9, WireType.Varint).int32(7)), direct: true },
  {
    name: 'unknown fields skipped',
    bytes: wire((w) => w.tag(2, WireType.LengthDelimited).string('a').tag(999, WireType.Bit64).fixed64(1n).tag(5, WireType.Varint).bool(true)),
    direct: true,
  },
  {
    name: 'packed and unpacked values of one list',
    bytes: wire((w) => w.tag(11, WireType.LengthDelimited).fork().int64(1n).int64(-2n).join().tag(11, WireType.Varint).int64(3n)),
    direct: true,
  },
  {
    name: 'a map key repeated: last value, first place',
    bytes: wire((w) =>
      w
        .tag(13, WireType.LengthDelimited)
        .fork()
        .tag(1, WireType.LengthDelimited)
        .string('k')
        .tag(2, WireType.LengthDelimited)
        .string('a')
        .join()
        .tag(13, WireType.LengthDelimited)
        .fork()
        .tag(1, WireType.LengthDelimited)
        .string('z')
        .join()
        .tag(13, WireType.LengthDelimited)
        .fork()
        .tag(1, WireType.LengthDelimited)
        .string('k')
        .tag(2, WireType.LengthDelimited)
        .string('b')
        .join(),
    ),
    direct: true,
  },
  { name: 'a map entry without key or value', bytes: wire((w) => w.tag(14, WireType.LengthDelimited).fork().join()), direct: true },
  { name: 'overlong varint', bytes: Uint8Array.of(0x20, 0x81, 0x80, 0x80, 0x00), direct: true },
  {
    name: 'a scalar given twice (last wins)',
    bytes: wire((w) => w.tag(2, WireType.LengthDelimited).string('a').tag(2, WireType.LengthDelimited).string('b')),
    direct: false,
  },
  {
    name: 'a message given twice (merged)',
    bytes: wire((w) =>
      w
        .tag(15, WireType.LengthDelimited)
        .fork()
        .tag(1, WireType.LengthDelimited)
        .string('a')
        .join()
        .tag(15, WireType.LengthDelimited)
        .fork()
        .tag(3, WireType.LengthDelimited)
        .string('b')
        .join(),
    ),
    direct: false,
  },
  { name: 'fields out of number order', bytes: wire((w) => w.tag(2, WireType.LengthDelimited).string('a').tag(1, WireType.Varint).int64(1n)), direct: false },
  { name: 'two members of a oneof', bytes: wire((w) => w.tag(16, WireType.LengthDelimited).string('a').tag(17, WireType.Varint).int32(1)), direct: false },
  { name: 'a Timestamp present', bytes: wire((w) => w.tag(19, WireType.LengthDelimited).fork().tag(1, WireType.Varint).int64(1n).join()), direct: false },
  { name: 'a wrong wire type', bytes: wire((w) => w.tag(4, WireType.LengthDelimited).bytes(Uint8Array.of(1))), direct: false },
  { name: 'an unknown group', bytes: wire((w) => w.tag(999, WireType.StartGroup).tag(999, WireType.EndGroup)), direct: false },
  { name: 'truncated', bytes: wire((w) => w.tag(2, WireType.LengthDelimited).string('abcdef')).subarray(0, 4), direct: false },
  { name: 'invalid UTF-8', bytes: wire((w) => w.tag(2, WireType.LengthDelimited).bytes(Uint8Array.of(0x61, 0xc0, 0xaf))), direct: false },
  { name: 'a UTF-8 surrogate', bytes: wire((w) => w.tag(2, WireType.LengthDelimited).bytes(Uint8Array.of(0xed, 0xa0, 0x80))), direct: false },
  { name: 'field number 0', bytes: Uint8Array.of(0x00, 0x01), direct: false },
];

describe('ResponsePlan.render: hand-made wire data', () => {
  const plans = [
    new ResponsePlan(ECHO, '', registry, DEFAULT_JSON_OPTIONS),
    new ResponsePlan(ECHO, '', registry, { ...DEFAULT_JSON_OPTIONS, emitUnpopulated: true }),
  ];
  it.each(ROWS)('$name', ({ bytes, direct }) => {
    for (const plan of plans) {
      expect(outcome(() => plan.render(bytes))).toEqual(outcome(() => plan['renderCanonical'](bytes)));
      expect(outcome(() => asText(plan.renderNow(bytes)))).toEqual(outcome(() => plan['renderCanonical'](bytes)));
    }
    expect(new BinaryToJson(ECHO, DEFAULT_JSON_OPTIONS).render(bytes) !== undefined).toBe(direct);
  });
});
