"""What a reader sees of the figures, formulas and controls of a page (issue 18).

Used by ``test_browser.py``: JavaScript run in a page already opened by
``browser_helpers``-style code, and the Python that opens it in light or dark
mode and moves its controls. Each check returns plain data (lists of
problems) so that the tests and their can-fail counterparts share it.
"""

from browser_helpers import BENIGN_CONSOLE_ERRORS, READY_JS

# An SVG figure's source, whether the page inlines it (data: URL) or links it; both figure checks
# below read figures through it.
SVG_SOURCE_JS = r"""
  const isSvg = (src) => /\.svg(\?|$)/i.test(src) || src.startsWith('data:image/svg+xml');
  const svgText = async (src) => {
    if (src.startsWith('data:image/svg+xml;base64,')) return atob(src.split(',')[1]);
    if (src.startsWith('data:image/svg+xml')) return decodeURIComponent(src.split(',')[1]);
    return await (await fetch(src)).text();
  };
"""

# The smallest rendered size of a figure's text, in CSS px at 100 % zoom. The theme's body text
# is 16 px and its small print in the article (code, captions, the sidebars' secondary text)
# 13-14 px; the figure style (cnnlib.figures._style) draws text of at least 10 pt at natural
# size, 13.3 px. 12 px leaves a pixel for a figure whose tight bounding box is a little wider
# than the column and is scaled down by the page; below 12 px, 'text no smaller than the
# body's small print' no longer holds.
FLOOR_PX = 12.0
# A subscript or superscript (a log axis's exponent, the 'in' of C_in) is judged as one: against
# SCRIPT_RATIO of the floor, the ratio at which TeX and matplotlib's mathtext draw scripts. That is
# how the prose treats them too: a superscript in the body's small print (sci()'s '10⁶' in a
# caption) is about as small. The text it belongs to is held to the floor itself.
SCRIPT_RATIO = 0.7

