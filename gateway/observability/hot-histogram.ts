/**
 * A histogram for the per-request metrics, cheap to observe. prom-client's labelled child
 * re-validates and re-hashes its labels on every observe(): with the request counter beside it,
 * 4-7% of a small request's CPU. Here a child is a few numbers found once per label set; the
 * exposition is built at scrape time in prom-client's own shape (`get()`), so the registry
 * renders it like any other metric. `counter()` gives a counter over the same children's counts
 * (`gateway_http_requests_total` is the request histogram's count, kept as a metric of its own).
 */
import type { Registry } from 'prom-client';

export interface HotChild {
  observe(seconds: number): void;
}

interface Child extends HotChild {
  readonly labels: Readonly<Record<string, string>>;
  readonly buckets: Float64Array;
  sum: number;
  count: number;
}

interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

/** What prom-client's Registry needs of a metric to render and reset it. */
interface RegistryMetric {
  readonly name: string;
  readonly help: string;
  readonly type: 'histogram' | 'counter';
  readonly aggregator: 'sum';
  get(): Promise<{ name: string; help: string; type: string; aggregator: 'sum'; values: MetricValue[] }>;
  reset(): void;
}

export class HotHistogram {
  private readonly children = new Map<string, Child>();

  constructor(
    private readonly name: string,
    private readonly help: string,
    private readonly bounds: readonly number[],
    registry: Registry,
  ) {
    registry.registerMetric(this.asMetric('histogram', name, help, () => this.histogramValues()) as never);
  }

  /** The child for one label set (`key` identifies it; labels are only read the first time). */
  child(key: string, labels: () => Record<string, string>): HotChild {
    let c = this.children.get(key);
    if (c === undefined) {
      const bounds = this.bounds;
      const child: Child = {
        labels: labels(),
        buckets: new Float64Array(bounds.length),
        sum: 0,
        count: 0,
        observe(seconds) {
          // Per-bucket counts here; cumulative when rendered.
          let i = 0;
          while (i < bounds.length && seconds > bounds[i]!) i++;
          if (i < bounds.length) child.buckets[i]!++;
          child.sum += seconds;
          child.count++;
        },
      };
      this.children.set(key, (c = child));
    }
    return c;
  }

  /** A counter metric whose values are this histogram's counts per label set. */
  counter(name: string, help: string, registry: Registry): void {
    const values = (): MetricValue[] => [...this.children.values()].map((c) => ({ labels: { ...c.labels }, value: c.count }));
    registry.registerMetric(this.asMetric('counter', name, help, values) as never);
  }

  private histogramValues(): MetricValue[] {
    const values: MetricValue[] = [];
    for (const c of this.children.values()) {
      let cumulative = 0;
      this.bounds.forEach((le, i) => {
        cumulative += c.buckets[i]!;
        values.push({ labels: { ...c.labels, le }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { ...c.labels, le: '+Inf' }, value: c.count, metricName: `${this.name}_bucket` });
      values.push({ labels: { ...c.labels }, value: c.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...c.labels }, value: c.count, metricName: `${this.name}_count` });
    }
    return values;
  }

  private asMetric(type: 'histogram' | 'counter', name: string, help: string, values: () => MetricValue[]): RegistryMetric {
    return {
      name,
      help,
      type,
      aggregator: 'sum',
      get: async () => ({ name, help, type, aggregator: 'sum', values: values() }),
      reset: () => this.children.clear(),
    };
  }
}
