// The API console: reads the live catalog, builds request examples, submits through the session,
// polls the task and shows the result on a checkerboard with a before/after slider.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const form = $("console-form");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const ENDPOINT = "/api/v1/images/tools/remove-bg";
  let catalog = [];
  let beforeUrl = null;

  function origin() { return window.location.origin; }

  function chosen() {
    const values = {
      model: $("model").value,
      output_format: $("output-format").value,
      channels: $("channels").value,
      crop: $("crop").checked,
      crop_margin: parseInt($("crop-margin").value || "0", 10),
      bg_color: $("bg-color").value.trim() || null,
      provider: $("route-field").hidden ? "" : $("provider").value,
    };
    const file = $("source-file").checked;
    return { values, file, url: $("image-url").value.trim(), fileName: file && $("image-file").files[0] ? $("image-file").files[0].name : "photo.jpg" };
  }

  // Only the options that differ from the API's defaults, so the examples stay short.
  function options(values) {
    const out = { model: values.model };
    if (values.output_format !== "png") out.output_format = values.output_format;
    if (values.channels !== "rgba") out.channels = values.channels;
    if (values.crop) out.crop = true;
    if (values.crop_margin) out.crop_margin = values.crop_margin;
    if (values.bg_color) out.bg_color = values.bg_color;
    if (values.provider) out.provider = values.provider;  // pinned by the user, where the operator allows it
    return out;
  }

  function shellQuote(s) { return "'" + String(s).replace(/'/g, "'\\''") + "'"; }
  function pyValue(v) { return v === true ? "True" : v === false ? "False" : v === null ? "None" : JSON.stringify(v); }

  function examples() {
    const c = chosen();
    const opts = options(c.values);
    const url = origin() + ENDPOINT;
    let curl, py, js;
    if (c.file) {
      const fields = Object.entries(opts).map(([k, v]) => `  -F ${shellQuote(k + "=" + v)} \\`).join("\n");
      curl = `curl -X POST ${url} \\\n  -H "Authorization: Bearer <API_KEY>" \\\n${fields}\n  -F "image_file=@${c.fileName}"`;
      const data = Object.entries(opts).map(([k, v]) => `"${k}": ${JSON.stringify(String(v))}`).join(", ");
      py = `import httpx\n\nwith open(${JSON.stringify(c.fileName)}, "rb") as f:\n    r = httpx.post(\n        ${JSON.stringify(url)},\n        headers={"Authorization": "Bearer <API_KEY>"},\n        data={${data}},\n        files={"image_file": f},\n    )\ntask = r.json()  # 202: {"task_id", "status": "queued", ...}\nprint(task)`;
      const appends = Object.entries(opts).map(([k, v]) => `form.append(${JSON.stringify(k)}, ${JSON.stringify(String(v))});`).join("\n");
      js = `const form = new FormData();\n${appends}\nform.append("image_file", fileInput.files[0]);\n\nconst r = await fetch(${JSON.stringify(url)}, {\n  method: "POST",\n  headers: { Authorization: "Bearer <API_KEY>" },\n  body: form,\n});\nconst task = await r.json();  // 202: {task_id, status: "queued", ...}`;
    } else {
      const body = Object.assign({}, opts, { image: c.url || "https://example.com/photo.jpg" });
      const json = JSON.stringify(body, null, 2);
      curl = `curl -X POST ${url} \\\n  -H "Authorization: Bearer <API_KEY>" \\\n  -H "Content-Type: application/json" \\\n  -d ${shellQuote(JSON.stringify(body))}`;
      const pyBody = "{\n" + Object.entries(body).map(([k, v]) => `        "${k}": ${pyValue(v)},`).join("\n") + "\n    }";
      py = `import httpx\n\nr = httpx.post(\n    ${JSON.stringify(url)},\n    headers={"Authorization": "Bearer <API_KEY>"},\n    json=${pyBody},\n)\ntask = r.json()  # 202: {"task_id", "status": "queued", ...}\nprint(task)`;
      js = `const r = await fetch(${JSON.stringify(url)}, {\n  method: "POST",\n  headers: { Authorization: "Bearer <API_KEY>", "Content-Type": "application/json" },\n  body: JSON.stringify(${json.replace(/\n/g, "\n  ")}),\n});\nconst task = await r.json();  // 202: {task_id, status: "queued", ...}`;
    }
    const poll = `\n\n# then poll: GET ${origin()}/api/v1/tasks/<task_id> until "succeeded", download result.url`;
    $("example-curl").textContent = curl + poll;
    $("example-python").textContent = py + poll.replace("# then", "\n# then");
    $("example-js").textContent = js + poll.replace("#", "//");
  }

  function describeModel() {
    const m = catalog.find((x) => x.id === $("model").value);
    if (!m) { $("model-info").textContent = ""; return; }
    const s = m.summary || {};
    const facts = [`${m.credits} credit${m.credits === 1 ? "" : "s"} per image`, m.licence];
    if (s.quality) facts.push(`${s.quality} (${s.quality_better} of ${s.quality_measures})`);
    if (s.seconds_per_mp != null) facts.push(`${s.seconds_per_mp.toFixed(2)} s per 1 MP photo`);
    $("model-info").textContent = `${facts.join(" · ")} · ${m.description}`;
    const fmt = $("output-format");
    const keep = fmt.value;
    fmt.replaceChildren(...m.formats.map((f) => new Option(f, f, false, f === keep)));
    describeRoute(m);
  }

  // The route: automatic (the operator's order, with failover) or one provider the operator lets users pin.
  function providerName(p) { return p.name === "local" ? "this server" : p.name; }
  function describeRoute(m) {
    const providers = m.providers || [];
    const pinnable = providers.filter((p) => p.pinnable);
    const select = $("provider");
    const keep = select.value;
    const order = providers.map(providerName).join(" → ");
    select.replaceChildren(new Option(`automatic: ${order || "this server"}`, ""),
      ...pinnable.map((p) => new Option(`only ${p.name} (${p.health.state})`, p.name, false, p.name === keep)));
    $("route-field").hidden = pinnable.length === 0;
    $("route-info").textContent = select.value ? "Only this provider is tried: no failover." : "Tried in this order; the next one serves when one fails. Charged once, on success.";
  }

  async function loadCatalog() {
    const r = await fetch("/api/v1/models", { headers: { Accept: "application/json" } });
    const payload = await r.json();
    catalog = payload.models;
    const select = $("model");
    const preferred = form.dataset.defaultModel;
    select.replaceChildren(...catalog.map((m) => {
      const o = new Option(`${m.id} — ${m.credits} credit${m.credits === 1 ? "" : "s"}${m.available ? "" : " (not installed)"}`, m.id);
      o.disabled = !m.available;
      return o;
    }));
    const pick = catalog.find((m) => m.id === preferred && m.available) || catalog.find((m) => m.available);
    if (pick) select.value = pick.id;
    describeModel();
    examples();
  }

  function showError(message) {
    const box = $("console-error");
    box.textContent = message;
    box.hidden = !message;
  }

  function setStatus(text) { $("status").textContent = text; }

  async function poll(taskId) {
    let delay = 300;
    for (;;) {
      const r = await fetch(`/console/tasks/${encodeURIComponent(taskId)}`, { headers: { Accept: "application/json" } });
      const task = await r.json();
      if (!r.ok) throw new Error(task.error ? `${task.error.code}: ${task.error.message}` : `HTTP ${r.status}`);
      setStatus(`Task ${taskId.slice(0, 8)}: ${task.status}`);
      $("status").dataset.status = task.status;
      if (["succeeded", "failed", "canceled"].includes(task.status)) return task;
      await new Promise((ok) => setTimeout(ok, delay));
      delay = Math.min(1500, delay * 1.5);
    }
  }

  // As every server-rendered page writes dates: "2026-12-04 15:06 UTC", whatever the browser's locale.
  function utcIso(text) {
    return `${new Date(text).toISOString().slice(0, 16).replace("T", " ")} UTC`;
  }

  function showResult(task) {
    const after = $("after");
    after.src = task.result.url;
    $("before").src = beforeUrl || task.result.url;
    $("download").href = task.result.url;
    $("download").setAttribute("download", `${task.task_id}.${task.output_format}`);
    $("result-meta").textContent = `${task.result.width}×${task.result.height} ${task.result.content_type}, ${task.result.bytes} bytes · ${task.credits_charged} credit(s) charged · link expires ${utcIso(task.result.expires_at)}`;
    $("result").hidden = false;
    slide();
  }

  function slide() {
    const v = $("compare-slider").value;
    $("after-wrap").style.clipPath = `inset(0 ${100 - v}% 0 0)`;
  }

  async function submit(event) {
    event.preventDefault();
    showError("");
    const c = chosen();
    let body, headers = { "X-CSRF-Token": csrf, Accept: "application/json" };
    if (c.file) {
      const file = $("image-file").files[0];
      if (!file) { showError("Choose an image file first."); return; }
      body = new FormData();
      for (const [k, v] of Object.entries(options(c.values))) body.append(k, String(v));
      body.append("image_file", file);
      if (beforeUrl) URL.revokeObjectURL(beforeUrl);
      beforeUrl = URL.createObjectURL(file);
    } else {
      if (!c.url) { showError("Give an image URL first."); return; }
      body = JSON.stringify(Object.assign(options(c.values), { image: c.url }));
      headers["Content-Type"] = "application/json";
      beforeUrl = c.url;
    }
    $("run").disabled = true;
    $("result").hidden = true;
    setStatus("Submitting…");
    try {
      const r = await fetch("/console/remove-bg", { method: "POST", headers, body });
      const answer = await r.json();
      if (!r.ok) throw new Error(answer.error ? `${answer.error.code}: ${answer.error.message}` : `HTTP ${r.status}`);
      setStatus(`Task ${answer.task_id.slice(0, 8)}: ${answer.status}`);
      const task = answer.result !== undefined && ["succeeded", "failed", "canceled"].includes(answer.status) ? answer : await poll(answer.task_id);
      if (task.status === "succeeded") showResult(task);
      else showError(task.error ? `${task.error.code}: ${task.error.message}` : `The task ended ${task.status}.`);
    } catch (err) {
      setStatus("");
      showError(String(err.message || err));
    } finally {
      $("run").disabled = false;
    }
  }

  function selectTab(tab) {
    document.querySelectorAll('.tabs [role="tab"]').forEach((t) => {
      const on = t === tab;
      t.setAttribute("aria-selected", String(on));
      t.tabIndex = on ? 0 : -1;
      $(t.getAttribute("aria-controls")).hidden = !on;
    });
  }

  document.querySelectorAll('.tabs [role="tab"]').forEach((tab, i, all) => {
    tab.addEventListener("click", () => selectTab(tab));
    tab.addEventListener("keydown", (e) => {  // arrow keys move between tabs, as the ARIA pattern expects
      if (e.key !== "ArrowRight" && e.key !== "ArrowLeft") return;
      const next = all[(i + (e.key === "ArrowRight" ? 1 : all.length - 1)) % all.length];
      selectTab(next);
      next.focus();
    });
  });

  $("copy-example").addEventListener("click", async () => {
    const shown = document.querySelector("pre.example:not([hidden])");
    try {
      await copyText(shown.textContent);
      $("copy-example-status").textContent = "Copied.";
    } catch (err) {
      $("copy-example-status").textContent = "Copy failed.";
    }
  });

  document.querySelectorAll('input[name="source"]').forEach((r) => r.addEventListener("change", () => {
    $("file-field").hidden = !$("source-file").checked;
    $("url-field").hidden = $("source-file").checked;
    examples();
  }));
  $("model").addEventListener("change", () => { describeModel(); examples(); });
  $("provider").addEventListener("change", () => { describeRoute(catalog.find((x) => x.id === $("model").value) || {}); examples(); });
  form.addEventListener("input", examples);
  form.addEventListener("change", examples);
  form.addEventListener("submit", submit);
  $("compare-slider").addEventListener("input", slide);
  loadCatalog().catch((err) => showError(`Could not load the catalog: ${err}`));
})();
