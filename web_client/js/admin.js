// The admin console: staff accounts, the on-call roster, the helpline directory with its
// verification dates, the audit log with filters, and the active data versions. Everything it
// changes goes through the REST API, which audits it; nothing here is stored in the browser
// but the staff session (sessionStorage, as on the other staff pages).

import { bind, language, onLanguageChange, t, tOr, unbind } from "./i18n.js";
import { shortId } from "./desk.js";
import { $, api, contactText, el, showScreen } from "./ui.js";
import { clearStaffSession, initLanguage, initLogin, logout } from "./staff.js";

const state = {
  session: null,
  staff: [],
  editing: null,
  shifts: [],
  coverage: null,
  helplines: [],
  helplineEdit: null,
  /** Puts back the row whose Remove asks "Remove …?" now, or null. */
  helplineAsking: null,
  audit: [],
  auditNext: null,
  versions: null,
};

// ---- session ------------------------------------------------------------------------------

function start(session) {
  state.session = session;
  bind($("who"), "staff.signed_in_as", { name: session.alias || "" });
  $("who").hidden = false;
  $("logout").hidden = false;
  showScreen("console");
  $("shift-zone").textContent = t("adm.times_local", { zone: Intl.DateTimeFormat().resolvedOptions().timeZone || "" });
  loadStaff().then(() => { loadRoster(); loadAudit(); });
  loadHelplines();
  loadVersions();
}

function denied(session) {
  state.session = session;
  bind($("who"), "staff.signed_in_as", { name: session.alias || "" });
  $("who").hidden = false;
  showScreen("denied");
}

$("logout").addEventListener("click", () => logout(state.session));
$("denied-logout").addEventListener("click", () => logout(state.session));

/** A REST call as the signed-in admin; a 401 (session ended) returns to the login form. */
async function call(path, options = {}) {
  const answer = await api(path, { ...options, token: state.session?.access_token });
  if (answer.status === 401) {
    clearStaffSession();
    bind($("login-error"), "login.session_ended");
    showScreen("login");
  }
  return answer;
}

/** The words for a failed answer: ours for known codes, else the server's message. */
function problem(answer) {
  const code = answer.data?.error?.code || (answer.status === 0 ? "network" : "failed");
  return tOr(`adm.err_${code}`, answer.data?.error?.message || t("adm.err_failed"));
}

function listOf(text) {
  return String(text || "").split(",").map((part) => part.trim()).filter(Boolean);
}

/** Language codes as the server takes them (en, hi, pt-BR); an account needs at least one. */
function languagesOk(codes) {
  return codes.length > 0 && codes.every((code) => /^[a-z]{2,3}(-[A-Za-z0-9]{1,8})?$/.test(code));
}

/**
 * A staff form's password and numbers checked here, in the page's language: the edit form
 * had the browser's bubbles (in the browser's language, gone in a moment), the create form
 * the server's one answer for every field. Answers [key, field id] or null; empty numbers are
 * left to the form's defaults and the server.
 */
function staffFormProblem(prefix, passwordRequired) {
  const password = $(`${prefix}-password`).value;
  if ((password || passwordRequired) && password.length < 10) return ["adm.err_password_short", `${prefix}-password`];
  const within = (id, low, high) => {
    const value = $(id).value.trim();
    return value === "" || (Number.isInteger(Number(value)) && Number(value) >= low && Number(value) <= high);
  };
  if (!within(`${prefix}-max`, 1, 10)) return ["adm.err_max_chats", `${prefix}-max`];
  if (!within(`${prefix}-rank`, 0, 1000)) return ["adm.err_backup_rank", `${prefix}-rank`];
  return null;
}

/** The page's language as a locale for dates (Indian English or Hindi). */
function locale() {
  return language() === "hi" ? "hi-IN" : "en-IN";
}

function when(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeStyle: "short" }).format(date);
}

function clockTime(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return new Intl.DateTimeFormat(locale(), { hour: "2-digit", minute: "2-digit" }).format(date);
}

/** A helpline's `verified_on` as `YYYY`, `YYYY-MM` or `YYYY-MM-DD`: [year, month, day] (month
 * and day null when not given), or null when it is no such day (2025-02-30). */
function dayParts(value) {
  const parts = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/.exec(value || "");
  if (!parts) return null;
  const [year, month, day] = parts.slice(1).map((part) => (part === undefined ? null : Number(part)));
  const date = new Date(Date.UTC(year, (month || 1) - 1, day || 1));
  const real = date.getUTCFullYear() === year && date.getUTCMonth() === (month || 1) - 1 && date.getUTCDate() === (day || 1);
  return real && (month === null || month >= 1) && (day === null || day >= 1) ? [year, month, day] : null;
}

/** A `verified_on` in the page's language, only as precise as it was given ("2025" stays a year). */
function day(value) {
  const parts = dayParts(value);
  if (!parts) return value || "";
  const [year, month, date] = parts;
  const options = date ? { dateStyle: "medium" } : month ? { year: "numeric", month: "long" } : { year: "numeric" };
  // UTC both ways: a calendar day, not an instant, so no time zone moves it to the day before.
  return new Intl.DateTimeFormat(locale(), { ...options, timeZone: "UTC" }).format(new Date(Date.UTC(year, (month || 1) - 1, date || 1)));
}

