import { Hono } from 'hono';
import type { Context } from 'hono';
import { html } from 'hono/html';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Deps } from '../../deps.ts';
import { VigilError } from '../../errors.ts';
import { authenticate } from '../../services/auth.ts';
import { hashToken } from '../../services/tokens.ts';
import type { ConsoleEnv } from '../env.ts';
import { page } from '../layout.ts';
import { parseForm, signInForm } from '../schemas.ts';
import { CSRF_FIELD, PRESESSION_COOKIE, SESSION_COOKIE, clearConsoleCookie, readCookie, setConsoleCookie } from '../security.ts';
import { createSession, deleteSession, newSecret } from '../sessions.ts';

const SECRET = /^[A-Za-z0-9_-]{43}$/;

function signInPage(deps: Deps, c: Context<ConsoleEnv>, error?: string, status: ContentfulStatusCode = 200) {
  // The pre-session token: a cookie and the same value in the form (double submit).
  let pre = readCookie(c, PRESESSION_COOKIE);
  if (!pre || !SECRET.test(pre)) {
    pre = newSecret();
    setConsoleCookie(deps, c, PRESESSION_COOKIE, pre);
  }
  const body = html`
    ${error ? html`<p class="error" role="alert" id="signin-error">${error}</p>` : ''}
    <form method="post" action="/console/signin">
      <input type="hidden" name="${CSRF_FIELD}" value="${pre}">
      <div class="field">
        <label for="token">Client token</label>
        <input type="password" id="token" name="token" autocomplete="off" required
          aria-describedby="token-hint"${error ? html` aria-invalid="true" aria-errormessage="signin-error"` : ''}>
        <p class="hint" id="token-hint">The token your node administrator gave your client, or the admin token.</p>
      </div>
      <button type="submit">Sign in</button>
    </form>`;
  return page(c, { title: 'Sign in', body, status });
}

/** Sign in with a token (checked as a Bearer token is; never stored or logged), and sign out. */
export function signInRoutes(deps: Deps): Hono<ConsoleEnv> {
  const app = new Hono<ConsoleEnv>({ strict: false });

  app.get('/signin', (c) => (c.get('session') ? c.redirect('/console/collections', 303) : signInPage(deps, c)));

  app.post('/signin', async (c) => {
    let token: string;
    try {
      ({ token } = parseForm(signInForm, await c.req.parseBody()));
    } catch (err) {
      if (err instanceof VigilError) return signInPage(deps, c, err.message.replace(/^token: /, ''), 400);
      throw err;
    }
    const principal = await authenticate(deps, { scheme: 'bearer', token });
    if (!principal || principal.kind === 'anonymous') {
      deps.log.info({ event: 'console-signin-failed' }, 'console: a sign-in was refused');
      return signInPage(deps, c, 'That token was not accepted. Check it and try again.', 401);
    }
    // A fresh id at every sign-in: a session id planted before sign-in is worth nothing after it.
    const old = c.get('sessionId');
    if (old) await deleteSession(deps, old);
    const session = await createSession(deps, principal, hashToken(token));
    deps.log.info({ event: 'console-signin', principal: principal.kind === 'admin' ? 'admin' : principal.id }, 'console: signed in');
    setConsoleCookie(deps, c, SESSION_COOKIE, session.id);
    clearConsoleCookie(deps, c, PRESESSION_COOKIE);
    return c.redirect('/console/collections', 303);
  });

  app.post('/signout', async (c) => {
    const id = c.get('sessionId');
    if (id) await deleteSession(deps, id);
    clearConsoleCookie(deps, c, SESSION_COOKIE);
    return c.redirect('/console/signin', 303);
  });
  return app;
}
