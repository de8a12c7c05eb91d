// The helpdesk's web chat. Plain DOM, no framework, no build step.
//
// Everything the helpdesk or a person sends is untrusted text: it is put into the page with
// textContent only, never parsed as HTML or markdown, so neither a <script> nor a markdown image in
// an answer can run or load anything. The only links are the ones built here from an answer's
// citations, and only to http(s) addresses. A citation is an FAQ entry or a passage of a document
// (a manual, a guide): a passage shows its document's title, its section path and page.

const MAX_MESSAGE_CHARS = 4000;
const POLL_FIRST_MS = 800;
const POLL_MAX_MS = 4000;
const SLOW_AFTER_MS = 8000;
const GIVE_UP_AFTER_MS = 120000;
const HANDOFF_POLL_MS = 3000;
const HANDOFF_APPEAR_MS = 30000;
const RENEW_MARGIN_MS = 60000;
const RETRIES = 3;

const STRINGS = {
  en: {
    skip: "Skip to the message box",
    title: "Helpdesk",
    subtitle: "Ask a question about our services. Answers show the FAQ entries and documents they come from.",
    language: "Language",
    talkToPerson: "Talk to a person",
    humanRequest: "I'd like to talk to a person",
    conversationLabel: "Conversation",
    welcome: "Hello! Ask me anything about our services, in English or Japanese.",
    messageLabel: "Your message",
    placeholder: "Type your question…",
    send: "Send",
    hint: "Press Enter to send, Shift+Enter for a new line.",
    noscript: "The chat needs JavaScript.",
    you: "You",
    bot: "Helpdesk",
    agent: "Support agent",
    typing: "The helpdesk is writing an answer…",
    slow: "This is taking longer than usual; the answer will appear here.",
    noAnswer: "No answer has arrived yet. Please try again in a moment.",
    failed: "Sorry, something went wrong with this message. Please try again.",
    rateLimited: "You are sending messages quickly. Please wait {seconds} seconds and try again.",
    unavailable: "The helpdesk cannot be reached right now. Please try again shortly.",
    sessionError: "The chat could not start. Please reload the page.",
    tooLong: "Your message is too long (at most 4000 characters).",
    newConversation: "Your earlier conversation has ended; this is a new one.",
    sources: "Sources",
    faqEntry: "FAQ entry {id}",
    openEntry: "Open the full FAQ entry",
    openDocument: "Open the document",
    page: "p. {page}",
    documentKind: "Document",
    choices: "Did you mean:",
    helpful: "This answer helped",
    notHelpful: "This answer did not help",
    feedbackThanks: "Thank you for your feedback.",
    feedbackFailed: "Your feedback could not be saved.",
    feedbackGiven: "This answer has been rated already.",
    handoffConnecting: "Connecting you to a person…",
    handoffOpen: "You are waiting for a person. They will reply here, and you can keep writing.",
    handoffActive: "A person is handling your conversation.",
    handoffClosed: "The person has closed the conversation. The helpdesk bot answers again.",
    handoffUnavailable: "No one could be reached right now. Please try again later.",
    sentToAgent: "Sent to the person handling your conversation.",
  },
  ja: {
    skip: "メッセージ入力欄へ移動",
    title: "ヘルプデスク",
    subtitle: "サービスについてご質問ください。回答には参照した FAQ や文書が示されます。",
    language: "言語",
    talkToPerson: "担当者と話す",
    humanRequest: "担当者と話したい",
    conversationLabel: "会話",
    welcome: "こんにちは。サービスについて、日本語または英語でご質問ください。",
    messageLabel: "メッセージ",
    placeholder: "質問を入力してください…",
    send: "送信",
    hint: "Enter で送信、Shift+Enter で改行します。",
    noscript: "チャットには JavaScript が必要です。",
    you: "あなた",
    bot: "ヘルプデスク",
    agent: "担当者",
    typing: "ヘルプデスクが回答を作成しています…",
    slow: "回答に時間がかかっています。届きしだいここに表示されます。",
    noAnswer: "まだ回答が届いていません。しばらくしてからもう一度お試しください。",
    failed: "申し訳ありません。このメッセージを処理できませんでした。もう一度お試しください。",
    rateLimited: "送信が多すぎます。{seconds} 秒ほど待ってからもう一度お試しください。",
    unavailable: "現在ヘルプデスクに接続できません。しばらくしてからもう一度お試しください。",
    sessionError: "チャットを開始できませんでした。ページを再読み込みしてください。",
    tooLong: "メッセージが長すぎます（最大 4000 文字）。",
    newConversation: "以前の会話は終了しました。新しい会話を始めます。",
    sources: "参照元",
    faqEntry: "FAQ 項目 {id}",
    openEntry: "FAQ の全文を開く",
    openDocument: "文書を開く",
    page: "{page} ページ",
    documentKind: "文書",
    choices: "こちらのことでしょうか：",
    helpful: "役に立った",
    notHelpful: "役に立たなかった",
    feedbackThanks: "フィードバックありがとうございます。",
    feedbackFailed: "フィードバックを保存できませんでした。",
    feedbackGiven: "この回答はすでに評価されています。",
    handoffConnecting: "担当者におつなぎしています…",
    handoffOpen: "担当者をお待ちください。返信はここに表示されます。メッセージの送信も続けられます。",
    handoffActive: "担当者が対応しています。",
    handoffClosed: "担当者が対応を終了しました。以降はヘルプデスクのボットがお答えします。",
    handoffUnavailable: "現在、担当者におつなぎできません。後ほどもう一度お試しください。",
    sentToAgent: "担当者に送信しました。",
  },
};

