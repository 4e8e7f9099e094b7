// Validates Kubernetes objects against the schemas compiled into kubernetes-models (the
// Kubernetes API) and @kubernetes-models/* (the CRDs of the Prometheus Operator, KEDA and the
// Gateway API), offline. Usage: node validate.mjs OBJECTS.json, a JSON array of objects.
// Prints one JSON object: {"checked": n, "errors": ["Kind/name: message", ...]}.
import { readFileSync } from 'node:fs';

// API groups whose schemas come from a CRD package rather than kubernetes-models.
const CRD_PACKAGES = {
  'monitoring.coreos.com': '@kubernetes-models/prometheus-operator',
  'keda.sh': '@kubernetes-models/keda',
  'gateway.networking.k8s.io': '@kubernetes-models/gateway-api',
};

async function modelFor(apiVersion, kind) {
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const pkg = CRD_PACKAGES[group] ?? 'kubernetes-models';
  const module = await import(`${pkg}/${apiVersion}`);
  return module[kind];
}

const objects = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const errors = [];
for (const object of objects) {
  const id = `${object.kind}/${object.metadata?.name}`;
  let Model;
  try {
    Model = await modelFor(String(object.apiVersion), String(object.kind));
  } catch (e) {
    Model = undefined;
  }
  if (!Model) {
    errors.push(`${id}: no schema for ${object.apiVersion} ${object.kind}`);
    continue;
  }
  try {
    new Model(object).validate();
  } catch (e) {
    errors.push(`${id}: ${e.message}`);
  }
}
console.log(JSON.stringify({ checked: objects.length, errors }));
