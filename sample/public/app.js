// The browser side of the recommended setup, in plain JavaScript (no framework, no build step):
// - the access and refresh tokens are HttpOnly cookies: this script never sees them;
// - the CSRF token is kept in a variable only (never in localStorage or a readable cookie) and sent as the
//   X-CSRF-Token header on unsafe requests;
// - a call answered 401 refreshes the session by its expired access cookie, once for every call that failed
//   together, then retries once; when the refresh fails too, the login form comes back.

let csrf = null;       // the session's CSRF token, from the login or the last refresh
let userId = null;     // the signed-in user, read from the namespace (user-<id>) of the current session
let refreshing = null; // the refresh in flight, shared by every call answered 401 meanwhile
let refreshes = 0;     // successful refreshes so far: a call sent before the last one retries without another

const $ = (id) => document.getElementById(id);
const SAFE_METHODS = ['GET', 'HEAD'];

function send(method, path, body) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (csrf && !SAFE_METHODS.includes(method)) headers['X-CSRF-Token'] = csrf;
  return fetch(path, {
    method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** One refresh at a time: resolves true when the session has a new access token (and CSRF token). */
function refresh(seenRefreshes) {
  if (refreshing) return refreshing;
  if (seenRefreshes !== refreshes) return Promise.resolve(true); // refreshed since that call was sent
  refreshing = send('POST', '/refresh_by_access')
    .then(async (response) => {
      if (!response.ok) return false;
      csrf = (await response.json()).csrf;
      refreshes += 1;
      return true;
    })
    .catch(() => false)
    .finally(() => { refreshing = null; });
  return refreshing;
}

/** A call to the API: on 401, refresh (shared) and retry once; a failed refresh signs out. */
async function api(method, path, body) {
  const seen = refreshes;
  let response = await send(method, path, body);
  if (response.status !== 401) return response;
  if (!(await refresh(seen))) {
    signedOut('Your session has ended: please log in again.');
    return response;
  }
  response = await send(method, path, body);
  if (response.status === 401) signedOut('Your session has ended: please log in again.');
  return response;
}

function showError(message) {
  $('error').textContent = message;
  $('error').hidden = !message;
}

function signedOut(message) {
  csrf = null;
  userId = null;
  $('profile').hidden = true;
  $('login-form').hidden = false;
  $('status').textContent = message;
}

async function load() {
  if (userId === null) {
    const response = await api('GET', '/sessions');
    if (!response.ok) return response.status === 401 || showError(`Loading failed (${response.status})`);
    const current = (await response.json()).sessions.find((session) => session.current);
    userId = Number(current.namespace.replace('user-', ''));
  }
  // Two calls at once: when the access token has expired, both get a 401 and share one refresh.
  const [user, sessions] = await Promise.all([api('GET', `/users/${userId}`), api('GET', '/sessions')]);
  if (!user.ok || !sessions.ok) {
    const failed = user.ok ? sessions : user;
    if (failed.status !== 401) showError(`Loading failed (${failed.status})`); // a 401 has signed out already
    return;
  }
  const { current_user: me } = await user.json();
  $('user').textContent = me.email;
  $('sessions').replaceChildren(...(await sessions.json()).sessions.map((session) => {
    const item = document.createElement('li');
    item.textContent = `${session.user_agent || 'unknown device'}, since ${new Date(session.created_at).toLocaleString()}`
      + (session.current ? ' (this one)' : '');
    return item;
  }));
  $('login-form').hidden = true;
  $('profile').hidden = false;
  $('status').textContent = 'Signed in.';
  showError('');
}

$('login-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  showError('');
  const response = await send('POST', '/login_with_cookies', { email: $('email').value, password: $('password').value });
  if (!response.ok) return showError(response.status === 401 ? 'Wrong email or password.' : `Login failed (${response.status})`);
  csrf = (await response.json()).csrf;
  $('password').value = '';
  await load();
});

$('reload').addEventListener('click', () => load());

$('logout').addEventListener('click', async () => {
  const response = await api('DELETE', '/login');
  if (response.ok) signedOut('Logged out.');
});

$('logout-all').addEventListener('click', async () => {
  const response = await api('DELETE', '/sessions');
  if (response.ok) signedOut(`Logged out everywhere (${(await response.json()).flushed} sessions ended).`);
});

// For the end-to-end test and the curious: the API wrapper, from the console.
window.spa = { api };
