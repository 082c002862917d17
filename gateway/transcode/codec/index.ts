/**
 * The direct codecs: parsed JSON -> protobuf bytes and protobuf bytes -> JSON text, compiled per
 * message type. Other folders import only this file; everything else here is internal (see README.md).
 */
export { JsonToBinary, type JsonSource } from './json-to-binary';
export { BinaryToJson } from './binary-to-json';
export { countJsonMembers, countValueMembers } from './json-members';
export { float32Text } from './float32-text';
export { int64TextProblem } from './int64-text';
