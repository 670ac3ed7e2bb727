/// <reference lib="dom" />
// Building the console's DOM without HTML strings: el() creates an element with attributes,
// listeners and children, where strings always become text nodes. Whatever the broker sends
// (topic names, keys, values, headers) reaches the page only through here, as text.

export type Child = Node | string | number | null | undefined | false;

type Attrs = {
  [name: string]: string | number | boolean | null | undefined | ((ev: Event) => void);
};

/** An element; `on<event>` attributes are listeners, false/null/undefined attributes are left out. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [name, v] of Object.entries(attrs)) {
    if (typeof v === "function") e.addEventListener(name.slice(2).toLowerCase(), v);
    else if (v === true) e.setAttribute(name, "");
    else if (v !== false && v !== null && v !== undefined) e.setAttribute(name, String(v));
  }
  append(e, ...children);
  return e;
}

/** Append children (strings and numbers as text nodes). */
export function append(parent: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    parent.appendChild(
      typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c,
    );
  }
}

/** Replace an element's children. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, ...children);
}

/** A table from a header row and rows of cells. */
export function table(head: string[], rows: Child[][], attrs: Attrs = {}): HTMLTableElement {
  return el(
    "table",
    attrs,
    el("thead", {}, el("tr", {}, ...head.map((h) => el("th", {}, h)))),
    el("tbody", {}, ...rows.map((r) => el("tr", {}, ...r.map((c) => el("td", {}, c))))),
  );
}

/** A labelled form field. */
export function field(label: string, input: HTMLElement): HTMLLabelElement {
  return el("label", {}, el("span", {}, label), input);
}

/** The value of a form control by name. */
export function formValue(form: HTMLFormElement, name: string): string {
  const c = form.elements.namedItem(name);
  return c instanceof HTMLInputElement || c instanceof HTMLSelectElement || c instanceof HTMLTextAreaElement
    ? c.value
    : "";
}

/** A <select> of options (value = label unless given as pairs). */
export function select(
  name: string,
  options: (string | [string, string])[],
  selected?: string,
  attrs: Attrs = {},
): HTMLSelectElement {
  return el(
    "select",
    { name, ...attrs },
    ...options.map((o) => {
      const [value, label] = typeof o === "string" ? [o, o] : o;
      return el("option", { value, selected: value === selected }, label);
    }),
  );
}
