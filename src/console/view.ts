/// <reference lib="dom" />
// What every console view gets from app.ts (the session, its container, the route's parameters,
// navigation, notices, cleanup when the user leaves the view), and how errors are shown.

import { el } from "./dom.ts";
import type { Session } from "./session.ts";

export interface ViewContext {
  session: Session;
  main: HTMLElement;
  params: URLSearchParams;
  /** Go to a route ("topics", "topic?name=a"). */
  navigate(route: string): void;
  /** A short notice at the bottom right. */
  toast(message: string, error?: boolean): void;
  /** Run fn when the view is left (timers, consumers). */
  onLeave(fn: () => void): void;
  /** Whether the view is still the one shown (false once left). */
  readonly active: boolean;
}

export type View = (ctx: ViewContext) => Promise<void>;

/** An error as one line of text (Kafka's error name first when it has one). */
export function errorText(e: unknown): string {
  if (e instanceof Error) {
    const type = (e as { type?: unknown }).type;
    return typeof type === "string" && !e.message.includes(type) ? `${type}: ${e.message}` : e.message;
  }
  return String(e);
}

/** A route's link. */
export function link(route: string, text: string, attrs: Record<string, string> = {}): HTMLAnchorElement {
  return el("a", { href: `#${route}`, ...attrs }, text);
}

/** A route with parameters ("topic", { name }) -> "topic?name=...". */
export function route(name: string, params: Record<string, string | number> = {}): string {
  const q = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)])).toString();
  return q === "" ? name : `${name}?${q}`;
}

/** A number cell (right-aligned). */
export function num(n: number | string): HTMLSpanElement {
  return el("span", { class: "num" }, typeof n === "number" ? n.toLocaleString("en-US") : n);
}
