// Dapr objects checked against the openAPIV3Schema of Dapr 1.18.3's own CRDs
// (test/config/schemas/), as the API server applies them with strict field
// validation: undeclared fields fail.
import { readdirSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { readYaml, rel, type J } from './manifests.js';

const OBJECT_META_SCHEMA = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', maxLength: 253, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$' },
    namespace: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    annotations: { type: 'object', additionalProperties: { type: 'string' } },
  },
};

/**
 * A CRD's openAPIV3Schema as the API server applies it with strict field
 * validation: an object schema with declared properties accepts no others
 * (unless it preserves unknown fields or declares additionalProperties).
 */
function structural(node: J): J {
  if (Array.isArray(node)) return node.map(structural);
  if (node === null || typeof node !== 'object') return node;
  const out: J = {};
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith('x-kubernetes-') || key === 'description') continue;
    if (key === 'properties') out.properties = Object.fromEntries(Object.entries(value as object).map(([p, s]) => [p, structural(s)]));
    else if ((key === 'items' || key === 'additionalProperties') && typeof value === 'object') out[key] = structural(value);
    else out[key] = value;
  }
  if (node.properties && node.additionalProperties === undefined && node['x-kubernetes-preserve-unknown-fields'] !== true)
    out.additionalProperties = false;
  return out;
}

function loadDaprValidators(): Map<string, ValidateFunction> {
  const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false });
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
  const validators = new Map<string, ValidateFunction>();
  const dir = 'test/config/schemas/dapr-crds-v1.18.3';
  for (const file of readdirSync(rel(dir)).filter((f) => f.endsWith('.yaml'))) {
    for (const crd of readYaml(`${dir}/${file}`)) {
      for (const version of crd.spec.versions) {
        const apiVersion = `${crd.spec.group}/${version.name}`;
        const schema = structural(version.schema.openAPIV3Schema);
        schema.required = [...new Set([...(schema.required ?? []), 'apiVersion', 'kind', 'metadata'])];
        schema.properties.apiVersion = { const: apiVersion };
        schema.properties.kind = { const: crd.spec.names.kind };
        schema.properties.metadata = OBJECT_META_SCHEMA;
        validators.set(`${apiVersion}/${crd.spec.names.kind}`, ajv.compile(schema));
      }
    }
  }
  return validators;
}

let daprValidators: Map<string, ValidateFunction> | undefined;

/** What the Dapr 1.18.3 CRD schema of its kind finds wrong with a Dapr object (none: valid). */
export function daprSchemaErrors(doc: J): string[] {
  daprValidators ??= loadDaprValidators();
  const validate = daprValidators.get(`${doc.apiVersion}/${doc.kind}`);
  if (!validate) return [`no Dapr 1.18.3 CRD for ${doc.apiVersion} ${doc.kind}`];
  if (validate(doc)) return [];
  return (validate.errors ?? []).map((e: ErrorObject) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`);
}

/** Every Dapr resource of the local runs: components/*.yaml and dapr/config.yaml. */
export function localDaprDocs(): { file: string; doc: J }[] {
  const yamlIn = (dir: string) =>
    readdirSync(rel(dir))
      .filter((f) => /\.ya?ml$/.test(f))
      .map((f) => `${dir}/${f}`);
  return [...yamlIn('components'), ...yamlIn('components/brokers'), 'dapr/config.yaml'].flatMap((file) =>
    readYaml(file).map((doc) => ({ file, doc })),
  );
}
