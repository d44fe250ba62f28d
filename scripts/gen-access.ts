// Writes Dapr's access control (and the sidecars' metrics path patterns) from
// the one list of who may call which route, packages/shared/src/access.ts:
//
//   npm run gen:access            # rewrite the generated parts in place
//   npm run gen:access -- --check # exit 1 if a checked-in file differs
//
// Only spec.accessControl.policies and spec.metrics.http.pathMatching are
// rewritten; everything else in the files (and their comments) stays as is.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMap, isSeq, parse, parseAllDocuments, type Document } from 'yaml';
import { APP_IDS, aclOperations, callersOfApp, metricsPathMatching, type AppId } from '../packages/shared/src/access.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const KUBERNETES_FILE = 'k8s/base/dapr/configurations.yaml';
export const LOCAL_FILE = 'dapr/config.yaml';
/** Local sidecars run in namespace "default" (scripts/lib/sidecar.ts daprdEnv). */
const LOCAL_NAMESPACE = 'default';

/** The policies of a callee's Configuration: one per caller, naming its namespace and trust domain. */
function setPolicies(doc: Document, callees: readonly AppId[], namespace: string): void {
  const trustDomain = doc.getIn(['spec', 'accessControl', 'trustDomain']) as string | undefined;
  if (trustDomain === undefined) throw new Error('a Configuration without spec.accessControl.trustDomain');
  const callers = callersOfApp(callees);
  if (callers.length === 0) {
    doc.deleteIn(['spec', 'accessControl', 'policies']);
    return;
  }
  const policies = callers.map((caller) => {
    const operations = aclOperations(caller, callees);
    return {
      policy: { appId: caller, defaultAction: 'deny', trustDomain, namespace, operations: operations.map(({ routes: _, ...op }) => op) },
      comments: operations.map((op) => op.routes.join('; ')),
    };
  });
  const node = doc.createNode(policies.map((p) => p.policy));
  policies.forEach(({ comments }, i) => {
    const operations = node.items[i]!.get('operations', true);
    if (!isSeq(operations)) throw new Error('operations is a sequence');
    operations.items.forEach((op, j) => {
      if (!isMap(op)) throw new Error('an operation is a map');
      op.commentBefore = ` ${comments[j]}`;
      const verbs = op.get('httpVerb', true);
      if (isSeq(verbs)) verbs.flow = true;
    });
  });
  doc.setIn(['spec', 'accessControl', 'policies'], node);
}

function render(text: string, change: (doc: Document) => void): string {
  const docs = parseAllDocuments(text);
  return docs
    .map((doc) => {
      if (doc.errors.length > 0) throw doc.errors[0]!;
      change(doc);
      return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
    })
    .join('');
}

export function renderKubernetes(text: string, namespace: string): string {
  return render(text, (doc) => {
    if (doc.get('kind') !== 'Configuration') return;
    const name = doc.getIn(['metadata', 'name']) as string;
    const app = APP_IDS.find((a) => `${a}-config` === name);
    if (!app) throw new Error(`${KUBERNETES_FILE}: ${name} is no <app>-config`);
    doc.setIn(['spec', 'metrics', 'http', 'pathMatching'], doc.createNode(metricsPathMatching()));
    setPolicies(doc, [app], namespace);
  });
}

export function renderLocal(text: string): string {
  // One Configuration for every local sidecar: each caller's policy covers all callees.
  return render(text, (doc) => setPolicies(doc, APP_IDS, LOCAL_NAMESPACE));
}

/** Each generated file: what is checked in, and what the list makes of it. */
export function renderAccessFiles(): { file: string; current: string; generated: string }[] {
  const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');
  // The namespace the base puts the pods in; an overlay that moves them rewrites the policies (overlays/production).
  const { namespace } = parse(read('k8s/base/kustomization.yaml')) as { namespace: string };
  return [
    { file: KUBERNETES_FILE, current: read(KUBERNETES_FILE), generated: renderKubernetes(read(KUBERNETES_FILE), namespace) },
    { file: LOCAL_FILE, current: read(LOCAL_FILE), generated: renderLocal(read(LOCAL_FILE)) },
  ];
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const { file, current, generated } of renderAccessFiles()) {
    if (current === generated) continue;
    stale++;
    if (check) console.error(`${file} differs from packages/shared/src/access.ts: run npm run gen:access`);
    else {
      writeFileSync(path.join(ROOT, file), generated);
      console.log(`wrote ${file}`);
    }
  }
  if (check && stale > 0) process.exit(1);
}
