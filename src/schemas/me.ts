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
  isAppOnly: Type.Boolean({ description: 'An application or agent acting as itself: its app roles count, not scopes' }),
  callerType: Type.Union([Type.Literal('user'), Type.Literal('app'), Type.Literal('agent'), Type.Literal('agentForUser'), Type.Literal('agentUser')], {
    description: 'Who is calling: a user through an application, an application as itself, or an agent (Microsoft Entra Agent ID) acting on its own, for a user, or through its own user account'
  }),
  agent: Type.Union([
    Type.Object({
      appId: Nullable(Type.String({ description: 'The agent identity\'s application ID (azp or appid)' })),
      blueprintAppId: Nullable(Type.String({ description: 'Its agent identity blueprint\'s application ID (xms_par_app_azp)' }))
    }),
    Type.Null()
  ], { description: 'The agent behind the token; null for users and applications' }),
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