const LANGUAGE_KEY = "helpdesk.language";

const el = {
  log: document.getElementById("log"),
  form: document.getElementById("composer"),
  message: document.getElementById("message"),
  send: document.getElementById("send"),
  human: document.getElementById("human"),
  language: document.getElementById("language"),
  typing: document.getElementById("typing"),
  typingText: document.getElementById("typing-text"),
  handoff: document.getElementById("handoff"),
  notice: document.getElementById("notice"),
  announcer: document.getElementById("announcer"),
};

const state = {
  language: "en",
  session: null, // {token, expiresAt}
  conversationId: null,
  pending: 0,
  handoff: { status: null, seenAgentMessages: new Set(), timer: null, escalatedAt: 0 },
};

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- language ----------------------------------------------------------------------------------

function t(key, values = {}) {
  const text = STRINGS[state.language][key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}

function preferredLanguage() {
  const chosen = localStorage.getItem(LANGUAGE_KEY);
  if (chosen === "en" || chosen === "ja") return chosen;
  const browser = (navigator.languages && navigator.languages[0]) || navigator.language || "en";
  return browser.toLowerCase().startsWith("ja") ? "ja" : "en";
}

function applyLanguage(language) {
  state.language = language;
  document.documentElement.lang = language;
  el.language.value = language;
  for (const node of document.querySelectorAll("[data-i18n]")) {
    node.textContent = t(node.dataset.i18n);
  }
  for (const node of document.querySelectorAll("[data-i18n-placeholder]")) {
    node.placeholder = t(node.dataset.i18nPlaceholder);
  }
  for (const node of document.querySelectorAll("[data-i18n-label]")) {
    node.setAttribute("aria-label", t(node.dataset.i18nLabel));
  }
  document.title = t("title");
  renderHandoffStatus();
}

// ---- small DOM helpers -------------------------------------------------------------------------

function make(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

function i18n(tag, className, key) {
  const node = make(tag, className, t(key));
  node.dataset.i18n = key;
  return node;
}

/** Untrusted text as paragraphs and line breaks: text nodes only. */
function textBlock(text) {
  const block = make("div", "text");
  for (const paragraph of String(text).split(/\n{2,}/)) {
    const p = document.createElement("p");
    paragraph.split("\n").forEach((line, index) => {
      if (index > 0) p.appendChild(document.createElement("br"));
      p.appendChild(document.createTextNode(line));
    });
    block.appendChild(p);
  }
  return block;
}

const SVG = "http://www.w3.org/2000/svg";
const THUMB_UP = "M14 9V5a3 3 0 0 0-3-3l-4 9v11h11.28a2 2 0 0 0 2-1.7l1.38-9a2 2 0 0 0-2-2.3zM7 22H4a2 2 0 0 1-2-2v-7a2 2 0 0 1 2-2h3";
const THUMB_DOWN = "M10 15v4a3 3 0 0 0 3 3l4-9V2H5.72a2 2 0 0 0-2 1.7l-1.38 9a2 2 0 0 0 2 2.3zm7-13h2.67A2.31 2.31 0 0 1 22 4v7a2.31 2.31 0 0 1-2.33 2H17";

function icon(path) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "18");
  svg.setAttribute("height", "18");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const shape = document.createElementNS(SVG, "path");
  shape.setAttribute("d", path);
  svg.appendChild(shape);
  return svg;
}

