/** The user service as the aggregation endpoints read it: one account by id (UserService/GetUser). */
import { create, type DescMessage, type Message } from '@bufbuild/protobuf';
import type { Call } from '../pipeline';
import { GatewayError } from '../transcode';
import type { PartScope, UpstreamRpc, UpstreamRpcs } from './upstream-rpc';

export const USER_SERVICE = 'acme.user.v1.UserService';

export class Users {
  private readonly getUser: UpstreamRpc;
  /** acme.user.v1.User, as the descriptor set has it. */
  readonly user: DescMessage;

  constructor(rpcs: UpstreamRpcs) {
    this.getUser = rpcs(USER_SERVICE, 'GetUser');
    const field = this.getUser.output.fields.find((f) => f.name === 'user');
    if (field?.fieldKind !== 'message') throw new Error(`${USER_SERVICE}/GetUser answers no user message`);
    this.user = field.message;
  }

  /** The account `id` (an acme.user.v1.User), read with the caller's authorization. */
  async get(call: Call, id: bigint, scope: PartScope): Promise<Message> {
    const response = (await this.getUser.call(call, create(this.getUser.input, { id }), scope)) as Message & { user?: Message };
    if (response.user === undefined) throw new GatewayError('BAD_UPSTREAM_RESPONSE', `${USER_SERVICE}/GetUser answered without a user`);
    return response.user;
  }
}
