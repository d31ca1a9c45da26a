// Preloaded (`node --import`) into a baseline server: the package name `fastify-entra-id` and its subpaths resolve
// to the plugin build in the directory named by BENCH_PLUGIN_BUILD (bench/baseline-build.ts) instead of this
// checkout's, so that the baseline servers run the very same server files as the subjects. A synchronous,
// in-thread hook (module.registerHooks): no extra thread or memory in the process measured.
import { registerHooks } from 'node:module'
import { pathToFileURL } from 'node:url'

const PACKAGE_NAME = 'fastify-entra-id'
const packageDir = process.env.BENCH_PLUGIN_BUILD
if (packageDir === undefined || packageDir === '') throw new Error('bench server: BENCH_PLUGIN_BUILD is not set; start baseline servers through npm run bench -- --baseline <rev>')
const packageUrl = pathToFileURL(`${packageDir}/`).href
// Resolved from a module inside the build, the package's own name is a self-reference: Node.js applies the build's
// own `exports` map, whatever subpaths it had at that commit.
const insideBuild = new URL('package.json', packageUrl).href

registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier !== PACKAGE_NAME && !specifier.startsWith(`${PACKAGE_NAME}/`)) return nextResolve(specifier, context)
    const resolved = nextResolve(specifier, { ...context, parentURL: insideBuild })
    // A build without `exports` gets no self-reference, and the lookup would fall through to node_modules, i.e.
    // to this checkout's build: a baseline that silently measures the new code.
    if (!resolved.url.startsWith(packageUrl)) throw new Error(`bench server: ${specifier} resolved to ${resolved.url}, outside the baseline build ${packageDir}`)
    return resolved
  }
})
