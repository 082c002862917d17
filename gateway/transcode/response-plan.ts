/**
 * Renders one route's upstream response: proto3 JSON of the whole message or of its
 * `response_body` field, or raw bytes for google.api.HttpBody.
 *
 * JSON is written straight from the bytes by a writer compiled at start-up (binary-to-json);
 * what it leaves alone (well-known types, unusual wire data) goes through @bufbuild/protobuf,
 * which also words every error.
 */
import { fromBinary, type DescField, type DescMessage, type JsonValue, type Registry } from '@bufbuild/protobuf';
import { BinaryToJson } from './codec';
import { GatewayError } from './errors';
import { resolveFieldPath } from './field-path';
import type { JsonOptions } from './json-options';
import { protoJson } from './proto-json';
import { HTTP_BODY_TYPE, PlanError } from './request-plan';

/** A rendered response body. */
export interface RenderedBody {
  readonly contentType: string;
  readonly body: string | Uint8Array;
}

const JSON_TYPE = 'application/json';

/** The response side of one compiled route. */
export class ResponsePlan {
  private readonly field: DescField | undefined;
  private readonly httpBody: boolean;
  private readonly writeOptions: { alwaysEmitImplicit: boolean; enumAsInteger: boolean; useProtoFieldName: boolean; registry: Registry };
  private readonly pickOptions: { alwaysEmitImplicit: true; enumAsInteger: boolean; useProtoFieldName: boolean; registry: Registry };
  private readonly key: string;
  private readonly direct: BinaryToJson | undefined;

  constructor(
    readonly output: DescMessage,
    responseBody: string,
    registry: Registry,
    options: JsonOptions,
  ) {
    if (responseBody) {
      try {
        this.field = resolveFieldPath(output, [responseBody]).leaf;
      } catch (err) {
        throw new PlanError(`response_body "${responseBody}": ${(err as Error).message}`);
      }
    }
    const target = this.field;
    this.httpBody = target ? target.fieldKind === 'message' && target.message.typeName === HTTP_BODY_TYPE : output.typeName === HTTP_BODY_TYPE;
    this.writeOptions = {
      alwaysEmitImplicit: options.emitUnpopulated,
      enumAsInteger: options.enumsAsNumbers,
      useProtoFieldName: options.useProtoNames,
      registry,
    };
    this.pickOptions = { ...this.writeOptions, alwaysEmitImplicit: true };
    this.key = target ? (options.useProtoNames ? target.name : target.jsonName) : '';
    const direct = this.httpBody ? undefined : new BinaryToJson(output, options, target);
    this.direct = direct?.usable ? direct : undefined;
  }

  /** The response_body field the answer is made of, or undefined for the whole message. */
  get bodyField(): DescField | undefined {
    return this.field;
  }

  /** True when the answer is raw bytes with their own content type. */
  get raw(): boolean {
    return this.httpBody;
  }

  /** Decodes upstream bytes and renders the HTTP body. */
  render(bytes: Uint8Array): RenderedBody {
    const text = this.direct?.render(bytes);
    if (text !== undefined) return { contentType: JSON_TYPE, body: text };
    return this.renderCanonical(bytes);
  }

  /**
   * `render` for a body written out at once: JSON from the direct codec comes as UTF-8 bytes in
   * the codec's shared buffer, valid only until the next render (the unary writer copies it into
   * the answer straight away), so no string is made for it.
   */
  renderNow(bytes: Uint8Array): RenderedBody {
    const json = this.direct?.renderBytes(bytes);
    if (json !== undefined) return { contentType: JSON_TYPE, body: json };
    return this.renderCanonical(bytes);
  }

  /** The @bufbuild/protobuf path: message objects, then toJson. */
  private renderCanonical(bytes: Uint8Array): RenderedBody {
    let message;
    try {
      message = fromBinary(this.output, bytes);
    } catch {
      throw new GatewayError('BAD_UPSTREAM_RESPONSE', `upstream sent an undecodable ${this.output.typeName}`);
    }
    if (this.httpBody) {
      const http = (this.field ? (message as Record<string, unknown>)[this.field.localName] : message) as { contentType: string; data: Uint8Array } | undefined;
      return { contentType: http?.contentType || 'application/octet-stream', body: http?.data ?? new Uint8Array(0) };
    }
    if (!this.field) return { contentType: JSON_TYPE, body: JSON.stringify(protoJson(this.output, message, this.writeOptions)) };
    // The picked field is rendered with the configured options; only when it is unset does the
    // answer fall back to its zero value (rendering with alwaysEmitImplicit, which would
    // otherwise leak into the picked field's own sub-fields).
    const whole = protoJson(this.output, message, this.writeOptions) as Record<string, JsonValue>;
    let picked = whole[this.key];
    if (picked === undefined) picked = (protoJson(this.output, message, this.pickOptions) as Record<string, JsonValue>)[this.key];
    return { contentType: JSON_TYPE, body: JSON.stringify(picked === undefined || picked === null ? {} : picked) };
  }
}
