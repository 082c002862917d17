/**
 * The one spelling of a gRPC status code in metric labels, for the gateway and the services:
 * go-grpc-prometheus's (Go's `codes.Code.String()`: `OK`, `NotFound`, `Unauthenticated`…),
 * because `grpc_server_handled_total{grpc_code}` is that library's metric and the dashboards
 * and alert rules written for it (`grpc_code!="OK"`) read these values. A code outside 0-16
 * is `Code(N)`, as in Go. https://github.com/grpc/grpc-go/blob/master/codes/code_string.go
 */
const NAMES: readonly string[] = [
  'OK',
  'Canceled',
  'Unknown',
  'InvalidArgument',
  'DeadlineExceeded',
  'NotFound',
  'AlreadyExists',
  'PermissionDenied',
  'ResourceExhausted',
  'FailedPrecondition',
  'Aborted',
  'OutOfRange',
  'Unimplemented',
  'Internal',
  'Unavailable',
  'DataLoss',
  'Unauthenticated',
];

/** `NotFound` for 5, `Code(42)` for a code gRPC does not define. */
export function grpcCodeName(code: number): string {
  return NAMES[code] ?? `Code(${code})`;
}
