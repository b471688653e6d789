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
  var SEARCH_PAGE = ROOT + "search/";

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  /* ---- header search: Enter, or the "semantic search" action, opens the search page ---- */

  function searchUrl(q) {
    return SEARCH_PAGE + "?q=" + encodeURIComponent(q);
  }

  function installHeaderHandoff() {
    if (window.__kbHeader) return;
    window.__kbHeader = true;
    document.addEventListener("keydown", function (ev) {
      var t = ev.target;
      if (ev.key !== "Enter" || !t || !t.classList || !t.classList.contains("md-search__input")) return;
      var q = t.value.trim();
      if (!q) return;
      // A highlighted instant suggestion keeps Material's own behaviour.
      if (document.querySelector(".md-search-result__link--active, .md-search-result__link:focus")) return;
      ev.preventDefault();
      ev.stopImmediatePropagation();
      window.location.href = searchUrl(q);
    }, true);
    document.addEventListener("input", function (ev) {
      var t = ev.target;
      if (!t || !t.classList || !t.classList.contains("md-search__input")) return;
      var wrap = document.querySelector(".md-search__scrollwrap");
      if (!wrap) return;
      var link = document.getElementById("kb-semantic-link");
      if (!link) {
        link = el("a", { id: "kb-semantic-link", "class": "kb-semantic-link" });
        wrap.parentNode.insertBefore(link, wrap);
      }
      var q = t.value.trim();
      link.hidden = !q;
      link.href = searchUrl(q);
      link.textContent = "Semantic search for \u201c" + q + "\u201d \u2192";
    }, true);
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
    this.form = document.getElementById("kb-search-form");
    this.input = document.getElementById("kb-q");
    this.chips = document.getElementById("kb-area-chips");
    this.typeSel = document.getElementById("kb-type");
    this.evidenceSel = document.getElementById("kb-evidence");
    this.status = document.getElementById("kb-status");
    this.notice = document.getElementById("kb-notice");
    this.suggest = document.getElementById("kb-suggest");
    this.results = document.getElementById("kb-results");
    this.fallbackIndex = null;
    this.seq = 0;
    this.setupControls();
  }

  SearchPage.prototype.setupControls = function () {
    var self = this;
    this.typeNames = {};
    this.taxonomy.document_types.forEach(function (t) {
      self.typeNames[t.slug] = t.name;
      self.typeSel.appendChild(el("option", { value: t.slug }, t.name));
    });
    this.taxonomy.evidence_ratings.forEach(function (r) {
      self.evidenceSel.appendChild(el("option", { value: r.slug }, r.name));
    });
    this.taxonomy.core_areas.forEach(function (a) {
      var chip = el("button", { type: "button", "class": "kb-chip", "data-area": a.slug, "aria-pressed": "false" });
      chip.appendChild(el("span", { "class": "kb-chip-name" }, a.name));
      chip.appendChild(el("span", { "class": "kb-chip-count" }, ""));
      chip.addEventListener("click", function () {
        chip.setAttribute("aria-pressed", chip.getAttribute("aria-pressed") === "true" ? "false" : "true");
        self.submit();
      });
      self.chips.appendChild(chip);
    });
    this.form.addEventListener("submit", function (ev) { ev.preventDefault(); self.submit(); });
    this.typeSel.addEventListener("change", function () { self.submit(); });
    this.evidenceSel.addEventListener("change", function () { self.submit(); });
    window.addEventListener("popstate", function () {
      // Material's instant navigation may have swapped this page out; only a live page listens.
      if (document.body.contains(self.root)) self.fromUrl();
    });
  };

  SearchPage.prototype.state = function () {
    var areas = [];
    this.chips.querySelectorAll(".kb-chip[aria-pressed=true]").forEach(function (c) {
      areas.push(c.getAttribute("data-area"));
    });
    return { q: this.input.value.trim(), areas: areas, type: this.typeSel.value, evidence: this.evidenceSel.value };
  };

  SearchPage.prototype.params = function (s) {
    var p = new URLSearchParams();
    if (s.q) p.set("q", s.q);
    s.areas.forEach(function (a) { p.append("area", a); });
    if (s.type) p.set("type", s.type);
    if (s.evidence) p.set("evidence", s.evidence);
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
    var areas = p.getAll("area");
    this.input.value = p.get("q") || "";
    this.chips.querySelectorAll(".kb-chip").forEach(function (c) {
      c.setAttribute("aria-pressed", areas.indexOf(c.getAttribute("data-area")) >= 0 ? "true" : "false");
    });
    this.typeSel.value = p.get("type") || "";
    this.evidenceSel.value = p.get("evidence") || "";
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
    var p = this.params(s);
    p.set("k", "20");
    this.status.textContent = "Searching\u2026";
    fetch(this.api + "?" + p.toString(), { headers: { Accept: "application/json" } })
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

  function describe(detail) {
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) return detail.map(function (d) { return d.msg || String(d); }).join("; ");
    return String(detail);
  }

  SearchPage.prototype.clear = function () {
    this.results.textContent = "";
    this.suggest.hidden = true;
  };

  SearchPage.prototype.render = function (s, body) {
    var self = this;
    this.clear();
    var counts = (body.facets && body.facets.core_areas) || {};
    this.chips.querySelectorAll(".kb-chip").forEach(function (c) {
      var n = counts[c.getAttribute("data-area")];
      c.querySelector(".kb-chip-count").textContent = n ? " (" + n + ")" : "";
    });
    // The type select doubles as the type facet: each option shows its count.
    var typeCounts = (body.facets && body.facets.type) || {};
    var typeNames = this.typeNames;
    Array.prototype.forEach.call(this.typeSel.options, function (o) {
      if (!o.value) return;
      var n = typeCounts[o.value];
      o.textContent = typeNames[o.value] + (n ? " (" + n + ")" : "");
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
    body.results.forEach(function (hit) { self.results.appendChild(self.card(hit, s.q)); });
    var n = body.results.length;
    this.status.textContent = n
      ? n + " result" + (n === 1 ? "" : "s") + " for \u201c" + body.query + "\u201d" +
        (body.total > n ? " (" + body.total + " matching documents)" : "")
      : "No results for \u201c" + body.query + "\u201d. Try other words or fewer filters.";
    markReady("api");
  };

  SearchPage.prototype.card = function (hit, q) {
    var li = el("li", { "class": "kb-result", "data-id": hit.id, "data-areas": (hit.core_areas || []).join(" ") });
    var h = el("h3");
    var a = el("a", { href: this.link(hit.url, q) }, hit.title);
    h.appendChild(a);
    li.appendChild(h);
    if (hit.type) li.appendChild(el("span", { "class": "kb-type-badge kb-result-type" }, this.typeNames[hit.type] || hit.type));
    if (hit.section && hit.section !== hit.title) li.appendChild(el("p", { "class": "kb-section" }, "Section: " + hit.section));
    var snip = el("p", { "class": "kb-snippet" });
    appendMarked(snip, hit.snippet || "");
    li.appendChild(snip);
    var meta = el("div", { "class": "kb-page-tags" });
    var nav = el("nav", { "class": "md-tags kb-areas", "aria-label": "Core areas" });
    var self = this;
    (hit.core_areas || []).forEach(function (slug) {
      nav.appendChild(el("a", { "class": "md-tag kb-area", href: ROOT + "areas/" + slug + "/" }, self.areaNames[slug] || slug));
    });
    meta.appendChild(nav);
    if (hit.evidence) {
      var rating = this.taxonomy.evidence_ratings.filter(function (r) { return r.slug === hit.evidence; })[0];
      meta.appendChild(el("span", { "class": "kb-evidence kb-evidence--" + hit.evidence }, "Evidence: " + (rating ? rating.name : hit.evidence)));
    }
    li.appendChild(meta);
    return li;
  };

  // "/briefs/x/#how-it-works" → ROOT + "briefs/x/?h=terms#how-it-works" (Material highlights ?h=).
  SearchPage.prototype.link = function (url, q) {
    var hash = "";
    var i = url.indexOf("#");
    if (i >= 0) { hash = url.slice(i); url = url.slice(0, i); }
    var terms = (q || "").split(/\s+/).filter(function (w) { return w.length > 2; }).join(" ");
    return ROOT + url.replace(/^\//, "") + (terms ? "?h=" + encodeURIComponent(terms) : "") + hash;
  };

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

  // For people and tests: when and how the first results appeared.
  function markReady(source) {
    var root = document.getElementById("kb-search");
    if (!root) return;
    root.setAttribute("data-state", source);
    if (!window.kbFirstResultsMs) window.kbFirstResultsMs = performance.now();
  }

  function init() {
    installHeaderHandoff();
    var root = document.getElementById("kb-search");
    if (root && !root.__kb) {
      root.__kb = new SearchPage(root);
      root.__kb.fromUrl();
    }
  }

  if (window.document$ && typeof window.document$.subscribe === "function") {
    window.document$.subscribe(init);  // Material's instant navigation swaps pages in place
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
