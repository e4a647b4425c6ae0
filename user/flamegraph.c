// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A self-contained interactive SVG flame graph: the root ("all") at the
 * bottom, callees above their callers, each box as wide as its samples,
 * frames merged by label along the path and siblings in label order. The
 * embedded script shows "name (N samples, P%)" on hover, zooms on click and
 * highlights the frames a regular expression matches (Search, or Ctrl-F).
 *
 * Frames narrower than 0.1% of all samples are not drawn (nor, then, their
 * callees): it keeps a 100k-sample profile's SVG small, as flamegraph.pl's
 * --minwidth does. The script only needs what the SVG holds: each frame's
 * <title> is "label (N samples, P%)" and its <rect> gives its place.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "writer_util.h"

#define IMG_WIDTH	1200
#define XPAD		10
#define FRAME_H		16
#define FONT_SIZE	12
#define FONT_WIDTH	0.59	/* average glyph width, in font sizes */
#define TOP_PAD		64	/* title, subtitle and controls */
#define BOTTOM_PAD	32	/* the details line */
#define MIN_FRACTION	0.001	/* narrower frames are elided */

/* One box to draw: a label at a depth (1 = a root frame), over samples [start, start + width). */
struct node {
	uint32_t label;
	uint32_t depth;
	uint64_t start;
	uint64_t width;
};

/* The boxes of a flame graph, laid out by layout(). */
struct layout {
	const struct merged *m;
	struct node *nodes;
	size_t nnodes, cap;
	size_t elided;
	uint32_t max_depth;
	double scale;		/* pixels per sample */
};

/* Write one code point (bytes @u, @n of them; @cp 0 when invalid) as XML character data. */
static void xml_char(FILE *f, const unsigned char *u, size_t n, uint32_t cp)
{
	if (!n)
		fputs("&#xfffd;", f);
	else if (cp == '&')
		fputs("&amp;", f);
	else if (cp == '<')
		fputs("&lt;", f);
	else if (cp == '>')
		fputs("&gt;", f);
	else if (cp == '"')
		fputs("&quot;", f);
	else if (cp == '\'')
		fputs("&apos;", f);
	else if (cp < 0x20 || cp == 0x7f || cp == 0xfffe || cp == 0xffff)
		fputc('?', f);
	else
		fwrite(u, 1, n, f);
}

/* Write @s as XML character data, at most @max code points (ending in ".." when cut). */
static void xml_text(FILE *f, const char *s, size_t max)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len = strlen(s), ncp = 0, keep, n;
	uint32_t cp;

	for (size_t i = 0; i < len; i += n ? n : 1, ncp++)
		n = utf8_decode(u + i, len - i, &cp);
	keep = ncp <= max ? ncp : max >= 2 ? max - 2 : 0;
	for (size_t i = 0, k = 0; k < keep; i += n ? n : 1, k++) {
		n = utf8_decode(u + i, len - i, &cp);
		xml_char(f, u + i, n, cp);
	}
	if (keep < ncp)
		fputs("..", f);
}

static int add_node(struct layout *l, uint32_t label, uint32_t depth, uint64_t start,
		    uint64_t width)
{
	struct node *n;

	if (!width || (double)width < MIN_FRACTION * (double)l->m->total) {
		l->elided++;
		return 0;
	}
	if (l->nnodes == l->cap) {
		n = realloc(l->nodes, (l->cap * 2 + 64) * sizeof(*n));
		if (!n)
			return -ENOMEM;
		l->nodes = n;
		l->cap = l->cap * 2 + 64;
	}
	l->nodes[l->nnodes++] = (struct node){ label, depth, start, width };
	if (depth > l->max_depth)
		l->max_depth = depth;
	return 0;
}

/*
 * The stacks are sorted element-wise, so the stacks through one box are
 * consecutive: keep the open path, close the boxes a stack leaves, open the
 * ones it enters. @open holds each open box's start.
 */
static int layout(struct layout *l, uint64_t *open)
{
	const struct merged *m = l->m;
	uint32_t nopen = 0, common, d;
	const uint32_t *path = NULL;
	uint64_t x = 0;
	int err;

	for (size_t i = 0; i <= m->nstacks; i++) {
		const struct mstack *s = i < m->nstacks ? m->stacks[i] : NULL;
		uint32_t depth = s ? s->depth : 0;

		for (common = 0; common < nopen && common < depth; common++) {
			if (path[common] != s->ids[common])
				break;
		}
		for (d = nopen; d > common; d--) {
			err = add_node(l, path[d - 1], d, open[d - 1], x - open[d - 1]);
			if (err)
				return err;
		}
		for (d = common; d < depth; d++)
			open[d] = x;
		if (!s)
			break;
		nopen = depth;
		path = s->ids;
		x += s->count;
	}
	return 0;
}

