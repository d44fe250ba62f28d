// What every test of the deployment descriptions shares: YAML read as
// Kubernetes reads it, lookups in rendered objects, and the renders of k8s/
// (base and every overlay) by the real kustomize, made once per test file.
import type { ExecutionContext, TestFn } from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { APP_IDS } from '../../../packages/shared/src/access.js';

// Parsed YAML: deliberately loose, every access is checked by an assertion.
export type J = any;

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const rel = (...parts: string[]) => path.join(root, ...parts);
export const APPS = APP_IDS;
export type App = (typeof APPS)[number];

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function run(
  command: string,
  args: string[],
  options: { input?: string; cwd?: string; echoStderr?: boolean } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? root,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (options.echoStderr) process.stderr.write(d);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    feed(child.stdin, options.input);
  });
}

/**
 * Writes a command's input. A command may exit without reading it (a cached
 * build script, a kubectl refusing its flags): the write then fails with
 * EPIPE, which says nothing its exit code and stderr do not.
 */
export function feed(stdin: Writable | null, input: string | undefined): void {
  if (!stdin || input === undefined) return;
  stdin.on('error', () => undefined);
  stdin.end(input);
}

/** YAML as Kubernetes reads it (YAML 1.1: yes/no/on/off are booleans), duplicate keys refused. */
export function parseYaml(text: string, where: string): J[] {
  const docs: J[] = [];
  for (const doc of parseAllDocuments(text, { version: '1.1', uniqueKeys: true })) {
    if (doc.errors.length > 0) throw new Error(`${where}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS();
    if (value !== null && value !== undefined) docs.push(value);
  }
  return docs;
}

export const readYaml = (file: string): J[] => parseYaml(readFileSync(rel(file), 'utf8'), file);
export const isDapr = (doc: J) => typeof doc.apiVersion === 'string' && doc.apiVersion.startsWith('dapr.io/');
export const describe = (doc: J) => `${doc.kind}/${doc.metadata?.name}`;
export const byKind = (docs: J[], kind: string): J[] => docs.filter((d) => d.kind === kind);
export const one = (docs: J[], kind: string, name: string): J => {
  const found = docs.filter((d) => d.kind === kind && d.metadata?.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind}/${name}, found ${found.length}`);
  return found[0];
};
export const deploymentOf = (docs: J[], app: string): J => {
  const found = byKind(docs, 'Deployment').filter((d) => d.spec?.template?.metadata?.annotations?.['dapr.io/app-id'] === app);
  if (found.length !== 1) throw new Error(`expected one Deployment with dapr.io/app-id ${app}, found ${found.length}`);
  return found[0];
};
export const appContainer = (deployment: J): J => {
  const containers: J[] = deployment.spec.template.spec.containers;
  const port = Number(deployment.spec.template.metadata.annotations['dapr.io/app-port']);
  const found = containers.filter((c) => (c.ports ?? []).some((p: J) => p.containerPort === port));
  if (found.length !== 1) throw new Error(`${describe(deployment)}: expected one container listening on the app port ${port}`);
  return found[0];
};
export const labelsMatch = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined) =>
  Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);
export const sameSet = (t: ExecutionContext, actual: Iterable<string>, expected: Iterable<string>, message: string) =>
  t.deepEqual([...new Set(actual)].sort(), [...new Set(expected)].sort(), message);

/** "app=a,b;app2=c" (Dapr's publishingScopes / subscriptionScopes) as a map of sets. */
export function parseTopicScopes(value: string | undefined): Map<string, Set<string>> {
  const scopes = new Map<string, Set<string>>();
  for (const part of (value ?? '').split(';')) {
    const [app, topics] = part.split('=').map((s) => s.trim());
    if (!app) continue;
    scopes.set(
      app,
      new Set(
        (topics ?? '')
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      ),
    );
  }
  return scopes;
}
export const metadataValue = (component: J, name: string): J => (component.spec.metadata ?? []).find((m: J) => m.name === name)?.value;

/** The Kubernetes namespace the Dapr apps of a render run in. */
export const namespaceOf = (docs: J[]): string => deploymentOf(docs, 'gateway').metadata.namespace;

// ---------------------------------------------------------------- tools and renders

export interface Render {
  name: string;
  dir: string;
  docs: J[];
}

/** Builds (once per machine, cached) and finds one of the Go tools of k8s/tools. */
export async function installTool(name: 'kustomize' | 'kubevalidate' | 'aclcheck'): Promise<string> {
  const script = name === 'kustomize' ? 'k8s/tools/install-kustomize.sh' : 'k8s/tools/install.sh';
  const result = await run('bash', name === 'kustomize' ? [script] : [script, name], { echoStderr: true });
  if (result.code !== 0) throw new Error(`${script} ${name} failed (${result.code})`);
  const bin = result.stdout.trim().split('\n').pop() ?? '';
  if (!existsSync(bin)) throw new Error(`${script} printed ${bin}, which does not exist`);
  return bin;
}

export async function kustomizeBuild(dir: string): Promise<J[]> {
  const result = await run(kustomize, ['build', dir]);
  if (result.code !== 0) throw new Error(`kustomize build ${dir} failed:\n${result.stderr}`);
  return parseYaml(result.stdout, `kustomize build ${dir}`);
}

let kustomize: string;
/** k8s/base and every overlay, as kustomize renders them (set by useManifests). */
export let renders: Render[];
/** k8s/secrets.example.yaml (set by useManifests). */
export let example: J[];

/** Renders k8s/ before the tests of a file run. */
export function useManifests(test: TestFn): void {
  test.before(async (t) => {
    // The first run on a machine compiles the Go tools: allow for it.
    t.timeout(30 * 60_000, 'building kustomize');
    kustomize = await installTool('kustomize');
    const overlays = readdirSync(rel('k8s/overlays'), { withFileTypes: true }).filter((d) => d.isDirectory());
    const targets = [{ name: 'base', dir: 'k8s/base' }, ...overlays.map((d) => ({ name: d.name, dir: `k8s/overlays/${d.name}` }))];
    const rendered: Render[] = [];
    for (const target of targets) rendered.push({ ...target, docs: await kustomizeBuild(target.dir) });
    renders = rendered;
    example = readYaml('k8s/secrets.example.yaml');
  });
}