function staffName(id) {
  const user = state.staff.find((u) => u.id === id);
  return user ? user.username : shortId(id);
}

// ---- staff accounts -----------------------------------------------------------------------

async function loadStaff() {
  const answer = await call("/api/v1/staff");
  if (!answer.ok) {
    $("staff-status").textContent = problem(answer);
    return;
  }
  state.staff = answer.data;
  renderStaff();
  renderSupervisorChoice();
  renderActorChoice();
}

function renderStaff() {
  const body = $("staff-rows");
  body.replaceChildren();
  for (const user of state.staff) {
    const edit = el("button", {
      class: "button button--secondary button--small",
      i18n: "adm.edit",
      attrs: { type: "button", "aria-label": t("adm.edit_who", { name: user.username }) },
    });
    edit.addEventListener("click", () => openEdit(user));
    body.append(el("tr", { attrs: { "data-username": user.username } }, [
      el("th", { attrs: { scope: "row" } }, [
        el("span", { text: user.username }),
        el("span", { class: "small muted admin-alias", text: user.alias }),
      ]),
      el("td", { text: tOr(`role.${user.role}`, user.role) }),
      el("td", { text: user.languages.join(", ") }),
      el("td", { text: user.topics.join(", ") || "–" }),
      el("td", { i18n: user.trained ? "adm.yes" : "adm.no" }),
      el("td", { text: user.max_concurrent_chats }),
      el("td", { text: user.backup_rank }),
      el("td", { class: user.active ? "" : "admin-inactive", i18n: user.active ? "adm.active" : "adm.inactive" }),
      el("td", {}, [edit]),
    ]));
  }
}

function openEdit(user) {
  state.editing = user;
  const form = $("staff-edit");
  bind($("staff-edit-title"), "adm.edit_title", { name: user.username });
  $("edit-languages").value = user.languages.join(", ");
  $("edit-topics").value = user.topics.join(", ");
  $("edit-max").value = user.max_concurrent_chats;
  $("edit-rank").value = user.backup_rank;
  $("edit-password").value = "";
  $("edit-trained").checked = user.trained;
  $("edit-active").checked = user.active;
  // An admin who deactivated their own account was signed out at once (every token is
  // revoked), and a lone admin could then only come back through the command line.
  const self = user.id === state.session?.user_id;
  $("edit-active").disabled = self;
  $("edit-active-self").hidden = !self;
  $("staff-edit-error").textContent = "";
  form.hidden = false;
  $("staff-edit-title").focus();
}

function closeEdit() {
  const user = state.editing;
  state.editing = null;
  $("staff-edit").hidden = true;
  if (user) document.querySelector(`tr[data-username="${CSS.escape(user.username)}"] button`)?.focus();
}

$("staff-edit-cancel").addEventListener("click", closeEdit);

$("staff-edit").addEventListener("submit", async (event) => {
  event.preventDefault();
  const user = state.editing;
  if (!user) return;
  const changes = {};
  const languages = listOf($("edit-languages").value);
  const topics = listOf($("edit-topics").value);
  if (!languagesOk(languages)) {
    bind($("staff-edit-error"), "adm.err_languages");
    $("edit-languages").focus();
    return;
  }
  const wrong = staffFormProblem("edit", false);
  if (wrong) {
    bind($("staff-edit-error"), wrong[0]);
    $(wrong[1]).focus();
    return;
  }
  if (languages.join(",") !== user.languages.join(",")) changes.languages = languages;
  if (topics.join(",") !== user.topics.join(",")) changes.topics = topics;
  const max = Number($("edit-max").value);
  const rank = Number($("edit-rank").value);
  if (max !== user.max_concurrent_chats) changes.max_concurrent_chats = max;
  if (rank !== user.backup_rank) changes.backup_rank = rank;
  if ($("edit-trained").checked !== user.trained) changes.trained = $("edit-trained").checked;
  if (!$("edit-active").disabled && $("edit-active").checked !== user.active) changes.active = $("edit-active").checked;
  if ($("edit-password").value) changes.password = $("edit-password").value;
  if (!Object.keys(changes).length) {
    closeEdit();
    return;
  }
  const answer = await call(`/api/v1/staff/${encodeURIComponent(user.id)}`, { method: "PATCH", body: changes });
  if (!answer.ok) {
    $("staff-edit-error").textContent = problem(answer);
    return;
  }
  $("edit-password").value = "";
  await loadStaff();
  closeEdit();
  bind($("staff-status"), "adm.saved", { name: user.username });
  loadRoster();
});

