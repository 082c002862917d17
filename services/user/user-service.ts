/** RPC handlers of acme.user.v1.UserService; behaviour follows the comments in user.proto. */
import { status } from '@grpc/grpc-js';
import {
  checkUpdateMask,
  decodePageToken,
  encodePageToken,
  pageSize,
  requireCaller,
  requireOwnerOrAdmin,
  statusError,
  toTimestamp,
  unauthenticated,
  type Caller,
  type Handlers,
  type RoleName,
} from '../kit';
import { Role, type User, type UserServiceService } from '../../gen/acme/user/v1/user';
import { dummyPasswordHash, type PasswordHasher } from './password';
import { issueAccessToken, type SigningKey } from './signing-key';
import { EMAIL_TAKEN, type UserChanges, type UserRecord, type UserStore } from './user-store';
import { UPDATABLE } from './user-validation';

export interface UserServiceDeps {
  store: UserStore;
  key: SigningKey;
  nextId: () => bigint;
  /** Lower-cased addresses that sign up as admins while no admin exists. */
  adminEmails: readonly string[];
  tokenTtlSeconds: number;
  /** scrypt within a cap on concurrent hashes (sign-up, login). */
  passwords: PasswordHasher;
  /** Drops an account's cached state after a change, so this service refuses its old tokens at once. */
  forgetAccount: (id: bigint) => void;
}

const LIST_DEFAULT = 50;
const LIST_MAX = 100;

/** The handlers, to be bound with kit's bindService with `userChecks`: requests arrive validated. */
export function userHandlers(deps: UserServiceDeps): Handlers<typeof UserServiceService> {
  const { store } = deps;

  const mustGet = async (id: bigint): Promise<UserRecord> => {
    const user = await store.get(id);
    if (!user) throw statusError(status.NOT_FOUND, `user ${id} not found`, { reason: 'USER_NOT_FOUND' });
    return user;
  };

  return {
    async createUser(req) {
      const email = req.email.trim();
      const now = new Date();
      const created = await store.insert({
        id: deps.nextId(),
        email,
        displayName: req.displayName.trim(),
        bootstrapAdmin: deps.adminEmails.includes(email.toLowerCase()),
        passwordHash: await deps.passwords.hash(req.password),
        createTime: now,
        updateTime: now,
      });
      if (created === EMAIL_TAKEN) throw emailTaken();
      return { user: toUser(created, undefined) };
    },

    async getUser(req, { caller }) {
      return { user: toUser(await mustGet(req.id), requireCaller(caller)) };
    },

    async listUsers(req, { caller }) {
      const limit = pageSize(req.pageSize, LIST_DEFAULT, LIST_MAX);
      const after = decodePageToken(req.pageToken);
      const { users, more } = await store.list(after, limit);
      const last = users[users.length - 1];
      return {
        users: users.map((u) => toUser(u, requireCaller(caller))),
        nextPageToken: more && last ? encodePageToken(last.id) : '',
      };
    },

    async updateUser(req, { caller: maybeCaller }) {
      const caller = requireCaller(maybeCaller);
      const paths = checkUpdateMask(req.updateMask, UPDATABLE);
      const patch = req.user!;
      requireOwnerOrAdmin(caller, patch.id, 'change this account');
      if (paths.has('role') && caller.role !== 'admin') {
        throw statusError(status.PERMISSION_DENIED, 'only admins may change roles', { reason: 'ROLE_REQUIRED' });
      }
      const changes: UserChanges = {};
      if (paths.has('email')) changes.email = patch.email.trim();
      if (paths.has('display_name')) changes.displayName = patch.displayName.trim();
      if (paths.has('role')) changes.role = patch.role;
      const updated = await store.update(patch.id, changes, new Date());
      deps.forgetAccount(patch.id);
      if (updated === EMAIL_TAKEN) throw emailTaken();
      if (!updated) throw statusError(status.NOT_FOUND, `user ${patch.id} not found`, { reason: 'USER_NOT_FOUND' });
      return { user: toUser(updated, caller) };
    },

    async deleteUser(req, { caller }) {
      requireOwnerOrAdmin(requireCaller(caller), req.id, 'delete this account');
      const deleted = await store.delete(req.id);
      deps.forgetAccount(req.id);
      if (!deleted) throw statusError(status.NOT_FOUND, `user ${req.id} not found`, { reason: 'USER_NOT_FOUND' });
      return {};
    },

    async login(req) {
      const user = await store.getByEmail(req.email.trim());
      // Verify against a dummy hash for unknown emails so both failures take the same time.
      const ok = await deps.passwords.verify(req.password, user?.passwordHash ?? (await dummyPasswordHash));
      if (!user || !ok) throw unauthenticated('invalid email or password', 'BAD_CREDENTIALS');
      const { token, expiresAt } = await issueAccessToken(deps.key, user.id, roleName(user.role), user.tokenVersion, deps.tokenTtlSeconds);
      return { accessToken: token, tokenType: 'Bearer', expireTime: toTimestamp(expiresAt), user: toUser(user, undefined) };
    },

    async checkAccessToken(_req, { caller }) {
      // Reaching here means bindService's verifier accepted the token against the stored account.
      const me = requireCaller(caller);
      return { userId: me.userId, role: me.role === 'admin' ? Role.ROLE_ADMIN : Role.ROLE_USER, tokenVersion: BigInt(me.tokenVersion) };
    },

    async getJwks() {
      const { kty = '', crv = '', x = '', kid = '', alg = '', use = '' } = deps.key.publicJwk;
      return { keys: [{ kty, crv, x, kid, alg, use }] };
    },
  };
}

/** The role claim for a stored role. */
export function roleName(role: Role): RoleName {
  return role === Role.ROLE_ADMIN ? 'admin' : 'user';
}

/**
 * The wire form of an account. The email is shown to the account itself and to admins;
 * `viewer` undefined means the account itself is the audience (sign-up, login).
 */
function toUser(user: UserRecord, viewer: Caller | undefined): User {
  const showEmail = !viewer || viewer.role === 'admin' || viewer.userId === user.id;
  return {
    id: user.id,
    email: showEmail ? user.email : '',
    displayName: user.displayName,
    role: user.role,
    createTime: toTimestamp(user.createTime),
    updateTime: toTimestamp(user.updateTime),
    postCount: user.postCount,
    publishedPostCount: user.publishedPostCount,
  };
}

function emailTaken() {
  return statusError(status.ALREADY_EXISTS, 'email is already in use', { reason: 'EMAIL_TAKEN' });
}
