// Fetch helpers for the JSON API (SPEC §5): CSRF header, JSON in and out,
// errors as ApiError carrying the server's code and message.

const UNSAFE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

// Where the console is mounted in the application serving it ("" at the root,
// "/jobs" under app.mount("/jobs", ...)), as the server wrote it into the page.
export const BASE = document.documentElement.dataset.base ?? "";

export class ApiError extends Error {
  constructor(status, code, message, field = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

function requestInit(method, body, signal) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const token = csrfToken();
  if (token && UNSAFE_METHODS.has(method)) headers["X-CSRF-Token"] = token;

  return {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
    cache: "no-store",
    signal,
  };
}

async function readJson(response) {
  const type = response.headers.get("Content-Type") || "";
  if (!type.includes("json")) return null;
  try {
    return await response.json();
  } catch {
    return null;
  }
}

function errorFrom(response, data) {
  const error = data && data.error ? data.error : {};
  const message = error.message || `The server answered ${response.status}.`;
  return new ApiError(response.status, error.code || "http_error", message, error.field || null);
}

export async function request(method, path, body, { signal } = {}) {
  let response;
  try {
    response = await fetch(`${BASE}${path}`, requestInit(method, body, signal));
  } catch (cause) {
    if (cause.name === "AbortError") throw cause;
    throw new ApiError(0, "network", "The server cannot be reached.");
  }
  const data = await readJson(response);
  if (!response.ok) throw errorFrom(response, data);

  return data;
}

const jobPath = (name) => `/api/jobs/${encodeURIComponent(name)}`;

function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null) search.set(key, String(value));
  }
  return search.toString();
}

export const api = {
  listJobs: (options) => request("GET", "/api/jobs", undefined, options),
  runJob: (name) => request("POST", `${jobPath(name)}/run`),
  cancelJob: (name) => request("POST", `${jobPath(name)}/cancel`),
  // end: undefined (until someone resumes), {for: "2h"} or {until: ISO time}.
  pauseJob: (name, end) => request("POST", `${jobPath(name)}/pause`, end),
  resumeJob: (name) => request("POST", `${jobPath(name)}/resume`),
  setInterval: (name, interval) => request("PUT", `${jobPath(name)}/interval`, { interval }),
  resetInterval: (name) => request("DELETE", `${jobPath(name)}/interval`),
  previewInterval: (name, interval, options) =>
    request("GET", `${jobPath(name)}/interval/preview?${query({ interval })}`, undefined, options),
  listRuns: (name, { limit, offset }, options) =>
    request("GET", `${jobPath(name)}/runs?${query({ limit, offset })}`, undefined, options),
  listAudit: (name, { limit, offset }, options) =>
    request("GET", `/api/audit?${query({ job: name, limit, offset })}`, undefined, options),
  signIn: (username, password) => request("POST", "/api/session", { username, password }),
  signOut: () => request("DELETE", "/api/session"),
};
