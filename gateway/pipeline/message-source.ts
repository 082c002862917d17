/**
 * The request messages of a client- or bidi-streaming call, as they arrive. An adapter
 * pushes each message's JSON text (one NDJSON line, one WebSocket text frame); the upstream
 * call pulls them (`for await`), encoded by encodeMessages(). Backpressure both ways: push()
 * answers false once `highWaterMark` messages wait, and the producer stops reading its input
 * until the onDrain listener runs; the consumer pulls only as fast as the upstream's
 * flow-control window lets it write. So a stream holds at most `highWaterMark` messages here.
 */

interface Waiter {
  resolve(result: IteratorResult<Uint8Array>): void;
  reject(err: unknown): void;
}

const DONE: IteratorResult<Uint8Array> = Object.freeze({ done: true, value: undefined });

/** A push (producer) / pull (consumer) queue of one call's request messages. */
export class MessageSource implements AsyncIterableIterator<Uint8Array> {
  private readonly queue: Uint8Array[] = [];
  private ended = false;
  private failure: { err: unknown } | null = null;
  private waiter: Waiter | null = null;
  private needDrain = false;
  private drainListener: (() => void) | null = null;
  private cancelListener: (() => void) | null = null;
  /** The consumer stopped (the call ended): pushes are dropped. */
  cancelled = false;

  constructor(private readonly highWaterMark = 16) {}

  /** A source that holds `messages` and has ended (tests, bodies read whole). */
  static of(messages: readonly Uint8Array[]): MessageSource {
    const source = new MessageSource(Infinity);
    for (const m of messages) source.push(m);
    source.end();
    return source;
  }

  /** Producer: one message's JSON text. False when the queue is full: pause until onDrain. */
  push(message: Uint8Array): boolean {
    if (this.cancelled || this.ended) return true;
    const waiter = this.waiter;
    if (waiter !== null) {
      this.waiter = null;
      waiter.resolve({ done: false, value: message });
      return true;
    }
    this.queue.push(message);
    if (this.queue.length < this.highWaterMark) return true;
    this.needDrain = true;
    return false;
  }

  /** Producer: the input ended cleanly; the consumer half-closes after the queued messages. */
  end(): void {
    if (this.ended || this.cancelled) return;
    this.ended = true;
    if (this.waiter !== null && this.queue.length === 0) {
      const waiter = this.waiter;
      this.waiter = null;
      waiter.resolve(DONE);
    }
  }

  /** Producer: the input failed (a body cut short, a line too long): the next pull throws `err`. */
  fail(err: unknown): void {
    if (this.ended || this.cancelled) return;
    this.ended = true;
    this.failure = { err };
    this.queue.length = 0;
    if (this.waiter !== null) {
      const waiter = this.waiter;
      this.waiter = null;
      waiter.reject(err);
    }
  }

  /** Producer: the listener run when the queue has room again after push() returned false. */
  onDrain(listener: () => void): void {
    this.drainListener = listener;
  }

  /** Producer: the listener run once if the consumer stops early (stop reading the input). */
  onCancel(listener: () => void): void {
    this.cancelListener = listener;
  }

  /** Consumer: the next message, done after end(), rejected after fail(). */
  next(): Promise<IteratorResult<Uint8Array>> {
    if (this.queue.length > 0) {
      const value = this.queue.shift()!;
      if (this.needDrain && this.queue.length <= this.highWaterMark / 2) {
        this.needDrain = false;
        this.drainListener?.();
      }
      return Promise.resolve({ done: false, value });
    }
    if (this.failure !== null) return Promise.reject(this.failure.err);
    if (this.ended || this.cancelled) return Promise.resolve(DONE);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** Consumer: stops taking messages (for-await break, or the call ended). */
  return(): Promise<IteratorResult<Uint8Array>> {
    this.cancel();
    return Promise.resolve(DONE);
  }

  /** The consumer is done: queued messages are dropped and the producer told to stop. */
  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.queue.length = 0;
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.resolve(DONE);
    if (!this.ended) this.cancelListener?.();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