$("staff-create").addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = $("staff-create-error");
  error.textContent = "";
  const username = $("new-username").value.trim();
  const password = $("new-password").value;
  if (!username || !password) {
    bind(error, "adm.err_missing");
    return;
  }
  const languages = listOf($("new-languages").value);
  if (!languagesOk(languages)) {
    bind(error, "adm.err_languages");
    $("new-languages").focus();
    return;
  }
  const wrong = staffFormProblem("new", true);
  if (wrong) {
    bind(error, wrong[0]);
    $(wrong[1]).focus();
    return;
  }
  const body = {
    username,
    password,
    role: $("new-role").value,
    languages,
    topics: listOf($("new-topics").value),
    max_concurrent_chats: Number($("new-max").value) || 2,
    trained: $("new-trained").checked,
    backup_rank: Number($("new-rank").value || 100),
  };
  const answer = await call("/api/v1/staff", { method: "POST", body });
  if (!answer.ok) {
    error.textContent = problem(answer);
    return;
  }
  event.target.reset();
  bind($("staff-status"), "adm.created", { name: username }); // a status: read once
  await loadStaff();
});

// ---- on-call roster -----------------------------------------------------------------------

function renderSupervisorChoice() {
  const select = $("shift-staff");
  const chosen = select.value;
  select.replaceChildren();
  for (const user of state.staff.filter((u) => u.role === "supervisor" && u.active)) {
    select.append(el("option", { text: `${user.username} (${user.alias})`, attrs: { value: user.id } }));
  }
  if (chosen) select.value = chosen;
  const none = !select.options.length;
  if (none) select.append(el("option", { i18n: "adm.no_supervisors", attrs: { value: "" } }));
  select.disabled = none;
}

async function loadRoster() {
  const [shifts, coverage] = await Promise.all([call("/api/v1/roster"), call("/api/v1/roster/coverage")]);
  if (shifts.ok) state.shifts = shifts.data.shifts;
  if (coverage.ok) state.coverage = coverage.data;
  renderRoster();
}

function renderRoster() {
  const body = $("roster-rows");
  body.replaceChildren();
  for (const shift of state.shifts) {
    const remove = el("button", {
      class: "button button--quiet button--small",
      i18n: "adm.remove",
      attrs: { type: "button", "aria-label": t("adm.remove_shift", { name: shift.username, start: when(shift.starts_at) }) },
    });
    remove.addEventListener("click", () => removeShift(shift));
    const who = [el("span", { text: `${shift.username} (${shift.alias})` })];
    if (!shift.active) who.push(el("span", { class: "small admin-inactive", i18n: "adm.shift_inactive" }));
    // The list starts a day back: an ended shift covers nothing, say so beside the plan.
    if (Date.parse(shift.ends_at) <= Date.now()) who.push(el("span", { class: "small muted admin-alias", i18n: "adm.shift_ended" }));
    body.append(el("tr", {}, [
      el("th", { attrs: { scope: "row" } }, who),
      el("td", { text: when(shift.starts_at) }),
      el("td", { text: when(shift.ends_at) }),
      el("td", {}, [remove]),
    ]));
  }
  $("roster-empty").hidden = state.shifts.length > 0;
  renderCoverage();
}

function renderCoverage() {
  const line = $("roster-coverage");
  const coverage = state.coverage;
  if (!coverage) {
    line.textContent = "";
    return;
  }
  const gap = coverage.gap_seconds > 0;
  line.classList.toggle("notice--warm", gap);
  line.classList.toggle("notice--calm", !gap);
  const whole = coverage.gaps.length === 1 && coverage.gaps[0].starts_at === coverage.window_start && coverage.gaps[0].ends_at === coverage.window_end;
  if (whole) bind(line, "adm.coverage_none");
  else if (gap) {
    bind(line, "adm.coverage_gap", {
      minutes: Math.ceil(coverage.gap_seconds / 60),
      time: clockTime(coverage.gaps[0].starts_at),
    });
  } else {
    bind(line, "adm.coverage_ok", { names: coverage.rostered_now.join(", ") || "–" });
  }
}

async function removeShift(shift) {
  const answer = await call(`/api/v1/roster/${encodeURIComponent(shift.id)}`, { method: "DELETE" });
  $("roster-status").textContent = answer.ok ? t("adm.shift_removed") : problem(answer);
  await loadRoster();
  // The button is gone with its row: keep the keyboard's place in the roster.
  $("roster-title").focus();
}

$("roster-add").addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = $("roster-error");
  error.textContent = "";
  const start = $("shift-start").value;
  const end = $("shift-end").value;
  if (!$("shift-staff").value || !start || !end) {
    bind(error, "adm.err_missing");
    return;
  }
  // A wrong day or am/pm: the API takes a shift in the past, but it would cover nothing.
  if (new Date(end).getTime() <= Date.now()) {
    bind(error, "adm.err_shift_ended");
    $("shift-end").focus();
    return;
  }
  const body = {
    staff_id: $("shift-staff").value,
    starts_at: new Date(start).toISOString(),
    ends_at: new Date(end).toISOString(),
  };
  const answer = await call("/api/v1/roster", { method: "POST", body });
  if (!answer.ok) {
    error.textContent = problem(answer);
    return;
  }
  bind($("roster-status"), "adm.shift_added", { name: answer.data.username });
  $("shift-start").value = "";
  $("shift-end").value = "";
  await loadRoster();
});