function safeUrl(value) {
  if (!value) return null;
  try {
    const url = new URL(value, window.location.href);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  } catch {
    return null;
  }
}

function announce(text) {
  el.announcer.textContent = "";
  // A fresh text node after a tick, so that screen readers announce a repeated message again.
  setTimeout(() => {
    el.announcer.textContent = text;
  }, 50);
}

function showNotice(text) {
  el.notice.textContent = text;
  el.notice.hidden = !text;
}

/** The newest message into view, above the composer that stays at the bottom of the window. */
function scrollToEnd() {
  window.scrollTo(0, document.documentElement.scrollHeight);
}

// ---- messages ----------------------------------------------------------------------------------

function addMessage(kind, speakerKey, body) {
  const item = make("li", `message message--${kind}`);
  const speaker = i18n("p", "speaker", speakerKey);
  item.append(speaker, body);
  el.log.appendChild(item);
  scrollToEnd();
  return item;
}

function addUserMessage(text) {
  const bubble = make("div", "bubble");
  bubble.appendChild(textBlock(text));
  return addMessage("user", "you", bubble);
}

function addAgentMessage(text) {
  const bubble = make("div", "bubble");
  bubble.appendChild(textBlock(text));
  return addMessage("agent", "agent", bubble);
}

function addNote(item, key) {
  item.appendChild(i18n("p", "note", key));
}

function citationsOf(reply) {
  const sources = Array.isArray(reply.sources) ? reply.sources : [];
  const seen = new Set(sources.map((s) => s.faq_id));
  const fallback = (reply.citations || []).filter((id) => !seen.has(id)).map((id) => ({ faq_id: id }));
  return [...sources, ...fallback];
}

/** Where in its document a passage is: "Section › Subsection · p. 3" (nothing for an FAQ entry). */
function whereInDocument(source) {
  const parts = [];
  const section = Array.isArray(source.section) ? source.section.filter((s) => typeof s === "string") : [];
  if (section.length) parts.push(section.join(" › "));
  if (Number.isInteger(source.page)) parts.push(t("page", { page: source.page }));
  return parts.join(" · ");
}

function renderCitations(turnId, reply) {
  const cited = citationsOf(reply);
  if (cited.length === 0) return null;
  const nav = make("nav", "sources");
  const heading = i18n("p", "sources-label", "sources");
  heading.id = `sources-${turnId}`;
  nav.setAttribute("aria-labelledby", heading.id);
  const list = make("ul", "citations");
  cited.forEach((source, index) => {
    const passage = source.kind === "passage";
    const entry = make("li", passage ? "citation-entry citation-entry--passage" : "citation-entry");
    const panelId = `cite-${turnId}-${index}`;
    const link = make("a", passage ? "citation citation--passage" : "citation");
    link.href = `#${panelId}`;
    link.dataset.faqId = source.faq_id;
    if (passage) link.dataset.kind = "passage";
    link.setAttribute("aria-controls", panelId);
    link.setAttribute("aria-expanded", "false");
    if (source.title) {
      link.textContent = source.title;
    } else {
      link.textContent = t("faqEntry", { id: source.faq_id });
    }
    const where = passage ? whereInDocument(source) : "";
    const panel = make("div", "citation-detail");
    panel.id = panelId;
    panel.hidden = true;
    if (source.snippet) panel.appendChild(textBlock(source.snippet));
    const href = safeUrl(source.url);
    if (href) {
      const open = i18n("a", "citation-open", passage ? "openDocument" : "openEntry");
      open.href = href;
      open.target = "_blank";
      open.rel = "noopener noreferrer";
      panel.appendChild(open);
    }
    panel.appendChild(make("p", "citation-id", source.faq_id));
    link.addEventListener("click", (event) => {
      event.preventDefault();
      const open = link.getAttribute("aria-expanded") === "true";
      link.setAttribute("aria-expanded", String(!open));
      panel.hidden = open;
    });
    entry.appendChild(link);
    if (where) entry.appendChild(make("span", "citation-where", where));
    entry.appendChild(panel);
    list.appendChild(entry);
  });
  nav.append(heading, list);
  return nav;
}

