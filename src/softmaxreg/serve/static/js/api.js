// The JSON API, as the page uses it. Every error of the API is {"error": "<one line>"}.

async function parse(response) {
  const body = await response.json().catch(() => ({ error: `${response.status} ${response.statusText}` }));
  if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
  return body;
}

export function getJSON(url) {
  return fetch(url).then(parse);
}

export function postFile(url, file) {
  const form = new FormData();
  form.append("file", file, file.name || "pasted-image.png");
  return fetch(url, { method: "POST", body: form }).then(parse);
}

export function postJSON(url, body) {
  return fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
    .then(parse);
}