// ---- helpline directory -------------------------------------------------------------------

const CONTACT_KINDS = {
  phone: "adm.hl_kind_phone",
  sms: "adm.hl_kind_sms",
  whatsapp: "adm.hl_kind_whatsapp",
  email: "adm.hl_kind_email",
  web: "adm.hl_kind_web",
};
// What PUT /api/v1/helplines/{id} takes (docs/protocol.md); an edit sends back every one of
// them the directory gave, so what the form does not show is kept as it was.
const ENTRY_FIELDS = [
  "name", "contacts", "hours", "hours_note", "cost", "languages", "language_note", "channels",
  "region", "mandatory", "emergency", "source", "verified_on", "verified", "translations",
];

async function loadHelplines() {
  const answer = await call("/api/v1/helplines");
  if (!answer.ok) {
    $("helplines-status").textContent = problem(answer);
    return;
  }
  state.helplines = answer.data.helplines;
  renderHelplines();
}

function renderHelplines() {
  const body = $("helpline-rows");
  body.replaceChildren();
  state.helplineAsking = null;
  for (const line of state.helplines) {
    const edit = el("button", {
      class: "button button--secondary button--small",
      i18n: "adm.edit",
      attrs: { type: "button", "data-action": "edit", "aria-label": t("adm.edit_who", { name: line.name }) },
    });
    edit.addEventListener("click", () => openHelpline(line));
    const verify = el("button", {
      class: "button button--secondary button--small",
      i18n: "adm.verify_today",
      attrs: { type: "button", "data-action": "verify", "aria-label": t("adm.verify_who", { name: line.name }) },
    });
    verify.addEventListener("click", () => verifyHelpline(line));
    const actions = el("td", { class: "admin-actions" }, [edit, verify]);
    // Tele-MANAS and 112 are shown to every seeker at high risk: the server keeps them.
    if (!line.mandatory) {
      const remove = el("button", {
        class: "button button--quiet button--small",
        i18n: "adm.remove",
        attrs: { type: "button", "data-action": "remove", "aria-label": t("adm.hl_remove_who", { name: line.name }) },
      });
      remove.addEventListener("click", () => askRemoveHelpline(line, actions));
      actions.append(remove);
    }
    const due = line.needs_reverification;
    body.append(el("tr", { attrs: { "data-helpline": line.id } }, [
      el("th", { attrs: { scope: "row" }, text: line.name }),
      el("td", { text: (line.contacts || []).map(contactText).join(", ") }),
      el("td", { text: line.verified_on ? day(line.verified_on) : t("adm.never") }),
      el("td", {}, [el("span", {
        class: due ? "pill admin-due" : "pill",
        i18n: !line.verified ? "adm.never_verified" : due ? "adm.needs_reverification" : "adm.verified_ok",
      })]),
      actions,
    ]));
  }
}

/** Remove asks first, in the row itself: the line would stop being offered to seekers. */
function askRemoveHelpline(line, actions) {
  const question = el("span", {
    class: "admin-remove-ask",
    text: t("adm.hl_remove_ask", { name: line.name }),
    attrs: { id: `hl-remove-ask-${line.id}` },
  });
  const yes = el("button", {
    class: "button button--danger button--small",
    i18n: "adm.hl_remove_yes",
    attrs: { type: "button", "data-action": "remove-confirm", "aria-describedby": question.id },
  });
  const keep = el("button", {
    class: "button button--secondary button--small",
    i18n: "adm.hl_remove_keep",
    attrs: { type: "button", "data-action": "remove-keep", "aria-describedby": question.id },
  });
  const before = [...actions.childNodes];
  const putBack = () => actions.replaceChildren(...before);
  yes.addEventListener("click", () => removeHelpline(line));
  keep.addEventListener("click", () => {
    putBack();
    helplineButton(line.id, "remove")?.focus();
  });
  // One question at a time: two rows asking would offer two "Yes, remove it" and two "Keep it"
  // that read the same, one after the other, in a screen reader's list of buttons.
  state.helplineAsking?.();
  state.helplineAsking = putBack;
  actions.replaceChildren(question, yes, keep);
  yes.focus();
  besideRowName(actions);
}

/**
 * On a phone the tables scroll sideways under their sticky first column (the row's name): a
 * cell that came in from the right (the question asked in a row) is scrolled to start beside
 * it, or the focused button and the question's start stay hidden beneath the names.
 */
function besideRowName(cell) {
  const wrap = cell.closest(".table-wrap");
  const name = cell.closest("tr")?.querySelector("th");
  if (!wrap || !name) return;
  const hidden = name.getBoundingClientRect().right - cell.getBoundingClientRect().left;
  if (hidden > 0) wrap.scrollLeft -= hidden;
}

async function removeHelpline(line) {
  const answer = await call(`/api/v1/helplines/${encodeURIComponent(line.id)}`, { method: "DELETE" });
  const status = $("helplines-status");
  if (!answer.ok) {
    status.textContent = problem(answer);
    await loadHelplines();
    helplineButton(line.id, "remove")?.focus();
    return;
  }
  bind(status, "adm.hl_removed", { name: line.name });
  await loadHelplines();
  $("helpline-add").focus(); // the row is gone: the next thing an admin may do here
}