/*
 * A colour from the label's hash: warm for user code, aqua for inlined
 * functions (as flamegraph.pl), blue for the kernel, grey for synthetic.
 */
static void write_fill(FILE *f, const char *label, uint32_t kind)
{
	size_t len = strlen(label), slen = strlen(INLINE_SUFFIX);
	uint64_t h = hash_bytes(label, strlen(label), 0x5eed);
	double v1 = (double)(h & 0xff) / 255.0, v2 = (double)((h >> 8) & 0xff) / 255.0;
	double v3 = (double)((h >> 16) & 0xff) / 255.0;
	int r, g, b;

	if (kind == PFRAME_KERNEL)
		r = 70 + (int)(60 * v1), g = 140 + (int)(60 * v2), b = 205 + (int)(50 * v3);
	else if (kind == PFRAME_USER && len > slen && !strcmp(label + len - slen, INLINE_SUFFIX))
		r = 80 + (int)(60 * v1), g = 200 + (int)(55 * v2), b = 200 + (int)(55 * v2);
	else if (kind == PFRAME_SYNTH)
		r = g = b = 170 + (int)(40 * v1);
	else
		r = 205 + (int)(50 * v3), g = (int)(230 * v1), b = (int)(55 * v2);
	fprintf(f, "rgb(%d,%d,%d)", r, g, b);
}

static void write_box(FILE *f, const struct layout *l, int height, const char *label,
		      uint32_t kind, uint32_t depth, uint64_t start, uint64_t width)
{
	double x = XPAD + (double)start * l->scale, w = (double)width * l->scale;
	double y = height - BOTTOM_PAD - (double)(depth + 1) * FRAME_H;
	double fit = (w - 6) / (FONT_SIZE * FONT_WIDTH);
	char tbuf[32];

	fputs(depth ? "<g><title>" : "<g id=\"root\"><title>", f);
	xml_text(f, label, SIZE_MAX);
	if (l->m->timed)
		fprintf(f, " (%s, %.2f%%)</title>", format_ns(width, tbuf, sizeof(tbuf)),
			100.0 * (double)width / (double)l->m->total);
	else
		fprintf(f, " (%" PRIu64 " samples, %.2f%%)</title>", width,
			100.0 * (double)width / (double)l->m->total);
	fprintf(f, "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%d\" rx=\"2\" fill=\"", x,
		y, w, FRAME_H - 1);
	write_fill(f, label, kind);
	fprintf(f, "\"/><text x=\"%.2f\" y=\"%.1f\">", x + 3, y + FRAME_H - 4.5);
	if (fit >= 3)
		xml_text(f, label, (size_t)fit);
	fputs("</text></g>\n", f);
}

static void write_subtitle(FILE *f, const struct profile *p, const struct layout *l)
{
	uint64_t lost = profile_total_lost(p);
	char tbuf[32];
	int first = 1;

	fprintf(f, "<text x=\"%d\" y=\"44\" text-anchor=\"middle\" fill=\"#555\">",
		IMG_WIDTH / 2);
	if (l->m->timed) {
		fprintf(f, "%s of %s time in %" PRIu64 " samples",
			format_ns(l->m->total, tbuf, sizeof(tbuf)), p->value_type,
			profile_total_count(p));
	} else {
		fprintf(f, "%" PRIu64 " samples", l->m->total);
	}
	if (p->freq_hz)
		fprintf(f, " at %" PRIu64 " Hz", p->freq_hz);
	if (p->duration_ns)
		fprintf(f, " over %.2f s", (double)p->duration_ns / 1e9);
	fprintf(f, ", %" PRIu64 " lost", lost);
	for (size_t i = 0; i < p->ncounters; i++) {
		if ((strncmp(p->counters[i].name, "lost", 4) &&
		     strncmp(p->counters[i].name, "unnamed", 7)) || !p->counters[i].value)
			continue;
		fputs(first ? " (" : ", ", f);
		xml_text(f, p->counters[i].name, SIZE_MAX);
		fprintf(f, " %" PRIu64, p->counters[i].value);
		first = 0;
	}
	fputs(first ? "</text>\n" : ")</text>\n", f);
}

static const char svg_style[] =
	"<style>\n"
	"#frames text { pointer-events: none; }\n"
	"#frames g { cursor: pointer; }\n"
	"#frames g:hover rect { stroke: #000; stroke-width: 0.5; }\n"
	".ctl { cursor: pointer; fill: #2a5db0; }\n"
	"</style>\n";

