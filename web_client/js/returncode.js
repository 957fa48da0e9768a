// Return codes (docs/protocol.md, "Coming back without an account"), loaded only when a chat
// ends or the seeker says they have a code: the first screen of a slow phone needs none of it.
// i18n: strings on demand
//
// The five words live in this page's DOM only while they are shown: never in storage, never
// in a URL. "I have written them down" (or quick exit, which empties the page) removes them.
// Every text is bound to its key (data-i18n), so a change of language re-renders it.

import { apply, bind, language, loadStrings, onLanguageChange } from "./i18n.js";
import { $, api, el } from "./ui.js";

const text = (tag, key, options = {}, vars = undefined) => bind(el(tag, options), key, vars);

// Its styles too come only with it.
if (!document.querySelector("link[data-returncode]")) {
  const link = el("link", { attrs: { rel: "stylesheet", href: new URL("../css/returncode.css", import.meta.url).href, "data-returncode": "" } });
  document.head.append(link);
}

/** The offer on the ended screen: a button that makes a code and shows its words once. */
export async function offerCode(card, { conversationId, token }) {
  const [, mine] = await Promise.all([loadStrings("returncode"), api("/api/v1/return-codes/mine", { token })]);
  // A session opened with a code (or that made one) still has it: offer new words instead.
  const linked = mine.ok;
  const offer = el("div", { class: "js-code-offer" });
  offer.append(text("p", linked ? "returncode.still_works" : "returncode.offer_text", { class: "small" }));
  const keep = text("button", linked ? "returncode.renew" : "returncode.keep", { class: "button button--secondary", attrs: { type: "button" } });
  offer.append(keep);
  const kept = text("p", "returncode.kept", { class: "notice notice--calm js-code-kept", attrs: { tabindex: "-1", hidden: "" } });
  const error = el("p", { class: "form-error", attrs: { role: "alert" } });
  keep.addEventListener("click", async () => {
    keep.disabled = true;
    const answer = await api("/api/v1/return-codes", { method: "POST", body: { conversation_id: conversationId }, token });
    keep.disabled = false;
    if (!answer.ok) {
      bind(error, "returncode.error");
      keep.focus(); // disabled while it asked, the button had lost the focus to the page
      return;
    }
    error.textContent = "";
    offer.hidden = true;
    const shown = showWords(answer.data, () => {
      shown.remove();
      kept.hidden = false;
      kept.focus();
    });
    card.append(shown);
    $("code-words-title").focus();
  });
  card.replaceChildren(text("h2", "returncode.offer_title", { class: "card__title", attrs: { id: "code-title" } }), offer, kept, error);
}

function showWords(made, done) {
  const shown = el("div", { class: "code-words", attrs: { id: "code-shown" } });
  shown.append(text("h3", "returncode.yours", { class: "code-words__title", attrs: { id: "code-words-title", tabindex: "-1" } }));
  const list = el("ol", { class: "code-words__list", attrs: { "aria-labelledby": "code-words-title" } });
  for (const word of made.words) list.append(el("li", { class: "code-words__word", text: word, attrs: { lang: "en" } }));
  shown.append(list);
  shown.append(text("p", "returncode.write_down", { class: "small" }));
  shown.append(text("p", "returncode.keep_days", { class: "small" }, { days: made.keep_days }));
  const button = text("button", "returncode.done", { class: "button button--secondary", attrs: { type: "button" } });
  button.addEventListener("click", done);
  shown.append(button);
  return shown;
}

/**
 * The "come back" screen: type the words, then see the plan, talk again or forget the code.
 * `hooks`: `saveSession(token, expiresAt)`, `startChat()`, `back()`.
 */
export async function showComeBack(screen, hooks) {
  await loadStrings("returncode");
  const form = el("form", { class: "card return-form", attrs: { novalidate: "", autocomplete: "off" } });
  form.append(text("h1", "returncode.come_back_title", { attrs: { id: "return-title" } }));
  form.append(text("label", "returncode.words_label", { attrs: { for: "return-words" } }));
  const input = el("input", {
    class: "input",
    attrs: {
      id: "return-words", type: "text", autocapitalize: "none", autocomplete: "off", spellcheck: "false",
      maxlength: "200", required: "", "aria-describedby": "return-hint return-error",
      "data-i18n-placeholder": "returncode.words_placeholder",
    },
  });
  form.append(input);
  form.append(text("p", "returncode.words_hint", { class: "small", attrs: { id: "return-hint" } }));
  const error = el("p", { class: "form-error", attrs: { id: "return-error", role: "alert" } });
  form.append(error);
  const actions = el("div", { class: "row" });
  const open = text("button", "returncode.open", { class: "button button--primary", attrs: { type: "submit" } });
  const back = text("button", "returncode.back", { class: "button button--quiet", attrs: { type: "button" } });
  back.addEventListener("click", hooks.back);
  actions.append(open, back, helplinesButton());
  form.append(actions);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const typed = input.value.trim();
    if (!typed) {
      bind(error, "returncode.error_empty");
      input.focus();
      return;
    }
    open.disabled = true;
    const answer = await api("/api/v1/return-codes/redeem", { method: "POST", body: { code: typed, language: language() } });
    open.disabled = false;
    if (!answer.ok) {
      const code = answer.data?.error?.code;
      bind(error, code === "rate_limited" ? "returncode.error_slow" : code === "return_code_invalid" ? "returncode.error_invalid" : "returncode.error");
      input.focus();
      return;
    }
    input.value = "";
    hooks.saveSession(answer.data.seeker_token, answer.data.expires_at);
    await showWelcomeBack(screen, answer.data, answer.data.seeker_token, hooks);
  });
  apply(form);
  screen.replaceChildren(form);
  input.focus();
}

