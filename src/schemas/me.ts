import { Type } from 'typebox'

const Nullable = (schema: ReturnType<typeof Type.String>) => Type.Union([schema, Type.Null()])

/** The answer of `GET /api/me`: the caller as the verified token says; absent claims are `null`. */
export const MeSchema = Type.Object({
  oid: Nullable(Type.String()),
  tid: Type.String(),
  sub: Nullable(Type.String()),
  name: Nullable(Type.String()),
  username: Nullable(Type.String()),
  appId: Nullable(Type.String({ description: 'The calling application (azp or appid)' })),
  isAppOnly: Type.Boolean(),
  scopes: Type.Array(Type.String()),
  roles: Type.Array(Type.String()),
  tokenVersion: Type.Union([Type.Literal(1), Type.Literal(2)]),
  accountType: Type.Union([Type.Literal('member'), Type.Literal('guest'), Type.Null()], { description: 'member or guest of the tenant; null for applications' }),
  expiresAt: Type.String({ format: 'date-time' })
})

/** The answer of `GET /api/me/profile`: the caller's Microsoft Graph profile (`/me`); unset fields are `null`. */
export const ProfileSchema = Type.Object({
  displayName: Nullable(Type.String()),
  mail: Nullable(Type.String()),
  jobTitle: Nullable(Type.String())
})
