// The front-end entry point: polls the health endpoint and shows it.
async function refreshStatus(element) {
  const started = Date.now();
  const response = await fetch('/healthz');
  const body = await response.json();
  element.textContent = (body.ok ? 'up' : 'down') + ' in ' + (Date.now() - started) + ' ms, ' +
    formatBytes(JSON.stringify(body).length);
}

document.addEventListener('DOMContentLoaded', () => {
  const element = document.getElementById('status');
  if (!element) {
    return;
  }
  const refresh = debounce(() => refreshStatus(element), 200);
  window.addEventListener('focus', refresh);
  refresh();
});
