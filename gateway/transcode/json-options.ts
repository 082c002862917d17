/** Proto3 JSON mapping options, set once in the gateway config and shared by every route. */
export interface JsonOptions {
  /** Accept and drop JSON body fields the message does not have (default: 400 naming the field). */
  readonly ignoreUnknownFields: boolean;
  /** Accept and drop query parameters that name no field (default: 400). */
  readonly ignoreUnknownQueryParameters: boolean;
  /** Emit fields at their default value (0, "", [], false) instead of omitting them. */
  readonly emitUnpopulated: boolean;
  /** Emit proto field names (`display_name`) instead of lowerCamelCase JSON names. */
  readonly useProtoNames: boolean;
  /** Emit enum values as numbers instead of names. */
  readonly enumsAsNumbers: boolean;
}

export const DEFAULT_JSON_OPTIONS: JsonOptions = Object.freeze({
  ignoreUnknownFields: false,
  ignoreUnknownQueryParameters: false,
  emitUnpopulated: false,
  useProtoNames: false,
  enumsAsNumbers: false,
});
