#!/usr/bin/env node
// Copies the googleapis protos our contracts import from the `google-proto-files`
// npm package into .proto-deps/ (git-ignored), where buf.yaml reads them as a module.
// The Buf Schema Registry is out of reach, and copying by hand would let them drift.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const FILES = [
  'google/api/annotations.proto',
  'google/api/http.proto',
  'google/api/field_behavior.proto',
  'google/api/httpbody.proto',
  'google/rpc/code.proto',
  'google/rpc/status.proto',
  'google/rpc/error_details.proto',
];

const root = path.resolve(__dirname, '..');
const src = path.dirname(require.resolve('google-proto-files/package.json', { paths: [root] }));
const out = path.join(root, '.proto-deps');

for (const file of FILES) {
  const to = path.join(out, file);
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(path.join(src, file), to);
}
