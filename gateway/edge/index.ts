/** Who may pass: edge policies applied before the upstream call. */
export { authInterceptor, createAuthorizer, type Authorize, type JwksFetcher } from './auth';
export { validationInterceptor } from './request-validation';
