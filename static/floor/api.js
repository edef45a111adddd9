// Talking to the service as the signed-in person: JSON in and out, with the session's CSRF
// token, which a sign-in renews.

let token = document.querySelector("meta[name=csrf-token]")?.content || "";

export function setToken(value) {
  token = value;
}

// The answer as {status, body}; a network failure throws.
export async function call(method, path, body) {
  const response = await fetch(path, {
    method,
    credentials: "same-origin",
    cache: "no-store",
    headers: { "Content-Type": "application/json", "X-CSRFToken": token },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let answer = null;
  try {
    answer = await response.json();
  } catch {
    // A proxy's error page, or nothing: the status says enough.
  }
  return { status: response.status, body: answer };
}

// A refusal's sentence for a person; never the raw body.
export function refusalOf(answer) {
  const message = answer.body && answer.body.error && answer.body.error.message;
  if (message) return message;
  if (answer.status >= 500) return "The service did not answer as it should: try again in a moment.";
  return "That was not accepted: try again.";
}

export async function freshToken() {
  const answer = await call("GET", "/api/session");
  if (answer.status === 200 && answer.body) setToken(answer.body.csrf_token);
  return answer;
}

export function currentToken() {
  return token;
}
