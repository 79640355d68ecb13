// Familia's web console: act as anyone in the demo server, through the emulator.
"use strict";

const state = {
  actor: null, channel: null, locale: "en-US", people: [], roles: [], channels: [],
  entries: [], chosen: null, modalFor: null, refreshing: null,
};
const $ = (id) => document.getElementById(id);

async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  };
  const response = await fetch("/console/api/" + path, options);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function say(text) { $("status").textContent = text; }

function make(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "dataset") Object.assign(el.dataset, value);
    else if (key in el) el[key] = value;
    else el.setAttribute(key, value);
  }
  for (const child of children) if (child != null) el.append(child);
  return el;
}

function showNow(now) {
  if (now) $("now").textContent = now.replace("T", " ").slice(0, 16);
}

async function loadEmails() {
  if ($("mail").hidden) return;
  const data = await api("emails");
  $("emails").replaceChildren(...data.emails.map((mail) => make("li", {},
    make("a", { href: "/console/email/" + encodeURIComponent(mail.name), target: "_blank",
                rel: "noopener", textContent: mail.subject || mail.name }),
    make("a", { href: "/console/email/" + encodeURIComponent(mail.name) + "?text",
                target: "_blank", rel: "noopener", textContent: " (text)" }),
    make("small", { textContent: mail.to }))));
}

async function travel(body) {
  say("Moving time…");
  const moved = await api("time", body);
  showNow(moved.now);
  say("Time moved; what fell due has run.");
  await loadEmails();
  refreshSoon();
}

// -- people and channels -------------------------------------------------------------------

async function loadPeople() {
  const data = await api("people");
  state.people = data.people;
  state.roles = data.roles;
  $("guild").textContent = data.guild.name;
  $("clock").hidden = !data.time_travel;
  $("mail").hidden = !data.emails;
  showNow(data.now);
  const actor = $("actor");
  actor.replaceChildren(...data.people.map((p) => make("option", {
    value: p.id, textContent: `${p.name}${p.label ? " — " + p.label : ""} (${p.locale})`,
  })));
  state.actor = data.people[0].id;
  state.locale = data.people[0].locale;
}

async function loadChannels() {
  const data = await api(`channels?user=${state.actor}`);
  state.channels = data.channels;
  const nav = $("channels");
  nav.replaceChildren();
  for (const channel of data.channels) {
    if (channel.kind === "category") {
      nav.append(make("div", { className: "category", textContent: channel.name }));
      continue;
    }
    const prefix = channel.kind === "dm" ? "@ " : channel.kind === "thread" ? "↳ " : "# ";
    const link = make("a", {
      className: channel.kind, textContent: prefix + channel.name + (channel.private ? " 🔒" : ""),
      dataset: { id: channel.id },
    });
    link.addEventListener("click", () => openChannel(channel.id));
    nav.append(link);
  }
  const still = data.channels.find((c) => c.id === state.channel && c.kind !== "category");
  const first = data.channels.find((c) => c.kind === "text") || data.channels.at(-1);
  await openChannel(still ? still.id : first.id);
}

async function openChannel(id) {
  state.channel = id;
  for (const link of $("channels").querySelectorAll("a")) {
    link.classList.toggle("current", link.dataset.id === id);
  }
  const channel = state.channels.find((c) => c.id === id);
  $("channel-name").textContent = channel ? channel.name : "";
  await loadMessages();
}

// -- messages ------------------------------------------------------------------------------

async function loadMessages() {
  if (!state.channel) return;
  const data = await api(`messages?user=${state.actor}&channel=${state.channel}`);
  const list = $("messages");
  list.replaceChildren(...data.messages.map(renderMessage));
  list.scrollTop = list.scrollHeight;
}

function refreshSoon() {
  clearTimeout(state.refreshing);
  state.refreshing = setTimeout(() => loadMessages().catch((e) => say(e.message)), 60);
}

