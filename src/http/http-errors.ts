/**
 * Errors the routes throw for a caller's mistake. Fastify's error handler answers with their `statusCode`,
 * `code` and `message`.
 */
export class HttpError extends Error {
  readonly statusCode: number
  readonly code: string

  constructor(statusCode: number, code: string, message: string) {
    super(message)
    this.name = 'HttpError'
    this.statusCode = statusCode
    this.code = code
  }
}

/** 404: the todo does not exist, or belongs to someone else (which is not revealed). */
export function todoNotFound(): HttpError {
  return new HttpError(404, 'TODO_NOT_FOUND', 'Todo not found')
}
