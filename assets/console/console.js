// Scepter console: progressive enhancement only. Every page works without it; this file adds copy
// buttons, confirmations before destructive changes, and live progress of "Sync now".
'use strict';
(function () {
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute('content') : '';

  document.addEventListener('click', function (e) {
    var b = e.target.closest && e.target.closest('button[data-copy]');
    if (!b) return;
    var el = document.getElementById(b.getAttribute('data-copy'));
    if (!el) return;
    var text = el.textContent;
    // only the visible word changes; the hidden label (what is copied) stays in the button's name
    var word = b.firstChild;
    var done = function () {
      word.nodeValue = 'Copied';
      setTimeout(function () {
        word.nodeValue = 'Copy';
      }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext)
      navigator.clipboard.writeText(text).then(done, function () {
        select(el);
      });
    else {
      select(el);
      try {
        document.execCommand('copy');
        done();
      } catch (_) {
        /* selected for a manual copy */
      }
    }
  });

  function select(el) {
    var r = document.createRange();
    r.selectNodeContents(el);
    var s = window.getSelection();
    s.removeAllRanges();
    s.addRange(r);
  }

  document.addEventListener('submit', function (e) {
    var f = e.target;
    var msg = f.getAttribute('data-confirm');
    if (msg && !window.confirm(msg)) {
      e.preventDefault();
      return;
    }
    var id = f.getAttribute('data-sync');
    if (id) {
      e.preventDefault();
      startSync(f, id);
    }
  });

  // revoke forms return to the list page they were on (same filters and page)
  Array.prototype.forEach.call(document.querySelectorAll('input[data-back]'), function (i) {
    i.value = location.pathname + location.search;
  });

  function startSync(form, id) {
    var out = document.getElementById('sync-progress');
    var button = form.querySelector('button');
    button.disabled = true;
    out.textContent = 'Starting the sync…';
    fetch(form.action, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'X-CSRF-Token': csrf, 'X-Requested-With': 'console', Accept: 'application/json', 'Content-Type': 'application/x-www-form-urlencoded' },
      body: '_csrf=' + encodeURIComponent(csrf),
    })
      .then(function (r) {
        return r.json();
      })
      .then(function (j) {
        if (j.error) {
          out.textContent = 'Sync failed: ' + j.error;
          button.disabled = false;
          return;
        }
        if (j.started === false) out.textContent = 'A sync is already running.';
        poll(id, out, button);
      })
      .catch(function () {
        out.textContent = 'Could not start the sync; reload the page.';
        button.disabled = false;
      });
  }

  function poll(id, out, button) {
    fetch('/console/integrations/' + encodeURIComponent(id) + '/sync-progress', { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (r) {
        return r.json();
      })
      .then(function (run) {
        var p = run.progress;
        if (run.running) {
          out.textContent = p
            ? 'Syncing: page ' + (p.page + 1) + ', ' + p.fetched + ' of ' + p.total + ' devices fetched, ' + p.managed + ' managed'
            : 'Syncing…';
          setTimeout(function () {
            poll(id, out, button);
          }, 700);
          return;
        }
        button.disabled = false;
        if (run.error) out.textContent = 'Sync failed: ' + run.error;
        else if (run.outcome && run.outcome.ok)
          out.textContent = 'Sync done: ' + run.outcome.fetched + ' devices fetched, ' + run.outcome.managed + ' managed.';
        else if (run.outcome) out.textContent = 'Sync failed: ' + run.outcome.message;
        else out.textContent = 'No sync running.';
      })
      .catch(function () {
        out.textContent = 'Lost track of the sync; reload the page.';
        button.disabled = false;
      });
  }
})();
