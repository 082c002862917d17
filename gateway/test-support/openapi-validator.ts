/**
 * Validates an OpenAPI document with @seriousme/openapi-schema-validator (the OpenAPI
 * Initiative's JSON Schemas for 2.0 to 3.2). The package is ESM-only and jest runs CommonJS,
 * so it runs in a child node process that reads the document on stdin.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

const SCRIPT = `
import { Validator } from '@seriousme/openapi-schema-validator';
let text = '';
for await (const chunk of process.stdin) text += chunk;
const validator = new Validator();
const result = await validator.validate(JSON.parse(text));
process.stdout.write(JSON.stringify({ valid: result.valid, version: validator.version, errors: result.errors ?? [] }));
`;

export interface SpecValidation {
  readonly valid: boolean;
  readonly version: string;
  readonly errors: ReadonlyArray<{ instancePath: string; message: string }>;
}

/** Validates `document` against the OpenAPI specification's schema for its version. */
export function validateOpenApiSpec(document: unknown): Promise<SpecValidation> {
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, ['--input-type=module', '-e', SCRIPT], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`openapi validator failed: ${stderr || err.message}`));
      else resolve(JSON.parse(stdout) as SpecValidation);
    });
    child.stdin!.end(JSON.stringify(document));
  });
}
