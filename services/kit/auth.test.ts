import { Metadata, status } from '@grpc/grpc-js';
import { authenticate, authenticateService } from './auth';
import { methodPolicy } from './descriptors';
import type { Caller, TokenVerifier } from './token-verifier';

const verifyAs =
  (caller: Caller): TokenVerifier =>
  async (token) => {
    if (token !== 'good') throw Object.assign(new Error('bad'), { code: status.UNAUTHENTICATED });
    return caller;
  };
const withAuth = (value?: string) => {
  const md = new Metadata();
  if (value !== undefined) md.set('authorization', value);
  return md;
};
const user: Caller = { userId: 1n, role: 'user', tokenVersion: 1 };

describe('authenticate', () => {
  it('reads policies from the descriptors', () => {
    expect(methodPolicy('/acme.user.v1.UserService/Login').public).toBe(true);
    expect(methodPolicy('/acme.user.v1.UserService/GetUser').public).toBe(false);
    expect(() => methodPolicy('/acme.nope.v1.Nope/Nope')).toThrow('no descriptor');
  });

  it.each([
    ['a public method without token', { public: true, roles: [] }, undefined, undefined],
    ['a verified token', { public: false, roles: [] }, 'Bearer good', user],
    ['a token with a required role', { public: false, roles: ['user'] }, 'Bearer good', user],
  ])('accepts %s', async (_what, policy, header, expected) => {
    await expect(authenticate(withAuth(header), policy, verifyAs(user))).resolves.toEqual(expected);
  });

  it.each([
    ['a missing token', { public: false, roles: [] }, undefined, status.UNAUTHENTICATED],
    ['a bad token on a public method', { public: true, roles: [] }, 'Bearer bad', status.UNAUTHENTICATED],
    ['a non-bearer scheme', { public: false, roles: [] }, 'Basic abc', status.UNAUTHENTICATED],
    ['a caller lacking the role', { public: false, roles: ['admin'] }, 'Bearer good', status.PERMISSION_DENIED],
  ])('rejects %s', async (_what, policy, header, code) => {
    await expect(authenticate(withAuth(header), policy, verifyAs(user))).rejects.toMatchObject({ code });
  });
});

describe('authenticateService', () => {
  const verifyService = async (token: string) => {
    if (token !== 'svc') throw Object.assign(new Error('bad'), { code: status.UNAUTHENTICATED });
    return 'user';
  };

  it('reads the services-only policy from the descriptors', () => {
    expect(methodPolicy('/acme.content.v1.ContentService/WatchPostEvents').roles).toEqual(['service']);
  });

  it('resolves the calling service from its credential', async () => {
    await expect(authenticateService(withAuth('Bearer svc'), verifyService)).resolves.toBe('user');
  });

  it.each([
    ['no token', undefined, verifyService],
    ['a token the verifier refuses', 'Bearer good', verifyService],
    ['no verifier configured', 'Bearer svc', undefined],
  ])('refuses %s', async (_what, header, verify) => {
    await expect(authenticateService(withAuth(header), verify)).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
  });
});