/* The interactive part. Constants come from the SVG itself; no external resources. */
static const char svg_script[] =
	"<script type=\"text/ecmascript\"><![CDATA[\n"
	"(function () {\n"
	"'use strict';\n"
	"var svg = document.documentElement;\n"
	"var W = +svg.getAttribute('width'), XPAD = 10, CHAR_W = 12 * 0.59;\n"
	"var HIGHLIGHT = 'rgb(230,0,230)';\n"
	"var details = document.getElementById('details');\n"
	"var matched = document.getElementById('matched');\n"
	"var unzoomBtn = document.getElementById('unzoom');\n"
	"var searchBtn = document.getElementById('search');\n"
	"var frames = [], byG = new Map(), searching = false;\n"
	"function fit(name, w) {\n"
	"  var n = Math.floor((w - 6) / CHAR_W);\n"
	"  if (n < 3) return '';\n"
	"  return name.length <= n ? name : name.slice(0, n - 2) + '..';\n"
	"}\n"
	"Array.prototype.forEach.call(document.querySelectorAll('#frames > g'), function (g) {\n"
	"  var r = g.querySelector('rect'), info = g.querySelector('title').textContent;\n"
	"  var f = { g: g, rect: r, text: g.querySelector('text'), info: info,\n"
	"    name: info.slice(0, info.lastIndexOf(' (')), root: g.id === 'root',\n"
	"    x: +r.getAttribute('x'), w: +r.getAttribute('width'), y: +r.getAttribute('y'),\n"
	"    fill: r.getAttribute('fill') };\n"
	"  frames.push(f);\n"
	"  byG.set(g, f);\n"
	"});\n"
	"function place(f, x, w, opacity) {\n"
	"  f.g.style.display = '';\n"
	"  f.g.style.opacity = opacity;\n"
	"  f.rect.setAttribute('x', x.toFixed(2));\n"
	"  f.rect.setAttribute('width', w.toFixed(2));\n"
	"  f.text.setAttribute('x', (x + 3).toFixed(2));\n"
	"  f.text.textContent = fit(f.name, w);\n"
	"}\n"
	"function zoom(z) {\n"
	"  var scale = (W - 2 * XPAD) / z.w, eps = 0.05;\n"
	"  frames.forEach(function (f) {\n"
	"    var inside = f.x >= z.x - eps && f.x + f.w <= z.x + z.w + eps;\n"
	"    var covers = f.x <= z.x + eps && f.x + f.w >= z.x + z.w - eps;\n"
	"    if (f.y <= z.y + eps && inside)\n"
	"      place(f, XPAD + (f.x - z.x) * scale, f.w * scale, '');\n"
	"    else if (f.y > z.y + eps && covers)\n"
	"      place(f, XPAD, W - 2 * XPAD, '0.5');\n"
	"    else\n"
	"      f.g.style.display = 'none';\n"
	"  });\n"
	"  unzoomBtn.style.display = '';\n"
	"}\n"
	"function unzoom() {\n"
	"  frames.forEach(function (f) { place(f, f.x, f.w, ''); });\n"
	"  unzoomBtn.style.display = 'none';\n"
	"}\n"
	"function resetSearch() {\n"
	"  frames.forEach(function (f) { f.rect.setAttribute('fill', f.fill); });\n"
	"  matched.textContent = ' ';\n"
	"  searchBtn.textContent = 'Search';\n"
	"  searching = false;\n"
	"}\n"
	"function search() {\n"
	"  var term = window.prompt('Search frames (regular expression):', '');\n"
	"  var re, spans = [], sum = 0, end = -1;\n"
	"  if (!term) return;\n"
	"  try { re = new RegExp(term); } catch (e) { window.alert('Bad expression: ' + e.message); return; }\n"
	"  frames.forEach(function (f) {\n"
	"    var hit = !f.root && re.test(f.name);\n"
	"    f.rect.setAttribute('fill', hit ? HIGHLIGHT : f.fill);\n"
	"    if (hit) spans.push([f.x, f.x + f.w]);\n"
	"  });\n"
	"  /* a frame and its matching callees cover the same samples: count the union */\n"
	"  spans.sort(function (a, b) { return a[0] - b[0]; });\n"
	"  spans.forEach(function (s) {\n"
	"    if (s[1] > end) { sum += s[1] - Math.max(s[0], end); end = s[1]; }\n"
	"  });\n"
	"  matched.textContent = 'Matched: ' + (100 * sum / (W - 2 * XPAD)).toFixed(2) + '% of samples (' + term + ')';\n"
	"  searchBtn.textContent = 'Reset Search';\n"
	"  searching = true;\n"
	"}\n"
	"function frameOf(e) {\n"
	"  var g = e.target.closest ? e.target.closest('#frames > g') : null;\n"
	"  return g ? byG.get(g) : null;\n"
	"}\n"
	"var box = document.getElementById('frames');\n"
	"box.addEventListener('mouseover', function (e) {\n"
	"  var f = frameOf(e);\n"
	"  if (f) details.textContent = f.info;\n"
	"});\n"
	"box.addEventListener('mouseout', function () { details.textContent = ' '; });\n"
	"box.addEventListener('click', function (e) {\n"
	"  var f = frameOf(e);\n"
	"  if (f && f.root) unzoom(); else if (f) zoom(f);\n"
	"});\n"
	"unzoomBtn.addEventListener('click', unzoom);\n"
	"searchBtn.addEventListener('click', function () { if (searching) resetSearch(); else search(); });\n"
	"window.addEventListener('keydown', function (e) {\n"
	"  if ((e.ctrlKey || e.metaKey) && (e.key === 'f' || e.key === 'F')) { e.preventDefault(); search(); }\n"
	"  else if (e.key === 'Escape') resetSearch();\n"
	"});\n"
	"})();\n"
	"]]></script>\n";

