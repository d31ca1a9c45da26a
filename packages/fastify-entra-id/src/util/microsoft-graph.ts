/** Microsoft Graph's application ID: the `aud` of the Graph tokens Entra issues (v2), and of its service principal. */
export const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000'
