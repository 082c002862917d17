/** Which request content types a JSON route accepts (415 otherwise). */

/** True for application/json, any `+json` type, and NDJSON, ignoring parameters. */
export function isJsonContentType(header: string | undefined): boolean {
  if (header === undefined) return true; // a body without a type is read as JSON, as grpc-gateway does
  const semi = header.indexOf(';');
  const type = (semi === -1 ? header : header.slice(0, semi)).trim().toLowerCase();
  return type === 'application/json' || type.endsWith('+json') || type === 'application/x-ndjson' || type === '';
}