function html(markup) {
  const div = make("div", { className: "content" });
  div.innerHTML = markup; // rendered by the console: text escaped, mentions as names
  return div;
}

function renderMessage(msg) {
  const head = make("div", {},
    make("span", { className: "author" + (msg.bot ? " bot" : ""), textContent: msg.author }),
    msg.edited ? make("span", { className: "edited", textContent: " (edited)" }) : null);
  const el = make("article", { className: "message", dataset: { id: msg.id } }, head);
  if (msg.ephemeral) {
    el.append(make("div", { className: "ephemeral", textContent: "👁 Only you can see this" }));
  }
  if (msg.html) el.append(html(msg.html));
  for (const embed of msg.embeds) {
    const box = make("div", { className: "embed" });
    if (embed.title) box.append(make("strong", { textContent: embed.title }));
    if (embed.html) box.append(html(embed.html));
    for (const field of embed.fields) {
      box.append(make("div", {}, make("strong", { textContent: field.name }), html(field.html)));
    }
    if (embed.image) box.append(make("img", { src: embed.image, alt: embed.title || "image" }));
    if (embed.footer) box.append(make("small", { textContent: embed.footer }));
    el.append(box);
  }
  for (const file of msg.attachments) {
    const box = make("div", { className: "attachment" });
    if (file.image) box.append(make("img", { src: file.url, alt: file.name }));
    box.append(make("a", { href: file.url, download: file.name, textContent: "📎 " + file.name }));
    el.append(box);
  }
  for (const row of msg.components) {
    const box = make("div", { className: "components" });
    for (const item of row.components || []) box.append(component(msg, item));
    el.append(box);
  }
  return el;
}

function component(msg, item) {
  if (item.type === 2) {
    const text = [item.emoji && item.emoji.name, item.label].filter(Boolean).join(" ");
    if (item.style === 5) {
      return make("a", { href: item.url, target: "_blank", rel: "noopener", textContent: text });
    }
    const button = make("button", {
      type: "button", className: "s" + item.style, textContent: text || "…",
      disabled: !!item.disabled, dataset: { customId: item.custom_id },
    });
    button.addEventListener("click", () => act("click", {
      message: msg.id, custom_id: item.custom_id }));
    return button;
  }
  const select = make("select", { disabled: !!item.disabled,
    dataset: { customId: item.custom_id } });
  select.append(make("option", { value: "", textContent: item.placeholder || "Choose…" }));
  for (const [value, label] of selectOptions(item)) {
    select.append(make("option", { value, textContent: label }));
  }
  select.addEventListener("change", () => {
    if (select.value) act("select", { message: msg.id, custom_id: item.custom_id,
                                      values: [select.value] });
  });
  return select;
}

function selectOptions(item) {
  const people = state.people.map((p) => [p.id, "@" + p.name]);
  const roles = state.roles.map((r) => [r.id, "@" + r.name]);
  const channels = state.channels.filter((c) => c.kind !== "dm")
    .filter((c) => !item.channel_types || item.channel_types.includes(
      c.kind === "category" ? 4 : c.kind === "thread" ? 12 : 0))
    .map((c) => [c.id, (c.kind === "category" ? "" : "#") + c.name]);
  switch (item.type) {
    case 3: return (item.options || []).map((o) => [o.value, o.label]);
    case 5: return people;
    case 6: return roles;
    case 7: return people.concat(roles);
    case 8: return channels;
    default: return [];
  }
}

// -- acting --------------------------------------------------------------------------------

async function act(path, body) {
  say("…");
  const started = performance.now();
  try {
    const result = await api(path, { user: state.actor, ...body });
    if (result.modal) {
      openModal(result);
      say("");
    } else {
      await loadMessages();
      say(result.answered ? `Answered in ${Math.round(performance.now() - started)} ms`
                          : "No answer yet");
    }
  } catch (error) {
    say(error.message);
  }
}

