/* geoattract — atelier page: weights, scores, ranks and the « pourquoi » of each commune.
 *
 * The scoring part is a line-by-line port of geoattract/scoring/model.py (weighted_mean,
 * rank_matrix) and geoattract/scoring/atelier.py (model_scores, score_contributions), with the
 * same names, on the normalised indicators the package computed. The browser test checks that
 * it gives the package's scores (to 1e-9) and ranks.
 *
 * Every text that comes from data is inserted with textContent, never as HTML.
 */
(function () {
  "use strict";

  const DATA = JSON.parse(document.getElementById("atelier-data").textContent);
  const METHOD = DATA.method;
  const SCORE_MAX = METHOD.score_max;
  const GEOMETRIC_FLOOR = METHOD.geometric_floor;
  const EPS = METHOD.eps;
  const RANK_DECIMALS = METHOD.rank_decimals;
  const N = DATA.communes.codes.length;
  const J = DATA.indicators.length;

  // ------------------------------------------------------------------ scoring (port)

  /* The sums of model.weighted_mean: numpy reduces the strided (n, k) blocks the model takes
   * out of its tensor element by element along k, from the reduction's identity 0.0, so the
   * sum is sequential (numpy's pairwise summation applies only to contiguous runs of 8 or
   * more, which these are not; below 8 terms both orders are the same). */
  function np_sum(a) {
    let res = 0.0;
    for (let i = 0; i < a.length; i++) res += a[i];
    return res;
  }

  function clip(v, lo, hi) {
    return Math.min(Math.max(v, lo), hi);
  }

  /* Weighted mean over the values of one row with NaN re-weighting (model.weighted_mean). */
  function weighted_mean(x, w, geometric, min_share) {
    const k = x.length;
    const wv = new Array(k);
    const prod = new Array(k);
    for (let i = 0; i < k; i++) {
      const valid = !Number.isNaN(x[i]);
      wv[i] = valid ? w[i] : 0.0;
      if (geometric) {
        const v = valid ? x[i] : GEOMETRIC_FLOOR;
        prod[i] = Math.log(Math.max(v, GEOMETRIC_FLOOR)) * wv[i];
      } else {
        prod[i] = (valid ? x[i] : 0.0) * wv[i];
      }
    }
    const wsum = np_sum(wv);
    const wtot = np_sum(w);
    let out = np_sum(prod) / wsum;
    if (geometric) out = Math.exp(out);
    const ok = wsum > 0 && wsum >= min_share * wtot - EPS * Math.max(wtot, 1.0);
    return ok ? clip(out, 0.0, SCORE_MAX) : NaN;
  }

  /* numpy.rint: round half to even. */
  function rint(y) {
    const f = Math.floor(y);
    const d = y - f;
    if (d < 0.5) return f;
    if (d > 0.5) return f + 1;
    return f % 2 === 0 ? f : f + 1;
  }

  function np_round(x, decimals) {
    const f = Math.pow(10, decimals);
    return rint(x * f) / f;
  }

  /* Positions sorted by INSEE code (the tie-break of the package's ranks). */
  const TIE_ORDER = DATA.communes.codes
    .map((c, i) => i)
    .sort((a, b) => {
      const ca = DATA.communes.codes[a];
      const cb = DATA.communes.codes[b];
      return ca < cb ? -1 : ca > cb ? 1 : a - b;
    });

  /* Ranks, 1 = best; scores rounded to RANK_DECIMALS, ties by code; NaN -> NaN (model.rank_matrix). */
  function rank_matrix(scores) {
    const s = TIE_ORDER.map((i) => np_round(scores[i], RANK_DECIMALS));
    const order = s.map((v, p) => p);
    order.sort((a, b) => {
      const na = Number.isNaN(s[a]);
      const nb = Number.isNaN(s[b]);
      if (na || nb) return na === nb ? a - b : na ? 1 : -1;
      const d = -s[a] - -s[b];
      return d < 0 ? -1 : d > 0 ? 1 : a - b;
    });
    const out = new Array(scores.length);
    order.forEach((p, r) => {
      out[TIE_ORDER[p]] = r + 1;
    });
    for (let i = 0; i < scores.length; i++) if (Number.isNaN(scores[i])) out[i] = NaN;
    return out;
  }

  const VALUES = DATA.values.map((row) => row.map((v) => (v === null ? NaN : v)));

  /* Indicators of a pillar with a positive weight, in the model's order (atelier._pillar_members). */
  function pillar_members(pillar, indicator_weights) {
    const sel = [];
    DATA.indicators.forEach((ind, j) => {
      if (ind.pillar === pillar && (indicator_weights[ind.id] || 0) > 0) sel.push(j);
    });
    return sel;
  }

  /* atelier.model_scores: pillar scores, composite scores and ranks under given weights.
   * pillar_weights: array of [pillar, weight] in the profile's order. */
  function model_scores(values, pillar_weights, indicator_weights, aggregation, min_share) {
    const geometric = aggregation === "geometric";
    const pillars = pillar_weights.filter((pw) => pw[1] > 0).map((pw) => pw[0]);
    const pw = pillar_weights.filter((p) => p[1] > 0).map((p) => p[1]);
    const n = values.length;
    const members = pillars.map((p) => pillar_members(p, indicator_weights));
    const iw = members.map((sel) => sel.map((j) => indicator_weights[DATA.indicators[j].id]));
    const pillar = [];
    const score = new Array(n);
    for (let c = 0; c < n; c++) {
      const row = pillars.map((p, k) => {
        const sel = members[k];
        if (!sel.length) return NaN;
        return weighted_mean(sel.map((j) => values[c][j]), iw[k], geometric, min_share);
      });
      pillar.push(row);
      score[c] = weighted_mean(row, pw, geometric, min_share);
    }
    return { pillars: pillars, pillar: pillar, score: score, members: members, weights: iw, pw: pw };
  }

  function median(xs) {
    const v = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
    if (!v.length) return NaN;
    const h = Math.floor(v.length / 2);
    return v.length % 2 ? v[h] : (v[h - 1] + v[h]) / 2;
  }

  const MEDIANS = DATA.indicators.map((ind, j) => median(VALUES.map((row) => row[j])));

  function shares(w, valid) {
    const wv = w.map((x, i) => (valid[i] ? x : 0.0));
    const tot = wv.reduce((a, b) => a + b, 0.0);
    return wv.map((x) => (tot > 0 ? x / tot : 0.0));
  }

  function log_mean(s, r) {
    if (Math.abs(s - r) <= 1e-12) return s;
    return (s - r) / (Math.log(s) - Math.log(r));
  }

  /* atelier.score_contributions for one commune: each indicator's and pillar's part in the
   * gap between its score and the median commune's. */
  function score_contributions(ms, ref, c, aggregation) {
    const geometric = aggregation === "geometric";
    const terms = new Array(J).fill(0.0);
    const score = ms.score[c];
    if (Number.isNaN(score)) return null;
    const a = shares(ms.pw, ms.pillar[c].map((v) => !Number.isNaN(v)));
    const b = shares(ms.pw, ref.pillar[0].map((v) => !Number.isNaN(v)));
    ms.pillars.forEach((p, k) => {
      const sel = ms.members[k];
      if (!sel.length) return;
      const w = ms.weights[k];
      const valid = sel.map((j) => !Number.isNaN(VALUES[c][j]));
      const alpha = shares(w, valid);
      const beta = shares(w, sel.map((j) => !Number.isNaN(MEDIANS[j])));
      sel.forEach((j, i) => {
        let x = valid[i] ? VALUES[c][j] : 0.0;
        let m = MEDIANS[j];
        if (geometric) {
          x = valid[i] ? Math.log(Math.max(VALUES[c][j], GEOMETRIC_FLOOR)) : 0.0;
          m = Math.log(Math.max(m, GEOMETRIC_FLOOR));
        }
        terms[j] = a[k] * alpha[i] * x - b[k] * beta[i] * m;
      });
    });
    if (geometric) {
      const lm = log_mean(score, ref.score[0]);
      for (let j = 0; j < J; j++) terms[j] *= lm;
    }
    const pillar = {};
    DATA.pillars.forEach((p) => {
      pillar[p.id] = 0.0;
    });
    DATA.indicators.forEach((ind, j) => {
      pillar[ind.pillar] += terms[j];
    });
    return { reference: ref.score[0], indicator: terms, pillar: pillar };
  }

  // ------------------------------------------------------------------------- state

  const PROFILES = {};
  DATA.profiles.forEach((p) => {
    PROFILES[p.id] = p;
  });
  const PILLAR_LABEL = {};
  DATA.pillars.forEach((p) => {
    PILLAR_LABEL[p.id] = p.label;
  });

  const state = {
    profile: DATA.profiles[0].id,
    pillars: {},
    indicators: {},
    aggregation: METHOD.aggregation,
    group: "",
    selected: null,
    result: null,
  };

  function set_profile_weights(profile) {
    const p = PROFILES[profile];
    state.profile = profile;
    state.pillars = {};
    p.pillars.forEach((pw) => {
      state.pillars[pw[0]] = pw[1];
    });
    state.indicators = Object.assign({}, p.indicators);
  }

  function pillar_weights() {
    return PROFILES[state.profile].pillars.map((pw) => [pw[0], state.pillars[pw[0]]]);
  }

  /* Problems that make the weights unusable (the rules of scoring.toml and of the merge). */
  function weight_problems() {
    const out = [];
    const pw = pillar_weights();
    if (!pw.some((p) => p[1] > 0)) out.push("Au moins un pilier doit avoir un poids positif.");
    pw.forEach((p) => {
      if (p[1] > 0 && !pillar_members(p[0], state.indicators).length) {
        out.push(
          "Le pilier « " + PILLAR_LABEL[p[0]] + " » est pondéré mais aucun de ses indicateurs " +
            "ne l'est : il est non calculable pour toutes les communes."
        );
      }
    });
    return out;
  }

  function compute() {
    const pw = pillar_weights();
    const ms = model_scores(VALUES, pw, state.indicators, state.aggregation, METHOD.min_weight_share);
    const ref = model_scores([MEDIANS], pw, state.indicators, state.aggregation, METHOD.min_weight_share);
    ms.rank = rank_matrix(ms.score);
    ms.ref = ref;
    ms.n_scored = ms.score.filter((s) => !Number.isNaN(s)).length;
    state.result = ms;
    return ms;
  }

  function modified() {
    const p = PROFILES[state.profile];
    if (state.aggregation !== METHOD.aggregation) return true;
    if (p.pillars.some((pw) => state.pillars[pw[0]] !== pw[1])) return true;
    return Object.keys(p.indicators).some((k) => state.indicators[k] !== p.indicators[k]);
  }

  // ---------------------------------------------------------------- formatting (fr)

  const NNBSP = "\u202f";

  function fr(v, decimals) {
    if (v === null || Number.isNaN(v)) return "—";
    const s = Math.abs(v).toFixed(decimals);
    const parts = s.split(".");
    const int = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, NNBSP);
    const sign = v < 0 && Number(s) !== 0 ? "−" : "";
    return sign + int + (parts.length > 1 ? "," + parts[1] : "");
  }

  function signed(v, decimals) {
    const t = fr(v, decimals);
    return v > 0 && Number(Math.abs(v).toFixed(decimals)) !== 0 ? "+" + t : t;
  }

  function ordinal(r) {
    if (r === null || Number.isNaN(r)) return "—";
    return r === 1 ? "1er" : r + "e";
  }

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach((k) => {
        if (k === "class") e.className = attrs[k];
        else e.setAttribute(k, attrs[k]);
      });
    }
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }

  // --------------------------------------------------------------------- the map

  const COLOURS = DATA.colours; // pale -> dark
  const K = COLOURS.length;

  function class_of(rank, n) {
    if (Number.isNaN(rank)) return -1;
    return Math.min(K - 1, Math.floor(((rank - 1) * K) / n));
  }

  function colour_of(rank, n) {
    const k = class_of(rank, n);
    return k < 0 ? DATA.missing_colour : COLOURS[K - 1 - k];
  }

  function decode(flat, scale) {
    const out = [];
    let x = 0;
    let y = 0;
    for (let i = 0; i < flat.length; i += 2) {
      x += flat[i];
      y += flat[i + 1];
      out.push([y / scale, x / scale]);
    }
    return out;
  }

  function polygons(parts, scale) {
    return parts.map((poly) => poly.map((ring) => decode(ring, scale)));
  }

  let map = null;
  const layers = [];

  function build_map() {
    const G = DATA.geometry;
    map = L.map("map", { zoomSnap: 0.25, maxZoom: 16, preferCanvas: false, attributionControl: false });
    map.fitBounds([
      [G.bounds[1], G.bounds[0]],
      [G.bounds[3], G.bounds[2]],
    ]);
    L.control.scale({ imperial: false }).addTo(map);
    if (G.neighbours.length) {
      L.polygon(
        G.neighbours.map((p) => polygons(p, G.scale)),
        { color: "#c8c8c8", weight: 0.6, fillColor: "#eeeeee", fillOpacity: 1, interactive: false }
      ).addTo(map);
    }
    G.communes.forEach((parts, i) => {
      const layer = L.polygon(polygons(parts, G.scale), {
        color: "#555555",
        weight: 0.6,
        fillOpacity: 0.85,
        fillColor: DATA.missing_colour,
      });
      layer.on("click", () => select(i));
      layer.bindTooltip(() => tooltip(i), { sticky: true });
      layer.addTo(map);
      layers.push(layer);
    });
    G.roads.forEach((r) => {
      L.polyline(
        r.lines.map((l) => decode(l, G.scale)),
        { color: r.colour, weight: r.width, opacity: 0.9, interactive: false }
      ).addTo(map);
    });
    if (G.outline.length) {
      L.polygon(
        G.outline.map((p) => polygons(p, G.scale)),
        { color: "#222222", weight: 2.5, fill: false, interactive: false }
      ).addTo(map);
    }
    G.towns.forEach((t) => {
      const div = el("div", { class: "ga-town" }, t[0]);
      L.marker([t[1], t[2]], { icon: L.divIcon({ html: div, className: "", iconSize: [0, 0] }), interactive: false }).addTo(map);
    });
    const legend = L.control({ position: "bottomright" });
    legend.onAdd = () => el("div", { class: "ga-legend", id: "legend" });
    legend.addTo(map);
  }

  function tooltip(i) {
    const r = state.result;
    const box = el("div");
    box.appendChild(el("b", null, DATA.communes.names[i]));
    const s = r.score[i];
    box.appendChild(
      el("div", null, Number.isNaN(s) ? "score non calculable" : ordinal(r.rank[i]) + " sur " + r.n_scored + " · score " + fr(s, 1))
    );
    return box;
  }

  function restyle() {
    const r = state.result;
    layers.forEach((layer, i) => {
      const sel = state.selected === i;
      layer.setStyle({
        fillColor: colour_of(r.rank[i], r.n_scored),
        weight: sel ? 3.5 : 0.6,
        color: sel ? "#000000" : "#555555",
      });
      if (sel) layer.bringToFront();
    });
    draw_legend();
  }

  function draw_legend() {
    const box = document.getElementById("legend");
    if (!box) return;
    const r = state.result;
    box.textContent = "";
    box.appendChild(el("div", { class: "ga-legend-title" }, "Rang (quintiles) et score"));
    const lo = new Array(K).fill(Infinity);
    const hi = new Array(K).fill(-Infinity);
    const rlo = new Array(K).fill(Infinity);
    const rhi = new Array(K).fill(-Infinity);
    for (let i = 0; i < N; i++) {
      const k = class_of(r.rank[i], r.n_scored);
      if (k < 0) continue;
      lo[k] = Math.min(lo[k], r.score[i]);
      hi[k] = Math.max(hi[k], r.score[i]);
      rlo[k] = Math.min(rlo[k], r.rank[i]);
      rhi[k] = Math.max(rhi[k], r.rank[i]);
    }
    for (let k = 0; k < K; k++) {
      if (rlo[k] === Infinity) continue;
      const row = el("div", { class: "ga-legend-row" });
      const sw = el("i");
      sw.style.background = COLOURS[K - 1 - k];
      row.appendChild(sw);
      row.appendChild(el("span", null, ordinal(rlo[k]) + "–" + ordinal(rhi[k]) + " : " + fr(lo[k], 1) + " – " + fr(hi[k], 1)));
      box.appendChild(row);
    }
    const missing = N - r.n_scored;
    if (missing) {
      const row = el("div", { class: "ga-legend-row" });
      const sw = el("i");
      sw.style.background = DATA.missing_colour;
      row.appendChild(sw);
      row.appendChild(el("span", null, "Score non calculable (" + missing + ")"));
      box.appendChild(row);
    }
  }

  // -------------------------------------------------------------------- controls

  function weight_row(kind, id, label, max) {
    const row = el("div", { class: "w-row", "data-kind": kind, "data-id": id });
    const lab = el("label", { for: "w-" + kind + "-" + id, title: label }, label);
    const range = el("input", {
      type: "range",
      min: "0",
      max: String(max),
      step: "0.05",
      id: "r-" + kind + "-" + id,
      "aria-label": "Poids — " + label,
    });
    const num = el("input", {
      type: "number",
      min: "0",
      step: "any",
      id: "w-" + kind + "-" + id,
      class: "w-num",
    });
    const share = el("span", { class: "w-share" });
    row.appendChild(lab);
    row.appendChild(range);
    row.appendChild(num);
    row.appendChild(share);
    // the profile selector replaces state.pillars and state.indicators: look them up each time
    const store = () => (kind === "pillar" ? state.pillars : state.indicators);
    range.addEventListener("input", () => {
      store()[id] = Number(range.value);
      num.value = range.value;
      update();
    });
    const valid = () => {
      const v = Number(num.value);
      return num.value.trim() !== "" && Number.isFinite(v) && v >= 0 ? v : null;
    };
    num.addEventListener("input", () => {
      const v = valid(); // applied as it is typed; an unfinished entry waits for "change"
      if (v === null || v === store()[id]) return;
      store()[id] = v;
      range.value = String(v);
      update();
    });
    num.addEventListener("change", () => {
      const v = valid();
      if (v === null) {
        message("Poids invalide pour « " + label + " » : un nombre positif ou nul est attendu.", true);
        num.value = String(store()[id]);
        return;
      }
      if (v === store()[id]) return;
      store()[id] = v;
      range.value = String(v);
      update();
    });
    return row;
  }

  function build_controls() {
    const sel = document.getElementById("profile");
    DATA.profiles.forEach((p) => sel.appendChild(el("option", { value: p.id }, p.label)));
    sel.addEventListener("change", () => {
      set_profile_weights(sel.value);
      sync_inputs();
      update();
    });
    const pbox = document.getElementById("pillar-weights");
    DATA.pillars.forEach((p) => pbox.appendChild(weight_row("pillar", p.id, p.label, 4)));
    const ibox = document.getElementById("indicator-weights");
    DATA.pillars.forEach((p) => {
      const inds = DATA.indicators.filter((ind) => ind.pillar === p.id);
      if (!inds.length) return;
      ibox.appendChild(el("div", { class: "w-group" }, p.label));
      inds.forEach((ind) => ibox.appendChild(weight_row("indicator", ind.id, ind.label, 5)));
    });
    document.getElementById("ind-count").textContent = String(J);
    const agg = document.getElementById("aggregation");
    agg.addEventListener("change", () => {
      state.aggregation = agg.value;
      update();
    });
    document.getElementById("group").addEventListener("input", (e) => {
      state.group = e.target.value;
    });
    document.getElementById("reset").addEventListener("click", () => {
      set_profile_weights(state.profile);
      state.aggregation = METHOD.aggregation;
      sync_inputs();
      update();
    });
    document.getElementById("save").addEventListener("click", save);
    const file = document.getElementById("load-file");
    document.getElementById("load").addEventListener("click", () => file.click());
    file.addEventListener("change", () => {
      if (file.files.length) load_file(file.files[0]);
      file.value = "";
    });
    const search = document.getElementById("search");
    search.addEventListener("input", () => draw_ranking());
    document.getElementById("back").addEventListener("click", () => {
      state.selected = null;
      show_tab("ranking");
      restyle();
    });
  }

  function sync_inputs() {
    document.getElementById("profile").value = state.profile;
    document.getElementById("aggregation").value = state.aggregation;
    document.getElementById("group").value = state.group;
    document.querySelectorAll(".w-row").forEach((row) => {
      const kind = row.getAttribute("data-kind");
      const id = row.getAttribute("data-id");
      const v = kind === "pillar" ? state.pillars[id] : state.indicators[id];
      row.querySelector("input[type=range]").value = String(v);
      row.querySelector("input[type=number]").value = String(v);
    });
  }

  function draw_shares() {
    const pw = pillar_weights();
    const tot = pw.reduce((a, p) => a + p[1], 0);
    document.querySelectorAll('.w-row[data-kind="pillar"]').forEach((row) => {
      const v = state.pillars[row.getAttribute("data-id")];
      row.querySelector(".w-share").textContent = tot > 0 ? fr((100 * v) / tot, 0) + NNBSP + "%" : "—";
    });
    const byPillar = {};
    DATA.indicators.forEach((ind) => {
      byPillar[ind.pillar] = (byPillar[ind.pillar] || 0) + (state.indicators[ind.id] || 0);
    });
    document.querySelectorAll('.w-row[data-kind="indicator"]').forEach((row) => {
      const id = row.getAttribute("data-id");
      const ind = DATA.indicators.find((x) => x.id === id);
      const t = byPillar[ind.pillar];
      const v = state.indicators[id];
      row.querySelector(".w-share").textContent = t > 0 ? fr((100 * v) / t, 0) + NNBSP + "%" : "—";
    });
    document.getElementById("modified").textContent = modified() ? "poids modifiés" : "poids du profil";
    document.getElementById("rationale").textContent = PROFILES[state.profile].rationale;
  }

  function message(text, error) {
    const box = document.getElementById("message");
    box.textContent = text || "";
    box.className = error ? "msg error" : "msg";
  }

  // ------------------------------------------------------------------- ranking

  function draw_ranking() {
    const r = state.result;
    const list = document.getElementById("ranking-list");
    const q = document.getElementById("search").value.trim().toLowerCase();
    list.textContent = "";
    const order = [];
    for (let i = 0; i < N; i++) order.push(i);
    order.sort((a, b) => {
      const ra = Number.isNaN(r.rank[a]) ? Infinity : r.rank[a];
      const rb = Number.isNaN(r.rank[b]) ? Infinity : r.rank[b];
      return ra - rb || (DATA.communes.codes[a] < DATA.communes.codes[b] ? -1 : 1);
    });
    order.forEach((i) => {
      const name = DATA.communes.names[i];
      if (q && name.toLowerCase().indexOf(q) < 0 && DATA.communes.codes[i].indexOf(q) < 0) return;
      const li = el("li", {
        "data-code": DATA.communes.codes[i],
        "data-rank": Number.isNaN(r.rank[i]) ? "" : String(r.rank[i]),
        "data-score": Number.isNaN(r.score[i]) ? "" : String(r.score[i]),
      });
      const btn = el("button", { type: "button", class: "rank-item" });
      btn.appendChild(el("span", { class: "rk" }, Number.isNaN(r.rank[i]) ? "—" : String(r.rank[i])));
      btn.appendChild(el("span", { class: "nm" }, name));
      const bar = el("span", { class: "bar" });
      const fill = el("i");
      fill.style.width = (Number.isNaN(r.score[i]) ? 0 : r.score[i]) + "%";
      fill.style.background = colour_of(r.rank[i], r.n_scored);
      bar.appendChild(fill);
      btn.appendChild(bar);
      btn.appendChild(el("span", { class: "sc" }, fr(r.score[i], 1)));
      btn.addEventListener("click", () => select(i));
      li.appendChild(btn);
      list.appendChild(li);
    });
    document.getElementById("ranking-title").textContent =
      "Classement — " + PROFILES[state.profile].label + (modified() ? " (poids modifiés)" : "");
  }

  function show_tab(name) {
    document.getElementById("ranking").hidden = name !== "ranking";
    document.getElementById("why").hidden = name !== "why";
  }

  // --------------------------------------------------------------- « pourquoi »

  function select(i) {
    state.selected = i;
    show_tab("why");
    draw_card();
    restyle();
  }

  function bar(value, scale) {
    const b = el("span", { class: "cbar" });
    const f = el("i", { class: value >= 0 ? "pos" : "neg" });
    const w = Math.min(50, (50 * Math.abs(value)) / scale);
    f.style.width = w + "%";
    f.style.left = value >= 0 ? "50%" : 50 - w + "%";
    b.appendChild(f);
    return b;
  }

  function draw_card() {
    const i = state.selected;
    const card = document.getElementById("card");
    card.textContent = "";
    if (i === null) return;
    const r = state.result;
    const prof = PROFILES[state.profile];
    card.setAttribute("data-code", DATA.communes.codes[i]);
    card.appendChild(el("h2", null, DATA.communes.names[i]));
    card.appendChild(
      el("div", { class: "sub" }, "Code " + DATA.communes.codes[i] + " · " + fr(DATA.communes.population[i], 0) + " habitants")
    );
    const s = r.score[i];
    if (Number.isNaN(s)) {
      card.appendChild(el("p", { class: "big" }, "Score non calculable : trop de données manquantes pour ces poids."));
    } else {
      card.appendChild(el("p", { class: "big" }, ordinal(r.rank[i]) + " sur " + r.n_scored + " · score " + fr(s, 1) + " / 100"));
    }
    const iv = DATA.intervals[state.profile];
    if (iv && iv[i] && iv[i][0] !== null) {
      const t =
        "Intervalle de rang 5–95 % (simulation Monte Carlo de l'étude, poids du profil « " +
        prof.label + " ») : " + ordinal(iv[i][0]) + "–" + ordinal(iv[i][1]) +
        (modified() ? ". Les poids ont changé : intervalle à recalculer (geoattract atelier merge)." : ".");
      card.appendChild(el("p", { class: "note" }, t));
    }
    const c = score_contributions(r, r.ref, i, state.aggregation);
    if (c) {
      const gap = s - c.reference;
      card.appendChild(
        el("p", null,
          "Écart à la commune médiane : " + signed(gap, 1) + " point" + (Math.abs(gap) >= 2 ? "s" : "") +
          " (score de la commune médiane : " + fr(c.reference, 1) + ")."
        )
      );
      card.appendChild(el("p", { class: "note" }, "La commune médiane a chaque indicateur à sa médiane départementale. Contributions en points de score ; elles s'additionnent en l'écart."));
      const pillars = DATA.pillars.map((p) => p.id).filter((p) => (state.pillars[p] || 0) > 0);
      pillars.sort((a, b) => Math.abs(c.pillar[b]) - Math.abs(c.pillar[a]));
      const scale = Math.max(1, ...pillars.map((p) => Math.abs(c.pillar[p])));
      const list = el("div", { class: "contribs" });
      pillars.forEach((p) => {
        const det = el("details", { class: "pillar-contrib", "data-pillar": p });
        const sum = el("summary");
        sum.appendChild(el("span", { class: "pl" }, PILLAR_LABEL[p]));
        sum.appendChild(bar(c.pillar[p], scale));
        sum.appendChild(el("span", { class: "pv", "data-value": String(c.pillar[p]) }, signed(c.pillar[p], 1)));
        det.appendChild(sum);
        const rows = [];
        DATA.indicators.forEach((ind, j) => {
          if (ind.pillar === p && (state.indicators[ind.id] || 0) > 0) rows.push(j);
        });
        rows.sort((a, b) => Math.abs(c.indicator[b]) - Math.abs(c.indicator[a]));
        const ul = el("ul");
        const k = r.pillars.indexOf(p);
        if (k >= 0 && Number.isNaN(r.pillar[i][k])) {
          const share = fr(100 * METHOD.min_weight_share, 0) + NNBSP + "%";
          ul.appendChild(
            el("li", { class: "missing-pillar" },
              "Pilier non calculé pour cette commune : moins de " + share + " du poids de ses " +
                "indicateurs est disponible ; son poids passe aux autres piliers."
            )
          );
        }
        rows.forEach((j) => {
          const ind = DATA.indicators[j];
          const li = el("li", { "data-indicator": ind.id, "data-value": String(c.indicator[j]) });
          const raw = DATA.raw[i][j];
          const text =
            raw === null
              ? ind.label + " : donnée manquante"
              : ind.label + " : " + raw + " (médiane " + ind.median + ")";
          li.appendChild(el("span", { class: "il" }, text));
          li.appendChild(el("span", { class: "iv" }, signed(c.indicator[j], 2)));
          ul.appendChild(li);
        });
        det.appendChild(ul);
        list.appendChild(det);
      });
      card.appendChild(list);
      const top = list.querySelector("details");
      if (top) top.open = true;
    }
    const afom = DATA.afom[i] || [];
    if (afom.length) {
      card.appendChild(el("h3", null, "AFOM"));
      const ul = el("ul", { class: "afom" });
      afom.forEach((t) => ul.appendChild(el("li", null, t)));
      card.appendChild(ul);
    }
  }

  // -------------------------------------------------------------- save and load

  function today() {
    const d = new Date();
    const p = (x) => String(x).padStart(2, "0");
    return d.getFullYear() + "-" + p(d.getMonth() + 1) + "-" + p(d.getDate());
  }

  function weight_file() {
    return {
      format: DATA.weights_format,
      version: DATA.weights_version,
      study: DATA.study,
      group: state.group.trim(),
      date: today(),
      profile: state.profile,
      aggregation: state.aggregation,
      pillars: Object.fromEntries(DATA.pillars.map((p) => [p.id, state.pillars[p.id]])),
      indicators: Object.fromEntries(DATA.indicators.map((ind) => [ind.id, state.indicators[ind.id]])),
    };
  }

  function slug(text) {
    return text
      .normalize("NFD")
      .replace(/[\u0300-\u036f]/g, "")
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "");
  }

  function save() {
    const problems = weight_problems();
    if (problems.length) {
      message("Enregistrement impossible : " + problems.join(" "), true);
      return;
    }
    if (!state.group.trim()) {
      message("Indiquez le nom du groupe avant d'enregistrer.", true);
      document.getElementById("group").focus();
      return;
    }
    const doc = weight_file();
    const blob = new Blob([JSON.stringify(doc, null, 2) + "\n"], { type: "application/json" });
    const a = el("a", { href: URL.createObjectURL(blob), download: "poids-" + slug(doc.group) + "-" + doc.date + ".json" });
    document.body.appendChild(a);
    a.click();
    setTimeout(() => {
      URL.revokeObjectURL(a.href);
      a.remove();
    }, 1000);
    message("Poids du groupe « " + doc.group + " » enregistrés (" + a.getAttribute("download") + ").", false);
  }

  /* The checks of geoattract.scoring.weights.check_weight_set, on the page's side. */
  function check_weight_file(doc) {
    const allowed = ["format", "version", "study", "group", "date", "profile", "pillars", "aggregation", "indicators"];
    if (typeof doc !== "object" || doc === null || Array.isArray(doc)) return "le fichier ne contient pas un objet JSON";
    const unknown = Object.keys(doc).filter((k) => allowed.indexOf(k) < 0);
    if (unknown.length) return "clé(s) inconnue(s) : " + unknown.join(", ");
    if (doc.format !== DATA.weights_format || doc.version !== DATA.weights_version) return "ce n'est pas un fichier de poids de l'atelier (format " + doc.format + ")";
    if (doc.study !== DATA.study) return "poids d'une autre étude (« " + doc.study + " »), pas de « " + DATA.study + " »";
    if (typeof doc.group !== "string" || !doc.group.trim()) return "nom de groupe manquant";
    if (typeof doc.date !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(doc.date.trim())) return "date invalide : " + doc.date;
    if (!PROFILES[doc.profile]) return "profil inconnu : " + doc.profile;
    if (doc.aggregation !== undefined && ["arithmetic", "geometric"].indexOf(doc.aggregation) < 0) return "agrégation inconnue : " + doc.aggregation;
    const pil = doc.pillars;
    if (typeof pil !== "object" || pil === null) return "poids des piliers manquants";
    for (const k of Object.keys(pil)) if (!PILLAR_LABEL[k]) return "pilier inconnu : " + k;
    for (const p of DATA.pillars) if (!(p.id in pil)) return "poids manquant pour le pilier « " + p.label + " »";
    const ind = doc.indicators || {};
    const known = {};
    DATA.indicators.forEach((x) => {
      known[x.id] = true;
    });
    DATA.left_out.forEach((x) => {
      known[x.id] = true;
    });
    for (const k of Object.keys(ind)) if (!known[k]) return "indicateur inconnu : " + k;
    const all = Object.assign({}, pil, ind);
    for (const k of Object.keys(all)) {
      const v = all[k];
      if (typeof v !== "number" || !Number.isFinite(v) || v < 0) return "poids invalide pour " + k + " : " + v;
    }
    if (!DATA.pillars.some((p) => pil[p.id] > 0)) return "tous les piliers ont un poids nul";
    return null;
  }

  function apply_weight_file(doc) {
    set_profile_weights(doc.profile);
    DATA.pillars.forEach((p) => {
      state.pillars[p.id] = doc.pillars[p.id];
    });
    const ind = doc.indicators || {};
    DATA.indicators.forEach((x) => {
      if (x.id in ind) state.indicators[x.id] = ind[x.id];
    });
    state.aggregation = doc.aggregation || METHOD.aggregation;
    state.group = doc.group.trim();
    sync_inputs();
    update();
  }

  function load_text(text, name) {
    let doc;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      message(name + " : JSON illisible (" + e.message + ").", true);
      return false;
    }
    const problem = check_weight_file(doc);
    if (problem) {
      message(name + " : " + problem + ".", true);
      return false;
    }
    apply_weight_file(doc);
    message("Poids du groupe « " + doc.group + " » du " + doc.date + " chargés (" + name + ").", false);
    return true;
  }

  function load_file(file) {
    const reader = new FileReader();
    reader.onload = () => load_text(String(reader.result), file.name);
    reader.onerror = () => message(file.name + " : lecture impossible.", true);
    reader.readAsText(file);
  }

  // --------------------------------------------------------------------- update

  let pending = false;

  function update() {
    compute();
    draw_shares();
    restyle();
    draw_ranking();
    if (state.selected !== null) draw_card();
    const problems = weight_problems();
    if (problems.length) message(problems.join(" "), true);
    else if (document.getElementById("message").classList.contains("error")) message("", false);
    pending = false;
  }

  function schedule() {
    if (!pending) {
      pending = true;
      requestAnimationFrame(update);
    }
  }

  // ---------------------------------------------------------------------- start

  set_profile_weights(state.profile);
  build_controls();
  build_map();
  sync_inputs();
  update();
  show_tab("ranking");

  /* For tests and scripts: the page's state and computations. */
  window.atelier = {
    data: DATA,
    state: state,
    weight_file: weight_file,
    load_text: load_text,
    select: (code) => select(DATA.communes.codes.indexOf(code)),
    schedule: schedule,
    current: () => ({
      codes: DATA.communes.codes,
      score: state.result.score.map((v) => (Number.isNaN(v) ? null : v)),
      rank: state.result.rank.map((v) => (Number.isNaN(v) ? null : v)),
      pillars: state.result.pillars,
      pillar: state.result.pillar.map((row) => row.map((v) => (Number.isNaN(v) ? null : v))),
    }),
    contributions: (code) => {
      const i = DATA.communes.codes.indexOf(code);
      const c = score_contributions(state.result, state.result.ref, i, state.aggregation);
      return c && { reference: c.reference, indicator: c.indicator, pillar: c.pillar };
    },
    ready: true,
  };
  document.body.setAttribute("data-ready", "1");
})();
