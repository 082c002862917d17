/**
 * One table of behaviours, run against both transports and a real @grpc/grpc-js server
 * on loopback: whatever grpc-js gives, the lean h2 client must give too.
 */
import * as grpc from '@grpc/grpc-js';
import { GrpcJsTransport } from './grpc-js-transport';
import { rejectedStatus } from '../test-support/rejected-status';
import { createH2Transport } from './h2';
import type { CallStatus, Metadata, ResponseFlow, Transport } from './transport';

const identity = (b: Buffer): Buffer => b;
const method = (name: string, requestStream: boolean, responseStream: boolean) => ({
  path: `/test.Echo/${name}`,
  requestStream,
  responseStream,
  requestSerialize: identity,
  requestDeserialize: identity,
  responseSerialize: identity,
  responseDeserialize: identity,
});
const service: grpc.ServiceDefinition = {
  Unary: method('Unary', false, false),
  Fail: method('Fail', false, false),
  Sleep: method('Sleep', false, false),
  Hang: method('Hang', false, false),
  ServerStream: method('ServerStream', false, true),
  ClientStream: method('ClientStream', true, false),
  Bidi: method('Bidi', true, true),
  Flood: method('Flood', false, true),
  Stall: method('Stall', true, true),
};

const ERROR_MESSAGE = 'bad día ✓ 100% done %41 — ok';
const ERROR_DETAILS = Buffer.from([8, 9, 18, 3, 0xff, 0x00, 0x80]);
const MiB = 1024 * 1024;

/** Echoes x-* request metadata as response headers and puts fixed trailers on. */
function echoHeaders(call: grpc.ServerUnaryCall<Buffer, Buffer>): grpc.Metadata {
  const headers = new grpc.Metadata();
  for (const [name, values] of Object.entries(call.metadata.toJSON())) {
    if (name.startsWith('x-')) for (const v of values as (string | Buffer)[]) headers.add(name, v);
  }
  call.sendMetadata(headers);
  const trailers = new grpc.Metadata();
  trailers.add('x-trailer', 'done');
  trailers.add('x-trailer-bin', Buffer.from([0, 1, 2, 254]));
  return trailers;
}

let server: grpc.Server;
let port: number;
let cancelled: Promise<void>;
let onCancelled: () => void;
/** Bytes Flood's write() has taken so far (it waits for 'drain' as a well-behaved server does). */
let flooded = 0;
/** Stall: messages it has read, and a switch to start reading. */
let stalled = { read: 0, release: () => {} };

beforeAll(async () => {
  server = new grpc.Server({
    'grpc.max_receive_message_length': 64 * MiB,
    'grpc.max_send_message_length': 64 * MiB,
  });
  server.addService(service, {
    Unary: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      const trailers = echoHeaders(call);
      cb(null, call.request, trailers);
    },
    Fail: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      const metadata = new grpc.Metadata();
      metadata.add('grpc-status-details-bin', ERROR_DETAILS);
      metadata.add('x-why', 'because');
      cb({ code: grpc.status.FAILED_PRECONDITION, details: ERROR_MESSAGE, metadata });
    },
    Sleep: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      setTimeout(() => cb(null, call.request), 1000);
    },
    Hang: (call: grpc.ServerUnaryCall<Buffer, Buffer>) => {
      call.on('cancelled', () => onCancelled());
    },
    ServerStream: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      const [count, fail] = call.request.toString().split(':');
      for (let i = 0; i < Number(count); i++) call.write(Buffer.from(`m${i}`));
      if (fail) call.emit('error', { code: grpc.status.ABORTED, details: fail });
      else call.end();
    },
    Bidi: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      call.on('cancelled', () => onCancelled?.());
      call.on('data', (b: Buffer) => {
        const text = b.toString();
        if (text.startsWith('fail:')) call.emit('error', { code: grpc.status.ABORTED, details: text.slice(5) });
        else call.write(Buffer.from(`echo:${text}`));
      });
      call.on('end', () => call.end());
    },
    Flood: async (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      const [count, size] = call.request.toString().split(':').map(Number);
      flooded = 0;
      let stopped = false;
      call.on('cancelled', () => (stopped = true));
      for (let i = 0; i < count && !stopped; i++) {
        const chunk = Buffer.alloc(size, i % 256);
        flooded += size;
        if (!call.write(chunk)) await new Promise((resolve) => call.once('drain', resolve));
      }
      call.end();
    },
    Stall: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      stalled = { read: 0, release: () => call.on('data', () => stalled.read++) };
      call.on('end', () => call.end());
    },
    ClientStream: (call: grpc.ServerReadableStream<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      const parts: Buffer[] = [];
      call.on('data', (b: Buffer) => parts.push(b));
      call.on('end', () => cb(null, Buffer.from(`${parts.length}:${Buffer.concat(parts).toString()}`)));
    },
  });
  port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
});

