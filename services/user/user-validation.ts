/**
 * What acme.user.v1's buf.validate rules cannot say (user.proto carries the rest: email format,
 * lengths, control characters, positive ids, page bounds), checked by bindService with the rules.
 * User is both what UpdateUser sends and what every method answers, so its rules apply only to
 * fields that are set; whether a field must be set depends on update_mask, which no field rule sees.
 */
import { checkId, checkRequired, updateMaskViolations, type RequestChecks } from '../kit';
import { Role, type UserServiceService } from '../../gen/acme/user/v1/user';

/** The paths UpdateUser may change. */
export const UPDATABLE = ['display_name', 'email', 'role'] as const;

export const userChecks: RequestChecks<typeof UserServiceService> = {
  updateUser(req) {
    const paths: readonly string[] = req.updateMask ?? [];
    const user = req.user;
    return [
      // An absent mask or user is the rules' `required`.
      ...(req.updateMask ? updateMaskViolations(paths, UPDATABLE) : []),
      ...(user ? checkId('user.id', user.id) : []), // User.id is output-only elsewhere: 0 is fine in answers
      ...(user && paths.includes('email') ? checkRequired('user.email', user.email) : []),
      ...(user && paths.includes('display_name') ? checkRequired('user.display_name', user.displayName) : []),
      ...(user && paths.includes('role') && user.role === Role.ROLE_UNSPECIFIED
        ? [{ field: 'user.role', description: 'must be ROLE_USER or ROLE_ADMIN' }]
        : []),
    ];
  },
};
