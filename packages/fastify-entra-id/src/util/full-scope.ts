// Entra puts a scope's short name in `scp` (`Todo.Read`), while a client must request it from Entra by its full
// string under one of the API's identifier URIs (`https://todo.contoso.com/mcp/Todo.Read`). A protected resource
// lists those full strings (its `scopes_supported`); this finds the one a short name stands for.

/**
 * The full scope string of `scopes` for `name`: the entry equal to it or ending with `/{name}`, else `name` itself
 * (an app role, or a scope the resource does not list).
 */
export function fullScope(scopes: readonly string[], name: string): string {
  return scopes.find((scope) => scope === name || scope.endsWith(`/${name}`)) ?? name
}
