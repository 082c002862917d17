/**
 * `npm run openapi -- [gateway flags] [--out openapi.json|openapi.yaml]`: writes the OpenAPI
 * document the gateway would serve with the same flags (or --config file), without
 * starting it, for client generators and API tooling. `.yaml` writes YAML; the default is
 * openapi.json in the working directory. With no --upstream, every service of the
 * descriptor set is documented (our own: user and content).
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { ConfigError, configFromArgs, resolveConfig } from '../gateway/config';
import { openApiForConfig, renderOpenApi } from '../gateway/openapi';

function main(argv: string[]): void {
  let out = 'openapi.json';
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out') out = argv[++i] ?? out;
    else if (argv[i].startsWith('--out=')) out = argv[i].slice(6);
    else rest.push(argv[i]);
  }
  let config = configFromArgs(rest, {});
  if (Object.keys(config.upstreams).length === 0) {
    // Documentation needs no live upstream: name our services with a placeholder address.
    config = resolveConfig({ ...config, upstreams: { 'acme.user.v1': 'unused:1', 'acme.content.v1': 'unused:1' } });
  }
  const document = openApiForConfig(config);
  writeFileSync(out, renderOpenApi(document, out.endsWith('.yaml') || out.endsWith('.yml') ? 'yaml' : 'json'));
  console.log(`openapi: wrote ${path.resolve(out)} (${Object.keys(document.paths).length} paths)`);
}

try {
  main(process.argv.slice(2));
} catch (err) {
  console.error(`openapi: ${(err as Error).message}`);
  process.exit(err instanceof ConfigError ? 2 : 1);
}
