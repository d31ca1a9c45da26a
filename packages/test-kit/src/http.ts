/** The `Authorization` header of a bearer token. */
export function bearer(token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` }
}

/** The `{ status, code, challenge }` of a response, for one-line assertions on a refusal. */
export function outcome(response: { statusCode: number, headers: Record<string, unknown>, json: () => unknown }): { status: number, code: unknown, challenge: unknown } {
  const body = response.json() as { code?: unknown }
  return { status: response.statusCode, code: body.code, challenge: response.headers['www-authenticate'] }
}
