// Vigil console: fills in a submission's status as its objects are stored. Progressive
// enhancement: without this script the page reloads itself (a <noscript> meta refresh).
'use strict';

(() => {
  const table = document.querySelector('[data-status-url]');
  if (!table) return;
  const url = table.getAttribute('data-status-url');
  const rows = table.querySelector('tbody');
  const live = document.getElementById('status-summary');

  function cell(tr, text, header) {
    const td = document.createElement(header ? 'th' : 'td');
    if (header) td.setAttribute('scope', 'row');
    td.textContent = text;
    tr.appendChild(td);
  }

  function render(status) {
    for (const key of ['status', 'total_count', 'success_count', 'failure_count', 'pending_count']) {
      const el = document.querySelector('[data-field="' + key + '"]');
      if (el) el.textContent = String(status[key]);
    }
    const all = []
      .concat((status.failures || []).map((d) => ['failure', d]))
      .concat((status.pendings || []).map((d) => ['pending', d]))
      .concat((status.successes || []).map((d) => ['success', d]));
    const fresh = document.createDocumentFragment();
    for (const [outcome, d] of all) {
      const tr = document.createElement('tr');
      tr.className = 'outcome-' + outcome;
      cell(tr, d.id || '(no id)', true);
      cell(tr, d.version || '');
      cell(tr, outcome);
      cell(tr, d.message || '');
      fresh.appendChild(tr);
    }
    rows.replaceChildren(fresh);
    if (live)
      live.textContent = status.success_count + ' stored, ' + status.failure_count + ' rejected, ' + status.pending_count + ' pending';
    table.setAttribute('data-pending', status.status === 'pending' ? 'true' : 'false');
    const notice = document.getElementById('status-pending-notice');
    if (notice && status.status !== 'pending') notice.remove();
  }

  async function poll() {
    try {
      const res = await fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' } });
      if (!res.ok) return;
      const status = await res.json();
      render(status);
      if (status.status === 'pending') setTimeout(poll, 1000);
    } catch {
      setTimeout(poll, 3000);
    }
  }

  if (table.getAttribute('data-pending') === 'true') setTimeout(poll, 500);
})();