# Figures' text, as rendered (and, for SVG, an opaque background: no black text on the dark
# theme): for an SVG figure the font size of every <text> and <tspan> element times the
# ratio of the displayed width to the SVG's own width (user units); for a raster figure
# (PNG) the smallest font the book's figure style draws (min_pt points at the dpi recorded in
# the PNG's pHYs chunk, 100 dpi when absent) times displayed / natural width.
FIGURE_TEXT_JS = r"""
async ([minPt, floorPx, scriptRatio]) => {
""" + SVG_SOURCE_JS + r"""
  const article = document.querySelector('article.bd-article') || document.body;
  const problems = [], measured = [];
  const pngDpi = async (src) => {
    const buffer = await (await fetch(src)).arrayBuffer();
    const view = new DataView(buffer);
    for (let at = 8; at + 8 <= view.byteLength;) {
      const length = view.getUint32(at);
      const type = String.fromCharCode(...new Uint8Array(buffer, at + 4, 4));
      if (type === 'pHYs' && view.getUint8(at + 16) === 1) return view.getUint32(at + 8) * 0.0254;
      if (type === 'IDAT') break;
      at += 12 + length;
    }
    return 100;
  };
  const figures = [...article.querySelectorAll('.cell_output img, figure img, .static-controls img')];
  for (const img of figures) {
    const shown = img.getBoundingClientRect().width;
    if (!(shown > 0) || img.closest('.widget-subarea')) continue;   // hidden, or a live widget's picture
    const src = img.currentSrc || img.src;
    const label = (img.getAttribute('alt') || src).slice(0, 70);
    if (isSvg(src)) {
      const svg = new DOMParser().parseFromString(await svgText(src), 'image/svg+xml').documentElement;
      const viewBox = (svg.getAttribute('viewBox') || '').split(/[\s,]+/).map(Number);
      const units = viewBox.length === 4 ? viewBox[2] : parseFloat(svg.getAttribute('width'));
      const scale = shown / units;
      // dark mode: the figure's own background must be opaque, or its black text sits on the dark page
      const ground = svg.querySelector('#figure_1 > #patch_1 path, #figure_1 > g[id^="patch"] path');
      const fill = ground ? ((ground.getAttribute('style') || '').match(/fill:\s*([^;]+)/) || [null, ground.getAttribute('fill') || 'black'])[1].trim() : 'none';
      if (fill === 'none' || /fill-opacity:\s*0(\.0*)?(;|$)/.test(ground ? ground.getAttribute('style') || '' : ''))
        problems.push(`${label}: transparent background (black text on a dark page)`);
      // <tspan>s too: matplotlib writes mathtext (a log axis's 10^6) as one <text> whose
      // <tspan>s carry their own sizes, the exponent's at 70 % of the label's; a <tspan> smaller
      // than the largest of its <text> is a script, held to scriptRatio of the floor
      const texts = [...svg.querySelectorAll('text, tspan')];
      const fontPx = (t) => {
        const style = (t.getAttribute('style') || '') + ';' + (t.closest('[style*="font"]') || t).getAttribute('style');
        const m = style.match(/font-size:\s*([0-9.]+)(px|pt)?/) || style.match(/font:[^;]*?([0-9.]+)(px|pt)/)
                  || [null, t.getAttribute('font-size'), 'px'];
        return m[1] ? parseFloat(m[1]) * (m[2] === 'pt' ? 4 / 3 : 1) : null;
      };
      const shownText = (t) => {      // a mathtext label's glyphs, one <tspan> each: 10^-2 as '10−2'
        const whole = t.closest('text') || t, parts = [...whole.querySelectorAll('tspan')];
        return (parts.length ? parts.map(part => part.textContent).join('') : whole.textContent).trim().slice(0, 30);
      };
      if (!texts.length && svg.querySelector('g[id^="text_"]'))
        problems.push(`${label}: text drawn as paths, its size cannot be measured (svg.fonttype must be 'none')`);
      let smallest = Infinity;
      let worst = Infinity, worstSize = 0, worstText = '';   // the smallest relative to its floor
      for (const t of texts) {
        const own = fontPx(t);
        if (own === null) continue;
        const size = own * scale;
        const parent = t.tagName === 'tspan' && t.closest('text');
        const largest = parent ? Math.max(...[...parent.querySelectorAll('tspan')].map(fontPx).filter(v => v !== null)) : own;
        const floor = own < largest ? floorPx * scriptRatio : floorPx;
        smallest = Math.min(smallest, size);
        if (size / floor < worst) { worst = size / floor; worstSize = size; worstText = shownText(t) + (floor < floorPx ? ' (a script)' : ''); }
      }
      if (smallest < Infinity) {
        measured.push([label, Math.round(smallest * 10) / 10]);     // the smallest text, script or not
        if (worst < 1) problems.push(`${label}: '${worstText}' at ${worstSize.toFixed(1)} px`);
      }
    } else if (img.naturalWidth > 0) {
      const dpi = src.startsWith('data:image/png') || /\.png(\?|$)/i.test(src) ? await pngDpi(src) : 100;
      const size = minPt * dpi / 72 * shown / img.naturalWidth;
      measured.push([label, Math.round(size * 10) / 10]);
      if (size < floorPx)
        problems.push(`${label}: a raster of ${img.naturalWidth} px at ${Math.round(dpi)} dpi shown ${Math.round(shown)} px wide: ` +
                      `${minPt} pt text at ${size.toFixed(1)} px`);
    }
  }
  return {problems, measured};
}
"""

