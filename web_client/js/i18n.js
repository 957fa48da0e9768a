// Interface strings. Every visible word comes from i18n/<lang>.json beside this module's
// folder, or, on a page that names a bundle (<html data-i18n-bundle="seeker">), from the
// smaller i18n/<bundle>.<lang>.json the server makes with only that page's keys (English
// filling any gap, so no second file is needed). The URL is relative to this module, so a
// versioned module (/static/v/<version>/js/i18n.js) fetches versioned strings. Markup only
// names keys:
//   data-i18n="key"              → textContent
//   data-i18n-placeholder="key"  → placeholder
//   data-i18n-aria-label="key"   → aria-label
//   data-i18n-title="key"        → title
// Strings may hold {name} slots, filled by t(key, {name: value}); a value {key, or?} is that
// key's string in the language in use, so a bound text's slot follows a language change too.

export const LANGUAGES = Object.freeze({ en: "English", hi: "हिन्दी" });
export const DEFAULT_LANGUAGE = "en";

const ATTRIBUTES = [
  ["data-i18n-placeholder", "placeholder"],
  ["data-i18n-aria-label", "aria-label"],
  ["data-i18n-title", "title"],
];

const BUNDLE = document.documentElement.dataset.i18nBundle || "";

let current = DEFAULT_LANGUAGE;
let strings = {};
let fallback = {};
const listeners = new Set();

const parts = new Set(); // loaded by loadStrings, fetched again on a language change

async function fetchStrings(lang, part = "") {
  const name = part ? `${BUNDLE}-${part}` : BUNDLE;
  const file = name ? `${name}.${lang}.json` : `${lang}.json`;
  // Preloaded by the page (same URL, same mode) for the language the visitor is likely to
  // choose; an unversioned URL is answered no-store by the server.
  const response = await fetch(new URL(`../i18n/${file}`, import.meta.url));
  if (!response.ok) throw new Error(`i18n ${lang}: ${response.status}`);
  return response.json();
}

/** The language in use. */
export function language() {
  return current;
}

let asked = 0; // setLanguage calls so far: only the last one's strings are put on the page

/** Load a language (English stays loaded as the fallback) and re-render the page. When
 * another language is asked for while this one loads, the later choice wins: this call
 * changes nothing and resolves to the language then in use. */
export async function setLanguage(lang) {
  if (!(lang in LANGUAGES)) lang = DEFAULT_LANGUAGE;
  const mine = ++asked;
  let next;
  if (BUNDLE) {
    next = await fetchStrings(lang); // complete: the server filled gaps from English
    for (const part of parts) Object.assign(next, await fetchStrings(lang, part));
  } else {
    if (!Object.keys(fallback).length) fallback = await fetchStrings(DEFAULT_LANGUAGE);
    next = lang === DEFAULT_LANGUAGE ? fallback : await fetchStrings(lang);
  }
  if (mine !== asked) return current;
  strings = next;
  current = lang;
  document.documentElement.lang = lang;
  apply(document);
  for (const listener of listeners) listener(lang);
  return lang;
}

/** The strings of a module marked "i18n: strings on demand" (app/web.py), on a bundled page. */
export async function loadStrings(part) {
  if (!BUNDLE || parts.has(part)) return;
  Object.assign(strings, await fetchStrings(current, part));
  parts.add(part);
}

/** Call `listener(lang)` after every language change (to re-render dynamic text). */
export function onLanguageChange(listener) {
  listeners.add(listener);
}

/** The string for `key` with {slots} filled; the key itself if it is missing everywhere. */
export function t(key, vars = {}) {
  let text = strings[key] ?? fallback[key];
  if (text === undefined) {
    console.warn(`i18n: missing key ${key}`);
    return key;
  }
  for (const [name, value] of Object.entries(vars)) {
    text = text.split(`{${name}}`).join(slot(value));
  }
  return text;
}

/** A slot's value: as given, or for `{key, or}` that key's string (`or` if it has none). */
function slot(value) {
  if (value && typeof value === "object") return has(value.key) ? t(value.key) : String(value.or ?? value.key);
  return String(value);
}

/** Whether a key exists (for optional, data-driven labels). */
export function has(key) {
  return key in strings || key in fallback;
}

/** The string for `key` if there is one, else `otherwise` (for labels of server-sent codes). */
export function tOr(key, otherwise, vars = {}) {
  return has(key) ? t(key, vars) : otherwise;
}

/** Fill every data-i18n* element under `root`. */
export function apply(root) {
  for (const el of root.querySelectorAll("[data-i18n]")) {
    el.textContent = t(el.dataset.i18n, varsOf(el));
  }
  for (const [attribute, target] of ATTRIBUTES) {
    for (const el of root.querySelectorAll(`[${attribute}]`)) {
      el.setAttribute(target, t(el.getAttribute(attribute)));
    }
  }
}

/** data-i18n-vars='{"n": 3}' gives slot values to a data-i18n element. */
function varsOf(el) {
  if (!el.dataset.i18nVars) return {};
  try {
    return JSON.parse(el.dataset.i18nVars);
  } catch {
    return {};
  }
}

/** Set an element's i18n key (and slot values) and render it now. */
export function bind(el, key, vars) {
  el.dataset.i18n = key;
  if (vars) el.dataset.i18nVars = JSON.stringify(vars);
  else delete el.dataset.i18nVars;
  el.textContent = t(key, vars || {});
  return el;
}

/** Empty an element bound by `bind`, unbound so a language change leaves it empty. */
export function unbind(el) {
  el.textContent = "";
  delete el.dataset.i18n;
  delete el.dataset.i18nVars;
  return el;
}

/** A short local time (HH:MM) for a message. */
export function formatTime(iso) {
  const date = iso ? new Date(iso) : new Date();
  if (Number.isNaN(date.getTime())) return "";
  return date.toLocaleTimeString(current === "hi" ? "hi-IN" : "en-IN", {
    hour: "2-digit",
    minute: "2-digit",
  });
}

/** "about N minutes" style wait text from seconds. */
export function formatWait(seconds) {
  if (seconds === null || seconds === undefined) return null;
  if (seconds < 60) return t("wait.under_minute");
  const minutes = Math.round(seconds / 60);
  return minutes === 1 ? t("wait.one_minute") : t("wait.minutes", { n: minutes });
}