function helplineButton(id, action) {
  return document.querySelector(`tr[data-helpline="${CSS.escape(id)}"] button[data-action="${action}"]`);
}

async function verifyHelpline(line) {
  const answer = await call(`/api/v1/helplines/${encodeURIComponent(line.id)}/verify`, { method: "POST", body: {} });
  const status = $("helplines-status");
  if (!answer.ok) {
    status.textContent = problem(answer);
    return;
  }
  bind(status, "adm.verified_done", { name: line.name });
  await loadHelplines();
  helplineButton(line.id, "verify")?.focus();
}

// -- the helpline form: add one, or edit one in place --

/** One contact's fields, numbered from 1 (labels and ids say which). */
function contactRow(contact, n) {
  const id = (part) => `hl-contact-${n}-${part}`;
  const kind = el("select", { attrs: { id: id("kind"), "data-part": "kind" } });
  for (const [value, key] of Object.entries(CONTACT_KINDS)) kind.append(el("option", { i18n: key, attrs: { value } }));
  kind.value = contact.kind in CONTACT_KINDS ? contact.kind : "phone";
  const field = (part, key, input) => el("div", { class: "field" }, [el("label", { i18n: key, attrs: { for: id(part) } }), input]);
  const text = (part, value, extra = {}) => {
    const input = el("input", { attrs: { id: id(part), "data-part": part, autocomplete: "off", spellcheck: "false", ...extra } });
    input.value = value || "";
    return input;
  };
  const display = text("display", contact.display);
  const uri = text("uri", contact.uri, { autocapitalize: "none", inputmode: "url" });
  const remove = el("button", { class: "button button--quiet button--small", i18n: "adm.hl_contact_remove", attrs: { type: "button" } });
  remove.addEventListener("click", () => removeContact(n));
  return el("div", { class: "admin-contact", attrs: { role: "group", "data-n": n } }, [
    field("kind", "adm.hl_kind", kind),
    field("display", "adm.hl_display", display),
    field("uri", "adm.hl_uri", uri),
    // An empty label's line above Remove keeps it level with the inputs, in either language.
    el("div", { class: "field admin-contact__remove" }, [el("span", { class: "field__label", text: "\u00a0", attrs: { "aria-hidden": "true" } }), remove]),
  ]);
}

/** The contacts as typed, in order. */
function typedContacts() {
  return [...$("hl-contacts").querySelectorAll(".admin-contact")].map((row) => ({
    kind: row.querySelector('[data-part="kind"]').value,
    display: row.querySelector('[data-part="display"]').value.trim(),
    uri: row.querySelector('[data-part="uri"]').value.trim(),
  }));
}

function renderContacts(contacts) {
  const list = $("hl-contacts");
  list.replaceChildren(...contacts.map((contact, i) => contactRow(contact, i + 1)));
  // An entry needs a contact: the last one cannot be removed, only changed.
  const only = contacts.length === 1;
  for (const button of list.querySelectorAll(".admin-contact__remove button")) button.disabled = only;
  nameContacts();
}

/** Each contact's group and Remove named with its number, in the page's language. */
function nameContacts() {
  for (const row of $("hl-contacts").querySelectorAll(".admin-contact")) {
    const n = Number(row.dataset.n);
    row.setAttribute("aria-label", t("adm.hl_contact", { n }));
    row.querySelector(".admin-contact__remove button").setAttribute("aria-label", t("adm.hl_contact_remove_n", { n }));
  }
}

$("hl-contact-add").addEventListener("click", () => {
  const contacts = typedContacts();
  renderContacts([...contacts, { kind: "phone", display: "", uri: "" }]);
  $(`hl-contact-${contacts.length + 1}-kind`).focus();
});

function removeContact(n) {
  const contacts = typedContacts();
  contacts.splice(n - 1, 1);
  renderContacts(contacts);
  // The keyboard goes on with the contact that took its place, else the one before.
  $(`hl-contact-${Math.min(n, contacts.length)}-kind`).focus();
}

function openHelpline(line) {
  state.helplineEdit = { line };
  clearHelplineErrors();
  if (line) bind($("helpline-edit-title"), "adm.edit_title", { name: line.name });
  else bind($("helpline-edit-title"), "adm.hl_add_title");
  $("hl-id-field").hidden = Boolean(line);
  $("hl-id").value = "";
  $("hl-name").value = line?.name || "";
  $("hl-hours").value = line?.hours || "";
  $("hl-languages").value = (line?.languages || []).join(", ");
  $("hl-channels").value = (line ? line.channels || [] : ["phone"]).join(", ");
  $("hl-region").value = line ? line.region || "" : "IN";
  $("hl-source").value = line?.source || "";
  $("hl-verified-on").value = line?.verified_on || "";
  $("hl-verified").checked = Boolean(line?.verified);
  $("hl-emergency").checked = Boolean(line?.emergency);
  const hindi = (line?.translations || []).find((item) => item.language === "hi");
  $("hl-hi-name").value = hindi?.name || "";
  $("hl-hi-hours").value = hindi?.hours || "";
  renderContacts(line?.contacts?.length ? line.contacts : [{ kind: "phone", display: "", uri: "" }]);
  $("helpline-edit").hidden = false;
  $("helpline-edit-title").focus();
}