# Text drawn over other text in an SVG figure (a title over an axis label, tick labels run
# together, a colour bar's offset over a title): each figure is drawn, hidden, in the page, and the
# boxes of its <text> elements compared as the quadrilaterals they are on screen (rotated labels
# too), each less 15 % of its height at the top and bottom (the font's ascent and descent, so that
# lines set close do not count). Two boxes overlap when no axis separates them by less than 1 px.
TEXT_OVERLAP_JS = r"""
async () => {
""" + SVG_SOURCE_JS + r"""
  const article = document.querySelector('article.bd-article') || document.body;
  const host = document.createElement('div');
  host.style.cssText = 'position: absolute; left: -20000px; top: 0; visibility: hidden';
  document.body.appendChild(host);
  const quad = (t) => {
    const b = t.getBBox(), m = t.getScreenCTM(), trim = 0.15 * b.height;
    return [[b.x, b.y + trim], [b.x + b.width, b.y + trim], [b.x + b.width, b.y + b.height - trim],
            [b.x, b.y + b.height - trim]].map(([x, y]) => [m.a * x + m.c * y + m.e, m.b * x + m.d * y + m.f]);
  };
  const depth = (p, q) => {      // the smallest overlap of the projections over the edge normals
    let least = Infinity;
    for (const poly of [p, q]) {
      for (let k = 0; k < 4; k++) {
        const [x1, y1] = poly[k], [x2, y2] = poly[(k + 1) % 4];
        const len = Math.hypot(x2 - x1, y2 - y1) || 1, nx = (y1 - y2) / len, ny = (x2 - x1) / len;
        const pp = p.map(([x, y]) => x * nx + y * ny), qq = q.map(([x, y]) => x * nx + y * ny);
        least = Math.min(least, Math.min(Math.max(...pp), Math.max(...qq)) - Math.max(Math.min(...pp), Math.min(...qq)));
      }
    }
    return least;
  };
  const problems = [];
  for (const img of article.querySelectorAll('.cell_output img, figure img')) {
    const src = img.currentSrc || img.src;
    if (!isSvg(src)) continue;
    const label = (img.getAttribute('alt') || src).slice(0, 50);
    const text = await svgText(src);
    host.innerHTML = text.replace(/^[\s\S]*?(?=<svg)/, '');
    const boxes = [...host.querySelectorAll('svg text')].filter(t => t.textContent.trim())
      .map(t => ({name: [...t.querySelectorAll('tspan')].map(x => x.textContent).join('') || t.textContent.trim(),
                  q: quad(t)}));
    for (let i = 0; i < boxes.length; i++)
      for (let j = i + 1; j < boxes.length; j++)
        if (depth(boxes[i].q, boxes[j].q) > 1)
          problems.push(`${label}: '${boxes[i].name.slice(0, 30)}' over '${boxes[j].name.slice(0, 30)}'`);
    host.innerHTML = '';
  }
  host.remove();
  return problems;
}
"""


def text_overlaps(page):
    """Pairs of text drawn over each other in the page's SVG figures, as ``'figure: 'a' over 'b''``."""
    return page.evaluate(TEXT_OVERLAP_JS)


# Display formulas wider than the box they sit in (MathJax CHTML): the formula's own width
# against its container's parent, with the TeX of each.
MATH_OVERFLOW_JS = r"""
() => {
  const items = (window.MathJax && MathJax.startup && MathJax.startup.document
                 && [...MathJax.startup.document.math]) || [];
  const problems = [];
  for (const box of document.querySelectorAll('article.bd-article mjx-container')) {
    // the box a display formula must fit: its nearest ancestor laid out as a block (the
    // display-math div, a list item), less its padding; an inline formula: the article's column
    // (within a line, MathJax's glyph overhang of a pixel or two is not an overflow)
    const display = box.getAttribute('display') === 'true';
    let parent = box.parentElement;
    if (!display) parent = document.querySelector('article.bd-article') || document.body;
    while (parent && /^(inline|contents)/.test(getComputedStyle(parent).display)) parent = parent.parentElement;
    if (!parent || !(box.getBoundingClientRect().width > 0)) continue;
    const cs = getComputedStyle(parent), pr = parent.getBoundingClientRect();
    const left = pr.left + parseFloat(cs.paddingLeft) + parseFloat(cs.borderLeftWidth);
    const right = pr.right - parseFloat(cs.paddingRight) - parseFloat(cs.borderRightWidth);
    const math = (box.querySelector('mjx-math') || box).getBoundingClientRect();
    const over = Math.max(math.right - right, left - math.left, display ? box.scrollWidth - box.clientWidth : 0);
    if (over > 1) {
      const item = items.find(i => i.typesetRoot === box);
      const tex = item ? item.math.replace(/\s+/g, ' ').trim() : box.textContent.slice(0, 80);
      problems.push({tex, over: Math.round(over)});
    }
  }
  return problems;
}
"""

