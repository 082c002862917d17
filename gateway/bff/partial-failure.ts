/**
 * A missing part of an aggregated answer as an `acme.bff.v1.PartialFailure`: the part's name
 * and the google.rpc.Status its failure would have had as an error response: a gateway
 * failure (CIRCUIT_OPEN, UPSTREAM_UNAVAILABLE, DEADLINE_EXCEEDED…) with its ErrorInfo, a
 * service's status with its own details. Built from the same JSON renderers as error
 * responses (transcode/status-json.ts), so a client reads both alike.
 */
import { create, fromJson, type DescMessage, type JsonObject, type Message, type Registry } from '@bufbuild/protobuf';
import { GatewayError, gatewayStatusJson, upstreamStatusJson, type StatusJson } from '../transcode';
import { CallError } from '../upstream/transport';

interface Log {
  error(obj: object, msg: string): void;
}

/** Makes PartialFailure messages; the types come from the descriptor set, resolved once. */
export class PartialFailures {
  private readonly failure: DescMessage;
  private readonly status: DescMessage;

  constructor(
    private readonly registry: Registry,
    private readonly log: Log,
  ) {
    this.failure = need(registry, 'acme.bff.v1.PartialFailure');
    this.status = need(registry, 'google.rpc.Status');
  }

  /** The PartialFailure for `part`, failed with `err`. */
  of(part: string, err: unknown): Message {
    return create(this.failure, { part, status: fromJson(this.status, this.statusJson(err) as unknown as JsonObject, { registry: this.registry }) });
  }

  private statusJson(err: unknown): StatusJson {
    if (err instanceof GatewayError) return gatewayStatusJson(err);
    if (err instanceof CallError) return upstreamStatusJson(err.status.code, err.status.message, err.status.details, this.registry);
    // Anything else is a bug: its words stay in the log, as for an error response.
    this.log.error({ err }, 'a part of a local answer failed unexpectedly');
    return gatewayStatusJson(new GatewayError('INTERNAL', 'internal error'));
  }
}

function need(registry: Registry, typeName: string): DescMessage {
  const desc = registry.getMessage(typeName);
  if (desc === undefined) throw new Error(`the descriptor set has no ${typeName}`);
  return desc;
}
