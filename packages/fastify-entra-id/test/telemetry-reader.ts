import { DataPointType, MetricReader } from '@opentelemetry/sdk-metrics'
import type { Attributes } from '@opentelemetry/api'

/** One series' cumulative count: a counter's value, a histogram's number of records. */
export interface Point {
  readonly name: string
  readonly unit: string
  readonly attributes: Attributes
  readonly count: number
  /** The name and attributes, to match a series across collections. */
  readonly key: string
}

/** A metric reader the test collects from when it wants, as an exporter's periodic reader would. */
export class TestMetricReader extends MetricReader {
  /** Every series collected now. */
  async points(): Promise<Point[]> {
    const { resourceMetrics } = await this.collect()
    return resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics.flatMap((metric) => metric.dataPoints.map((point) => {
      const value = point.value as number | { count: number }
      const count = metric.dataPointType === DataPointType.HISTOGRAM ? (value as { count: number }).count : value as number
      const name = metric.descriptor.name
      return { name, unit: metric.descriptor.unit, attributes: point.attributes, count, key: `${name} ${JSON.stringify(point.attributes)}` }
    })))
  }

  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}
