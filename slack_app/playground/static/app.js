// The playground's page: draws Slack's surfaces from the playground's state, and sends what people do.
// Plain JS, no build step. Text from the app is only ever put in the page with textContent, or through
// renderMrkdwn, which escapes everything before it adds its own tags.
"use strict";

const EMOJI = {
  white_check_mark: "✅", heavy_check_mark: "✔️", x: "❌", "+1": "👍", "-1": "👎", raised_hands: "🙌",
  tada: "🎉", wave: "👋", sparkles: "✨", hourglass: "⌛", hourglass_flowing_sand: "⏳", no_entry_sign: "🚫",
  incoming_envelope: "📨", pray: "🙏", heart: "❤️", eyes: "👀", seedling: "🌱", calendar: "📆", point_right: "👉",
};
const QUICK_REACTIONS = ["white_check_mark", "x", "+1", "raised_hands", "tada"];
const AVATAR_COLOURS = ["#e8912d", "#2bac76", "#1264a3", "#9f3a8f", "#d8413a", "#4a8f9f"];

const ui = {
  me: localStorage.getItem("playground-me") || "",
  place: "messages", // messages | home | a channel id
  data: null,
  version: -1,
  polling: null, // AbortController of the current long poll
  modalViewId: null,
};

const $ = (selector) => document.querySelector(selector);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

// --- talking to the playground ---

async function post(path, body = {}) {
  const response = await fetch(`/playground/${path}`, {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({as: ui.me, ...body}),
  });
  if (!response.ok) throw new Error(await response.text());
  return response.json();
}