# Elements of the main column that a sidebar covers: each visible block of the article (its
# box clipped by the scroll boxes around it) against the horizontal extent of each sidebar
# that is shown beside the article (sticky sidebars cover whatever scrolls under them).
COVERED_JS = r"""
() => {
  const article = document.querySelector('article.bd-article');
  if (!article) return [];
  const sidebars = [...document.querySelectorAll('.bd-sidebar-primary, .bd-sidebar-secondary')].filter(s => {
    const r = s.getBoundingClientRect(), cs = getComputedStyle(s);
    return r.width > 0 && r.height > 0 && cs.visibility !== 'hidden' && cs.display !== 'none'
           && !s.contains(article) && !article.contains(s);
  });
  const problems = [];
  const blocks = article.querySelectorAll('p, li, table, img, svg, pre, mjx-container, h1, h2, h3, h4, dl, .cell_output > .output');
  for (const el of blocks) {
    let r = el.getBoundingClientRect();
    if (!(r.width > 0 && r.height > 0)) continue;
    let left = r.left, right = r.right;
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      const cs = getComputedStyle(a);
      if (cs.overflowX !== 'visible') {
        const ar = a.getBoundingClientRect();
        left = Math.max(left, ar.left); right = Math.min(right, ar.right);
      }
    }
    if (right <= left) continue;
    for (const s of sidebars) {
      const sr = s.getBoundingClientRect();
      const overlap = Math.min(right, sr.right) - Math.max(left, sr.left);
      if (overlap > 1) {
        problems.push(`<${el.tagName.toLowerCase()}> '${(el.textContent || el.getAttribute('alt') || '').trim().slice(0, 50)}'`
                      + ` under ${s.className.split(' ')[0]} by ${Math.round(overlap)} px`);
        break;
      }
    }
  }
  return [...new Set(problems)];
}
"""

# Every control a reader can move inside the article: plain HTML inputs and selects, and the
# sliders and drop-downs of rendered ipywidgets.
CONTROLS_JS = r"""
() => {
  const article = document.querySelector('article.bd-article') || document.body;
  const controls = [...article.querySelectorAll(
      'input[type=range], select, input[type=checkbox], input[type=radio], .noUi-handle, .widget-text input')]
    .filter(c => c.getBoundingClientRect().width > 0);
  controls.forEach((c, n) => c.setAttribute('data-i18-control', String(n)));
  return controls.map(c => c.tagName.toLowerCase() + (c.type ? `[${c.type}]` : '') + (c.className ? '.' + c.className.split(' ')[0] : ''));
}
"""

MOVE_JS = r"""
(n) => {
  const c = document.querySelector(`[data-i18-control="${n}"]`);
  if (c.tagName === 'SELECT') {
    c.selectedIndex = (c.selectedIndex + 1) % c.options.length;
  } else if (c.type === 'range') {
    const max = Number(c.max || 100), min = Number(c.min || 0), step = Number(c.step) || 1;
    c.value = String(Number(c.value) + step <= max ? Number(c.value) + step : min);
  } else if (c.type === 'checkbox' || c.type === 'radio') {
    c.checked = !c.checked;
  } else {
    return 'keyboard';
  }
  c.dispatchEvent(new Event('input', {bubbles: true}));
  c.dispatchEvent(new Event('change', {bubbles: true}));
  return 'event';
}
"""


def open_page(context, server, name, theme="light", width=1280):
    """A Playwright page on ``name`` with every request to another host aborted, MathJax and the
    widgets done, dropdowns and solutions unfolded, in ``theme`` (``light`` or ``dark``).
    Returns ``(page, external_requests)``."""
    external = []
    page = context.new_page()
    page.set_viewport_size({"width": width, "height": 900})

    def route(route_):
        if route_.request.url.startswith(server.base):
            route_.continue_()
        else:
            external.append(route_.request.url)
            route_.abort()

    page.route("**/*", route)
    page.goto(server.base + f"{name}.html", wait_until="load")
    try:
        page.wait_for_function(READY_JS, timeout=20000, polling=100)
    except Exception:  # noqa: BLE001 - the other tests report pages that never finish
        pass
    # what a reader can unfold counts too (solutions, dropdowns)
    page.evaluate("() => { document.querySelectorAll('details').forEach(d => { d.open = true; }); "
                  "document.querySelectorAll('.toggle-hidden').forEach(e => e.classList.remove('toggle-hidden')); }")
    if theme == "dark":
        page.evaluate("() => { document.documentElement.dataset.theme = 'dark'; "
                      "document.documentElement.dataset.mode = 'dark'; }")
    page.evaluate("() => document.fonts.ready.then(() => true)")
    page.wait_for_timeout(200)
    return page, external


def figure_text(page, min_pt=10, floor_px=FLOOR_PX, script_ratio=SCRIPT_RATIO):
    return page.evaluate(FIGURE_TEXT_JS, [min_pt, floor_px, script_ratio])


def math_overflows(page):
    return page.evaluate(MATH_OVERFLOW_JS)


def covered(page):
    return page.evaluate(COVERED_JS)