function renderChoices(reply) {
  const choices = Array.isArray(reply.choices) ? reply.choices : [];
  if (choices.length === 0) return null;
  const group = make("div", "choices");
  group.setAttribute("role", "group");
  const label = i18n("p", "choices-label", "choices");
  label.id = `choices-${crypto.randomUUID()}`;
  group.setAttribute("aria-labelledby", label.id);
  group.appendChild(label);
  for (const choice of choices) {
    const button = make("button", "button button--choice", choice.question);
    button.type = "button";
    button.addEventListener("click", () => {
      for (const other of group.querySelectorAll("button")) other.disabled = true;
      button.setAttribute("aria-pressed", "true");
      send(choice.question);
    });
    group.appendChild(button);
  }
  return group;
}

function renderFeedback(turnId) {
  const group = make("div", "feedback");
  group.setAttribute("role", "group");
  const buttons = [];
  for (const [rating, path, key] of [
    ["up", THUMB_UP, "helpful"],
    ["down", THUMB_DOWN, "notHelpful"],
  ]) {
    const button = make("button", `button button--icon feedback-${rating}`);
    button.type = "button";
    button.dataset.rating = rating;
    button.dataset.i18nLabel = key;
    button.setAttribute("aria-label", t(key));
    button.setAttribute("aria-pressed", "false");
    button.appendChild(icon(path));
    button.addEventListener("click", () => giveFeedback(turnId, rating, buttons));
    buttons.push(button);
    group.appendChild(button);
  }
  return group;
}

function addBotAnswer(reply) {
  const bubble = make("div", "bubble");
  bubble.appendChild(textBlock(reply.answer ?? ""));
  const item = addMessage("bot", "bot", bubble);
  item.dataset.turnId = reply.turn_id;
  if (reply.language === "en" || reply.language === "ja") item.lang = reply.language;
  const citations = renderCitations(reply.turn_id, reply);
  if (citations) item.appendChild(citations);
  const choices = renderChoices(reply);
  if (choices) item.appendChild(choices);
  item.appendChild(renderFeedback(reply.turn_id));
  scrollToEnd();
  return item;
}

// ---- talking to the gateway --------------------------------------------------------------------

