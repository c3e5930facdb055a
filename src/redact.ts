/**
 * Secrets never reach output: every URL a person or a report sees goes through here.
 * Errs on the side of hiding: anything between `scheme://` and the last `@` of the
 * authority is credentials, and so is the value of any query parameter with a secret name.
 */
const SECRET_PARAM = /([?&](?:password|pass|pwd|sentinelPassword|token|access_token|auth|apikey|api_key|secret|key)=)[^&#]*/gi;

export function redactUrl(url: string): string {
  let out = url;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(out);
  if (scheme) {
    const rest = out.slice(scheme[0].length);
    // The authority ends at the query or fragment; a password may itself hold '/' or '@'.
    const end = rest.search(/[?#]/);
    const head = end < 0 ? rest : rest.slice(0, end);
    const at = head.lastIndexOf('@');
    if (at >= 0) out = `${scheme[0]}***@${rest.slice(at + 1)}`;
  }
  return out.replace(SECRET_PARAM, '$1***');
}

/** Redact every URL inside a free text (an error message from a library, say). */
export function redactText(text: string): string {
  return text.replace(/[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi, (u) => redactUrl(u));
}