function closeHelpline({ savedId } = {}) {
  const editing = state.helplineEdit;
  state.helplineEdit = null;
  clearHelplineErrors();
  $("helpline-edit").hidden = true;
  const id = savedId || editing?.line?.id;
  (id && helplineButton(id, "edit") || $("helpline-add")).focus();
}

$("helpline-add").addEventListener("click", () => openHelpline(null));
$("helpline-edit-cancel").addEventListener("click", () => closeHelpline());
$("helpline-edit").addEventListener("keydown", (event) => {
  if (event.key !== "Escape" || event.isComposing) return;
  event.preventDefault();
  closeHelpline();
});

/** Show `key` beside `input` (described by it, marked invalid) and move the focus there. */
function fieldProblem(input, key, vars) {
  let note = $(`${input.id}-error`);
  if (!note) {
    note = el("p", { class: "form-error admin-field-error", attrs: { id: `${input.id}-error` } });
    (input.closest(".switch") || input).after(note);
  }
  bind(note, key, vars);
  input.setAttribute("aria-invalid", "true");
  const described = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
  if (!described.includes(note.id)) input.setAttribute("aria-describedby", [note.id, ...described].join(" "));
  input.focus();
}

function clearFieldProblem(input) {
  const note = $(`${input.id}-error`);
  if (!note) return;
  note.remove();
  input.removeAttribute("aria-invalid");
  const described = (input.getAttribute("aria-describedby") || "").split(" ").filter((id) => id && id !== note.id);
  if (described.length) input.setAttribute("aria-describedby", described.join(" "));
  else input.removeAttribute("aria-describedby");
}

function clearHelplineErrors() {
  for (const input of $("helpline-edit").querySelectorAll("[aria-invalid]")) clearFieldProblem(input);
  unbind($("helpline-edit-error"));
}

$("helpline-edit").addEventListener("input", (event) => {
  if (event.target.id) clearFieldProblem(event.target);
  unbind($("helpline-edit-error"));
});

/** What the form can tell before asking: [key, input, vars] or null. The server checks the
 * formats (the id, each link, the date) and the directory's rules; this checks what it lets
 * through: empty words, a day that does not exist or is still to come, an id already taken. */
function helplineFormProblem(line) {
  const blank = (id) => !$(id).value.trim();
  if (!line) {
    const id = $("hl-id").value.trim();
    if (!id) return ["adm.hl_err_required", "hl-id"];
    if (state.helplines.some((other) => other.id === id)) return ["adm.hl_err_id_taken", "hl-id"];
  }
  if (blank("hl-name")) return ["adm.hl_err_required", "hl-name"];
  if (blank("hl-region")) return ["adm.hl_err_required", "hl-region"];
  if (blank("hl-source")) return ["adm.hl_err_required", "hl-source"];
  const verifiedOn = $("hl-verified-on").value.trim();
  if (/^\d{4}(-\d{2}(-\d{2})?)?$/.test(verifiedOn)) {
    const parts = dayParts(verifiedOn);
    if (!parts) return ["adm.hl_err_date", "hl-verified-on"];
    const today = new Date();
    const [year, month, date] = parts;
    const now = [today.getFullYear(), today.getMonth() + 1, today.getDate()];
    if (later([year, month || 1, date || 1], now)) return ["adm.hl_err_date_future", "hl-verified-on"];
  }
  const contacts = typedContacts();
  for (const [i, contact] of contacts.entries()) {
    if (!contact.display) return ["adm.hl_err_required", `hl-contact-${i + 1}-display`];
    if (!contact.uri) return ["adm.hl_err_required", `hl-contact-${i + 1}-uri`];
  }
  return null;
}

/** Whether the day [year, month, day] `given` comes after `now`. */
function later(given, now) {
  for (let i = 0; i < 3; i += 1) if (given[i] !== now[i]) return given[i] > now[i];
  return false;
}

/** The entry to PUT: the directory's own (what the form does not show, as it was) with the
 * form's fields over it. */
function helplineEntry(line) {
  const entry = {};
  for (const key of ENTRY_FIELDS) if (line && key in line) entry[key] = line[key];
  const text = (id) => $(id).value.trim();
  const languages = listOf(text("hl-languages"));
  const hindi = { language: "hi" };
  if (text("hl-hi-name")) hindi.name = text("hl-hi-name");
  if (text("hl-hi-hours")) hindi.hours = text("hl-hi-hours");
  const others = (line?.translations || []).filter((item) => item.language !== "hi");
  return {
    ...entry,
    name: text("hl-name"),
    contacts: typedContacts(),
    hours: text("hl-hours") || null,
    languages: languages.length ? languages : null,
    channels: listOf(text("hl-channels")),
    region: listOf(text("hl-region").toUpperCase()).join(","),
    source: text("hl-source"),
    verified_on: text("hl-verified-on") || null,
    verified: $("hl-verified").checked,
    emergency: $("hl-emergency").checked,
    translations: [...others, ...(hindi.name || hindi.hours ? [hindi] : [])],
  };
}

