/**
 * The lean gRPC transport: our own HTTP/2 client connection and HPACK. Other folders import
 * only this file; everything else here is internal (see README.md).
 */
export { createH2Transport, H2Transport, type H2TransportOptions } from './h2-transport';
export { encodeGrpcMessage } from './h2-metadata';
