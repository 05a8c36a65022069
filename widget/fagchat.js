/*
 * Fagchat chat widget: one dependency-free script (plus fagchat.css), no build step.
 *
 *   <script src="https://BOT-HOST/fagchat.js" defer data-title="Fagchat"></script>
 *
 * Options are data- attributes on this script tag (docs/widget.md lists them all).
 * Talks to the web process's proxy of the Rasa chat channel (fagchat/channel/):
 *   POST {endpoint}/webhooks/fagchat/webhook   {sender, message} -> [bot messages]
 *   POST {endpoint}/webhooks/fagchat/feedback  {sender, value, article}
 *   GET  {endpoint}/fagchat/config.json        contact details for the offline fallback
 *
 * Safety: message content only ever reaches the page through textContent and DOM nodes
 * built here (never innerHTML), and links only for https:, mailto: and tel: (issue 4).
 * Privacy: nothing is stored until the user opens the chat, and then only in
 * sessionStorage, so the conversation ends with the browser tab.
 */
(function () {
  'use strict';

  var script = document.currentScript || document.querySelector('script[src*="fagchat.js"]');
  if (!script || document.getElementById('fagchat-root')) return; // included twice: keep one

  // Every user-facing string, per language; only Danish exists for now (data-lang).
  var STRINGS = {
    da: {
      launcher: 'Chat om stalking',
      subtitle: 'Svar til fagpersoner om stalking',
      close: 'Luk chat',
      newChat: 'Ny samtale',
      log: 'Samtale',
      inputLabel: 'Dit spørgsmål',
      placeholder: 'Skriv dit spørgsmål …',
      send: 'Send',
      chars: 'tegn',
      limit: 'Du har nået grænsen på {max} tegn.',
      privacy: 'Skriv ikke navne, CPR-numre eller adresser. Beskriv sagen, så ingen kan genkendes.',
      danger: 'Er nogen i fare lige nu, så ring 112.',
      hello: 'Spørg fx: "Hvad er stalking?" eller "Hvordan dokumenterer man stalking?"',
      you: 'Du skrev:',
      bot: 'Fagchat svarede:',
      typing: 'Fagchat skriver …',
      suggestions: 'Forslag til næste spørgsmål',
      unavailable: 'Fagchat kan ikke svare lige nu.',
      timeout: 'Fagchat svarer ikke lige nu – det tog for lang tid.',
      network: 'Det kan skyldes netværket eller travlhed. Prøv igen om lidt.',
      retry: 'Prøv igen',
      contact: 'Du kan også kontakte {name} direkte:',
      centre: 'centret',
      phone: 'Telefon',
      email: 'E-mail',
      failed: 'Beskeden kunne ikke sendes.',
      feedback: 'Hjalp svaret?',
      up: 'Svaret hjalp',
      down: 'Svaret hjalp ikke',
      thanks: 'Tak for din feedback.',
      feedbackFailed: 'Din feedback kunne ikke sendes.',
      newTab: '(åbner i nyt vindue)',
      source: 'Kilde',
      sources: 'Kilder'
    }
  };
  var KEY = 'fagchat';          // sessionStorage key of the conversation
  var MAX_STORED = 80;          // messages kept, so sessionStorage stays small
  var DEFAULT_COLOR = '#1d4f91';
  var BOT_BG = '#f1f3f5';       // must match .fagchat-msg--bot in fagchat.css
  var LINK_PROTOCOLS = ['https:', 'http:', 'mailto:', 'tel:'];
  var MAX_SOURCES = 30;         // more than any answer cites; keeps a bad payload small
  // The text channel's source line ("_Kilder (n): [..](..), …_", actions/rendering.py),
  // the answer's last paragraph: dropped when the answer's sources come as data instead.
  var SOURCE_LINE = /(^|\n\s*\n)_Kilder? ?(\(\d+\))?:[^\n]*_\s*$/;
  // 👍/👎 as SVG (Material Icons' thumb_up/thumb_down, Apache-2.0), not emoji: an emoji
  // needs a colour-emoji font, and without one the buttons show empty boxes.
  var THUMB_UP = 'M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 1 7.59 7.59C7.22 7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73v-2z';
  var THUMB_DOWN = 'M15 3H6c-.83 0-1.54.5-1.84 1.22l-3.02 7.05c-.09.23-.14.47-.14.73v2c0 1.1.9 2 2 2h6.31l-.95 4.57-.03.32c0 .41.17.79.44 1.06L9.83 23l6.59-6.59c.36-.36.58-.86.58-1.41V5c0-1.1-.9-2-2-2zm4 0v12h4V3h-4z';

  var data = script.dataset;
  var lang = STRINGS[data.lang] ? data.lang : 'da';
  var S = STRINGS[lang];
  var endpoint = (data.endpoint || new URL(script.src, location.href).origin).replace(/\/+$/, '');
  var title = data.title || 'Fagchat';
  var timeout = clamp(parseInt(data.timeout, 10) || 10000, 2000, 120000);
  var maxChars = 1000;

  var state = null;             // {sender, messages, open}; null until the chat is opened
  var config = null;            // config.json, fetched when the chat opens
  var configRequest = null;
  var busy = false;
  var ui = {};

  // ---- small helpers ----------------------------------------------------------

  function clamp(n, lo, hi) { return Math.min(hi, Math.max(lo, n)); }

  // The one way nodes are made: text goes in as textContent, never as markup.
  function el(tag, cls, text, attrs) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = text;
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  }

  function button(cls, text, onClick, attrs) {
    var b = el('button', cls, text, attrs);
    b.type = 'button';
    b.addEventListener('click', onClick);
    return b;
  }

  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (_, k) { return values[k]; });
  }

  function icon(path) {
    var ns = 'http://www.w3.org/2000/svg';
    var svg = document.createElementNS(ns, 'svg');
    [['viewBox', '0 0 24 24'], ['aria-hidden', 'true'], ['focusable', 'false']].forEach(function (a) { svg.setAttribute(a[0], a[1]); });
    var p = document.createElementNS(ns, 'path');
    p.setAttribute('d', path);
    svg.appendChild(p);
    return svg;
  }

  // 128 random bits as 32 hex characters: the channel accepts [A-Za-z0-9_-]{22,128}
  // (fagchat/channel/requests.py), so an id is never short enough to guess.
  function newSender() {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ('0' + b.toString(16)).slice(-2); }).join('');
  }

  // WCAG relative luminance, so any data-primary-color still gets readable text.
  function luminance(hex) {
    var c = hex.length === 4 ? hex.replace(/\w/g, '$&$&') : hex;
    return [1, 3, 5].map(function (i) {
      var v = parseInt(c.substr(i, 2), 16) / 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    }).reduce(function (sum, v, i) { return sum + v * [0.2126, 0.7152, 0.0722][i]; }, 0);
  }

  function contrast(a, b) {
    var x = luminance(a), y = luminance(b);
    return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
  }

  function setColors(root) {
    var primary = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(data.primaryColor || '') ? data.primaryColor : DEFAULT_COLOR;
    // CSSOM custom properties: allowed under a strict style-src, unlike style attributes.
    root.style.setProperty('--fagchat-primary', primary);
    root.style.setProperty('--fagchat-on-primary', contrast(primary, '#ffffff') >= 4.5 ? '#ffffff' : '#111111');
    root.style.setProperty('--fagchat-link', contrast(primary, BOT_BG) >= 4.5 ? primary : '#1f2328');
  }

  // ---- storage: sessionStorage only, and only once the chat has been opened -------

  function loadState() {
    try { return JSON.parse(sessionStorage.getItem(KEY)); } catch (e) { return null; }
  }

  function saveState() {
    if (!state) return;
    state.messages = state.messages.slice(-MAX_STORED);
    // Storage may be full or blocked; the chat works on without it.
    try { sessionStorage.setItem(KEY, JSON.stringify(state)); } catch (e) { /* ignore */ }
  }

  // ---- bot text: a safe subset of markdown, built as DOM nodes ----------------

  var LINK = /^\[([^\]\n]+)\]\(([^)\s]+)\)/;

  function safeHref(url) {
    try {
      var u = new URL(url);
      return LINK_PROTOCOLS.indexOf(u.protocol) >= 0 ? u.href : null;
    } catch (e) { return null; }
  }

  function link(parent, text, url) {
    var href = safeHref(url);
    if (!href) { parent.appendChild(document.createTextNode(text)); return; }
    var a = el('a', null, text);
    a.href = href;
    if (/^https?:/.test(href)) {
      a.target = '_blank';
      a.rel = 'noopener noreferrer';
      a.appendChild(el('span', 'fagchat-sr', ' ' + S.newTab));
    }
    parent.appendChild(a);
  }

  // The closing "_" of an italic span: not inside a link (URLs contain "_"), and
  // followed by a space, punctuation or the end, like the opening one is preceded.
  function italicEnd(s, from) {
    for (var j = from; j < s.length; j++) {
      var m = s[j] === '[' && LINK.exec(s.slice(j));
      if (m) { j += m[0].length - 1; continue; }
      if (s[j] === '_' && j > from && !/\s/.test(s[j - 1]) && (j + 1 === s.length || /[\s.,;:!?)]/.test(s[j + 1]))) return j;
    }
    return -1;
  }

  function inline(parent, s) {
    var buf = '', i = 0, m, end;
    function flush() { if (buf) parent.appendChild(document.createTextNode(buf)); buf = ''; }
    while (i < s.length) {
      if (s[i] === '[' && (m = LINK.exec(s.slice(i)))) {
        flush(); link(parent, m[1], m[2]); i += m[0].length;
      } else if (s.substr(i, 2) === '**' && (end = s.indexOf('**', i + 2)) > i + 2) {
        flush(); inline(parent.appendChild(el('strong')), s.slice(i + 2, end)); i = end + 2;
      } else if (s[i] === '_' && (i === 0 || /[\s(]/.test(s[i - 1])) && (end = italicEnd(s, i + 1)) > 0) {
        flush(); inline(parent.appendChild(el('em')), s.slice(i + 1, end)); i = end + 1;
      } else {
        buf += s[i]; i++;
      }
    }
    flush();
  }

  // Paragraphs on blank lines, "- " lines as a list, other newlines as <br>.
  function renderText(parent, text) {
    String(text).replace(/\r\n?/g, '\n').split(/\n[ \t]*\n/).forEach(function (block) {
      var p = null, ul = null;
      block.split('\n').forEach(function (line) {
        if (/^\s*- /.test(line)) {
          p = null;
          ul = ul || parent.appendChild(el('ul'));
          inline(ul.appendChild(el('li')), line.replace(/^\s*- /, ''));
        } else if (line.trim()) {
          ul = null;
          if (p) p.appendChild(el('br')); else p = parent.appendChild(el('p'));
          inline(p, line);
        }
      });
    });
  }

  // ---- building the widget ----------------------------------------------------

  function build() {
    var root = ui.root = el('div', 'fagchat');
    root.id = 'fagchat-root';
    root.lang = lang;
    setColors(root);

    ui.launcher = button('fagchat-launcher', null, function () { if (ui.panel.hidden) open(true); else close(); },
      { 'aria-expanded': 'false', 'aria-controls': 'fagchat-panel' });
    ui.launcher.appendChild(icon('M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z'));
    ui.launcher.appendChild(el('span', null, S.launcher));

    // A non-modal dialog: the page stays usable and Tab can leave it (no trap).
    var panel = ui.panel = el('div', 'fagchat-panel', null, { id: 'fagchat-panel', role: 'dialog', 'aria-labelledby': 'fagchat-title' });
    panel.hidden = true;
    panel.addEventListener('keydown', function (e) {
      if (e.key === 'Escape') { e.preventDefault(); close(); }
    });

    var head = panel.appendChild(el('div', 'fagchat-head'));
    var heading = head.appendChild(el('div', 'fagchat-heading'));
    heading.appendChild(el('h2', 'fagchat-title', title, { id: 'fagchat-title' }));
    heading.appendChild(el('p', 'fagchat-subtitle', S.subtitle));
    head.appendChild(button('fagchat-new', S.newChat, newConversation));
    head.appendChild(button('fagchat-close', null, close, { 'aria-label': S.close })).appendChild(icon('M6.4 5 5 6.4 10.6 12 5 17.6 6.4 19l5.6-5.6 5.6 5.6 1.4-1.4-5.6-5.6L19 6.4 17.6 5 12 10.6z'));

    // tabindex: a scrollable region must be reachable by keyboard.
    ui.log = panel.appendChild(el('div', 'fagchat-log', null, { role: 'log', 'aria-live': 'polite', 'aria-label': S.log, tabindex: '0' }));

    var form = ui.form = panel.appendChild(el('form', 'fagchat-form'));
    form.noValidate = true;
    form.appendChild(el('label', 'fagchat-sr', S.inputLabel, { for: 'fagchat-input' }));
    ui.input = form.appendChild(el('textarea', 'fagchat-input', null,
      { id: 'fagchat-input', rows: '2', placeholder: S.placeholder, 'aria-describedby': 'fagchat-counter' }));
    var row = form.appendChild(el('div', 'fagchat-row'));
    ui.counter = row.appendChild(el('span', 'fagchat-counter', null, { id: 'fagchat-counter' }));
    ui.limit = row.appendChild(el('span', 'fagchat-sr', null, { 'aria-live': 'polite' }));
    ui.send = row.appendChild(el('button', 'fagchat-send', S.send, { type: 'submit' }));

    form.addEventListener('submit', function (e) { e.preventDefault(); submit(); });
    ui.input.addEventListener('input', updateCounter);
    ui.input.addEventListener('keydown', function (e) {
      // Enter sends, Shift+Enter is a new line; never while an IME is composing.
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); submit(); }
    });
    setMaxChars(maxChars);

    root.appendChild(panel);
    root.appendChild(ui.launcher);
    document.body.appendChild(root);
  }

  function setMaxChars(n) {
    maxChars = n;
    ui.input.maxLength = n;
    updateCounter();
  }

  function updateCounter() {
    var n = ui.input.value.length;
    ui.counter.textContent = n + '/' + maxChars + ' ' + S.chars;
    ui.counter.classList.toggle('fagchat-counter--full', n >= maxChars);
    ui.limit.textContent = n >= maxChars ? fill(S.limit, { max: maxChars }) : '';
  }

  // ---- rendering the conversation ---------------------------------------------

  function renderAll() {
    ui.log.textContent = '';
    var notice = ui.log.appendChild(el('div', 'fagchat-notice'));
    notice.appendChild(el('p', 'fagchat-privacy', S.privacy));
    notice.appendChild(el('p', 'fagchat-danger', S.danger));
    if (!state.messages.length) notice.appendChild(el('p', null, S.hello));
    state.messages.forEach(renderMessage);
    ui.log.scrollTop = ui.log.scrollHeight;
  }

  function lastUserIndex() {
    for (var i = state.messages.length - 1; i >= 0; i--) if (state.messages[i].who === 'user') return i;
    return -1;
  }

  function renderMessage(msg, index) {
    var node = el('div', 'fagchat-msg fagchat-msg--' + msg.who);
    node.appendChild(el('span', 'fagchat-sr', msg.who === 'user' ? S.you : S.bot));
    if (msg.who === 'user') {
      node.appendChild(el('p', 'fagchat-user-text', msg.text)); // typed text is shown literally
    } else {
      renderText(node, msg.text);
      if (msg.sources && msg.sources.length) node.appendChild(sourceList(msg.sources));
      if (msg.article) node.appendChild(feedbackRow(msg));
    }
    ui.log.appendChild(node);
    // Quick replies only for the answer to the latest question: the server accepts
    // a "/intent" payload only when the bot just offered it.
    if (msg.buttons && msg.buttons.length && index > lastUserIndex()) {
      var group = ui.log.appendChild(el('div', 'fagchat-quick', null, { role: 'group', 'aria-label': S.suggestions }));
      msg.buttons.forEach(function (b) {
        group.appendChild(button('fagchat-reply', b.title, function () { sendMessage(b.payload, b.title); }));
      });
    }
    return node;
  }

  // Every source of an answer behind one native disclosure: keyboard (Enter/Space) and
  // screen readers (the name "Kilder (4)" and its expanded state) need no script of ours.
  function sourceList(sources) {
    var box = el('details', 'fagchat-sources');
    var name = sources.length === 1 ? S.source : S.sources;
    box.appendChild(el('summary', 'fagchat-sources-toggle', name + ' (' + sources.length + ')'));
    var list = box.appendChild(el('ul', 'fagchat-sources-list'));
    sources.forEach(function (s) { link(list.appendChild(el('li')), s.label, s.url); });
    return box;
  }

  // The sources of a reply as [{url, label}]; anything else is dropped.
  function sourcesOf(custom) {
    return (Array.isArray(custom.sources) ? custom.sources : []).filter(function (s) {
      return s && typeof s.url === 'string' && typeof s.label === 'string' && s.label;
    }).slice(0, MAX_SOURCES).map(function (s) { return { url: s.url, label: s.label }; });
  }

  function feedbackRow(msg) {
    var row = el('div', 'fagchat-feedback');
    row.appendChild(el('span', 'fagchat-feedback-q', S.feedback));
    var status = el('span', 'fagchat-feedback-status', null, { role: 'status' });
    var buttons = [['up', THUMB_UP, S.up], ['down', THUMB_DOWN, S.down]].map(function (f) {
      var b = row.appendChild(button('fagchat-vote', null, function () { vote(msg, f[0], buttons, status); },
        { 'aria-label': f[2], 'aria-pressed': String(msg.fb === f[0]), value: f[0] }));
      b.appendChild(icon(f[1]));
      return b;
    });
    row.appendChild(status);
    return row;
  }

  function vote(msg, value, buttons, status) {
    if (msg.fb === value) return;
    var before = msg.fb;
    function show(v) { buttons.forEach(function (b) { b.setAttribute('aria-pressed', String(b.value === v)); }); }
    msg.fb = value;
    show(value);
    saveState();
    post('/webhooks/fagchat/feedback', { sender: state.sender, value: value, article: msg.article }).then(function (res) {
      if (res.ok) { status.textContent = S.thanks; return; }
      msg.fb = before;
      show(before);
      saveState();
      status.textContent = S.feedbackFailed;
    });
  }

  function removeTransient() {
    Array.prototype.forEach.call(ui.log.querySelectorAll('.fagchat-quick, .fagchat-error, .fagchat-typing'), function (n) {
      n.parentNode.removeChild(n);
    });
  }

  function scrollTo(node) {
    ui.log.scrollTop = node ? node.offsetTop - 8 : ui.log.scrollHeight;
  }

  // ---- talking to the bot ---------------------------------------------------------

  function post(path, body) {
    var controller = window.AbortController ? new AbortController() : null;
    var timer = setTimeout(function () { if (controller) controller.abort(); }, timeout);
    // credentials: 'omit': the chat needs no cookies, on our origin or the host site's.
    return fetch(endpoint + path, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
      credentials: 'omit', cache: 'no-store', signal: controller ? controller.signal : undefined
    }).then(function (r) {
      return r.json().then(function (d) { return { ok: r.ok, status: r.status, data: d }; },
        function () { return { ok: false, status: r.status }; });
    }, function (e) {
      return { ok: false, status: 0, timedOut: !!e && e.name === 'AbortError' };
    }).then(function (res) { clearTimeout(timer); return res; });
  }

  function loadConfig() {
    if (config) return Promise.resolve(config);
    if (!configRequest) {
      configRequest = fetch(endpoint + '/fagchat/config.json', { credentials: 'omit' }).then(function (r) {
        if (!r.ok) throw new Error('config ' + r.status);
        return r.json();
      }).then(function (c) {
        config = c || {};
        if (config.maxMessageChars > 0) setMaxChars(config.maxMessageChars);
        return config;
      }, function () { configRequest = null; return null; }); // try again next time
    }
    return configRequest;
  }

  function submit() {
    var text = ui.input.value.trim();
    if (!text || busy) return;
    ui.input.value = '';
    updateCounter();
    sendMessage(text, text);
  }

  // `message` is what the server gets (a button's payload), `shown` the user's bubble.
  function sendMessage(message, shown) {
    if (busy) return;
    removeTransient();
    state.messages.push({ who: 'user', text: shown });
    saveState();
    renderMessage(state.messages[state.messages.length - 1], state.messages.length - 1);
    scrollTo();
    ui.input.focus(); // a clicked quick reply is gone now: keep focus where typing goes
    ask(message);
  }

  function ask(message) {
    var sender = state.sender;
    busy = true;
    ui.send.setAttribute('aria-disabled', 'true');
    var typing = ui.log.appendChild(el('div', 'fagchat-typing'));
    typing.appendChild(el('span', 'fagchat-sr', S.typing));
    for (var i = 0; i < 3; i++) typing.appendChild(el('span', 'fagchat-dot', null, { 'aria-hidden': 'true' }));
    scrollTo();
    post('/webhooks/fagchat/webhook', { sender: sender, message: message }).then(function (res) {
      if (!state || state.sender !== sender) return; // "Ny samtale" was pressed meanwhile
      busy = false;
      ui.send.removeAttribute('aria-disabled');
      removeTransient();
      if (res.ok && Array.isArray(res.data)) showReplies(res.data);
      else if (res.status === 0 || res.status >= 500) showUnavailable(message, res.timedOut);
      else showError(res.data && typeof res.data.message === 'string' ? res.data.message : S.failed);
    });
  }

  // One answer, one bubble: Rasa sends a text with blank lines as several messages, so
  // parts without buttons are joined; buttons and the article id go with their part.
  function toMessages(replies) {
    var msgs = [], last = null;
    replies.forEach(function (r) {
      if (!r || typeof r !== 'object') return;
      var custom = r.custom && typeof r.custom === 'object' ? r.custom : {};
      var text = typeof r.text === 'string' ? r.text : '';
      var buttons = (Array.isArray(r.buttons) ? r.buttons : []).filter(function (b) {
        return b && typeof b.title === 'string' && typeof b.payload === 'string';
      }).slice(0, 8).map(function (b) { return { title: b.title, payload: b.payload }; });
      var article = typeof custom.article === 'string' ? custom.article : null;
      var sources = sourcesOf(custom);
      if (!text && !buttons.length && !((article || sources.length) && last)) return;
      if (!last || (last.buttons && text)) msgs.push(last = { who: 'bot', text: '' });
      if (text) last.text = last.text ? last.text + '\n\n' + text : text;
      if (buttons.length) last.buttons = buttons;
      if (article) last.article = article;
      if (sources.length) {
        last.sources = sources;
        last.text = last.text.replace(SOURCE_LINE, '');
      }
    });
    return msgs;
  }

  function showReplies(replies) {
    var first = null;
    toMessages(replies).forEach(function (msg) {
      state.messages.push(msg);
      var node = renderMessage(msg, state.messages.length - 1);
      first = first || node;
    });
    saveState();
    // Long answers: show their start rather than their end.
    scrollTo(first);
  }

  function showError(text) {
    var box = ui.log.appendChild(el('div', 'fagchat-msg fagchat-error'));
    box.appendChild(el('p', null, text));
    scrollTo(box);
  }

  // Rasa down, slow or the network gone: say so, offer a retry, give the contact details.
  function showUnavailable(message, timedOut) {
    var box = ui.log.appendChild(el('div', 'fagchat-msg fagchat-error'));
    box.appendChild(el('p', 'fagchat-error-title', timedOut ? S.timeout : S.unavailable));
    box.appendChild(el('p', null, S.network));
    box.appendChild(button('fagchat-retry', S.retry, function () {
      removeTransient();
      ui.input.focus();
      ask(message);
    }));
    var contact = box.appendChild(el('div', 'fagchat-contact'));
    box.appendChild(el('p', 'fagchat-danger', S.danger));
    scrollTo(box);
    loadConfig().then(function (c) {
      // Only the professionals' own number: the counselling line (`phone`) is for victims
      // and their relatives, so until the centre sets professional_phone, only the e-mail.
      var details = (c && c.contact) || {};
      var phone = details.professional_phone;
      if (!phone && !details.email) return;
      contact.appendChild(el('p', null, fill(S.contact, { name: details.name || S.centre })));
      var list = contact.appendChild(el('ul'));
      [[S.phone, phone, 'tel:' + String(phone).replace(/[^\d+]/g, ''), details.professional_hours],
        [S.email, details.email, 'mailto:' + details.email]].forEach(function (d) {
        if (!d[1]) return;
        var item = list.appendChild(el('li', null, d[0] + ': '));
        link(item, String(d[1]), d[2]);
        if (d[3]) item.appendChild(document.createTextNode(' (' + d[3] + ')'));
      });
    });
  }

  // ---- opening, closing, starting over ------------------------------------------

  function open(focus) {
    state = state || { sender: newSender(), messages: [] };
    state.open = true;
    saveState();
    if (!ui.log.childNodes.length) renderAll();
    ui.panel.hidden = false;
    ui.launcher.setAttribute('aria-expanded', 'true');
    document.documentElement.classList.add('fagchat-is-open');
    loadConfig();
    scrollTo();
    if (focus) ui.input.focus();
  }

  function close() {
    ui.panel.hidden = true;
    ui.launcher.setAttribute('aria-expanded', 'false');
    document.documentElement.classList.remove('fagchat-is-open');
    if (state) { state.open = false; saveState(); }
    ui.launcher.focus();
  }

  function newConversation() {
    state = { sender: newSender(), messages: [], open: true };
    busy = false;
    ui.send.removeAttribute('aria-disabled');
    saveState();
    renderAll();
    ui.input.focus();
  }

  function start() {
    build();
    // Shown once styled, so the page never flashes an unstyled launcher; shown
    // unstyled if the stylesheet fails, so the chat stays usable.
    ui.root.hidden = true;
    var sheet = document.createElement('link');
    sheet.rel = 'stylesheet';
    sheet.href = data.css || new URL('fagchat.css', script.src).href;
    sheet.onload = sheet.onerror = function () { ui.root.hidden = false; };
    document.head.appendChild(sheet);
    var saved = loadState();
    if (saved && /^[A-Za-z0-9_-]{22,128}$/.test(saved.sender) && Array.isArray(saved.messages)) {
      state = saved;
      // Back after a reload: reopen as it was, without taking focus from the page.
      if (state.open) open(false);
    }
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