// The fields a server message names ("contacts.0.uri: ..."), as the form's inputs.
const HELPLINE_INPUTS = {
  id: "hl-id", name: "hl-name", hours: "hl-hours", languages: "hl-languages", channels: "hl-channels",
  region: "hl-region", source: "hl-source", verified_on: "hl-verified-on", verified: "hl-verified",
  emergency: "hl-emergency",
};

/** A refused save in the page's words: [key, input id or null, vars]. The server's 400 and 422
 * messages name the field (`contacts.0.uri: String should match pattern ...`), or, for the
 * directory as a whole, the rule (`tele_manas must list tel:14416`). */
function helplineServerProblem(answer, entry) {
  const message = answer.data?.error?.message || "";
  if (answer.data?.error?.code !== "invalid_request") return [null, null, { text: problem(answer) }];
  const kept = /(tele_manas|emergency_112) must list (tel:\S+)/.exec(message);
  if (kept) {
    const line = state.helplines.find((item) => item.id === kept[1]);
    const number = kept[2].replace(/^tel:/, "");
    return ["adm.hl_err_keeps_number", "hl-contact-1-display", { name: line?.name || kept[1], number }];
  }
  if (/must be present and mandatory/.test(message)) return ["adm.hl_err_mandatory", null];
  if (/tele_manas must be verified/.test(message)) return ["adm.hl_err_tele_manas_verified", "hl-verified-on"];
  if (/verified must be true exactly when verified_on is set/.test(message)) return ["adm.hl_err_verified_date", "hl-verified"];
  if (/helpline ids must be unique/.test(message)) return ["adm.hl_err_id_taken", "hl-id"];
  const located = /^([a-z_]+)(?:\.(\d+))?(?:\.([a-z_]+))?: ([^\n]*)/.exec(message);
  if (!located) return ["adm.hl_err_value", null, { detail: message }];
  const [, field, index, part, detail] = located;
  let input = HELPLINE_INPUTS[field] || null;
  if (field === "contacts") input = index === undefined ? "hl-contact-1-kind" : `hl-contact-${Number(index) + 1}-${part || "kind"}`;
  if (field === "translations" && entry.translations[Number(index)]?.language === "hi" && (part === "name" || part === "hours")) {
    input = `hl-hi-${part}`;
  }
  if (!input || !$(input)) return ["adm.hl_err_value", null, { detail: message }];
  const named = part || field;
  if (/should match pattern/.test(detail) && ["id", "uri", "verified_on"].includes(named)) return [`adm.hl_err_format_${named}`, input];
  if (/at least 1 item/.test(detail)) return ["adm.hl_err_contacts_none", null];
  if (/at least 1 character/.test(detail)) return ["adm.hl_err_required", input];
  if (named === "kind") return ["adm.hl_err_kind", input];
  return ["adm.hl_err_value", input, { detail }];
}

$("helpline-edit").addEventListener("submit", async (event) => {
  event.preventDefault();
  const editing = state.helplineEdit;
  if (!editing || editing.saving) return;
  clearHelplineErrors();
  const { line } = editing;
  const wrong = helplineFormProblem(line);
  if (wrong) {
    fieldProblem($(wrong[1]), wrong[0]);
    return;
  }
  const id = line ? line.id : $("hl-id").value.trim();
  const entry = helplineEntry(line);
  editing.saving = true;
  const answer = await call(`/api/v1/helplines/${encodeURIComponent(id)}`, { method: "PUT", body: entry });
  editing.saving = false;
  if (answer.status === 401) return;
  if (!answer.ok) {
    const [key, input, vars] = helplineServerProblem(answer, entry);
    if (input) fieldProblem($(input), key, vars);
    else if (key) bind($("helpline-edit-error"), key, vars);
    else $("helpline-edit-error").textContent = vars.text;
    return;
  }
  await loadHelplines();
  bind($("helplines-status"), line ? "adm.hl_saved" : "adm.hl_added", { name: entry.name });
  closeHelpline({ savedId: id });
});

// ---- audit log ----------------------------------------------------------------------------

function renderActorChoice() {
  const select = $("audit-actor");
  const chosen = select.value;
  select.replaceChildren(el("option", { i18n: "adm.audit_anyone", attrs: { value: "" } }));
  for (const user of state.staff) {
    select.append(el("option", {
      text: `${user.username} (${tOr(`role.${user.role}`, user.role)})`,
      attrs: { value: user.id },
    }));
  }
  select.value = chosen;
}

/** A local calendar day's start as an instant (the admin picks days in their time zone). */
function dayStart(value, plusDays = 0) {
  const date = new Date(`${value}T00:00`);
  date.setDate(date.getDate() + plusDays);
  return date.toISOString();
}

