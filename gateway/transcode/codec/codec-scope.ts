/**
 * What the direct codecs (json-to-binary, binary-to-json) handle, and how they give up.
 *
 * They cover plain proto3 messages, the common case on the hot path. Anything else met in
 * a given request or response — a well-known type with its own JSON form, a message from a
 * proto2 or editions file, data they do not fully understand — makes them throw BAIL, and
 * the plan falls back to @bufbuild/protobuf, which stays the canonical codec and the one
 * that words every error. The decision is per instance: a message type with a Timestamp
 * field takes the fast path whenever the Timestamp is absent.
 */
import type { DescEnum, DescMessage } from '@bufbuild/protobuf';
import { hasCustomJsonRepresentation } from '@bufbuild/protobuf/wkt';

/** Thrown (never as an Error: no stack is captured) when a direct codec hands over to protobuf-es. */
export const BAIL: unique symbol = Symbol('direct codec bail');

// google.protobuf.FeatureSet.Edition.EDITION_PROTO3.
const EDITION_PROTO3 = 999;

/**
 * True when instances of `desc` must go through protobuf-es: well-known types with a custom
 * JSON representation (Timestamp, Duration, Any, Struct, Value, ListValue, FieldMask,
 * wrappers), and messages outside proto3, whose presence and default rules differ.
 * google.protobuf.Empty has no custom form, so it is an ordinary message here.
 */
export function isOpaqueMessage(desc: DescMessage): boolean {
  return hasCustomJsonRepresentation(desc) || desc.file.edition !== EDITION_PROTO3;
}

/** True when enum values of `desc` need protobuf-es: closed enums and NullValue (JSON null). */
export function isOpaqueEnum(desc: DescEnum): boolean {
  return !desc.open || desc.typeName === 'google.protobuf.NullValue';
}

/** Recursion depth past which the direct codecs give up (protobuf-es allows 100, then errs). */
export const MAX_DEPTH = 64;