function textInputs(components, found = [], label = null) {
  for (const item of components || []) {
    if (item.type === 4) found.push({ ...item, label: item.label || label });
    else textInputs(item.components || (item.component ? [item.component] : []), found,
                    item.label || label);
  }
  return found;
}

function openModal(result) {
  state.modalFor = result.interaction;
  $("modal-title").textContent = result.modal.title || "";
  const fields = $("modal-fields");
  fields.replaceChildren();
  for (const input of textInputs(result.modal.components)) {
    const props = { name: input.custom_id, required: input.required !== false,
                    value: input.value || "", placeholder: input.placeholder || "" };
    if (input.max_length) props.maxLength = input.max_length;
    if (input.min_length) props.minLength = input.min_length;
    const field = input.style === 2 ? make("textarea", { ...props, rows: 4 })
                                    : make("input", props);
    fields.append(make("label", { textContent: input.label || input.custom_id }), field);
  }
  $("modal").showModal();
}

async function submitModal(event) {
  event.preventDefault();
  const values = {};
  for (const field of $("modal-fields").querySelectorAll("input, textarea")) {
    values[field.name] = field.value;
  }
  $("modal").close();
  await act("submit", { interaction: state.modalFor, values });
}

// -- the composer --------------------------------------------------------------------------

function localized(item, key) {
  const map = item[key + "_localizations"] || {};
  return map[state.locale] || map[state.locale.split("-")[0]] || item[key];
}

async function loadCommands() {
  const data = await api(`commands?user=${state.actor}`);
  state.locale = data.locale;
  const entries = [];
  for (const c of data.commands) {
    if (c.type && c.type !== 1) continue;
    const top = "/" + localized(c, "name");
    const subs = (c.options || []).filter((o) => o.type === 1 || o.type === 2);
    if (!subs.length) {
      entries.push({ name: c.name, path: [], label: top, canonical: "/" + c.name,
                     description: localized(c, "description"), options: c.options || [] });
    }
    for (const s of subs) {
      const leaves = s.type === 1 ? [[s]] : (s.options || []).map((t) => [s, t]);
      for (const leaf of leaves) {
        entries.push({
          name: c.name, path: leaf.map((o) => o.name),
          label: [top, ...leaf.map((o) => localized(o, "name"))].join(" "),
          canonical: ["/" + c.name, ...leaf.map((o) => o.name)].join(" "),
          description: localized(leaf.at(-1), "description"),
          options: leaf.at(-1).options || [],
        });
      }
    }
  }
  state.entries = entries.sort((a, b) => a.label.localeCompare(b.label));
  choose(null);
}

function suggest() {
  const typed = $("command").value.trim().toLowerCase();
  const box = $("suggestions");
  box.replaceChildren();
  if (!typed.startsWith("/") || (state.chosen && state.chosen.label.toLowerCase() === typed)) {
    return;
  }
  const words = typed.slice(1).split(/\s+/).filter(Boolean);
  const found = state.entries.filter((e) => words.every(
    (w) => e.label.toLowerCase().includes(w) || e.canonical.includes(w))).slice(0, 25);
  for (const entry of found) {
    const row = make("div", { role: "option" }, entry.label,
                     make("small", { textContent: entry.description }));
    row.addEventListener("click", () => choose(entry));
    box.append(row);
  }
}

function choose(entry) {
  state.chosen = entry;
  $("suggestions").replaceChildren();
  const box = $("options");
  box.replaceChildren();
  if (!entry) return;
  $("command").value = entry.label;
  for (const option of entry.options) box.append(optionField(entry, option));
  const first = box.querySelector("input, select");
  (first || $("command")).focus();
}