function auditQuery(before) {
  const params = new URLSearchParams();
  if ($("audit-actor").value) params.set("actor_id", $("audit-actor").value);
  if ($("audit-action").value) params.set("action", $("audit-action").value);
  if ($("audit-from").value) params.set("since", dayStart($("audit-from").value));
  if ($("audit-to").value) params.set("until", dayStart($("audit-to").value, 1));
  if (before) params.set("before", String(before));
  return params;
}

async function loadAudit({ more = false } = {}) {
  const answer = await call(`/api/v1/audit?${auditQuery(more ? state.auditNext : null)}`);
  const status = $("audit-status");
  if (!answer.ok) {
    status.textContent = problem(answer);
    return;
  }
  const shown = more ? state.audit.length : 0;
  state.audit = more ? [...state.audit, ...answer.data.entries] : answer.data.entries;
  state.auditNext = answer.data.next_before;
  renderAudit();
  bind(status, state.audit.length ? "adm.audit_count" : "adm.audit_none", { n: state.audit.length });
  // "Show more" hides on the last page, and the focus fell to the top of the page with it:
  // the keyboard goes on from the first entry it added.
  const first = more ? $("audit-rows").rows[shown] : null;
  if (first) {
    first.tabIndex = -1;
    first.focus();
  }
}

/** An entry's detail as "key: value" pairs; staff ids shown as usernames, times as local. */
function describeDetail(detail) {
  const value = (key, item) => {
    if (typeof item === "string" && /(^|_)staff_id$|^actor_id$/.test(key)) return staffName(item);
    if (Array.isArray(item) && key === "to") return item.map(staffName).join(", ");
    if (typeof item === "string" && /_at$/.test(key)) return when(item);
    if (typeof item === "string" && key === "verified_on") return day(item);
    return typeof item === "string" ? item : JSON.stringify(item);
  };
  return Object.entries(detail).map(([key, item]) => `${key}: ${value(key, item)}`).join("; ");
}

function actionLabel(action) {
  return tOr(`adm.action.${action}`, action);
}

function renderAudit() {
  const body = $("audit-rows");
  body.replaceChildren();
  for (const entry of state.audit) {
    const who = entry.actor_username
      ? `${entry.actor_username} (${tOr(`role.${entry.actor_role}`, entry.actor_role)})`
      : tOr(`role.${entry.actor_role}`, entry.actor_role);
    const detail = describeDetail(entry.detail || {});
    body.append(el("tr", {}, [
      el("td", { text: when(entry.at) }),
      el("td", { text: who }),
      el("td", {}, [el("span", { text: actionLabel(entry.action) }), el("code", { class: "small admin-code", text: entry.action })]),
      el("td", { text: entry.conversation_id ? shortId(entry.conversation_id) : "–" }),
      el("td", { class: "admin-detail", text: detail.length > 240 ? `${detail.slice(0, 239)}…` : detail || "–" }),
    ]));
  }
  $("audit-more").hidden = !state.auditNext;
}

$("audit-filter").addEventListener("submit", (event) => {
  event.preventDefault();
  loadAudit();
});
$("audit-clear").addEventListener("click", () => {
  $("audit-filter").reset();
  loadAudit();
});
$("audit-more").addEventListener("click", () => loadAudit({ more: true }));

// ---- active versions ----------------------------------------------------------------------

async function loadVersions() {
  const answer = await call("/api/v1/versions");
  if (!answer.ok) return;
  state.versions = answer.data;
  renderVersions();
}

function renderVersions() {
  const versions = state.versions;
  const list = $("versions");
  list.replaceChildren();
  if (!versions) return;
  const row = (key, value) => list.append(el("div", { class: "kv__row" }, [el("dt", { i18n: key }), el("dd", { text: value })]));
  const named = (item) => (item ? t("adm.version_of", { id: item.id, version: item.version }) : t("adm.none"));
  row("adm.v_checklist", named(versions.checklist));
  row("adm.v_rules", named(versions.rules));
  row("adm.v_paging", named(versions.paging_policy));
  row("adm.v_cue_lists", versions.cue_lists.map(named).join(", "));
  row("adm.v_cue_families", named(versions.cue_families));
  row("adm.v_cue_scorer", named(versions.cue_scorer));
  row("adm.v_helplines", named(versions.helplines));
  row("adm.v_safety_plan", named(versions.safety_plan));
}

// A form's error goes as soon as the admin changes something in it.
for (const [form, error] of [["staff-create", "staff-create-error"], ["staff-edit", "staff-edit-error"], ["roster-add", "roster-error"]]) {
  $(form).addEventListener("input", () => { $(error).textContent = ""; });
}

// ---- start --------------------------------------------------------------------------------

onLanguageChange(() => {
  if (!state.session || $("staff-rows") === null) return;
  renderStaff();
  renderRoster();
  renderHelplines();
  renderAudit();
  renderVersions();
  if (state.helplineEdit) nameContacts();
});

async function boot() {
  await initLanguage();
  initLogin({ roles: ["admin"], onSession: start, onWrongRole: denied });
}

boot();