/** The plan on the "welcome back" screen, redrawn when the page's language changes. */
const welcome = { body: null, plan: null, token: null };

onLanguageChange(async (lang) => {
  const { body, token } = welcome;
  if (!body?.isConnected || body.closest("[data-screen]")?.hidden || !welcome.plan) return;
  const { renderPlan } = await import("./safetyplan.js");
  renderPlan(body, welcome.plan, { idPrefix: "return-plan" }); // the page's own words, at once
  if (welcome.plan.language === lang) return;
  // The steps' words and the helplines' names and hours come from the server, in the language
  // asked for; what the seeker wrote comes back as they wrote it. A later switch wins.
  const answer = await api(`/api/v1/return-codes/mine?language=${encodeURIComponent(lang)}`, { token });
  if (!answer.ok || !answer.data?.plan || language() !== lang || welcome.body !== body || !body.isConnected) return;
  welcome.plan = answer.data.plan;
  renderPlan(body, welcome.plan, { idPrefix: "return-plan" });
});

async function showWelcomeBack(screen, info, token, hooks) {
  const nodes = [];
  nodes.push(text("h1", "returncode.welcome_back", { attrs: { id: "return-title", tabindex: "-1" } }));
  nodes.push(text("p", "returncode.welcome_text", { class: "lead" }));
  const talk = text("button", "returncode.talk_again", { class: "button button--primary button--wide", attrs: { type: "button" } });
  talk.addEventListener("click", hooks.startChat);
  nodes.push(talk, helplinesButton());
  const planCard = el("section", { class: "card js-code-plan", attrs: { "aria-labelledby": "return-plan-title" } });
  planCard.append(text("h2", "plan.title", { class: "card__title", attrs: { id: "return-plan-title" } }));
  if (info.plan) {
    const body = el("div", { class: "plan" });
    planCard.append(body);
    const { renderPlan } = await import("./safetyplan.js");
    renderPlan(body, info.plan, { idPrefix: "return-plan" });
    Object.assign(welcome, { body, plan: info.plan, token });
  } else {
    planCard.append(text("p", "returncode.no_plan", { class: "small" }));
  }
  nodes.push(planCard);
  nodes.push(forgetCard(info, token));
  screen.replaceChildren(...nodes);
  $("return-title").focus();
}

/** Helplines from the return screens, which had no way to them (seeker.js opens the dialog). */
function helplinesButton() {
  return text("button", "helplines.open", { class: "button button--quiet js-open-helplines", attrs: { type: "button" } });
}

function forgetCard(info, token) {
  const card = el("section", { class: "card", attrs: { "aria-labelledby": "forget-title" } });
  card.append(text("h2", "returncode.yours", { class: "card__title", attrs: { id: "forget-title" } }));
  card.append(text("p", "returncode.keep_days", { class: "small" }, { days: info.keep_days }));
  const ask = text("button", "returncode.forget", { class: "button button--quiet", attrs: { type: "button" } });
  const confirm = el("div", { class: "row", attrs: { hidden: "" } });
  const sure = text("p", "returncode.forget_sure", { class: "small", attrs: { id: "forget-sure" } });
  const yes = text("button", "returncode.forget_yes", { class: "button button--secondary", attrs: { type: "button", "aria-describedby": "forget-sure" } });
  const no = text("button", "returncode.forget_no", { class: "button button--quiet", attrs: { type: "button" } });
  const status = el("p", { class: "notice", attrs: { role: "status", tabindex: "-1", hidden: "" } });
  ask.addEventListener("click", () => {
    ask.hidden = true;
    confirm.hidden = false;
    no.focus();
  });
  no.addEventListener("click", () => {
    confirm.hidden = true;
    ask.hidden = false;
    ask.focus();
  });
  yes.addEventListener("click", async () => {
    const answer = await api("/api/v1/return-codes/mine", { method: "DELETE", token });
    confirm.hidden = true;
    status.hidden = false;
    if (answer.ok || answer.status === 404) {
      bind(status, "returncode.forgotten");
      card.parentElement?.querySelector(".js-code-plan")?.remove();
    } else {
      bind(status, "returncode.error");
      ask.hidden = false;
    }
    // The pressed button is hidden now: the keyboard's place (and what is read) is the answer.
    status.focus();
  });
  confirm.append(sure, yes, no);
  card.append(ask, confirm, status);
  return card;
}
