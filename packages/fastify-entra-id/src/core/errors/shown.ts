// A claim as a refusal's log line shows it: Entra's claims are short, but RFC 7519 lets `aud` be an array and any
// claim be long, and a log line must stay one line of bounded size.
const SHOWN_LENGTH = 256

/** A claim's value for RefusalDetails: strings (an array's too) cut at 256 characters, others as JSON. */
export function shown(value: unknown): string | string[] {
  if (Array.isArray(value)) return value.slice(0, 8).map((v) => String(shown(v)))
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? 'undefined'
  return text.length <= SHOWN_LENGTH ? text : `${text.slice(0, SHOWN_LENGTH)}...`
}