# How far the page scrolls sideways (a phone's reader would pan the whole text), and the elements
# of the article that stick out of the window without a scrolling box of their own to hold them.
SIDEWAYS_JS = r"""
() => {
  const width = window.innerWidth, over = document.documentElement.scrollWidth - width;
  const out = [];
  if (over > 1) {
    for (const e of document.querySelectorAll('article.bd-article *')) {
      const r = e.getBoundingClientRect();
      if (!(r.width > 0) || r.right <= width + 1) continue;
      let held = false;
      for (let p = e.parentElement; p && !held; p = p.parentElement)
        held = getComputedStyle(p).overflowX !== 'visible' && p.getBoundingClientRect().right <= width + 1;
      if (!held) out.push(`<${e.tagName.toLowerCase()}> '${(e.textContent || '').trim().slice(0, 60)}' to ${Math.round(r.right)} px`);
    }
  }
  return {over: Math.max(0, over), elements: out.slice(0, 5)};
}
"""


# Text under ``selector`` whose contrast with the ground it is drawn on (the first ancestor with an
# opaque background) is under WCAG's 4.5:1 for body text.
CONTRAST_JS = r"""
(selector) => {
  const rgb = (c) => (c.match(/[0-9.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const ground = (e) => {
    for (; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor); if (c.length === 3 || c[3] > 0.5) return c; }
    return [255, 255, 255];
  };
  const problems = [];
  for (const e of document.querySelectorAll(selector)) {
    const own = [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || !(e.getBoundingClientRect().width > 0)) continue;
    const a = lum(rgb(getComputedStyle(e).color)), b = lum(ground(e));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) problems.push(`<${e.tagName.toLowerCase()}> '${e.textContent.trim().slice(0, 40)}': contrast ${ratio.toFixed(1)}:1`);
  }
  return problems;
}
"""


def low_contrast(page, selector):
    """Text under ``selector`` drawn with less than 4.5:1 contrast against its ground."""
    return page.evaluate(CONTRAST_JS, selector)


def sideways(page):
    """``{"over": px, "elements": [...]}``: how far the page scrolls sideways, and why."""
    return page.evaluate(SIDEWAYS_JS)


def dead_controls(page):
    """Controls whose move leaves the pictures of their output unchanged: for each, screenshots of
    the images of the cell output around it (the control itself left out) before and after one move (a step of a slider, the next option of
    a drop-down, a toggled box; a widget's slider handle by the arrow key)."""
    names = page.evaluate(CONTROLS_JS)
    dead = []
    for n, name in enumerate(names):
        control = page.locator(f'[data-i18-control="{n}"]')
        area = control.locator("xpath=ancestor::div[contains(concat(' ', @class, ' '), ' cell_output ')][1]")
        pictures = (area if area.count() else control.locator("xpath=..")).locator("img, canvas")
        if not pictures.count():
            dead.append(f"{name} #{n}: no picture beside it")
            continue
        pictures.first.scroll_into_view_if_needed()

        def shot():
            return [pictures.nth(k).screenshot() for k in range(pictures.count())]

        before = shot()
        how = page.evaluate(MOVE_JS, n)
        if how == "keyboard":
            control.focus()
            page.keyboard.press("ArrowRight")
        page.wait_for_timeout(400)
        if shot() == before:
            dead.append(f"{name} #{n}: the picture did not change")
    return names, dead


__all__ = ["BENIGN_CONSOLE_ERRORS", "FLOOR_PX", "SCRIPT_RATIO", "open_page", "figure_text", "math_overflows", "covered",
           "dead_controls", "sideways", "text_overlaps", "low_contrast"]


CJK_FONTS = ["Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei"]

# Elements whose own text has CJK characters but whose font stack names no CJK font (the
# reader's browser then picks any fallback, or none: boxes).
CJK_JS = r"""
(fonts) => {
  const problems = [];
  const walker = document.createTreeWalker(document.querySelector('article.bd-article') || document.body,
                                           NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!/[\u3400-\u9fff\uf900-\ufaff]/.test(node.textContent)) continue;
    const family = getComputedStyle(node.parentElement).fontFamily;
    if (!fonts.some(f => family.includes(f))) problems.push(`${node.textContent.trim().slice(0, 20)}: ${family}`);
  }
  return [...new Set(problems)];
}
"""


def cjk_without_font(page):
    return page.evaluate(CJK_JS, CJK_FONTS)
