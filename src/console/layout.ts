import type { Context } from 'hono';
import { html } from 'hono/html';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ConsoleSession } from './sessions.ts';
import { CSRF_FIELD } from './security.ts';

// Pages are strings built with hono/html's `html`, which escapes every interpolated value:
// object names, descriptions and ids are attacker-controlled STIX content.

export type Html = ReturnType<typeof html>;

export type PageOptions = {
  title: string;
  session?: ConsoleSession | undefined;
  body: Html;
  status?: ContentfulStatusCode;
  /** Without JS, a pending page reloads itself every few seconds. */
  refreshSeconds?: number;
  script?: boolean;
};

export const csrfField = (session: { csrf: string }) => html`<input type="hidden" name="${CSRF_FIELD}" value="${session.csrf}">`;

function nav(session: ConsoleSession): Html {
  const who = session.principal.kind === 'admin' ? 'admin' : session.principal.name;
  return html`<nav aria-label="Main">
    <ul>
      <li><a href="/console/collections">Collections</a></li>
      <li><a href="/console/alerts">Alerts</a></li>
      <li><a href="/console/trends">Trends</a></li>
      ${session.principal.kind === 'admin' ? html`<li><a href="/console/sources">Sources</a></li>` : ''}
    </ul>
    <form method="post" action="/console/signout" class="signout">
      ${csrfField(session)}
      <span>Signed in as <strong>${who}</strong></span>
      <button type="submit">Sign out</button>
    </form>
  </nav>`;
}

export function page(c: Context, o: PageOptions): Response | Promise<Response> {
  c.header('Cache-Control', 'no-store');
  const doc = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${o.title} — Vigil console</title>
<link rel="stylesheet" href="/console/assets/console.css">
${o.refreshSeconds ? html`<noscript><meta http-equiv="refresh" content="${o.refreshSeconds}"></noscript>` : ''}
${o.script ? html`<script src="/console/assets/console.js" defer></script>` : ''}
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header><p class="brand"><a href="/console/">Vigil console</a></p>${o.session ? nav(o.session) : ''}</header>
<main id="main">
<h1>${o.title}</h1>
${o.body}
</main>
</body>
</html>`;
  return c.html(doc, o.status ?? 200);
}

/** An error as a page: the message is the service's, shown as text. */
export function errorPage(
  c: Context,
  session: ConsoleSession | undefined,
  status: ContentfulStatusCode,
  title: string,
  message: string,
): Response | Promise<Response> {
  return page(c, {
    title,
    session,
    status,
    body: html`<p class="error" role="alert">${message}</p><p><a href="/console/">Back to the console</a></p>`,
  });
}
