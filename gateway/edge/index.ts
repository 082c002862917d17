/** Who may pass: edge policies applied before the upstream call. */
export { createAuthorizer, type JwksFetcher } from './auth';
