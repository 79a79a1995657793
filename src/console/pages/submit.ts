import { Hono } from 'hono';
import type { Context } from 'hono';
import { html } from 'hono/html';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Deps } from '../../deps.ts';
import { VigilError } from '../../errors.ts';
import { uuidParam } from '../../http/json.ts';
import { requireApiRoot, writableCollection } from '../../services/access.ts';
import type { CollectionAccess } from '../../services/access.ts';
import { addObjects } from '../../services/ingest.ts';
import { holdWhole } from '../../taxii/body.ts';
import { getStatus } from '../../services/status.ts';
import type { StatusResource } from '../../services/status.ts';
import type { ConsoleEnv } from '../env.ts';
import { csrfField, page } from '../layout.ts';
import type { Html } from '../layout.ts';
import { parseForm, submitForm } from '../schemas.ts';

function submitPage(
  c: Context<ConsoleEnv>,
  root: string,
  access: CollectionAccess,
  error?: string,
  status: ContentfulStatusCode = 200,
  text = '',
) {
  const session = c.get('session')!;
  const body = html`<p>Into collection <strong>${access.collection.title}</strong> (<span class="id">${access.collection.id}</span>) of API root ${root}.</p>
    ${error ? html`<p class="error" role="alert" id="submit-error">${error}</p>` : ''}
    <form method="post" enctype="multipart/form-data" action="/console/collections/${encodeURIComponent(root)}/${access.collection.id}/submit">
      ${csrfField(session)}
      <div class="field">
        <label for="file">STIX bundle file</label>
        <input type="file" id="file" name="file" accept=".json,application/json,application/stix+json" aria-describedby="file-hint">
        <p class="hint" id="file-hint">A JSON file holding a STIX 2.1 bundle (or a TAXII envelope).</p>
      </div>
      <div class="field">
        <label for="bundle">Or paste the bundle</label>
        <textarea id="bundle" name="bundle" spellcheck="false" aria-describedby="bundle-hint">${text}</textarea>
        <p class="hint" id="bundle-hint">Used when no file is chosen.</p>
      </div>
      <button type="submit">Submit</button>
    </form>`;
  return page(c, { title: 'Submit a bundle', session, status, body });
}

const OUTCOMES = ['failure', 'pending', 'success'] as const;

function statusRows(s: StatusResource): Html[] {
  const lists = { failure: s.failures, pending: s.pendings, success: s.successes };
  return OUTCOMES.flatMap((outcome) =>
    (lists[outcome] ?? []).map(
      (d) =>
        html`<tr class="outcome-${outcome}"><th scope="row" class="id">${d.id || '(no id)'}</th><td>${d.version}</td><td>${outcome}</td><td>${d.message ?? ''}</td></tr>`,
    ),
  );
}

function statusBody(root: string, s: StatusResource): Html {
  const pending = s.status === 'pending';
  return html`<dl class="summary">
      <dt>Status</dt><dd data-field="status">${s.status}</dd>
      <dt>Requested</dt><dd>${s.request_timestamp}</dd>
      <dt>Objects</dt><dd data-field="total_count">${s.total_count}</dd>
      <dt>Stored</dt><dd data-field="success_count">${s.success_count}</dd>
      <dt>Rejected</dt><dd data-field="failure_count">${s.failure_count}</dd>
      <dt>Pending</dt><dd data-field="pending_count">${s.pending_count}</dd>
    </dl>
    <p id="status-summary" role="status" aria-live="polite">${s.success_count} stored, ${s.failure_count} rejected, ${s.pending_count} pending</p>
    ${pending ? html`<p class="notice" id="status-pending-notice">Still storing: this page fills in as objects are stored. <a href="">Reload</a></p>` : ''}
    <table data-status-url="/console/status/${encodeURIComponent(root)}/${s.id}/data" data-pending="${pending ? 'true' : 'false'}">
      <caption>Outcome of every object</caption>
      <thead><tr><th scope="col">Object</th><th scope="col">Version</th><th scope="col">Outcome</th><th scope="col">Reason</th></tr></thead>
      <tbody>${statusRows(s)}</tbody>
    </table>`;
}

/** The bundle's text from the form: the file if one was chosen, else the textarea. */
async function bundleText(form: { file?: File | undefined; bundle?: string | undefined }, limit: number): Promise<string> {
  const file = form.file && form.file.size > 0 ? form.file : undefined;
  if (file && file.size > limit) throw new VigilError('payload-too-large', `file: larger than this API root's limit of ${limit} octets`);
  const text = file ? await file.text() : (form.bundle ?? '').trim();
  if (!text) throw new VigilError('bad-request', 'choose a file or paste a STIX bundle');
  if (Buffer.byteLength(text) > limit)
    throw new VigilError('payload-too-large', `bundle: larger than this API root's limit of ${limit} octets`);
  return text;
}

export function submitRoutes(deps: Deps): Hono<ConsoleEnv> {
  const app = new Hono<ConsoleEnv>({ strict: false });

  app.get('/collections/:root/:id/submit', async (c) => {
    const root = c.req.param('root');
    const access = await writableCollection(deps, c.get('session')!.principal, root, uuidParam(c.req.param('id'), 'collection'));
    return submitPage(c, root, access);
  });

  app.post('/collections/:root/:id/submit', async (c) => {
    const who = c.get('session')!.principal;
    const root = await requireApiRoot(deps, c.req.param('root'));
    const access = await writableCollection(deps, who, root.name, uuidParam(c.req.param('id'), 'collection'));
    // Held like a TAXII POST's body (taxii/body.ts), from before the form is read until it is recorded.
    const release = holdWhole(deps.bodyBudget, c.req.raw, deps.config.maxContentLength);
    try {
      const form = parseForm(submitForm, await c.req.parseBody());
      let text = '';
      try {
        text = await bundleText(form, root.max_content_length);
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch (err) {
          throw new VigilError('invalid-json', `not valid JSON: ${(err as Error).message}`);
        }
        const kind = (parsed as { type?: unknown } | null)?.type === 'bundle' ? 'bundle' : 'envelope';
        const status = await addObjects(deps, who, { root: root.name, collectionId: access.collection.id, body: Buffer.from(text), kind });
        return c.redirect(`/console/status/${encodeURIComponent(root.name)}/${status.id}`, 303);
      } catch (err) {
        if (!(err instanceof VigilError) || err.status >= 500) throw err;
        // The pasted text comes back for correction; a file's does not (it may be large).
        return submitPage(c, root.name, access, err.message, err.status, form.file?.size ? '' : text || form.bundle || '');
      }
    } finally {
      release();
    }
  });

  app.get('/status/:root/:id', async (c) => {
    const root = c.req.param('root');
    const s = await getStatus(deps, c.get('session')!.principal, root, uuidParam(c.req.param('id'), 'status'));
    const pending = s.status === 'pending';
    return page(c, {
      title: 'Submission status',
      session: c.get('session'),
      body: statusBody(root, s),
      script: true,
      ...(pending ? { refreshSeconds: 2 } : {}),
    });
  });

  // What console.js polls while a submission is pending.
  app.get('/status/:root/:id/data', async (c) => {
    c.header('Cache-Control', 'no-store');
    return c.json(await getStatus(deps, c.get('session')!.principal, c.req.param('root'), uuidParam(c.req.param('id'), 'status')));
  });
  return app;
}
