/** What the user and content services share. Import this folder, not its files. */
export { authenticate, authenticateService, requireCaller, requireOwnerOrAdmin } from './auth';
export { loadConfig, resolveConfig, type Config } from './config';
export { isUniqueViolation, openDatabase, openServiceDatabase, type Database, type Queryable, type Row } from './database';
export { methodPolicies, methodPolicy, type MethodPolicy } from './descriptors';
export { checkUpdateMask, updateMaskViolations } from './field-mask';
export { createIdGenerator } from './ids';
export { createJwksCache } from './jwks-cache';
export { createLogger, silentLogger, type Logger } from '../../shared-kit';
export { claimServiceResources } from './startup';
export { serviceMetrics, startMetricsServer, startServiceMetrics, type MetricsServer, type ServiceMetrics } from './metrics';
export type { Migration } from './migrations';
export { decodePageToken, encodePageToken, pageSize } from './page-token';
export { bindService, toServiceError, type CallContext, type Handlers, type RequestChecks } from './rpc-handler';
export { runningService, startGrpcServer, type RunningServer, type RunningService, type ServiceBinding } from './server';
export { decodeStatusDetails, invalidArgument, statusError, StatusError, STATUS_DETAILS_KEY, type DecodedStatus, type FieldViolation } from './status-error';
export { toTimestamp } from './timestamp';
export { checkId, checkRequired, INT64_MAX } from './validation';
export { createServiceTokenVerifier, SERVICE_AUDIENCE, SERVICE_ROLE, serviceSubject, type ServiceTokenVerifier } from './service-token';
export { withRevocation, type AccountLookup, type AccountState, type RevocationVerifier } from './revocation';
export { databaseStatus } from './database-errors';
export {
  createTokenVerifier,
  TOKEN_ALGORITHM,
  TOKEN_AUDIENCE,
  TOKEN_ISSUER,
  unauthenticated,
  type Caller,
  type RoleName,
  type TokenVerifier,
} from './token-verifier';
