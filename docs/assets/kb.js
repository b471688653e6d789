/* The knowledge base's browser code: semantic search page and the header search hand-off.
 *
 * Plain JavaScript, no framework. Text from the index is inserted with textContent and DOM
 * nodes only; the one piece of markup the API sends (<mark> in snippets) is rebuilt as
 * elements, so a brief containing <script> or <img onerror> can never run.
 */
(function () {
  "use strict";

  // The site root, from this script's own URL (".../assets/kb.js"), valid on every page.
  var script = document.currentScript;
  var ROOT = script ? script.src.replace(/assets\/kb\.js(\?.*)?$/, "") : "/";
  var PAGE_SIZE = 20;
  // Words not worth highlighting on the page a result opens (with everything under 3 letters).
  var STOP_WORDS = ("about above after again against all also and any are because been before " +
    "being below between both but can could did does doing down during each few for from " +
    "further had has have having her here hers him his how into its just more most not now " +
    "off once only other our ours out over own same she should some such than that the their " +
    "theirs them then there these they this those through too under until very was were what " +
    "when where which while who whom why will with would you your yours").split(" ");

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  /* ---- the search page ---- */

  function SearchPage(root) {
    this.root = root;
    var api = (root.getAttribute("data-api") || "").replace(/\/$/, "");
    this.api = api + "/api/search";
    this.taxonomy = JSON.parse(root.getAttribute("data-taxonomy"));
    this.areaNames = {};
    var self = this;
    this.taxonomy.core_areas.forEach(function (a) { self.areaNames[a.slug] = a.name; });
    this.typeNames = {};
    this.taxonomy.document_types.forEach(function (t) { self.typeNames[t.slug] = t.name; });
    this.form = document.getElementById("kb-search-form");
    this.input = document.getElementById("kb-q");
    // The filter controls come from the taxonomy's `filters` schema (rendered by search.html):
    // chip groups and selects, each naming its API parameter in data-filter.
    this.params_ = (this.taxonomy.filters || []).filter(function (f) { return f.control !== "none"; })
      .map(function (f) { return f.param; });
    this.controls = Array.prototype.slice.call(root.querySelectorAll("[data-filter]"));
    this.chips = document.getElementById("kb-area-chips");
    this.status = document.getElementById("kb-status");
    this.notice = document.getElementById("kb-notice");
    this.suggest = document.getElementById("kb-suggest");
    this.didYouMean = document.getElementById("kb-didyoumean");
    this.message = document.getElementById("kb-message");
    this.browse = document.getElementById("kb-browse");
    this.more = document.getElementById("kb-more");
    this.filters = document.getElementById("kb-filters");
    this.results = document.getElementById("kb-results");
    this.loaded = 0;
    this.fallbackIndex = null;
    this.seq = 0;
    this.setupControls();
  }

  SearchPage.prototype.setupControls = function () {
    var self = this;
    this.root.querySelectorAll(".kb-chips[data-filter] .kb-chip").forEach(function (chip) {
      chip.addEventListener("click", function () {
        chip.setAttribute("aria-pressed", chip.getAttribute("aria-pressed") === "true" ? "false" : "true");
        self.submit();
      });
    });
    // Filters sit open beside the results on wide screens, folded above them on phones.
    if (window.matchMedia && !window.matchMedia("(min-width: 60em)").matches) {
      this.filters.removeAttribute("open");
    }
    this.form.addEventListener("submit", function (ev) { ev.preventDefault(); self.submit(); });
    this.controls.forEach(function (c) {
      if (c.tagName === "SELECT") c.addEventListener("change", function () { self.submit(); });
    });
    this.more.addEventListener("click", function () { self.loadMore(); });
    window.addEventListener("popstate", function () {
      // Material's instant navigation may have swapped this page out; only a live page listens.
      if (document.body.contains(self.root)) self.fromUrl();
    });
  };

  // The form's state: the words, and each filter's chosen values ({param: [values]}).
  SearchPage.prototype.state = function () {
    var filters = {};
    this.controls.forEach(function (c) {
      var param = c.getAttribute("data-filter");
      var values = c.tagName === "SELECT" ? (c.value ? [c.value] : []) :
        Array.prototype.map.call(c.querySelectorAll(".kb-chip[aria-pressed=true]"),
          function (chip) { return chip.getAttribute("data-value"); });
      filters[param] = (filters[param] || []).concat(values);
    });
    return { q: this.input.value.trim(), filters: filters, areas: filters.area || [] };
  };

  SearchPage.prototype.filtered = function (s) {
    return this.params_.some(function (k) { return (s.filters[k] || []).length > 0; });
  };

  SearchPage.prototype.params = function (s) {
    var p = new URLSearchParams();
    if (s.q) p.set("q", s.q);
    this.params_.forEach(function (k) {
      (s.filters[k] || []).forEach(function (v) { p.append(k, v); });
    });
    return p;
  };

  // Form → URL (a new history entry, so back/forward work) → results.
  SearchPage.prototype.submit = function () {
    var s = this.state();
    var url = window.location.pathname + "?" + this.params(s).toString();
    if (url !== window.location.pathname + window.location.search) {
      window.history.pushState(null, "", url);
    }
    this.run(s);
  };

  // URL → form → results (page load, shared links, back/forward).
  SearchPage.prototype.fromUrl = function () {
    var p = new URLSearchParams(window.location.search);
    this.input.value = p.get("q") || "";
    this.controls.forEach(function (c) {
      var wanted = p.getAll(c.getAttribute("data-filter"));
      if (c.tagName === "SELECT") {
        c.value = wanted[0] || "";
      } else {
        c.querySelectorAll(".kb-chip").forEach(function (chip) {
          chip.setAttribute("aria-pressed", wanted.indexOf(chip.getAttribute("data-value")) >= 0 ? "true" : "false");
        });
      }
    });
    this.run(this.state());
  };

  SearchPage.prototype.run = function (s) {
    var self = this;
    var seq = ++this.seq;
    if (!s.q && !s.areas.length) {
      this.clear();
      this.status.textContent = "Type a question or a few words to search.";
      this.root.setAttribute("data-state", "idle");
      return;
    }
    if (!s.q) {
      // An area with no words: show that area's briefs (by meaning of the area itself).
      s = Object.assign({}, s, { q: s.areas.map(function (a) { return self.areaNames[a]; }).join(" ") });
    }
    this.current = s;
    this.status.textContent = "Searching\u2026";
    this.fetchPage(s, 0)
      .then(function (r) {
        return r.json().then(function (body) { return { ok: r.ok, status: r.status, body: body }; },
                             function () { return { ok: false, status: r.status, body: null }; });
      })
      .then(function (res) {
        if (seq !== self.seq) return;
        if (res.ok) { self.notice.hidden = true; self.render(s, res.body); return; }
        if (res.status >= 400 && res.status < 500 && res.body && res.body.detail) {
          self.clear();
          self.status.textContent = "That search could not run: " + describe(res.body.detail);
          return;
        }
        throw new Error("search service answered " + res.status);
      })
      .catch(function () {
        if (seq !== self.seq) return;
        self.fallback(s);
      });
  };

  SearchPage.prototype.fetchPage = function (s, offset) {
    var p = this.params(s);
    p.set("k", String(PAGE_SIZE));
    if (offset) p.set("offset", String(offset));
    var url = this.api + "?" + p.toString();
    // The search page's head started this very request while the page loaded: take it, once.
    var early = window.kbEarlySearch;
    if (early && early.url === url) {
      window.kbEarlySearch = null;
      return early.response;
    }
    return fetch(url, { headers: { Accept: "application/json" } });
  };

  // "More results": the next page of the same search, appended.
  SearchPage.prototype.loadMore = function () {
    var self = this;
    var s = this.current;
    var seq = this.seq;
    this.more.disabled = true;
    this.fetchPage(s, this.loaded)
      .then(function (r) { return r.ok ? r.json() : Promise.reject(new Error(String(r.status))); })
      .then(function (body) {
        if (seq !== self.seq) return;
        var first = null;
        body.results.forEach(function (hit) {
          var card = self.card(hit, s.q);
          if (!first) first = card;
          self.results.appendChild(card);
        });
        self.loaded += body.results.length;
        self.updateMore(body.total);
        self.status.textContent = self.loaded + " of " + body.total + " results for \u201c" + body.query + "\u201d";
        var link = first && first.querySelector("h3 a");
        if (link) link.focus();  // keyboard users continue where the new results begin
      })
      .catch(function () { self.more.disabled = false; });
  };

  SearchPage.prototype.updateMore = function (total) {
    // The API pages as deep as offset + k = 100.
    this.more.hidden = !(total > this.loaded && this.loaded + PAGE_SIZE <= 100);
    this.more.disabled = false;
  };

  function describe(detail) {
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) return detail.map(function (d) { return d.msg || String(d); }).join("; ");
    return String(detail);
  }

  SearchPage.prototype.clear = function () {
    this.results.textContent = "";
    this.suggest.hidden = true;
    this.didYouMean.hidden = true;
    this.didYouMean.textContent = "";
    this.message.hidden = true;
    this.browse.hidden = true;
    this.more.hidden = true;
    this.loaded = 0;
  };

  SearchPage.prototype.render = function (s, body) {
    var self = this;
    this.clear();
    // Each counted filter shows its facet: a count on every chip, or in every option.
    this.controls.forEach(function (c) {
      var key = c.getAttribute("data-facet");
      if (!key) return;
      var counts = (body.facets && body.facets[key]) || {};
      if (c.tagName === "SELECT") {
        Array.prototype.forEach.call(c.options, function (o) {
          if (!o.value) return;
          var n = counts[o.value];
          o.textContent = o.getAttribute("data-name") + (n ? " (" + n + ")" : "");
        });
      } else {
        c.querySelectorAll(".kb-chip").forEach(function (chip) {
          var n = counts[chip.getAttribute("data-value")];
          chip.querySelector(".kb-chip-count").textContent = n ? " (" + n + ")" : "";
        });
      }
    });
    var suggested = (body.query_areas || []).filter(function (a) { return s.areas.indexOf(a) < 0; });
    if (suggested.length && !s.areas.length) {
      var a = suggested[0];
      this.suggest.textContent = "This looks like a " + this.areaNames[a] + " question. ";
      var btn = el("button", { type: "button", "class": "md-button kb-suggest-area", "data-area": a },
                   "Show only " + this.areaNames[a]);
      btn.addEventListener("click", function () {
        var chip = self.chips.querySelector('.kb-chip[data-area="' + a + '"]');
        if (chip) chip.setAttribute("aria-pressed", "true");
        self.submit();
      });
      this.suggest.appendChild(btn);
      this.suggest.hidden = false;
    }
    if (body.did_you_mean) {
      var fixed = body.did_you_mean;
      this.didYouMean.appendChild(document.createTextNode("Did you mean: "));
      var dym = el("a", { href: "?" + this.params(Object.assign({}, s, { q: fixed })).toString(), "class": "kb-didyoumean-link" }, fixed);
      dym.addEventListener("click", function (ev) {
        ev.preventDefault();
        self.input.value = fixed;
        self.submit();
      });
      this.didYouMean.appendChild(dym);
      this.didYouMean.appendChild(document.createTextNode("?"));
      this.didYouMean.hidden = false;
    }
    if (body.notice) {
      this.message.textContent = body.notice;
      this.message.hidden = false;
    }
    body.results.forEach(function (hit) { self.results.appendChild(self.card(hit, s.q)); });
    var n = body.results.length;
    this.loaded = n;
    this.updateMore(body.total);
    if (body.match === "none") {
      this.suggest.hidden = true;
      this.browse.hidden = false;
      this.status.textContent = "No matches" + (this.filtered(s) ? " with these filters" : "") +
        ". Try other words, or browse by core area below.";
    } else {
      this.status.textContent = n
        ? n + (body.total > n ? " of " + body.total : "") + " result" + (body.total === 1 ? "" : "s") +
          " for \u201c" + body.query + "\u201d"
        : "No results for \u201c" + body.query + "\u201d. Try other words or fewer filters.";
    }
    this.root.setAttribute("data-match", body.match || "");
    markReady("api");
  };

  SearchPage.prototype.card = function (hit, q) {
    var li = el("li", { "class": "kb-result", "data-id": hit.id, "data-type": hit.type || "",
                        "data-areas": (hit.core_areas || []).join(" ") });
    var h = el("h3");
    var a = el("a", { href: this.link(hit.url, q) }, hit.title);
    h.appendChild(a);
    li.appendChild(h);
    var meta = el("div", { "class": "kb-page-tags" });
    if (hit.type) meta.appendChild(el("span", { "class": "kb-type-badge kb-result-type" }, this.typeNames[hit.type] || hit.type));
    if (hit.evidence) {
      var rating = this.taxonomy.evidence_ratings.filter(function (r) { return r.slug === hit.evidence; })[0];
      meta.appendChild(el("span", { "class": "kb-evidence kb-evidence--" + hit.evidence }, "Evidence: " + (rating ? rating.name : hit.evidence)));
    }
    var nav = el("span", { "class": "md-tags kb-areas" });
    var self = this;
    (hit.core_areas || []).forEach(function (slug) {
      nav.appendChild(el("a", { "class": "md-tag kb-area", href: ROOT + "areas/" + slug + "/" }, self.areaNames[slug] || slug));
    });
    meta.appendChild(nav);
    li.appendChild(meta);
    // A hit on the page itself leads with its summary; a hit on a section shows that section.
    if (hit.anchor === "page-summary" || !hit.section || hit.section === hit.title) {
      li.appendChild(el("p", { "class": "kb-summary-lead" }, hit.summary || ""));
    } else {
      li.appendChild(el("p", { "class": "kb-section" }, "Section: " + hit.section));
      var snip = el("p", { "class": "kb-snippet" });
      appendMarked(snip, hit.snippet || "");
      li.appendChild(snip);
    }
    return li;
  };

  // "/briefs/x/#how-it-works" → ROOT + "briefs/x/?h=terms#how-it-works" (Material highlights ?h=).
  SearchPage.prototype.link = function (url, q) {
    var hash = "";
    var i = url.indexOf("#");
    if (i >= 0) { hash = url.slice(i); url = url.slice(0, i); }
    var terms = contentWords(q).join(" ");
    return ROOT + url.replace(/^\//, "") + (terms ? "?h=" + encodeURIComponent(terms) : "") + hash;
  };

  // The words worth highlighting on the target page: no stop words, nothing under 3 letters.
  function contentWords(q) {
    var seen = {};
    return (q || "").toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(function (w) {
      if (w.length < 3 || STOP_WORDS.indexOf(w) >= 0 || seen[w]) return false;
      seen[w] = true;
      return true;
    });
  }

  // The API's snippet is escaped text whose only markup is <mark>; rebuild it from text nodes.
  function appendMarked(node, snippet) {
    var parts = snippet.split(/(<mark>|<\/mark>)/);
    var marked = false;
    parts.forEach(function (part) {
      if (part === "<mark>") { marked = true; return; }
      if (part === "</mark>") { marked = false; return; }
      if (!part) return;
      var text = decodeEntities(part);
      node.appendChild(marked ? el("mark", {}, text) : document.createTextNode(text));
    });
  }

  function decodeEntities(s) {
    // An inert document: nothing parsed here runs or loads.
    return new DOMParser().parseFromString("<!doctype html><body>" + s, "text/html").body.textContent;
  }

  /* ---- fallback: keyword results from the site's own search index ---- */

  SearchPage.prototype.fallback = function (s) {
    var self = this;
    this.notice.textContent = "Semantic search is not available right now, so these are keyword " +
      "results from the site's own index. They match words, not meaning.";
    this.notice.hidden = false;
    var load = this.fallbackIndex
      ? Promise.resolve(this.fallbackIndex)
      : fetch(ROOT + "search/search_index.json").then(function (r) { return r.json(); });
    load.then(function (index) {
      self.fallbackIndex = index;
      self.renderFallback(s, keywordSearch(index.docs, s));
    }).catch(function () {
      self.clear();
      self.status.textContent = "Search is not available right now. Browse by core area or site instead.";
      markReady("error");
    });
  };

  function tokens(text) {
    return (text || "").toLowerCase().split(/[^a-z0-9]+/).filter(function (w) { return w.length > 2; });
  }

  // Scores page sections by query words (prefix match, title weighted); best section per page.
  function keywordSearch(docs, s) {
    var terms = tokens(s.q);
    var best = {};
    docs.forEach(function (d) {
      var page = d.location.split("#")[0];
      if (s.areas.length) {
        var tags = d.tags || [];
        var pageDoc = docs.filter(function (x) { return x.location === page; })[0];
        if (pageDoc) tags = pageDoc.tags || tags;
        if (!tags.some(function (t) { return s.areas.indexOf(t) >= 0; })) return;
      }
      var title = tokens(d.title), text = tokens(d.text.replace(/<[^>]*>/g, " "));
      var score = 0;
      terms.forEach(function (t) {
        title.forEach(function (w) { if (w.indexOf(t) === 0) score += 5; });
        text.forEach(function (w) { if (w.indexOf(t) === 0) score += 1; });
      });
      if (score > 0 && (!best[page] || best[page].score < score)) best[page] = { doc: d, score: score, page: page };
    });
    return Object.keys(best).map(function (k) { return best[k]; })
      .sort(function (a, b) { return b.score - a.score; }).slice(0, 20);
  }

  SearchPage.prototype.renderFallback = function (s, hits) {
    var self = this;
    var pageTitles = {};
    this.fallbackIndex.docs.forEach(function (d) {
      if (d.location.indexOf("#") < 0) pageTitles[d.location] = stripTags(d.title);
    });
    this.clear();
    hits.forEach(function (h) {
      var li = el("li", { "class": "kb-result kb-result--keyword", "data-id": h.page.replace(/\/$/, "") });
      var head = el("h3");
      var pageTitle = pageTitles[h.page] || stripTags(h.doc.title);
      head.appendChild(el("a", { href: ROOT + h.doc.location }, pageTitle));
      li.appendChild(head);
      var section = stripTags(h.doc.title);
      if (h.doc.location.indexOf("#") >= 0 && section !== pageTitle) {
        li.appendChild(el("p", { "class": "kb-section" }, "Section: " + section));
      }
      var text = stripTags(h.doc.text);
      if (text) li.appendChild(el("p", { "class": "kb-snippet" }, text.length > 220 ? text.slice(0, 220) + "\u2026" : text));
      self.results.appendChild(li);
    });
    this.status.textContent = hits.length
      ? hits.length + " keyword result" + (hits.length === 1 ? "" : "s") + " for \u201c" + s.q + "\u201d"
      : "No keyword results for \u201c" + s.q + "\u201d.";
    markReady("fallback");
  };

  function stripTags(html) {
    return decodeEntities(String(html || "").replace(/<[^>]*>/g, " ")).replace(/\s+/g, " ").trim();
  }

  /* ---- highlighting on the page a result opens (?h=word word) ---- */

  // Marks the content words of ?h= in the article, as whole words and their endings
  // ("witness" marks "witnesses"). Runs on every page; does nothing without ?h=.
  function highlightFromUrl() {
    var words = contentWords(new URLSearchParams(window.location.search).get("h"));
    var article = document.querySelector("article.md-content__inner");
    if (!words.length || !article) return;
    var pattern = new RegExp("(^|[^\\p{L}\\p{N}])((?:" + words.map(function (w) {
      return w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    }).join("|") + ")[\\p{L}\\p{N}]*)", "giu");
    var walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT, {
      acceptNode: function (n) {
        var p = n.parentNode;
        if (!p || /^(SCRIPT|STYLE|MARK|TEXTAREA)$/.test(p.nodeName) || p.closest(".headerlink")) {
          return NodeFilter.FILTER_REJECT;
        }
        return NodeFilter.FILTER_ACCEPT;
      }
    });
    var nodes = [];
    for (var n = walker.nextNode(); n; n = walker.nextNode()) nodes.push(n);
    nodes.forEach(function (node) {
      var text = node.nodeValue;
      pattern.lastIndex = 0;
      if (!pattern.test(text)) return;
      pattern.lastIndex = 0;
      var frag = document.createDocumentFragment();
      var last = 0;
      text.replace(pattern, function (all, before, word, offset) {
        var start = offset + before.length;
        frag.appendChild(document.createTextNode(text.slice(last, start)));
        frag.appendChild(el("mark", { "class": "kb-highlight" }, word));
        last = start + word.length;
        return all;
      });
      frag.appendChild(document.createTextNode(text.slice(last)));
      node.parentNode.replaceChild(frag, node);
    });
  }

  // For people and tests: when and how the first results appeared.
  function markReady(source) {
    var root = document.getElementById("kb-search");
    if (!root) return;
    root.setAttribute("data-state", source);
    if (!window.kbFirstResultsMs) window.kbFirstResultsMs = performance.now();
  }

  function init() {
    var article = document.querySelector("article.md-content__inner");
    if (article && !article.__kb) {
      article.__kb = true;
      highlightFromUrl();
    }
    var root = document.getElementById("kb-search");
    if (root && !root.__kb) {
      root.__kb = new SearchPage(root);
      root.__kb.fromUrl();
    }
  }

  // This script runs at the end of the body, so the page it works on is already parsed: start
  // now rather than at DOMContentLoaded. Material's instant navigation later swaps other pages
  // in place and announces each on document$; init skips what it has already set up.
  init();
  if (window.document$ && typeof window.document$.subscribe === "function") {
    window.document$.subscribe(init);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  }
})();
