/// <reference lib="dom" />
// The console's entry (bundled by build.ts into dist/console/app.js): reads /console/config.json,
// connects to the broker's WebSocket listener with Milena's browser client (after a login form
// when the listener needs SASL: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512), and shows the view the
// URL's hash names: #overview, #topics, #topic?name=, #messages?topic=, #groups, #group?id=,
// #charts, #produce. Credentials stay in this page's memory only.

import { SaslAuthenticationError } from "../client/browser.ts";
import { charts } from "./charts.ts";
import { type ConsoleConfig, LOGIN_MECHANISMS, resolveWebSocketUrl } from "./config.ts";
import { el, field, formValue, replace, select } from "./dom.ts";
import { groupDetail, groupList } from "./groups.ts";
import { messages } from "./messages.ts";
import { overview } from "./overview.ts";
import { produce } from "./produce.ts";
import { type Credentials, Session } from "./session.ts";
import { topicDetail, topicList } from "./topics.ts";
import { errorText, type View, type ViewContext } from "./view.ts";

const VIEWS: Record<string, { view: View; nav?: string; section: string }> = {
  overview: { view: overview, nav: "Overview", section: "overview" },
  topics: { view: topicList, nav: "Topics", section: "topics" },
  topic: { view: topicDetail, section: "topics" },
  messages: { view: messages, nav: "Messages", section: "messages" },
  groups: { view: groupList, nav: "Consumer groups", section: "groups" },
  group: { view: groupDetail, section: "groups" },
  charts: { view: charts, nav: "Live charts", section: "charts" },
  produce: { view: produce, nav: "Produce", section: "produce" },
};

const main = document.getElementById("main") as HTMLElement;
const nav = document.getElementById("nav") as HTMLElement;
const who = document.getElementById("who") as HTMLElement;
const toastBox = document.getElementById("toast") as HTMLElement;

function toast(message: string, error = false): void {
  const d = el("div", { class: error ? "error" : "" }, message);
  toastBox.append(d);
  setTimeout(() => d.remove(), 5000);
}

let session: Session | null = null;
const leave: (() => void)[] = [];
let shown = 0;

async function show(): Promise<void> {
  if (session === null) return;
  for (const fn of leave.splice(0)) fn();
  const generation = ++shown;
  const hash = location.hash.replace(/^#/, "");
  const q = hash.indexOf("?");
  const name = q < 0 ? hash : hash.slice(0, q);
  const entry = VIEWS[name] ?? VIEWS.overview;
  for (const a of nav.querySelectorAll("a"))
    a.classList.toggle("active", a.dataset.section === entry.section);
  const ctx: ViewContext = {
    session,
    main,
    params: new URLSearchParams(q < 0 ? "" : hash.slice(q + 1)),
    navigate: (route) => {
      if (location.hash === `#${route}`) void show();
      else location.hash = route;
    },
    toast,
    onLeave: (fn) => {
      if (generation === shown) leave.push(fn);
      else fn();
    },
    get active() {
      return generation === shown;
    },
  };
  main.dataset.view = name || "overview";
  main.dataset.ready = "false";
  try {
    await entry.view(ctx);
  } catch (e) {
    if (generation === shown)
      replace(
        main,
        el("h1", {}, "Something went wrong"),
        el("p", { class: "error", id: "view-error" }, errorText(e)),
      );
  } finally {
    if (generation === shown) main.dataset.ready = "true";
  }
}

function login(
  config: ConsoleConfig,
  url: string,
  message: string,
  previous: Credentials | null = null,
): void {
  const mechanisms = (config.sasl?.mechanisms ?? []).filter((m) =>
    (LOGIN_MECHANISMS as readonly string[]).includes(m),
  );
  const form = el(
    "form",
    { class: "stack", id: "login" },
    field(
      "mechanism",
      select("mechanism", mechanisms.length > 0 ? mechanisms : [...LOGIN_MECHANISMS], mechanisms[0], {
        id: "login-mechanism",
      }),
    ),
    field(
      "user name",
      el("input", {
        name: "username",
        required: true,
        autocomplete: "username",
        id: "login-username",
        value: previous?.username ?? null,
      }),
    ),
    field(
      "password",
      el("input", {
        name: "password",
        type: "password",
        required: true,
        autocomplete: "current-password",
        id: "login-password",
      }),
    ),
    el("button", { type: "submit", id: "login-submit" }, "Sign in"),
  );
  const status = el("p", { class: "error", id: "login-status" }, message);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    status.textContent = "";
    void connect(config, url, {
      mechanism: formValue(form, "mechanism"),
      username: formValue(form, "username"),
      password: formValue(form, "password"),
    });
  });
  replace(
    main,
    el("h1", {}, "Sign in to Milena"),
    el("p", { class: "muted" }, `The broker at ${url} asks for SASL.`),
    form,
    status,
  );
  main.dataset.view = "login";
  main.dataset.ready = "true";
}

async function connect(config: ConsoleConfig, url: string, credentials: Credentials | null): Promise<void> {
  const s = new Session(url, credentials);
  try {
    await s.open();
  } catch (e) {
    await s.close().catch(() => {});
    if (config.sasl !== null || e instanceof SaslAuthenticationError)
      return login(
        config,
        url,
        e instanceof SaslAuthenticationError ? `Refused: ${e.message}` : errorText(e),
        credentials,
      );
    replace(
      main,
      el("h1", {}, "Cannot reach the broker"),
      el("p", { class: "error", id: "view-error" }, `${url}: ${errorText(e)}`),
    );
    return;
  }
  session = s;
  replace(who, credentials === null ? url : `${credentials.username} @ ${url}`, " ", signOut(config, url));
  await show();
}

function signOut(config: ConsoleConfig, url: string): HTMLElement | null {
  if (config.sasl === null) return null;
  const b = el("button", { class: "plain", id: "sign-out" }, "Sign out");
  b.addEventListener("click", () => {
    for (const fn of leave.splice(0)) fn();
    shown++;
    void session?.close();
    session = null;
    replace(who);
    login(config, url, "");
  });
  return b;
}

async function boot(): Promise<void> {
  for (const [name, v] of Object.entries(VIEWS))
    if (v.nav !== undefined) nav.append(el("a", { href: `#${name}`, "data-section": v.section }, v.nav));
  window.addEventListener("hashchange", () => void show());
  let config: ConsoleConfig;
  try {
    config = (await (await fetch("/console/config.json", { cache: "no-cache" })).json()) as ConsoleConfig;
  } catch (e) {
    replace(main, el("p", { class: "error" }, `Cannot read /console/config.json: ${errorText(e)}`));
    return;
  }
  const url = resolveWebSocketUrl(config.webSocketUrl, location);
  if (config.sasl !== null) login(config, url, "");
  else await connect(config, url, null);
}

void boot();