static void write_head(FILE *f, const struct profile *p, const struct layout *l, int height)
{
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
		   "<svg version=\"1.1\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		   "xmlns=\"http://www.w3.org/2000/svg\" font-family=\"Verdana, sans-serif\" "
		   "font-size=\"%d\">\n",
		IMG_WIDTH, height, IMG_WIDTH, height, FONT_SIZE);
	fprintf(f, "<!-- Flame graph by profiling-bpf. %zu frame(s) narrower than %.1f%% of "
		   "the samples are not drawn. -->\n",
		l->elided, MIN_FRACTION * 100);
	fputs(svg_style, f);
	fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"#f8f8f4\"/>\n"
		   "<text x=\"%d\" y=\"24\" text-anchor=\"middle\" font-size=\"17\">Flame Graph"
		   "</text>\n",
		IMG_WIDTH / 2);
	write_subtitle(f, p, l);
	fprintf(f, "<text id=\"unzoom\" class=\"ctl\" x=\"%d\" y=\"24\" style=\"display:none\">"
		   "Reset Zoom</text>\n",
		XPAD);
	fprintf(f, "<text id=\"search\" class=\"ctl\" x=\"%d\" y=\"24\" text-anchor=\"end\">"
		   "Search</text>\n",
		IMG_WIDTH - XPAD);
	fprintf(f, "<text id=\"details\" x=\"%d\" y=\"%d\"> </text>\n", XPAD, height - 12);
	fprintf(f, "<text id=\"matched\" x=\"%d\" y=\"%d\" text-anchor=\"end\"> </text>\n",
		IMG_WIDTH - XPAD, height - 12);
}

static void write_svg(FILE *f, const struct profile *p, const struct layout *l)
{
	int height = TOP_PAD + (int)(l->max_depth + 1) * FRAME_H + BOTTOM_PAD;
	const struct node *n;

	write_head(f, p, l, height);
	fputs("<g id=\"frames\">\n", f);
	if (l->m->total)
		write_box(f, l, height, "all", PFRAME_SYNTH, 0, 0, l->m->total);
	for (size_t i = 0; i < l->nnodes; i++) {
		n = &l->nodes[i];
		write_box(f, l, height, l->m->labels[n->label], l->m->label_kind[n->label],
			  n->depth, n->start, n->width);
	}
	fputs("</g>\n", f);
	fputs(svg_script, f);
	fputs("</svg>\n", f);
}

int svg_write(FILE *f, const struct profile *p)
{
	struct layout l = { 0 };
	uint64_t *open = NULL;
	struct merged m;
	int err;

	err = merged_build(&m, p, label_folded);
	if (err)
		return err;
	l.m = &m;
	l.scale = m.total ? (double)(IMG_WIDTH - 2 * XPAD) / (double)m.total : 0;
	open = calloc((size_t)m.max_depth + 1, sizeof(*open));
	if (!open) {
		err = -ENOMEM;
		goto out_release;
	}
	err = m.total ? layout(&l, open) : 0;
	if (err)
		goto out_free;
	write_svg(f, p, &l);
	err = stream_status(f);
out_free:
	free(open);
	free(l.nodes);
out_release:
	merged_release(&m);
	return err;
}