async function poll() {
  for (;;) {
    const me = ui.me;
    ui.polling = new AbortController();
    try {
      const query = new URLSearchParams({as: me, since: ui.version});
      const response = await fetch(`/playground/state?${query}`, {signal: ui.polling.signal});
      if (response.status === 400) { // someone this playground doesn't have: be its first person
        ui.me = "";
        continue;
      }
      if (!response.ok) throw new Error(await response.text());
      const data = await response.json();
      if (me !== ui.me) continue; // switched person while waiting
      ui.me = data.viewer;
      ui.data = data;
      ui.version = data.version;
      render();
    } catch (error) {
      if (error.name !== "AbortError") await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

function become(person) {
  ui.me = person;
  ui.version = -1;
  ui.modalViewId = null;
  localStorage.setItem("playground-me", person);
  if (ui.polling) ui.polling.abort();
  if (ui.place === "home") post("home");
}

function go(place) {
  ui.place = place;
  if (place === "home") post("home"); // Slack sends app_home_opened every time the tab opens
  render();
}

// --- people ---

function personById(id) {
  return (ui.data ? ui.data.people : []).find((person) => person.id === id);
}

function initials(name) {
  return name.split(/\s+/).filter(Boolean).slice(0, 2).map((part) => part[0].toUpperCase()).join("");
}

function avatar(person, large = false) {
  const colour = AVATAR_COLOURS[[...person.id].reduce((sum, c) => sum + c.charCodeAt(0), 0) % AVATAR_COLOURS.length];
  return el("span", {class: `avatar${large ? " large" : ""}`, style: `background:${colour}`, "aria-hidden": "true", text: initials(person.real_name)});
}

function localTime(tz) {
  try {
    return new Date().toLocaleTimeString([], {timeZone: tz, hour: "2-digit", minute: "2-digit"});
  } catch {
    return "";
  }
}

function renderPeople() {
  $("#people").replaceChildren(...people().map((person) => el("button", {
    type: "button", class: "person", "aria-pressed": String(person.id === ui.me), "data-person": person.id,
    title: `${person.real_name} · ${person.tz} · Slack in ${person.locale}${person.is_admin ? " · workspace admin" : ""}`,
    onclick: () => become(person.id),
  }, avatar(person), el("span", {text: person.real_name.split(" ")[0]}),
  el("small", {text: `${localTime(person.tz)} · ${person.locale}${person.is_admin ? " · admin" : ""}`}))));
}

// --- mrkdwn: escape first, then add Slack's formatting ---

function escapeHtml(text) {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

function decodeSlackEntities(text) {
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

function emojify(text) {
  return text.replace(/:([a-z0-9_+-]+)(?:::skin-tone-\d)?:/g, (whole, name) => EMOJI[name] || whole);
}

// One of Slack's <…> constructs: a mention, a special mention, or a link.
function renderAngle(inner) {
  const [target, label] = inner.split("|", 2).map(decodeSlackEntities);
  if (/^@[UW][A-Z0-9]+$/.test(target)) {
    const person = personById(target.slice(1));
    return `<span class="mention">@${escapeHtml(person ? person.real_name : label || target.slice(1))}</span>`;
  }
  if (target.startsWith("#C")) return `<span class="mention">#${escapeHtml(label || target.slice(1))}</span>`;
  if (target.startsWith("!")) return `<span class="mention">@${escapeHtml(label || target.slice(1).split("^")[0])}</span>`;
  if (/^(https?:|mailto:)/i.test(target)) {
    return `<a href="${escapeHtml(target)}" target="_blank" rel="noopener noreferrer">${escapeHtml(label || target)}</a>`;
  }
  return escapeHtml(label || target);
}

function renderInline(text) {
  let html = emojify(escapeHtml(decodeSlackEntities(text)));
  const code = [];
  html = html.replace(/`([^`\n]+)`/g, (_, inner) => `\u0001${code.push(`<code>${inner}</code>`) - 1}\u0001`);
  html = html.replace(/(^|[^\w*])\*(?!\s)([^*\n]+?)\*(?![\w*])/g, "$1<b>$2</b>");
  html = html.replace(/(^|[^\w_])_(?!\s)([^_\n]+?)_(?![\w_])/g, "$1<i>$2</i>");
  html = html.replace(/(^|[^\w~])~(?!\s)([^~\n]+?)~(?![\w~])/g, "$1<s>$2</s>");
  return html.replace(/\u0001(\d+)\u0001/g, (_, index) => code[Number(index)]);
}

function renderMrkdwn(text) {
  const angles = [];
  const source = String(text).replace(/[\u0000\u0001]/g, "")
    .replace(/<([^<>]*)>/g, (_, inner) => `\u0000${angles.push(renderAngle(inner)) - 1}\u0000`);
  const out = [];
  let quoted = [];
  const flushQuote = () => {
    if (quoted.length) out.push(`<blockquote>${quoted.join("<br>")}</blockquote>`);
    quoted = [];
  };
  for (const line of source.split("\n")) {
    const quote = /^(?:>|&gt;) ?(.*)$/.exec(line);
    if (quote) {
      quoted.push(renderInline(quote[1]));
    } else {
      flushQuote();
      out.push(renderInline(line) + "<br>");
    }
  }
  flushQuote();
  const html = out.join("").replace(/<br>$/, "");
  return html.replace(/\u0000(\d+)\u0000/g, (_, index) => angles[Number(index)]);
}

function textObject(text, tag = "span") {
  if (!text) return null;
  const node = el(tag, {class: "text"});
  if (text.type === "mrkdwn") node.innerHTML = renderMrkdwn(text.text); // escaped by renderMrkdwn
  else node.textContent = emojify(text.text);
  return node;
}

// --- Block Kit ---

function renderBlocks(blocks, where) {
  return blocks.map((block) => renderBlock(block, where));
}

function renderBlock(block, where) {
  switch (block.type) {
    case "header":
      return el("div", {class: "block block-header"}, textObject(block.text));
    case "divider":
      return el("hr", {class: "block-divider"});
    case "section":
      return el("div", {class: "block block-section"},
        el("div", {class: "text"}, textObject(block.text, "div"),
          block.fields ? el("div", {class: "fields"}, ...block.fields.map((field) => textObject(field, "div"))) : null),
        block.accessory ? interactive(block, block.accessory, where) : null);
    case "context":
      return el("div", {class: "block block-context"},
        ...block.elements.map((element) => element.type === "image" ? el("span", {text: element.alt_text}) : textObject(element)));
    case "actions":
      return el("div", {class: "block block-actions"}, ...block.elements.map((element) => interactive(block, element, where)));
    case "image":
      if (block.slack_file && block.slack_file.id)  // a file the app uploaded here, files.uploadV2-style
        return el("figure", {class: "block block-image"},
          el("img", {src: `/files/${encodeURIComponent(block.slack_file.id)}`, alt: block.alt_text}),
          block.title ? el("figcaption", {text: block.title.text}) : null);
      return el("div", {class: "block", text: `[image: ${block.alt_text}]`});
    default:
      return el("div", {class: "block empty", text: `[a ${block.type} block, which the playground doesn't draw]`});
  }
}

// A button or a select on a message or the Home tab: using it sends block_actions.
function interactive(block, element, where) {
  const send = (chosen) => post("action", {...where, block_id: block.block_id, action_id: element.action_id, chosen});
  switch (element.type) {
    case "button":
      return el("button", {type: "button", class: `btn ${element.style || ""}`, "data-action": element.action_id,
        onclick: () => confirmed(element.confirm) && send()}, emojify(element.text.text));
    case "static_select":
      return selectBox(element, optionChoices(element), element.initial_option && element.initial_option.value, send);
    case "channels_select":
      return selectBox(element, ui.data.channels.map((channel) => [channel.id, `#${channel.name}`]), element.initial_channel, send);
    case "users_select":
      return selectBox(element, peopleChoices(), element.initial_user, send);
    case "timepicker":
    case "datepicker":
      return el("input", {type: element.type === "timepicker" ? "time" : "date", "aria-label": placeholder(element),
        value: element.initial_time || element.initial_date || "", onchange: (event) => send(event.target.value)});
    default:
      return el("span", {class: "empty", text: `[${element.type}]`});
  }
}

// Slack asks before sending a button's action when the button carries a confirmation dialog.
function confirmed(dialog) {
  return !dialog || window.confirm(`${dialog.title.text}\n\n${dialog.text.text}`);
}

function placeholder(element) {
  return element.placeholder ? element.placeholder.text : element.action_id;
}

// A select: on a message or Home it sends its choice at once (`send`); in a modal, `id` ties it to its label.
function selectBox(element, choices, chosen, send, id) {
  return el("select", {id, "aria-label": id ? undefined : placeholder(element), onchange: send && ((event) => send(event.target.value))},
    el("option", {value: "", text: placeholder(element), disabled: true, selected: !chosen}),
    ...choices.map(([value, label]) => el("option", {value, text: label, selected: value === chosen})));
}

function optionChoices(element) {
  return element.options.map((option) => [option.value, option.text.text]);
}

function people() {
  return ui.data.people.filter((person) => !person.is_bot && !person.deleted);
}

function peopleChoices() {
  return people().map((person) => [person.id, person.real_name]);
}

// --- conversations ---

function renderMessage(message, channel) {
  const author = message.user ? personById(message.user) : null;
  const sender = author ? author.real_name : message.sender || "slack-ask";
  const body = el("div", {class: "message-body"},
    el("div", {class: "message-meta"}, el("b", {text: sender}), sender === "slack-ask" ? el("span", {class: "app-badge", text: "APP"}) : null,
      message.thread_ts ? el("span", {class: "in-thread", text: "replied in a thread"}) : null,
      message.ephemeral ? el("span", {text: "Only visible to you"}) : null, message.edited ? el("span", {text: " (edited)"}) : null),
    ...(message.blocks && message.blocks.length ? renderBlocks(message.blocks, {surface: "message", channel, ts: message.ts})
      : [textObject({type: "mrkdwn", text: message.text}, "div")]),
    ...(message.files || []).map((file) => el("a", {class: "file", href: `/files/${encodeURIComponent(file.id)}`,
      download: file.title, text: `📎 ${file.title} (${file.size} bytes)`})));
  if (!message.ephemeral) body.append(reactionRow(message, channel));
  return el("article", {class: `message${message.ephemeral ? " ephemeral" : ""}${message.thread_ts ? " thread-reply" : ""}`, "data-ts": message.ts},
    avatar(author || {id: sender, real_name: sender.replace("-", " ")}, true), body);
}

function reactionRow(message, channel) {
  const react = (name) => post("react", {channel, ts: message.ts, reaction: name});
  const existing = message.reactions.map((reaction) => el("button", {
    type: "button", class: `reaction${reaction.mine ? " mine" : ""}`, "aria-pressed": String(reaction.mine),
    "aria-label": `${reaction.mine ? "Remove" : "Add"} :${reaction.name}: (${reaction.count})`, onclick: () => react(reaction.name),
  }, `${EMOJI[reaction.name] || `:${reaction.name}:`} ${reaction.count}`));
  const shown = new Set(message.reactions.map((reaction) => reaction.name));
  const quick = QUICK_REACTIONS.filter((name) => !shown.has(name)).map((name) => el("button", {
    type: "button", class: "reaction add", "aria-label": `React with :${name}:`, title: `:${name}:`, onclick: () => react(name),
  }, EMOJI[name]));
  // The app's message shortcut, as Slack lists it in every message's ⋮ menu.
  const shortcut = el("button", {type: "button", class: "reaction shortcut", "data-shortcut": "ask_about_message",
    title: "A message shortcut (⋮ More actions in Slack)",
    onclick: () => post("shortcut", {channel, ts: message.ts, callback_id: "ask_about_message"})}, "⚡ Ask for help with this");
  return el("div", {class: "reactions"}, ...existing, ...quick, shortcut);
}

function renderConversation(channel) {
  const messages = ui.data.conversations[channel] || [];
  if (!messages.length) {
    return [el("p", {class: "empty", text: channel === ui.data.dm
      ? "Nothing here yet. Type /ask and what you need below (/ask help says how), or use ⚡ Ask for help with this on a message in #general — or switch person to see their messages."
      : "No messages yet."})];
  }
  return messages.map((message) => renderMessage(message, channel));
}

function renderHome() {
  const home = ui.data.home;
  if (!home) return [el("p", {class: "empty", text: "Opening Home… (the app publishes it when you open the tab)"})];
  return renderBlocks(home.blocks, {surface: "home"});
}

// --- the modal ---

function renderModal() {
  const modal = ui.data.modal;
  $("#modal-backdrop").hidden = !modal;
  if (!modal) {
    ui.modalViewId = null;
    return;
  }
  if (modal.view.id !== ui.modalViewId) {
    ui.modalViewId = modal.view.id;
    buildModal(modal.view);
  }
  showErrors(modal.errors);
}

function buildModal(view) {
  const form = $("#modal");
  form.replaceChildren(
    el("div", {class: "modal-head"}, el("span", {class: "app-icon", "aria-hidden": "true", text: "🙋"}),
      el("h2", {id: "modal-title", text: view.title.text}),
      el("button", {type: "button", class: "modal-close", "aria-label": "Close", onclick: closeModal, text: "×"})),
    el("div", {class: "modal-body"}, el("div", {class: "modal-error", role: "alert", hidden: true}),
      ...view.blocks.map((block) => block.type === "input" ? field(block) : renderBlock(block, {surface: "modal"}))),
    el("div", {class: "modal-foot"},
      el("button", {type: "button", class: "btn", onclick: closeModal, text: view.close ? view.close.text : "Cancel"}),
      view.submit ? el("button", {type: "submit", class: "btn primary", text: view.submit.text}) : null));
  form.onsubmit = async (event) => {
    event.preventDefault();
    const submit = form.querySelector("[type=submit]");
    submit.disabled = true;
    try {
      await post("submit", {values: readValues(form)});
    } finally {
      submit.disabled = false;
    }
  };
  const first = form.querySelector("input, textarea, select");
  if (first) first.focus();
}

function closeModal() {
  post("close");
}

const GROUPS = ["radio_buttons", "checkboxes", "multi_users_select"]; // labelled as a group, not one control

function field(block) {
  const element = block.element;
  const id = `field-${block.block_id}`;
  const optional = block.optional ? el("span", {class: "optional", text: " (optional)"}) : null;
  const label = GROUPS.includes(element.type)
    ? el("div", {class: "label", id: `${id}-label`}, block.label.text, optional)
    : el("label", {for: id}, block.label.text, optional);
  return el("div", {class: "field", "data-block-id": block.block_id, "data-type": element.type},
    label, control(element, id),
    block.hint ? el("div", {class: "hint", text: block.hint.text}) : null,
    el("div", {class: "field-error", role: "alert"}));
}

function control(element, id) {
  const hint = element.placeholder ? element.placeholder.text : undefined;
  switch (element.type) {
    case "plain_text_input":
      return element.multiline
        ? el("textarea", {id, placeholder: hint, maxlength: element.max_length, text: element.initial_value || ""})
        : el("input", {id, type: "text", placeholder: hint, maxlength: element.max_length, value: element.initial_value || ""});
    case "static_select":
      return selectBox(element, optionChoices(element), element.initial_option && element.initial_option.value, null, id);
    case "users_select":
      return selectBox(element, peopleChoices(), element.initial_user, null, id);
    case "radio_buttons":
    case "checkboxes":
      return choices(element, id);
    case "multi_users_select":
      return userChoices(element, id);
    case "datepicker":
      return el("input", {id, type: "date", value: element.initial_date || ""});
    case "timepicker":
      return el("input", {id, type: "time", value: element.initial_time || ""});
    default:
      return el("div", {class: "empty", text: `[${element.type} input, which the playground doesn't draw]`});
  }
}

function choices(element, id) {
  const radio = element.type === "radio_buttons";
  const initially = new Set(radio ? [element.initial_option && element.initial_option.value]
    : (element.initial_options || []).map((option) => option.value));
  return el("div", {class: "choices", id, role: radio ? "radiogroup" : "group", "aria-labelledby": `${id}-label`}, ...element.options.map((option) => el("label", {class: "choice"},
    el("input", {type: radio ? "radio" : "checkbox", name: id, value: option.value, checked: initially.has(option.value)}),
    emojify(option.text.text))));
}

function userChoices(element, id) {
  const box = el("div", {class: "choices users", id, role: "group", "aria-labelledby": `${id}-label`}, ...people().map((person) => el("label", {class: "choice user-chip"},
    el("input", {type: "checkbox", name: id, value: person.id, checked: (element.initial_users || []).includes(person.id)}),
    avatar(person), person.real_name)));
  // Slack stops the picker at max_selected_items.
  box.addEventListener("change", () => {
    const boxes = [...box.querySelectorAll("input")];
    const full = boxes.filter((input) => input.checked).length >= (element.max_selected_items || Infinity);
    boxes.forEach((input) => { input.disabled = full && !input.checked; });
  });
  return box;
}

function readValues(form) {
  const values = {};
  for (const wrapper of form.querySelectorAll(".field")) {
    const type = wrapper.dataset.type;
    const checked = [...wrapper.querySelectorAll("input:checked")].map((input) => input.value);
    if (type === "checkboxes" || type === "multi_users_select") values[wrapper.dataset.blockId] = checked;
    else if (type === "radio_buttons") values[wrapper.dataset.blockId] = checked[0] || null;
    else {
      const input = wrapper.querySelector("input, textarea, select");
      values[wrapper.dataset.blockId] = input && input.value ? input.value : null;
    }
  }
  return values;
}

function showErrors(errors) {
  const form = $("#modal");
  const banner = form.querySelector(".modal-error");
  if (banner) {
    banner.hidden = !errors[""];
    banner.textContent = errors[""] || "";
  }
  for (const wrapper of form.querySelectorAll(".field")) {
    const error = errors[wrapper.dataset.blockId] || "";
    wrapper.classList.toggle("invalid", Boolean(error));
    wrapper.querySelector(".field-error").textContent = error;
  }
}

// --- the page ---

function renderSidebar() {
  $("#channel-list").replaceChildren(...ui.data.channels.map((channel) => el("button", {
    type: "button", class: "nav-item", "data-place": channel.id, onclick: () => go(channel.id),
  }, `# ${channel.name}`)));
  for (const item of document.querySelectorAll(".nav-item")) {
    const onApp = ["messages", "home"].includes(ui.place);
    const current = item.dataset.place === ui.place || (onApp && item.dataset.place === "messages");
    item.toggleAttribute("aria-current", false);
    if (current) item.setAttribute("aria-current", "page");
  }
  $("#checks").replaceChildren(...ui.data.checks.map((check) => el("li", {text: check})));
}

// The Workflows panel: one sample workflow whose one step is slack-ask's "Send a low-pressure ask", and its runs
// as Workflow Builder's activity shows them — running until the step completes (when the ask ends), or failed.
function renderWorkflows() {
  const {sample, runs} = ui.data.workflows;
  const buddy = personById(sample.inputs.teammates[0]);
  const card = el("div", {class: "workflow", id: "sample-workflow"},
    el("h3", {text: `⚙️ ${sample.name}`}),
    el("p", {text: sample.description}),
    el("ol", {class: "workflow-steps"},
      el("li", {text: "When a new starter joins (you run it here by hand)"}),
      el("li", {text: `slack-ask: Send a low-pressure ask — in your name, to ${buddy ? buddy.real_name : "their buddy"}: “${sample.inputs.ask}”, ${sample.inputs.estimate} minutes`})),
    el("button", {type: "button", class: "btn primary", id: "run-workflow", onclick: () => post("workflow")}, "Run workflow"));
  const shown = runs.map((run, index) => el("li", {class: `workflow-run ${run.state}`, "data-state": run.state},
    el("strong", {text: `Run ${index + 1}`}), ` by ${(personById(run.by) || {real_name: run.by}).real_name}: `,
    el("span", {class: "run-status", text: runStatus(run)})));
  return [card, el("h3", {text: "Activity"}),
    el("ul", {class: "workflow-runs", id: "workflow-runs"}, ...(shown.length ? shown : [el("li", {class: "none", text: "No runs yet."})]))];
}

function runStatus(run) {
  if (run.state === "running") return "Running — the step completes when the ask ends.";
  if (run.state === "failed") return `Failed: ${run.error}`;
  const out = run.outputs;
  const helpers = out.helpers.map((id) => (personById(id) || {real_name: id}).real_name).join(", ") || "nobody";
  return `Completed — outcome: ${out.outcome}; helpers: ${helpers}; minutes of help: ${out.helped_minutes}; thanked: ${out.thanked ? "yes" : "no"}`;
}

function renderSurface() {
  const onApp = ["messages", "home"].includes(ui.place);
  const onWorkflows = ui.place === "workflows";
  const channel = ui.data.channels.find((c) => c.id === ui.place);
  $("#surface-title").textContent = onWorkflows ? "Workflows" : onApp ? "slack-ask" : `# ${channel.name}`;
  $("#app-tabs").hidden = !onApp;
  for (const tab of document.querySelectorAll("#app-tabs [role=tab]")) tab.setAttribute("aria-selected", String(tab.dataset.place === ui.place));
  $("#composer").hidden = ui.place === "home" || onWorkflows;
  const digest = ui.data.digest;
  $("#digest-control").hidden = ui.place !== "C0KUDOS";
  $("#run-digest").disabled = digest.running;
  $("#digest-log").textContent = digest.running ? "Running slack-ask digest --post…" : (digest.log[digest.log.length - 1] || "");

  const surface = $("#surface");
  const atBottom = surface.scrollHeight - surface.scrollTop - surface.clientHeight < 40;
  surface.replaceChildren(...(ui.place === "home" ? renderHome() : onWorkflows ? renderWorkflows()
    : renderConversation(ui.place === "messages" ? ui.data.dm : ui.place)));
  if (atBottom) surface.scrollTop = surface.scrollHeight;
}

function renderProblems() {
  const problems = ui.data.problems;
  $("#problems").replaceChildren(...(problems.length ? problems.map((problem) => el("li", {text: problem}))
    : [el("li", {class: "none", text: "Nothing so far: everything the app sent, Slack would have accepted."})]));
}

function render() {
  if (!ui.data) return;
  renderPeople();
  renderSidebar();
  renderSurface();
  renderProblems();
  renderModal();
}

function start() {
  for (const item of document.querySelectorAll("[data-place]")) item.addEventListener("click", () => go(item.dataset.place));
  $("#composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const box = $("#message-box");
    if (!box.value.trim()) return;
    post("command", {channel: ui.place === "messages" ? ui.data.dm : ui.place, text: box.value});
    box.value = "";
  });
  $("#run-digest").addEventListener("click", () => post("digest"));
  $("#new-ask-shortcut").addEventListener("click", () => post("shortcut", {callback_id: "new_ask"}));
  poll();
}

start();
