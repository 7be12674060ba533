// The what-if screen: while a run is going, ask for its progress every two seconds and show
// "done / total" days; when it ends, load the page again (its report or its error).
(() => {
  const box = document.getElementById("run-status");
  if (!box || box.dataset.state !== "running") return;
  const done = document.getElementById("run-done");
  const total = document.getElementById("run-total");
  const bar = document.getElementById("run-bar");

  async function poll() {
    try {
      const response = await fetch(box.dataset.statusUrl, {
        headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (response.ok) {
        const run = await response.json();
        if (run.state !== "running") {
          window.location.assign(box.dataset.pageUrl);
          return;
        }
        done.textContent = run.done;
        total.textContent = run.total;
        bar.max = run.total;
        bar.value = run.done;
      }
    } catch (err) {
      // the server is busy or restarting: ask again at the next tick
    }
    window.setTimeout(poll, 2000);
  }
  window.setTimeout(poll, 2000);
})();
