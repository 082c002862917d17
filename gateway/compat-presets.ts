/**
 * `--compat grpc-gateway` and `--compat envoy`: option sets that make the gateway answer as a
 * grpc-gateway v2 deployment with its runtime defaults, or as Envoy's gRPC-JSON transcoder
 * with its defaults, would. A preset only changes defaults: options given in the config or on
 * the command line still win. Our own defaults (no preset) stay as they are; README
 * "Behaviour" lists where they depart and why.
 *
 * grpc-gateway (runtime/, v2): marshaler_registry.go's default JSONPb marshaler has
 * EmitUnpopulated and DiscardUnknown; query.go ignores parameters naming no field;
 * context.go passes permanent HTTP headers as `grpcgateway-<name>` metadata; handler.go
 * writes trailers under `Grpc-Trailer-`; streams are `{"result":…}` lines labelled with the
 * marshaler's `application/json`; generated handlers let path values win over body and query;
 * the `*` marshaler reads any content type as JSON; PATCH fills update_mask from the body.
 *
 * Envoy (grpc_json_transcoder): print_options all false (our JSON defaults); unknown query
 * parameters rejected (ignore_unknown_query_parameters: false); path bindings win; any
 * content type other than gRPC is transcoded as JSON; server streams are one JSON array; no
 * automatic field mask.
 */
import type { ConfigInput } from './config';

export type CompatPreset = 'none' | 'grpc-gateway' | 'envoy';

export const COMPAT_PRESETS: Readonly<Record<CompatPreset, ConfigInput>> = Object.freeze({
  none: {},
  'grpc-gateway': {
    json: { emitUnpopulated: true, ignoreUnknownFields: true, ignoreUnknownQueryParameters: true },
    trailerHeaderPrefix: 'Grpc-Trailer-',
    permanentHeaderPrefix: 'grpcgateway-',
    pathRepeats: 'path-wins',
    anyContentTypeAsJson: true,
    streamFormat: 'ndjson-json',
    patchFieldMask: true,
  },
  envoy: {
    json: { emitUnpopulated: false, ignoreUnknownFields: false, ignoreUnknownQueryParameters: false },
    pathRepeats: 'path-wins',
    anyContentTypeAsJson: true,
    streamFormat: 'json-array',
    patchFieldMask: false,
  },
});
