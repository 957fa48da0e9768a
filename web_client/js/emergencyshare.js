// i18n: strings on demand
// The seeker's side of a consented emergency share (docs/protocol.md, Consented emergency
// share). Loaded only when a supervisor asks (`emergency_share.request`): most seekers never
// need it, so neither it nor its strings (i18n/seeker-emergencyshare.<lang>.json, a bundle of
// its own because of the line above; see app/web.py) weigh on the first load of a slow phone.
//
// Privacy: what the seeker types lives only in this dialog's fields, is sent once over the
// socket, and the fields are emptied at once; nothing is kept on the device. The browser's
// location is asked for only after the seeker taps "Use my location".

import { loadStrings, onLanguageChange, t as s, unbind } from "./i18n.js";
import { el, sendOrSayNotSent } from "./ui.js";

const MAX_PHONE_CHARS = 40;
const MAX_LOCATION_CHARS = 500;
const REF = "share";

let dialog = null;
let request = null; // the `emergency_share.request` shown (or last shown)
let context = null; // { conn, note, openDialog } from the seeker's page

const ready = loadStrings("emergencyshare"); // fetched again by i18n.js on a language change
onLanguageChange(() => {
  if (dialog && request) render();
});

/** Every `emergency_share.*` frame (and an error answering one) comes here. */
export async function onFrame(frame, ctx) {
  context = ctx;
  await ready;
  switch (frame.type) {
    case "emergency_share.request":
      if (request?.request_id === frame.request_id && dialog?.open) return; // a resume repeats it
      request = frame;
      show();
      return;
    case "emergency_share.withdrawn":
      if (request?.request_id !== frame.request_id) return;
      close();
      request = null;
      return;
    case "emergency_share.ok":
      close();
      context.note(frame.status === "shared"
        ? s("share.shared_note", { name: request?.supervisor_alias || "", hours: request?.keep_hours ?? 72 })
        : s("share.declined_note"));
      request = null;
      return;
    case "error":
      onError(frame);
      return;
    default:
  }
}

function onError(frame) {
  if (frame.code === "share_closed" || frame.code === "not_found") {
    close();
    request = null;
    context.note(s("share.closed_note"));
    return;
  }
  const key = frame.code === "text_empty" ? "share.need_one"
    : frame.code === "text_too_long" ? "share.too_long"
      : "share.failed";
  setStatus(s(key));
  setBusy(false);
}

function show() {
  if (!dialog) build();
  render();
  if (!dialog.open) context.openDialog(dialog);
  dialog.querySelector("#share-title").focus();
}

function close() {
  if (!dialog) return;
  clearFields();
  if (dialog.open) dialog.close();
}

function clearFields() {
  dialog.querySelector("#share-phone").value = "";
  dialog.querySelector("#share-location").value = "";
  setStatus("");
  setBusy(false);
}

function setStatus(text) {
  unbind(dialog.querySelector("#share-status")).textContent = text; // not a "not sent" any more
}

function setBusy(busy) {
  for (const button of dialog.querySelectorAll("button[data-send]")) button.disabled = busy;
}

function send(share) {
  const phone = dialog.querySelector("#share-phone").value.trim();
  const location = dialog.querySelector("#share-location").value.trim();
  if (share && !phone && !location) {
    setStatus(s("share.need_one"));
    dialog.querySelector("#share-phone").focus();
    return;
  }
  const frame = { type: "emergency_share.answer", request_id: request.request_id, share, ref: REF };
  if (share) {
    if (phone) frame.phone = phone;
    if (location) frame.location = location;
  }
  // Not sent (the page reconnects): the answer stays in the fields, to send again.
  if (!sendOrSayNotSent(context.conn, frame, dialog.querySelector("#share-status"))) return;
  setBusy(true);
  setStatus(s("share.sending"));
}

function useMyLocation() {
  if (!navigator.geolocation) {
    setStatus(s("share.location_unavailable"));
    return;
  }
  setStatus(s("share.locating"));
  navigator.geolocation.getCurrentPosition(
    (position) => {
      const { latitude, longitude, accuracy } = position.coords;
      const field = dialog.querySelector("#share-location");
      const where = s("share.coordinates", {
        lat: latitude.toFixed(5), lon: longitude.toFixed(5), metres: Math.round(accuracy),
      });
      field.value = (field.value.trim() ? `${field.value.trim()}\n` : "") + where;
      field.value = field.value.slice(0, MAX_LOCATION_CHARS);
      setStatus(s("share.location_added"));
    },
    () => setStatus(s("share.location_failed")),
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 0 },
  );
}

function build() {
  dialog = el("dialog", { class: "dialog dialog--share", attrs: { id: "share-dialog", "aria-labelledby": "share-title" } });
  dialog.append(
    el("h2", { attrs: { id: "share-title", tabindex: "-1" } }),
    el("p", { class: "js-share-intro" }),
    el("ul", { class: "share-facts js-share-facts" }),
    el("form", { class: "stack js-share-form", attrs: { autocomplete: "off" } }, [
      el("div", { class: "field" }, [
        el("label", { class: "js-l-phone", attrs: { for: "share-phone" } }),
        el("input", {
          class: "input",
          attrs: { id: "share-phone", type: "tel", inputmode: "tel", maxlength: String(MAX_PHONE_CHARS), autocomplete: "off" },
        }),
      ]),
      el("div", { class: "field" }, [
        el("label", { class: "js-l-location", attrs: { for: "share-location" } }),
        el("textarea", {
          class: "input",
          attrs: { id: "share-location", rows: "3", maxlength: String(MAX_LOCATION_CHARS), autocomplete: "off" },
        }),
        el("button", { class: "button button--quiet button--small js-geo", attrs: { type: "button" } }),
      ]),
      el("p", { class: "small", attrs: { id: "share-status", role: "status", "aria-live": "polite" } }),
      el("div", { class: "dialog__actions" }, [
        el("button", { class: "button button--primary js-share-send", attrs: { type: "submit", "data-send": "" } }),
        el("button", { class: "button button--secondary js-share-decline", attrs: { type: "button", "data-send": "" } }),
      ]),
    ]),
    el("p", { class: "small js-share-112" }),
  );
  dialog.querySelector(".js-share-form").addEventListener("submit", (event) => {
    event.preventDefault();
    send(true);
  });
  dialog.querySelector(".js-share-decline").addEventListener("click", () => send(false));
  dialog.querySelector(".js-geo").addEventListener("click", useMyLocation);
  // Closing the dialog another way (the browser's back gesture) is not an answer: the
  // request stays open and comes back on the next resume.
  document.body.append(dialog);
}

function render() {
  const name = request.supervisor_alias || s("share.the_supervisor");
  const hours = request.keep_hours ?? 72;
  dialog.querySelector("#share-title").textContent = s("share.title");
  dialog.querySelector(".js-share-intro").textContent = s("share.intro", { name });
  dialog.querySelector(".js-share-facts").replaceChildren(
    el("li", { text: s("share.who", { name }) }),
    el("li", { text: s("share.why") }),
    el("li", { text: s("share.how_long", { hours }) }),
    el("li", { text: s("share.choice") }),
  );
  dialog.querySelector(".js-l-phone").textContent = s("share.phone_label");
  dialog.querySelector(".js-l-location").textContent = s("share.location_label");
  dialog.querySelector(".js-geo").textContent = s("share.use_location");
  dialog.querySelector(".js-share-send").textContent = s("share.send");
  dialog.querySelector(".js-share-decline").textContent = s("share.decline");
  dialog.querySelector(".js-share-112").textContent = s("share.emergency_112");
}
