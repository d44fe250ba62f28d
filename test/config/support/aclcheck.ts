// Dapr access control decided by Dapr 1.18.3's own code (k8s/tools/aclcheck).
import type { ExecutionContext } from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { run, type App, type J } from './manifests.js';

export interface AclQuery {
  caller: string;
  namespace?: string;
  trustDomain?: string;
  verb: string;
  method: string;
  allowed?: boolean;
  reason?: string;
}

/** A call through Dapr, and whether the callee's sidecar must let it through. */
export interface Call {
  caller: string;
  callee: App;
  verb: string;
  method: string;
  allowed: boolean;
}

export async function aclcheck(
  tool: string,
  configuration: J,
  queries: AclQuery[],
): Promise<{ decisions: AclQuery[]; metricsPathMatching: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'aclcheck-'));
  try {
    const file = path.join(dir, 'configuration.json'); // JSON is YAML
    writeFileSync(file, JSON.stringify(configuration));
    const result = await run(tool, [file], { input: JSON.stringify(queries) });
    if (result.code !== 0) throw new Error(`aclcheck failed (${result.code}): ${result.stderr}`);
    return JSON.parse(result.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Everything a callee's sidecar decides about its callers, with that callee's Configuration. */
export async function checkAccessControl(
  t: ExecutionContext,
  tool: string,
  where: string,
  configFor: (app: App) => J,
  namespace: string,
  calls: Call[],
) {
  const callees = [...new Set(calls.map((c) => c.callee))];
  for (const callee of callees) {
    const configuration = configFor(callee);
    const trustDomain = configuration.spec.accessControl?.trustDomain ?? 'public';
    const mine = calls.filter((c) => c.callee === callee);
    const queries: AclQuery[] = mine.map(({ caller, verb, method }) => ({ caller, namespace, trustDomain, verb, method }));
    // The same caller from elsewhere, or without mTLS, is refused.
    const strangers = mine
      .filter((c) => c.allowed)
      .flatMap(({ caller, verb, method }) => [
        { caller, namespace: `${namespace}-other`, trustDomain, verb, method },
        { caller, namespace, trustDomain: trustDomain === 'public' ? 'cluster.local' : 'public', verb, method },
        { caller: '', verb, method },
      ]);
    const report = await aclcheck(tool, configuration, [...queries, ...strangers]);
    t.is(report.metricsPathMatching, '', `${where}: ${callee}'s metrics path patterns are accepted by daprd`);
    report.decisions.forEach((d, i) => {
      const expected = i < queries.length ? mine[i]!.allowed : false;
      const who = d.caller ? `spiffe://${d.trustDomain}/ns/${d.namespace}/${d.caller}` : 'a caller without mTLS identity';
      t.is(
        d.allowed,
        expected,
        `${where}: ${who} ${d.verb} ${callee}/${d.method} ${expected ? 'allowed' : 'denied'}${d.reason ? ` (${d.reason})` : ''}`,
      );
    });
  }
}