function optionField(entry, option) {
  const name = localized(option, "name") + (option.required ? " *" : "");
  let field;
  const choices = option.choices || [];
  if (choices.length) {
    field = make("select", {}, make("option", { value: "", textContent: "—" }),
      ...choices.map((c) => make("option", { value: JSON.stringify(c.value),
                                             textContent: localized(c, "name") })));
  } else if (option.type === 5) {
    field = make("select", {}, make("option", { value: "", textContent: "—" }),
      make("option", { value: "true", textContent: "True" }),
      make("option", { value: "false", textContent: "False" }));
  } else if ([6, 7, 8, 9].includes(option.type)) {
    const kind = { 6: 5, 7: 8, 8: 6, 9: 7 }[option.type];
    field = make("select", {}, make("option", { value: "", textContent: "—" }),
      ...selectOptions({ type: kind, channel_types: option.channel_types })
        .map(([value, label]) => make("option", { value: JSON.stringify(value),
                                                  textContent: label })));
  } else if (option.type === 11) {
    field = make("input", { type: "file" });
  } else {
    field = make("input", { type: option.type === 4 || option.type === 10 ? "number" : "text",
                            step: option.type === 4 ? "1" : "any" });
    if (option.autocomplete) {
      const list = make("datalist", { id: "ac-" + option.name });
      field.setAttribute("list", list.id);
      field.addEventListener("input", () => autocomplete(entry, option, field, list));
      return make("label", {}, name, field, list);
    }
  }
  field.dataset.option = option.name;
  field.dataset.type = option.type;
  return make("label", {}, name, field);
}

async function autocomplete(entry, option, field, list) {
  try {
    const data = await api("autocomplete", { user: state.actor, name: entry.name,
      subcommand: entry.path, focused: option.name, value: field.value });
    list.replaceChildren(...data.choices.map((c) => make("option", {
      value: c.value, textContent: c.name })));
  } catch (error) { say(error.message); }
  field.dataset.option = option.name;
  field.dataset.type = option.type;
}

function readFile(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve({ filename: file.name, type: file.type,
                                    data: reader.result.split(",", 2)[1] });
    reader.onerror = reject;
    reader.readAsDataURL(file);
  });
}

async function send(event) {
  event.preventDefault();
  const entry = state.chosen;
  if (!entry) {
    say("Pick a command: type / and choose one.");
    return;
  }
  const options = {};
  for (const field of $("options").querySelectorAll("[data-option]")) {
    const type = Number(field.dataset.type);
    if (type === 11) {
      if (field.files.length) options[field.dataset.option] = await readFile(field.files[0]);
      continue;
    }
    if (field.value === "") continue;
    if (field.tagName === "SELECT") options[field.dataset.option] = JSON.parse(field.value);
    else if (type === 4) options[field.dataset.option] = parseInt(field.value, 10);
    else if (type === 10) options[field.dataset.option] = Number(field.value);
    else options[field.dataset.option] = field.value;
  }
  await act("run", { channel: state.channel, name: entry.name, subcommand: entry.path,
                     options });
  choose(null);
  $("command").value = "";
}

// -- start ---------------------------------------------------------------------------------

async function switchActor() {
  state.actor = $("actor").value;
  await loadCommands();
  await loadChannels();
}

async function start() {
  await loadPeople();
  await loadCommands();
  await loadChannels();
  $("actor").addEventListener("change", () => switchActor().catch((e) => say(e.message)));
  $("command").addEventListener("input", suggest);
  $("composer").addEventListener("submit", (e) => send(e).catch((err) => say(err.message)));
  $("modal-form").addEventListener("submit", (e) => submitModal(e));
  $("modal-cancel").addEventListener("click", () => $("modal").close());
  for (const button of $("clock").querySelectorAll("button[data-seconds]")) {
    button.addEventListener("click", () => travel({ seconds: Number(button.dataset.seconds) })
      .catch((e) => say(e.message)));
  }
  $("travel").addEventListener("click", () => {
    if ($("travel-to").value) travel({ to: $("travel-to").value }).catch((e) => say(e.message));
  });
  await loadEmails();
  const events = new EventSource("/console/events");
  events.onmessage = (event) => {
    const note = JSON.parse(event.data);
    if (note.channel === state.channel) refreshSoon();
  };
  document.body.dataset.ready = "1";
}

start().catch((error) => say(error.message));
