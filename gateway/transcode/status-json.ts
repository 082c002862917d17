/**
 * Renders a failure as a google.rpc.Status in proto3 JSON: `{code, message, details}`,
 * the body of every error response. Upstream details (grpc-status-details-bin) are decoded
 * with the descriptor registry into JSON `Any`s (`@type` plus fields); a detail whose type
 * the registry does not know keeps its bytes as `{"@type", "value": base64}`.
 */
import { create, fromBinary, toJson, type JsonObject, type Registry } from '@bufbuild/protobuf';
import { AnySchema } from '@bufbuild/protobuf/wkt';
import { BinaryReader } from '@bufbuild/protobuf/wire';
import { Code, GATEWAY_DOMAIN, type GatewayError } from './errors';

/** google.rpc.Status as JSON. */
export interface StatusJson {
  code: number;
  message: string;
  details: JsonObject[];
}

const TYPE_PREFIX = 'type.googleapis.com/';

/** The Status body for an error the gateway raised itself. */
export function gatewayStatusJson(err: GatewayError): StatusJson {
  const details: JsonObject[] = [{ '@type': `${TYPE_PREFIX}google.rpc.ErrorInfo`, reason: err.reason, domain: GATEWAY_DOMAIN, metadata: { ...err.metadata } }];
  if (err.violations.length > 0) {
    details.push({
      '@type': `${TYPE_PREFIX}google.rpc.BadRequest`,
      fieldViolations: err.violations.map((v) => ({ field: v.field, description: v.description })),
    });
  }
  return { code: err.code, message: err.message, details };
}

/** The Status body for an upstream status, decoding its rich details when present. */
export function upstreamStatusJson(code: number, message: string, detailsBin: Uint8Array | undefined, registry: Registry): StatusJson {
  if (!detailsBin || detailsBin.length === 0) return { code, message, details: [] };
  let decoded: { code: number; message: string; details: Array<{ typeUrl: string; value: Uint8Array }> };
  try {
    decoded = decodeStatus(detailsBin);
  } catch {
    // Unreadable details must not hide the status itself.
    return { code, message, details: [] };
  }
  // The grpc-status trailer is authoritative; grpc-status-details-bin only adds details.
  return { code, message: message || decoded.message, details: decoded.details.map((d) => anyToJson(d.typeUrl, d.value, registry)) };
}

/** Plain Status for code and message, no details. */
export function plainStatusJson(code: number, message: string): StatusJson {
  return { code, message, details: [] };
}

function anyToJson(typeUrl: string, value: Uint8Array, registry: Registry): JsonObject {
  const typeName = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
  if (registry.getMessage(typeName)) {
    try {
      // `@type` first, as every other gateway prints it.
      return { '@type': typeUrl, ...(toJson(AnySchema, create(AnySchema, { typeUrl, value }), { registry }) as JsonObject) };
    } catch {
      // Bytes that do not parse as the named type fall through to the opaque form.
    }
  }
  return { '@type': typeUrl, value: Buffer.from(value).toString('base64') };
}

/**
 * Reads google.rpc.Status {1: int32 code, 2: string message, 3: repeated Any details}
 * straight off the wire, so details decode even when a descriptor set lacks google/rpc.
 */
function decodeStatus(bytes: Uint8Array): { code: number; message: string; details: Array<{ typeUrl: string; value: Uint8Array }> } {
  const reader = new BinaryReader(bytes);
  const out = { code: Code.UNKNOWN as number, message: '', details: [] as Array<{ typeUrl: string; value: Uint8Array }> };
  while (reader.pos < reader.len) {
    const [field, wire] = reader.tag();
    if (field === 1 && wire === 0) out.code = reader.int32();
    else if (field === 2 && wire === 2) out.message = reader.string();
    else if (field === 3 && wire === 2) {
      const any = fromBinary(AnySchema, reader.bytes());
      out.details.push({ typeUrl: any.typeUrl, value: any.value });
    } else reader.skip(wire);
  }
  return out;
}
