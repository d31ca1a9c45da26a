// The ceiling: the same Fastify route with no authentication at all.
import Fastify from 'fastify'
import { ROUTE, TODOS, announce } from './harness.js'

const app = Fastify({ logger: false })
app.get(ROUTE, () => TODOS)
await app.listen({ host: '127.0.0.1', port: 0 })
announce(app.server)
