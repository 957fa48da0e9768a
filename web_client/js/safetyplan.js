// The safety plan (docs/protocol.md, Safety plan): one renderer for the seeker's page, the
// volunteer's risk panel and the supervisors' desk, and the plain text the seeker keeps.
// The steps' wording comes from the server (app/safety_plan/stanley-brown-v1.yaml); text
// from people is always set with textContent.

import { bind, t } from "./i18n.js";
import { announce, contactText, el, helplineCard } from "./ui.js";

const MAX_ITEM_CHARS = 300;

/**
 * Render `plan` into `container`. With `onChange(stepId, items)` each step can be edited:
 * entries are added and removed, and the step's whole list is handed back (an `onChange`
 * that returns false did not send it: the words typed stay in their field).
 */
export function renderPlan(container, plan, { onChange = null, idPrefix = "plan" } = {}) {
  const editable = typeof onChange === "function";
  // A re-render (every edit comes back as a new frame) keeps the keyboard where it was: on
  // the same control, or on the step's input when the control went (a removed entry).
  const active = container.contains(document.activeElement) ? document.activeElement : null;
  const keep = active?.id || null;
  const keepStep = active?.closest?.("[data-step]")?.dataset.step || null;
  // Words typed but not yet added stay too: the other person's edit re-renders every step.
  const drafts = new Map();
  for (const input of container.querySelectorAll("[data-step] .plan-step__add input")) {
    if (input.value) drafts.set(input.closest("[data-step]").dataset.step, input.value);
  }
  const nodes = [];
  if (plan.intro) nodes.push(el("p", { class: "plan__intro", text: plan.intro }));
  for (const step of plan.steps || []) {
    const headingId = `${idPrefix}-${step.step_id}-title`;
    const section = el("section", { class: "plan-step", attrs: { "data-step": step.step_id, "aria-labelledby": headingId } });
    section.append(el("h3", { class: "plan-step__title", text: step.title, attrs: { id: headingId } }));
    section.append(el("p", { class: "plan-step__prompt", text: step.prompt }));
    if (step.helplines && plan.helplines?.length) section.append(helplineCard(plan.helplines, null, null));
    const items = Array.isArray(step.items) ? step.items : [];
    const list = el("ul", { class: "plan-step__items" });
    items.forEach((item, index) => {
      const entry = el("li", { class: "plan-item" });
      entry.append(el("span", { class: "plan-item__text", text: item }));
      if (editable) {
        const remove = el("button", {
          class: "button button--quiet button--small plan-item__remove",
          text: t("plan.remove"),
          attrs: { id: `${idPrefix}-${step.step_id}-remove-${index}`, type: "button", "aria-label": t("plan.remove_item", { item }) },
        });
        remove.addEventListener("click", () => onChange(step.step_id, items.filter((_, i) => i !== index)));
        entry.append(remove);
      }
      list.append(entry);
    });
    if (items.length) section.append(list);
    else if (!editable && !(step.helplines && plan.helplines?.length)) {
      section.append(el("p", { class: "small plan-step__empty", text: t("plan.empty_step") }));
    }
    if (editable) {
      const inputId = `${idPrefix}-${step.step_id}-add`;
      const form = el("form", { class: "plan-step__add", attrs: { autocomplete: "off" } });
      form.append(el("label", { class: "visually-hidden", text: t("plan.add_to", { step: step.title }), attrs: { for: inputId } }));
      // The example is a line of its own: as the field's placeholder it was cut at 360 px
      // ("For example: Not sleepi") and went as soon as the seeker typed.
      const example = (step.examples || [])[0];
      if (example) {
        section.append(el("p", { class: "small plan-step__example", text: t("plan.example", { example }), attrs: { id: `${inputId}-example` } }));
      }
      const input = el("input", {
        class: "input",
        attrs: {
          id: inputId, type: "text", maxlength: String(MAX_ITEM_CHARS),
          "aria-describedby": example ? `${inputId}-example` : null,
        },
      });
      if (drafts.has(step.step_id)) input.value = drafts.get(step.step_id);
      form.append(input, el("button", { class: "button button--secondary button--small", text: t("plan.add"), attrs: { type: "submit" } }));
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        const value = input.value.trim();
        if (!value) return;
        // false: the change did not go (the page reconnects), so the words stay to add again.
        if (onChange(step.step_id, [...items, value]) !== false) input.value = "";
      });
      section.append(form);
    }
    nodes.push(section);
  }
  container.replaceChildren(...nodes);
  // An entry added or removed, by either person, is said (the page's alert region), where the
  // plan is in sight and can be edited: nothing else tells a screen reader the list changed.
  const before = container.planItems;
  container.planItems = new Map((plan.steps || []).map((step) => [step.step_id, step.items || []]));
  if (editable && before && container.checkVisibility()) {
    for (const [stepId, items] of container.planItems) {
      const old = before.get(stepId) || [];
      const added = items.find((item) => !old.includes(item));
      const removed = old.find((item) => !items.includes(item));
      if (added || removed) {
        announce("sr-alert", t(added ? "plan.added" : "plan.removed", { item: added || removed }));
        break;
      }
    }
  }
  if (keep || keepStep) {
    const target = (keep && container.querySelector(`#${CSS.escape(keep)}`))
      || (keepStep && container.querySelector(`[data-step="${keepStep}"] input`));
    target?.focus();
    if (target?.tagName === "INPUT" && target.value) {
      const caret = active?.tagName === "INPUT" && active.value === target.value ? active.selectionEnd : target.value.length;
      target.setSelectionRange(caret, caret);
    }
  }
}

/** The page the browser prints: the plan under its title, read-only. */
export function renderPrint(container, plan) {
  renderPlan(container, plan, { idPrefix: "print-plan" });
  container.prepend(bind(el("h1", { class: "plan-print__title" }), "plan.title"));
}

/** The plan as plain text, for the seeker's own device. */
export function planText(plan) {
  const lines = [t("plan.title"), "", plan.intro || "", ""];
  for (const step of plan.steps || []) {
    lines.push(step.title);
    if (step.helplines) {
      for (const line of plan.helplines || []) {
        const numbers = (line.contacts || []).map(contactText).join(", ");
        lines.push(`- ${line.name}: ${numbers}`);
      }
    }
    for (const item of step.items || []) lines.push(`- ${item}`);
    if (!(step.items || []).length && !step.helplines) lines.push("-");
    lines.push("");
  }
  lines.push(t("plan.text_footer"));
  return lines.join("\n");
}
