import { addMetadata, decodeGrpcMessage, encodeGrpcMessage, encodeTimeout, fromRawHeaders } from './h2-metadata';

describe('grpc-message', () => {
  it.each([
    ['plain', 'plain'],
    ['100% sure', '100%25 sure'],
    ['día ✓', 'd%C3%ADa %E2%9C%93'],
    ['line\nbreak', 'line%0Abreak'],
  ])('encodes %j as %j and back', (text, wire) => {
    expect(encodeGrpcMessage(text)).toBe(wire);
    expect(decodeGrpcMessage(wire)).toBe(text);
  });

  it.each([['50%'], ['%zz'], ['%4']])('keeps the malformed escape in %j as written', (wire) => {
    expect(decodeGrpcMessage(wire)).toBe(wire);
  });
});

describe('grpc-timeout', () => {
  it.each([
    [1, '1m'],
    [0.2, '1m'],
    [1500, '1500m'],
    [99_999_999, '99999999m'],
    [100_000_000, '100000S'],
    [1e12, '16666667M'],
    [1e15, '99999999H'],
  ])('%d ms -> %s', (ms, wire) => expect(encodeTimeout(ms)).toBe(wire));
});

describe('metadata', () => {
  it('adds user metadata, a field per value, -bin as unpadded base64, skipping reserved names', () => {
    const fields: string[] = [];
    expect(
      addMetadata({ add: (name, value) => fields.push(name, value) }, [
        ['x-a', '1'],
        ['x-a', '2'],
        ['x-b-bin', Buffer.from([1])],
        ['te', 'x'],
        ['grpc-status', '0'],
        [':path', '/evil'],
      ]),
    ).toBeUndefined();
    expect(fields).toEqual(['x-a', '1', 'x-a', '2', 'x-b-bin', 'AQ']);
  });

  it.each([[['X-Upper', 'v']], [['x-a', 'tab\there']], [['x-a', 'ü']]])('rejects %j', (entry) => {
    expect(addMetadata({ add: () => undefined }, [entry as [string, string]])).toMatch(/Invalid metadata/);
  });

  it('reads raw headers, padded and unpadded -bin, without reserved names', () => {
    expect(
      fromRawHeaders([
        ':status',
        '200',
        'content-type',
        'application/grpc',
        'x-a',
        '1',
        'x-a',
        '2',
        'x-b-bin',
        'AQ',
        'x-c-bin',
        'AQI=, AwQ',
        'grpc-encoding',
        'identity',
      ]),
    ).toEqual([
      ['x-a', '1'],
      ['x-a', '2'],
      ['x-b-bin', Buffer.from([1])],
      ['x-c-bin', Buffer.from([1, 2])],
      ['x-c-bin', Buffer.from([3, 4])],
    ]);
  });
});
