/**
 * @bufbuild/protobuf's ScalarType values as plain module constants. The codecs switch on a
 * scalar type for every value they read or write, and the library's CommonJS build exports
 * ScalarType through a getter: looking it up in each `case` made a switch cost more than the
 * value itself.
 */
import { ScalarType } from '@bufbuild/protobuf';

export const DOUBLE = ScalarType.DOUBLE;
export const FLOAT = ScalarType.FLOAT;
export const INT64 = ScalarType.INT64;
export const UINT64 = ScalarType.UINT64;
export const INT32 = ScalarType.INT32;
export const FIXED64 = ScalarType.FIXED64;
export const FIXED32 = ScalarType.FIXED32;
export const BOOL = ScalarType.BOOL;
export const STRING = ScalarType.STRING;
export const BYTES = ScalarType.BYTES;
export const UINT32 = ScalarType.UINT32;
export const SFIXED32 = ScalarType.SFIXED32;
export const SFIXED64 = ScalarType.SFIXED64;
export const SINT32 = ScalarType.SINT32;
export const SINT64 = ScalarType.SINT64;
