/** Reading OTLP/HTTP JSON bodies (opentelemetry-proto's JSON mapping) as the tests need them. */

/** An OTLP attribute value, as JSON encodes it. */
interface AnyValue {
  stringValue?: string
  intValue?: string | number
  doubleValue?: number
  boolValue?: boolean
  arrayValue?: { values?: AnyValue[] }
}

type KeyValues = Array<{ key: string, value: AnyValue }> | undefined

/** A span, with its attributes as a plain object (numbers and booleans as they are, arrays of scalars). */
export interface OtlpSpan {
  name: string
  kind: number
  attributes: Record<string, unknown>
  events: Array<{ name: string, attributes: Record<string, unknown> }>
}

/** One data point of a metric, with its attributes as a plain object. */
export interface OtlpPoint {
  metric: string
  attributes: Record<string, unknown>
}

/** OTLP's span kind for a server span. */
export const SPAN_KIND_SERVER = 2

function scalar(value: AnyValue): unknown {
  if (value.stringValue !== undefined) return value.stringValue
  if (value.intValue !== undefined) return Number(value.intValue)
  if (value.doubleValue !== undefined) return value.doubleValue
  if (value.boolValue !== undefined) return value.boolValue
  if (value.arrayValue !== undefined) return (value.arrayValue.values ?? []).map(scalar)
  return undefined
}

function attributesOf(list: KeyValues): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map(({ key, value }) => [key, scalar(value)]))
}

interface TracesBody {
  resourceSpans?: Array<{ scopeSpans?: Array<{ spans?: Array<{ name: string, kind: number, attributes?: KeyValues, events?: Array<{ name: string, attributes?: KeyValues }> }> }> }>
}

interface MetricsBody {
  resourceMetrics?: Array<{ scopeMetrics?: Array<{ metrics?: Array<Record<string, unknown> & { name: string }> }> }>
}

/** Every span of the `/v1/traces` bodies. */
export function spansOf(bodies: readonly string[]): OtlpSpan[] {
  return bodies.flatMap((body) => (JSON.parse(body) as TracesBody).resourceSpans ?? [])
    .flatMap((r) => r.scopeSpans ?? []).flatMap((s) => s.spans ?? [])
    .map((span) => ({
      name: span.name,
      kind: span.kind,
      attributes: attributesOf(span.attributes),
      events: (span.events ?? []).map((e) => ({ name: e.name, attributes: attributesOf(e.attributes) }))
    }))
}

/** Every data point of every metric of the `/v1/metrics` bodies (sums, gauges, histograms). */
export function pointsOf(bodies: readonly string[]): OtlpPoint[] {
  return bodies.flatMap((body) => (JSON.parse(body) as MetricsBody).resourceMetrics ?? [])
    .flatMap((r) => r.scopeMetrics ?? []).flatMap((s) => s.metrics ?? [])
    .flatMap((metric) => {
      const data = (metric.sum ?? metric.gauge ?? metric.histogram ?? metric.exponentialHistogram) as { dataPoints?: Array<{ attributes?: KeyValues }> } | undefined
      return (data?.dataPoints ?? []).map((point) => ({ metric: metric.name, attributes: attributesOf(point.attributes) }))
    })
}