interface StreamResult {
  headers: Metadata | null;
  messages: string[];
  status: CallStatus;
}

function collect(transport: Transport, request: string): Promise<StreamResult> {
  return new Promise((resolve) => {
    const result: StreamResult = { headers: null, messages: [], status: undefined as unknown as CallStatus };
    transport.serverStream(
      '/test.Echo/ServerStream',
      Buffer.from(request),
      { metadata: [] },
      {
        onHeaders: (h) => {
          result.headers = h;
        },
        onMessage: (m) => {
          result.messages.push(Buffer.from(m).toString());
        },
        onEnd: (status) => resolve({ ...result, status }),
      },
    );
  });
}

const value = (md: Metadata, name: string) => md.find(([n]) => n === name)?.[1];

/**
 * What a paused stream may hold, beyond the message that paused it: h2 its 4 MiB stream
 * window; grpc-js up to 16 messages in its stream's buffer besides node:http2's window.
 */
const heldWhilePaused = { 'grpc-js': (size: number) => 16 * size + 4 * MiB, h2: () => 4 * MiB };

describe.each([
  ['grpc-js' as const, (target: string): Transport => new GrpcJsTransport(target)],
  ['h2' as const, (target: string): Transport => createH2Transport(target)],
])('%s transport', (name, create) => {
  let transport: Transport;
  beforeAll(() => {
    transport = create(`127.0.0.1:${port}`);
  });
  afterAll(() => transport.close());

  it('echoes a unary message', async () => {
    const result = await transport.unary('/test.Echo/Unary', Buffer.from('hello'), { metadata: [] });
    expect(Buffer.from(result.message).toString()).toBe('hello');
  });

  it('round-trips metadata, -bin included, as response headers', async () => {
    const bytes = Buffer.from([0, 255, 1, 2, 3]);
    const result = await transport.unary('/test.Echo/Unary', Buffer.alloc(0), {
      metadata: [
        ['x-user', 'alice'],
        ['x-multi', 'a'],
        ['x-multi', 'b'],
        ['x-trace-bin', bytes],
      ],
    });
    expect(result.message.byteLength).toBe(0);
    expect(value(result.headers, 'x-user')).toBe('alice');
    // The grpc-js server joins repeated request values into one ("a, b") before echoing.
    expect(
      result.headers
        .filter(([n]) => n === 'x-multi')
        .map(([, v]) => v)
        .join(', '),
    ).toBe('a, b');
    expect(Buffer.from(value(result.headers, 'x-trace-bin') as Uint8Array)).toEqual(bytes);
    expect(result.headers.some(([n]) => n === 'content-type' || n.startsWith(':'))).toBe(false);
  });
  // failure once that is fixed, to be turned back into a plain `it`.
  it('surfaces trailers of a successful unary call', async () => {
    const result = await transport.unary('/test.Echo/Unary', Buffer.alloc(0), { metadata: [] });
    expect(value(result.trailers, 'x-trailer')).toBe('done');
    expect(Buffer.from(value(result.trailers, 'x-trailer-bin') as Uint8Array)).toEqual(Buffer.from([0, 1, 2, 254]));
    expect(result.trailers.some(([n]) => n.startsWith('grpc-'))).toBe(false);
  });

  it('reports an error status with a unicode, %-bearing message and details', async () => {
    const status = await rejectedStatus(transport.unary('/test.Echo/Fail', Buffer.alloc(0), { metadata: [] }));
    expect(status.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(status.message).toBe(ERROR_MESSAGE);
    expect(Buffer.from(status.details!)).toEqual(ERROR_DETAILS);
    expect(value(status.trailers, 'x-why')).toBe('because');
  });

  it('fails with DEADLINE_EXCEEDED when the server is too slow', async () => {
    const started = Date.now();
    const status = await rejectedStatus(
      transport.unary('/test.Echo/Sleep', Buffer.alloc(0), {
        metadata: [],
        deadline: Date.now() + 100,
      }),
    );
    expect(status.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(Date.now() - started).toBeLessThan(900);
  });

  it('cancels through an AbortSignal, and the server sees it', async () => {
    cancelled = new Promise((resolve) => {
      onCancelled = resolve;
    });
    const controller = new AbortController();
    const call = transport.unary('/test.Echo/Hang', Buffer.alloc(0), { metadata: [], signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    expect((await rejectedStatus(call)).code).toBe(grpc.status.CANCELLED);
    await cancelled;
  });

  it('streams N messages from the server, then OK', async () => {
    const result = await collect(transport, '5');
    expect(result.headers).not.toBeNull();
    expect(result.messages).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    expect(result.status.code).toBe(grpc.status.OK);
  });

  it('streams messages, then an error', async () => {
    const result = await collect(transport, '3:gave up');
    expect(result.messages).toEqual(['m0', 'm1', 'm2']);
    expect(result.status.code).toBe(grpc.status.ABORTED);
    expect(result.status.message).toBe('gave up');
  });

  it('streams from the client', async () => {
    const call = transport.clientStream('/test.Echo/ClientStream', { metadata: [] });
    for (const part of ['a', 'bc', '', 'def']) call.write(Buffer.from(part));
    call.end();
    expect(Buffer.from((await call.result).message).toString()).toBe('4:abcdef');
  });

  it('bidi: each answer arrives before the next message is sent, then OK at half-close', async () => {
    const answers: string[] = [];
    let next: (() => void) | null = null;
    const ended = new Promise<CallStatus>((resolve) => {
      const call = transport.duplex(
        '/test.Echo/Bidi',
        { metadata: [] },
        {
          onHeaders: () => undefined,
          onMessage: (m) => {
            answers.push(Buffer.from(m).toString());
            next?.();
          },
          onEnd: resolve,
        },
      );
      const send = async () => {
        for (const word of ['a', 'b', 'c']) {
          const answered = new Promise<void>((r) => (next = r));
          expect(call.write(Buffer.from(word))).toBe(true);
          await answered;
        }
        call.end();
      };
      void send();
    });
    expect((await ended).code).toBe(grpc.status.OK);
    expect(answers).toEqual(['echo:a', 'echo:b', 'echo:c']);
  });

  it('bidi: the server fails mid-stream', async () => {
    const answers: string[] = [];
    const status = await new Promise<CallStatus>((resolve) => {
      const call = transport.duplex(
        '/test.Echo/Bidi',
        { metadata: [] },
        {
          onHeaders: () => undefined,
          onMessage: (m) => {
            answers.push(Buffer.from(m).toString());
          },
          onEnd: resolve,
        },
      );
      call.write(Buffer.from('x'));
      call.write(Buffer.from('fail:no more'));
    });
    expect(answers).toEqual(['echo:x']);
    expect(status.code).toBe(grpc.status.ABORTED);
    expect(status.message).toBe('no more');
  });

  it('bidi: cancelling reaches the server, and the call ends CANCELLED', async () => {
    cancelled = new Promise((resolve) => {
      onCancelled = resolve;
    });
    const controller = new AbortController();
    const status = new Promise<CallStatus>((resolve) => {
      const call = transport.duplex(
        '/test.Echo/Bidi',
        { metadata: [], signal: controller.signal },
        {
          onHeaders: () => undefined,
          onMessage: () => controller.abort(),
          onEnd: resolve,
        },
      );
      call.write(Buffer.from('x'));
    });
    expect((await status).code).toBe(grpc.status.CANCELLED);
    await cancelled;
  });

  it('a paused response stream stops the server at the receive window; resume delivers the rest', async () => {
    const count = 64;
    const size = 256 * 1024; // 16 MiB in all
    let received = 0;
    let paused = true;
    let flow!: ResponseFlow;
    const ended = new Promise<CallStatus>((resolve) => {
      flow = transport.serverStream(
        '/test.Echo/Flood',
        Buffer.from(`${count}:${size}`),
        { metadata: [] },
        {
          onHeaders: () => undefined,
          onMessage: (m) => {
            received++;
            expect(m.byteLength).toBe(size);
            return !paused;
          },
          onEnd: resolve,
        },
      );
    });
    await new Promise((r) => setTimeout(r, 600));
    // Paused after the first message: the server's writes stop once the window is used, not after all 16 MiB.
    expect(received).toBe(1);
    expect(flooded).toBeLessThanOrEqual(heldWhilePaused[name](size) + 2 * size);
    paused = false;
    flow.resume();
    expect((await ended).code).toBe(grpc.status.OK);
    expect(received).toBe(count);
    expect(flooded).toBe(count * size);
  });

  it('close() ends a paused stream whose server has finished: CANCELLED, its held messages dropped', async () => {
    const own = create(`127.0.0.1:${port}`);
    const count = 8;
    const size = 64 * 1024; // all of it within the receive window: the server ends while we hold it
    let received = 0;
    flooded = -1; // set to 0 when the server starts the call
    const ended = new Promise<CallStatus>((resolve) => {
      own.serverStream(
        '/test.Echo/Flood',
        Buffer.from(`${count}:${size}`),
        { metadata: [] },
        {
          onHeaders: () => undefined,
          onMessage: () => {
            received++;
            return false; // full after the first: never resumed
          },
          onEnd: resolve,
        },
      );
    });
    const until = Date.now() + 5000;
    while (flooded !== count * size && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    expect(flooded).toBe(count * size);
    await new Promise((r) => setTimeout(r, 200)); // the trailers arrive while the consumer is paused
    await own.close();
    const status = await Promise.race([ended, new Promise<null>((r) => setTimeout(() => r(null), 2000))]);
    expect(status?.code).toBe(grpc.status.CANCELLED);
    expect(received).toBe(1);
  });

  it('write() says full while the server does not read, and onDrain follows once it does', async () => {
    const status = new Promise<CallStatus>((resolve) => {
      const call = transport.duplex('/test.Echo/Stall', { metadata: [] }, { onHeaders: () => undefined, onMessage: () => undefined, onEnd: resolve });
      const chunk = Buffer.alloc(64 * 1024);
      let written = 0;
      const fill = () => {
        while (written < 64 * MiB && call.write(chunk)) written += chunk.length;
        return written;
      };
      void (async () => {
        await new Promise((r) => setTimeout(r, 100));
        fill();
        // Full long before 64 MiB: the server's window, not our memory, is the limit.
        expect(written).toBeLessThan(16 * MiB);
        const drained = new Promise<void>((r) => call.onDrain(r));
        stalled.release();
        await drained;
        call.end();
      })();
    });
    expect((await status).code).toBe(grpc.status.OK);
    expect(stalled.read).toBeGreaterThan(0);
  });

  it('carries a 10 MB message both ways', async () => {
    const big = Buffer.alloc(10 * MiB);
    for (let i = 0; i < big.length; i += 4096) big[i] = i % 251;
    const result = await transport.unary('/test.Echo/Unary', big, { metadata: [] });
    expect(Buffer.compare(Buffer.from(result.message), big)).toBe(0);
  });

  it('fails with UNAVAILABLE when the server is unreachable', async () => {
    const closed = new grpc.Server();
    const deadPort = await new Promise<number>((resolve, reject) => {
      closed.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
    });
    await new Promise<void>((resolve) => closed.tryShutdown(() => resolve()));
    const dead = create(`127.0.0.1:${deadPort}`);
    try {
      const status = await rejectedStatus(dead.unary('/test.Echo/Unary', Buffer.alloc(0), { metadata: [] }));
      expect(status.code).toBe(grpc.status.UNAVAILABLE);
    } finally {
      await dead.close();
    }
  });
});
