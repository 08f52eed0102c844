export interface Sample {
  labels: Record<string, string | number>;
  value: number;
  /** For histograms: `<name>_bucket`, `_sum`, `_count`. */
  metricName?: string;
}

/**
 * A metric whose samples are computed when Prometheus scrapes, from counters the
 * hot path keeps as plain numbers. prom-client's registry accepts any object with
 * this shape; its own classes would cost a label lookup per cache operation.
 */
export class CollectedMetric {
  readonly aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'histogram',
    private readonly collect: () => Iterable<Sample>,
  ) {}

  get(): { name: string; help: string; type: string; aggregator: string; values: Sample[] } {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: [...this.collect()],
    };
  }
}