class HttpError extends Error {
  constructor(status, retryAfter) {
    super(`HTTP ${status}`);
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

async function startSession() {
  const headers = {};
  const current = state.session;
  if (current && Date.now() < current.expiresAt) headers.authorization = `Bearer ${current.token}`;
  const response = await fetch("/v1/sessions", { method: "POST", headers });
  if (!response.ok) throw new HttpError(response.status, retryAfterOf(response));
  const body = await response.json();
  const renewed = current && body.user_id === current.userId;
  state.session = {
    token: body.token,
    userId: body.user_id,
    expiresAt: Date.now() + body.expires_in * 1000,
  };
  if (current && !renewed && state.conversationId) {
    // A new visitor cannot continue the old visitor's conversation.
    state.conversationId = null;
    stopHandoffPolling();
    showNotice(t("newConversation"));
  }
}

async function token() {
  if (!state.session || Date.now() > state.session.expiresAt - RENEW_MARGIN_MS) await startSession();
  return state.session.token;
}

function retryAfterOf(response) {
  const value = Number.parseInt(response.headers.get("retry-after") || "", 10);
  return Number.isFinite(value) && value > 0 ? value : 1;
}

/** A call to the API with the session token: renews an expired session once, retries what may be
 * retried (network errors, 503) a few times, and returns the Response for any other status. */
async function api(path, { method = "GET", body, headers = {} } = {}) {
  let renewed = false;
  for (let attempt = 1; ; attempt += 1) {
    let response;
    try {
      const init = {
        method,
        headers: { ...headers, authorization: `Bearer ${await token()}` },
      };
      if (body !== undefined) {
        init.headers["content-type"] = "application/json";
        init.body = JSON.stringify(body);
      }
      response = await fetch(path, init);
    } catch (error) {
      if (error instanceof HttpError) throw error;
      if (attempt >= RETRIES) throw new HttpError(0, 1);
      await sleep(attempt * 1000);
      continue;
    }
    if (response.status === 401 && !renewed && state.session) {
      // The gateway no longer accepts the token (expired while the tab slept, or a new signing key):
      // the next call starts a new session, and with it a new conversation.
      renewed = true;
      state.session.expiresAt = 0;
      continue;
    }
    if (response.status === 503 && attempt < RETRIES) {
      await sleep(Math.min(retryAfterOf(response), 5) * 1000);
      continue;
    }
    return response;
  }
}

// ---- sending and waiting -----------------------------------------------------------------------

function setTyping(on, slow = false) {
  const appearing = on && el.typing.hidden;
  el.typing.hidden = !on;
  if (appearing) scrollToEnd();
  el.typingText.dataset.i18n = slow ? "slow" : "typing";
  el.typingText.textContent = t(el.typingText.dataset.i18n);
  el.typing.classList.toggle("typing--slow", slow);
}

/** The typing indicator stays while any message waits for its answer. */
function busy(delta) {
  state.pending += delta;
  const waiting = state.pending > 0;
  setTyping(waiting, waiting && el.typing.classList.contains("typing--slow"));
}

async function postChat(text) {
  const payload = { message: text, locale: state.language };
  if (state.conversationId) payload.conversation_id = state.conversationId;
  // One key per message, kept across retries, so a retried request cannot ask twice.
  const headers = { "idempotency-key": crypto.randomUUID() };
  let response = await api("/v1/chat", { method: "POST", body: payload, headers });
  if (response.status === 404 && payload.conversation_id) {
    // Not this visitor's conversation (any more): the session was replaced on the way.
    state.conversationId = null;
    stopHandoffPolling();
    showNotice(t("newConversation"));
    delete payload.conversation_id;
    response = await api("/v1/chat", {
      method: "POST",
      body: payload,
      headers: { "idempotency-key": crypto.randomUUID() },
    });
  }
  return response;
}

async function pollTurn(location, started) {
  let delay = POLL_FIRST_MS;
  while (Date.now() - started < GIVE_UP_AFTER_MS) {
    await sleep(delay);
    if (Date.now() - started > SLOW_AFTER_MS) setTyping(true, true);
    const response = await api(location);
    if (!response.ok) throw new HttpError(response.status, retryAfterOf(response));
    const body = await response.json();
    if (body.status !== "pending") return body;
    delay = Math.min(Math.round(delay * 1.5), POLL_MAX_MS);
  }
  return null;
}

function explainFailure(error) {
  if (error instanceof HttpError && error.status === 429) {
    return t("rateLimited", { seconds: error.retryAfter });
  }
  if (error instanceof HttpError && error.status === 413) return t("tooLong");
  if (error instanceof HttpError && (error.status === 0 || error.status === 503)) return t("unavailable");
  return t("failed");
}

async function send(text) {
  const message = text.trim();
  if (!message) return;
  if (message.length > MAX_MESSAGE_CHARS) {
    showNotice(t("tooLong"));
    return;
  }
  showNotice("");
  const userItem = addUserMessage(message);
  const started = Date.now();
  busy(+1);
  try {
    const response = await postChat(message);
    if (response.status !== 200 && response.status !== 202) {
      throw new HttpError(response.status, retryAfterOf(response));
    }
    let reply = await response.json();
    state.conversationId = reply.conversation_id;
    if (reply.status === "handed_off") {
      addNote(userItem, "sentToAgent");
      return;
    }
    if (response.status === 202 && reply.status === "pending") {
      reply = await pollTurn(response.headers.get("location") || reply.links.self, started);
      if (reply === null) {
        showNotice(t("noAnswer"));
        return;
      }
    }
    if (reply.status === "failed" || reply.answer === null || reply.answer === undefined) {
      showNotice(t("failed"));
      return;
    }
    addBotAnswer(reply);
    if (reply.escalated || reply.status === "escalated") startHandoff();
  } catch (error) {
    showNotice(explainFailure(error));
  } finally {
    busy(-1);
  }
}

// ---- feedback ----------------------------------------------------------------------------------

/** Each answer takes one rating (the helpdesk counts the first): once given, the thumbs stay as they
 * are, focusable but marked aria-disabled, and further clicks do nothing. */
async function giveFeedback(turnId, rating, buttons) {
  if (buttons.some((button) => button.getAttribute("aria-disabled") === "true")) return;
  for (const button of buttons) button.disabled = true;
  let settled = false;
  try {
    const response = await api("/v1/feedback", {
      method: "POST",
      body: { turn_id: turnId, rating },
    });
    if (response.status === 409) {
      settled = true; // rated before, in another tab
      announce(t("feedbackGiven"));
      return;
    }
    if (!response.ok) throw new HttpError(response.status, retryAfterOf(response));
    for (const button of buttons) {
      button.setAttribute("aria-pressed", String(button.dataset.rating === rating));
    }
    settled = true;
    announce(t("feedbackThanks"));
  } catch {
    announce(t("feedbackFailed"));
  } finally {
    for (const button of buttons) {
      button.disabled = false;
      if (settled) button.setAttribute("aria-disabled", "true");
    }
  }
}

// ---- handoff to a person -----------------------------------------------------------------------

function renderHandoffStatus() {
  const status = state.handoff.status;
  const key = {
    connecting: "handoffConnecting",
    open: "handoffOpen",
    active: "handoffActive",
    closed: "handoffClosed",
    unavailable: "handoffUnavailable",
  }[status];
  el.handoff.hidden = !key;
  el.handoff.dataset.status = status || "";
  el.handoff.textContent = key ? t(key) : "";
  const withPerson = status === "connecting" || status === "open" || status === "active";
  el.human.disabled = withPerson || !state.session;
  el.human.setAttribute("aria-disabled", String(el.human.disabled));
}

function setHandoffStatus(status) {
  if (state.handoff.status === status) return;
  state.handoff.status = status;
  if (document.activeElement === el.human && status !== "closed") el.message.focus();
  renderHandoffStatus();
}

function stopHandoffPolling() {
  clearTimeout(state.handoff.timer);
  state.handoff.timer = null;
  state.handoff.status = null;
  renderHandoffStatus();
}

function startHandoff() {
  state.handoff.escalatedAt = Date.now();
  setHandoffStatus("connecting");
  clearTimeout(state.handoff.timer);
  checkHandoff();
}

async function checkHandoff() {
  state.handoff.timer = null;
  const conversationId = state.conversationId;
  if (!conversationId) return;
  let keepPolling = true;
  try {
    const response = await api(`/v1/conversations/${conversationId}`);
    if (response.ok) keepPolling = showConversation(await response.json());
    else if (response.status === 404) keepPolling = false;
  } catch {
    // The next check tries again; the status line keeps saying what it said.
  }
  if (keepPolling && state.conversationId === conversationId) {
    state.handoff.timer = setTimeout(checkHandoff, HANDOFF_POLL_MS);
  }
}

/** Shows what a person wrote and where the handoff stands; false when there is nothing left to wait for. */
function showConversation(conversation) {
  for (const message of conversation.agent_messages || []) {
    if (state.handoff.seenAgentMessages.has(message.id)) continue;
    state.handoff.seenAgentMessages.add(message.id);
    addAgentMessage(message.text);
  }
  const handoff = conversation.handoff;
  if (!handoff) {
    if (Date.now() - state.handoff.escalatedAt > HANDOFF_APPEAR_MS) {
      setHandoffStatus("unavailable");
      return false;
    }
    return true;
  }
  if (handoff.status === "closed") {
    setHandoffStatus("closed");
    return false;
  }
  setHandoffStatus(state.handoff.seenAgentMessages.size > 0 ? "active" : "open");
  return true;
}

// ---- wiring ------------------------------------------------------------------------------------

function submitComposer() {
  const text = el.message.value;
  if (!text.trim()) return;
  el.message.value = "";
  el.message.focus();
  send(text);
}

el.form.addEventListener("submit", (event) => {
  event.preventDefault();
  submitComposer();
});

el.message.addEventListener("keydown", (event) => {
  // Enter while an input method is composing (Japanese) confirms the conversion; it must not send.
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
    event.preventDefault();
    submitComposer();
  }
});

el.human.addEventListener("click", () => {
  send(t("humanRequest"));
  el.message.focus();
});

el.language.addEventListener("change", () => {
  const language = el.language.value === "ja" ? "ja" : "en";
  localStorage.setItem(LANGUAGE_KEY, language);
  applyLanguage(language);
});

async function start() {
  applyLanguage(preferredLanguage());
  try {
    await startSession();
  } catch (error) {
    showNotice(error instanceof HttpError && error.status === 429 ? explainFailure(error) : t("sessionError"));
    return;
  }
  el.send.disabled = false;
  renderHandoffStatus();
  document.body.dataset.ready = "true";
}

start();
