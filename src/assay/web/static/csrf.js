// The session's CSRF token, for requests a signed-in page sends with its cookie.
export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.getAttribute("content") : "";
}
