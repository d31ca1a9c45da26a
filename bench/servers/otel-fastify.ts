// Preloaded after bench/servers/otel-providers.ts into the sample-stack server: @fastify/otel, Fastify's official
// instrumentation, which the sample registers. With `registerOnInitialization` it adds itself to every Fastify
// instance as it is created (through Fastify's `fastify.initialization` diagnostics channel), so the server file
// stays the same: a `request` span per request, a span per route hook and one for the handler, which the plugin
// annotates with its outcome. It measures what the sample's tracing costs on top of the plugin's own: information,
// not a target.
import { FastifyOtelInstrumentation } from '@fastify/otel'

// Enabled from construction: the instrumentation subscribes to the channel now, before the server file runs.
new FastifyOtelInstrumentation({ registerOnInitialization: true })
