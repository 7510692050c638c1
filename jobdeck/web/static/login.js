// The sign-in page: POST /api/session, then go where the user was headed.

import { api, BASE } from "./api.js";

const DEFAULT_NEXT = `${BASE}/admin/jobs`;

// Only a path on this site: never send the user elsewhere after signing in.
export function safeNext(raw) {
  if (!raw) return DEFAULT_NEXT;
  try {
    const url = new URL(raw, location.origin);
    if (url.origin !== location.origin) return DEFAULT_NEXT;
    return `${url.pathname}${url.search}${url.hash}`;
  } catch {
    return DEFAULT_NEXT;
  }
}

function showError(form, message) {
  const error = form.querySelector('[data-field="login-error"]');
  error.textContent = message;
  error.hidden = !message;
}

function missingField(form) {
  for (const name of ["username", "password"]) {
    if (!form.elements[name].value) return form.elements[name];
  }
  return null;
}

async function signIn(form) {
  const missing = missingField(form);
  if (missing) {
    showError(form, "Enter your username and password.");
    missing.focus();
    return;
  }
  const submit = form.querySelector('[type="submit"]');
  submit.disabled = true;
  showError(form, "");
  try {
    await api.signIn(form.elements.username.value, form.elements.password.value);
    location.assign(safeNext(form.dataset.next));
  } catch (error) {
    showError(form, error.message);
    form.elements.password.select();
    submit.disabled = false;
  }
}

const form = document.querySelector('[data-form="login"]');
form.addEventListener("submit", (event) => {
  event.preventDefault();
  signIn(form);
});
