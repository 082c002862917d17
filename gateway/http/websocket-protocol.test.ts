import { closeCode, closeReason, MAX_CLOSE_REASON_BYTES, protocolBearer, selectSubprotocol, SUBPROTOCOL } from './websocket-protocol';

describe('websocket-protocol', () => {
  it.each([
    [0, 1000],
    [1, 4001],
    [5, 4005],
    [16, 4016],
  ])('gRPC code %i closes with %i', (code, close) => {
    expect(closeCode(code)).toBe(close);
  });

  it.each([
    ['short', 'not found', '{"code":5,"message":"not found"}'],
    ['long ASCII', 'x'.repeat(500), undefined],
    ['multi-byte', 'é'.repeat(200), undefined],
    ['escapes', '\n\u0001'.repeat(100), undefined],
    ['astral', '😀'.repeat(100), undefined],
  ])('close reason (%s): whole JSON within 123 bytes', (_name, message, expected) => {
    const reason = closeReason({ code: 5, message });
    expect(Buffer.byteLength(reason)).toBeLessThanOrEqual(MAX_CLOSE_REASON_BYTES);
    const parsed = JSON.parse(reason) as { code: number; message: string };
    expect(parsed.code).toBe(5);
    if (expected !== undefined) expect(reason).toBe(expected);
    else {
      expect(parsed.message.endsWith('…')).toBe(true);
      expect(message.startsWith(parsed.message.slice(0, -1))).toBe(true);
      expect(parsed.message.length).toBeGreaterThan(5);
    }
  });

  it.each([
    [[SUBPROTOCOL], SUBPROTOCOL],
    [['bearer.abc', SUBPROTOCOL], SUBPROTOCOL],
    [['mqtt'], false],
    [['bearer.abc'], false],
  ])('offered %j: echoes %j', (offered, echoed) => {
    expect(selectSubprotocol(new Set(offered))).toBe(echoed);
  });

  it.each([
    [undefined, undefined],
    [SUBPROTOCOL, undefined],
    [`${SUBPROTOCOL}, bearer.a.b-c_d`, 'a.b-c_d'],
    [['bearer.tok', SUBPROTOCOL], 'tok'],
  ])('bearer from %j: %j', (header, token) => {
    expect(protocolBearer(header as string | string[] | undefined)).toBe(token);
  });

  it.each([
    ['bearer.a, bearer.b, ' + SUBPROTOCOL, /more than one/],
    ['bearer.a', /needs "acme.grpc-json.v1"/],
    [`${SUBPROTOCOL}, bearer.`, /no token/],
  ])('bearer refused from %j', (header, message) => {
    expect(() => protocolBearer(header)).toThrow(message);
  });
});
