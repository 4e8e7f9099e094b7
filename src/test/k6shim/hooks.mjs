// Module hooks for register.mjs.
const loadtest = new URL('../../../loadtest/', import.meta.url).href;

export async function resolve(specifier, context, nextResolve) {
  if (specifier.startsWith('k6/')) {
    return { url: new URL(`./${specifier.slice(3)}.mjs`, import.meta.url).href, shortCircuit: true };
  }
  return nextResolve(specifier, context);
}

export async function load(url, context, nextLoad) {
  if (url.startsWith(loadtest) && url.endsWith('.js')) {
    return nextLoad(url, { ...context, format: 'module' });
  }
  return nextLoad(url, context);
}
