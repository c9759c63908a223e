// The JSON API, as the page uses it. Every error of the API is {"error": "<one line>"}, in the page's
// language: every request says it (Accept-Language; the API answers in English to a client that does not ask).

async function parse(response) {
  const body = await response.json().catch(() => ({ error: `${response.status} ${response.statusText}` }));
  if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
  return body;
}

function language() {
  return { "accept-language": document.documentElement.lang || "en" };
}

export function getJSON(url) {
  return fetch(url, { headers: language() }).then(parse);
}

export function postFile(url, file) {
  const form = new FormData();
  form.append("file", file, file.name || "pasted-image.png");
  return fetch(url, { method: "POST", body: form, headers: language() }).then(parse);
}

export function postJSON(url, body) {
  const headers = { "content-type": "application/json", ...language() };
  return fetch(url, { method: "POST", headers, body: JSON.stringify(body) }).then(parse);
}
