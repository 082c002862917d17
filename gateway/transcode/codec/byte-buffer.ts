/**
 * A growable byte buffer, the base of the codecs' outputs (json-sink, wire-writer). Each
 * codec keeps one for the whole process and rewinds it per message: encoding and rendering
 * are synchronous, so two never share it at once, and no request allocates a buffer.
 */
const INITIAL_SIZE = 16 * 1024;
// A buffer grown past this by one large message is dropped afterwards, not kept for ever.
const KEPT_SIZE = 1024 * 1024;

export class ByteBuffer {
  buf: Buffer = Buffer.allocUnsafe(INITIAL_SIZE);
  pos = 0;

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Drops a buffer that one large message grew, once its content is no longer needed. */
  release(): void {
    if (this.buf.length > KEPT_SIZE) this.buf = Buffer.allocUnsafe(INITIAL_SIZE);
  }
}
