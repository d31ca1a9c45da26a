/** Where the service's traces and metrics go, chosen by the environment ({@link telemetryBackend}). */
export type TelemetryBackend = 'azure-monitor' | 'otlp'

/** Telemetry that started: its backend, and how to flush and stop it. */
export interface Telemetry {
  readonly backend: TelemetryBackend
  /**
   * Exports what is still buffered (the last spans, and the metrics since the last periodic export) and stops the
   * exporters and their timers. Called once, after the server has closed.
   */
  shutdown(): Promise<void>
}

/**
 * The backend the environment asks for: Azure Monitor when `APPLICATIONINSIGHTS_CONNECTION_STRING` is set (the
 * variable App Service's Application Insights integration sets, and the one the Azure Monitor distro reads), else
 * OTLP over HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, else none. An empty value counts as unset.
 */
export function telemetryBackend(env: Readonly<Record<string, string | undefined>>): TelemetryBackend | null {
  if (isSet(env.APPLICATIONINSIGHTS_CONNECTION_STRING)) return 'azure-monitor'
  if (isSet(env.OTEL_EXPORTER_OTLP_ENDPOINT)) return 'otlp'
  return null
}

function isSet(value: string | undefined): boolean {
  return value !== undefined && value.trim() !== ''
}
