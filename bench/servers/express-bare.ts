// The Express ceiling: the same route on Express with no authentication, to price the Express peer's auth.
import express from 'express'
import type { Server } from 'node:http'
import { ROUTE, TODOS, announce } from './harness.js'

const app = express()
app.get(ROUTE, (_request, response) => { response.json(TODOS) })
const server = await new Promise<Server>((resolve) => { const s = app.listen(0, '127.0.0.1', () => { resolve(s) }) })
announce(server)
