// k6/metrics stand-ins that record every sample, for run.mjs to print as JSON when the
// iteration is over.
export const samples = {};

class Metric {
  constructor(name) {
    this.name = name;
    samples[name] = samples[name] || [];
  }

  add(value, tags) {
    samples[this.name].push({ value: Number(value), tags: tags || {} });
  }
}

export class Counter extends Metric {}
export class Trend extends Metric {}
export class Rate extends Metric {}
export class Gauge extends Metric {}
