// The admin console: staff accounts, the on-call roster, the helpline directory with its
// verification dates, the audit log with filters, and the active data versions. Everything it
// changes goes through the REST API, which audits it; nothing here is stored in the browser
// but the staff session (sessionStorage, as on the other staff pages).

import { bind, language, onLanguageChange, t, tOr } from "./i18n.js";
import { shortId } from "./desk.js";
import { $, api, el, showScreen } from "./ui.js";
import { clearStaffSession, initLanguage, initLogin, logout } from "./staff.js";

const state = {
  session: null,
  staff: [],
  editing: null,
  shifts: [],
  coverage: null,
  helplines: [],
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

function when(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return date.toLocaleString(language() === "hi" ? "hi-IN" : "en-IN", { dateStyle: "medium", timeStyle: "short" });
}

function clockTime(iso) {
  const date = new Date(iso);
  return date.toLocaleTimeString(language() === "hi" ? "hi-IN" : "en-IN", { hour: "2-digit", minute: "2-digit" });
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

async function loadHelplines() {
  const answer = await call("/api/v1/helplines");
  if (!answer.ok) return;
  state.helplines = answer.data.helplines;
  renderHelplines();
}

function renderHelplines() {
  const body = $("helpline-rows");
  body.replaceChildren();
  for (const line of state.helplines) {
    const verify = el("button", {
      class: "button button--secondary button--small",
      i18n: "adm.verify_today",
      attrs: { type: "button", "aria-label": t("adm.verify_who", { name: line.name }) },
    });
    verify.addEventListener("click", () => verifyHelpline(line));
    const due = line.needs_reverification;
    body.append(el("tr", { attrs: { "data-helpline": line.id } }, [
      el("th", { attrs: { scope: "row" }, text: line.name }),
      el("td", { text: (line.contacts || []).map((c) => c.display).join(", ") }),
      el("td", { text: line.verified_on || t("adm.never") }),
      el("td", {}, [el("span", {
        class: due ? "pill admin-due" : "pill",
        i18n: !line.verified ? "adm.never_verified" : due ? "adm.needs_reverification" : "adm.verified_ok",
      })]),
      el("td", {}, [verify]),
    ]));
  }
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
  document.querySelector(`tr[data-helpline="${CSS.escape(line.id)}"] button`)?.focus();
}

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
});

async function boot() {
  await initLanguage();
  initLogin({ roles: ["admin"], onSession: start, onWrongRole: denied });
}

boot();
