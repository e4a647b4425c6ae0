// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* SVG flame graph: well-formed XML (xmllint), boxes, widths, colours, escaping, elision. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <unistd.h>
#include <cmocka.h>

#include "writer_fixture.h"

#define DRAW_WIDTH 1180.0	/* image width minus the side padding */

/* One drawn frame, as parsed back from the SVG. */
struct box {
	double x, y, w;
	int r, g, b;
	char text[128];
};

/* Find the @nth box whose title starts with "@label (", parse its rect and text. */
static int find_box(const char *svg, const char *label, int nth, struct box *b)
{
	char pat[256];
	const char *t = svg, *rect, *text;

	snprintf(pat, sizeof(pat), "<title>%s (", label);
	for (int i = 0; i <= nth; i++) {
		t = strstr(t, pat);
		if (!t)
			return -1;
		t += strlen(pat);
	}
	rect = strstr(t, "<rect ");
	text = strstr(t, "<text ");
	if (!rect || !text)
		return -1;
	if (sscanf(rect, "<rect x=\"%lf\" y=\"%lf\" width=\"%lf\" height=\"15\" rx=\"2\" "
			 "fill=\"rgb(%d,%d,%d)\"/>",
		   &b->x, &b->y, &b->w, &b->r, &b->g, &b->b) != 6)
		return -1;
	text = strchr(text, '>') + 1;
	snprintf(b->text, sizeof(b->text), "%.*s", (int)(strstr(text, "</text>") - text), text);
	return 0;
}

static char *svg_of(const struct profile *p)
{
	int err;
	char *out = write_mem(svg_write, p, &err);

	assert_int_equal(err, 0);
	return out;
}

/* 0 when xmllint accepts @svg, 1 when it does not, -1 when there is no xmllint. */
static int xmllint(const char *svg)
{
	char path[] = "/tmp/pb-test-svg-XXXXXX", cmd[128];
	int fd, rc;

	if (!have_command("xmllint"))
		return -1;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, svg, strlen(svg)), (ssize_t)strlen(svg));
	close(fd);
	snprintf(cmd, sizeof(cmd), "xmllint --noout %s", path);
	rc = system(cmd);
	unlink(path);
	return rc ? 1 : 0;
}

static void test_svg_well_formed(void **state)
{
	struct profile *p = fixture_profile(), *empty = profile_new();
	char *svg = svg_of(p), *svg_empty = svg_of(empty);
	int rc = xmllint(svg);

	(void)state;
	if (rc < 0) {
		free(svg);
		free(svg_empty);
		profile_free(p);
		profile_free(empty);
		skip();
	}
	assert_int_equal(rc, 0);
	assert_int_equal(xmllint(svg_empty), 0);
	/* nothing xmllint could let through either: no raw control or invalid bytes */
	for (const char *c = svg; *c; c++)
		assert_true((unsigned char)*c >= 0x20 || *c == '\n');
	assert_null(strchr(svg, '\xff'));
	free(svg);
	free(svg_empty);
	profile_free(p);
	profile_free(empty);
}

static void test_svg_boxes(void **state)
{
	struct profile *p = fixture_profile();
	char *svg = svg_of(p);
	struct box all, compute, r0, r1, r2, kw, mainb;

	(void)state;
	assert_int_equal(find_box(svg, "all", 0, &all), 0);
	assert_int_equal(find_box(svg, "main", 0, &mainb), 0);
	assert_float_equal(all.w, DRAW_WIDTH, 0.01);
	/* both addresses of compute in one box of 60% */
	assert_int_equal(find_box(svg, "compute", 0, &compute), 0);
	assert_int_equal(find_box(svg, "compute", 1, &compute), -1);
	assert_int_equal(find_box(svg, "compute", 0, &compute), 0);
	assert_float_equal(compute.w, 0.60 * DRAW_WIDTH, 0.01);
	assert_non_null(strstr(svg, "<title>compute (60 samples, 60.00%)</title>"));
	assert_string_equal(compute.text, "compute");
	/* a callee sits one row above its caller, inside its span */
	assert_float_equal(compute.y, mainb.y - 16, 0.01);
	assert_true(compute.x >= mainb.x && compute.x + compute.w <= mainb.x + mainb.w + 0.01);
	/* recursion: three boxes stacked */
	assert_int_equal(find_box(svg, "recurse", 0, &r0), 0);
	assert_int_equal(find_box(svg, "recurse", 1, &r1), 0);
	assert_int_equal(find_box(svg, "recurse", 2, &r2), 0);
	assert_int_equal(find_box(svg, "recurse", 3, &r2), -1);
	assert_float_equal(r0.w, 0.15 * DRAW_WIDTH, 0.01);
	assert_true(r0.y != r1.y && r1.y != r2.y);
	/* colours: kernel blue, user warm, synthetic grey */
	assert_int_equal(find_box(svg, "ksys_write_[k]", 0, &kw), 0);
	assert_true(kw.b >= 205 && kw.b > kw.r);
	assert_true(compute.r >= 205 && compute.b <= 55);
	assert_true(all.r == all.g && all.g == all.b);
	/* text cut to fit with "..": 15 chars fit in 10% (118 px) */
	assert_int_equal(find_box(svg, "entry_SYSCALL_64_[k]", 0, &kw), 0);
	assert_string_equal(kw.text, "entry_SYSCALL..");
	free(svg);
	profile_free(p);
}

/* An inlined function is its own box, labelled "_[i]" and drawn aqua. */
static void test_svg_inlined(void **state)
{
	struct pframe outer = { .name = "outer", .kind = PFRAME_USER, .resolved = 1, .addr = 0x10 };
	struct pframe inl = outer;
	struct profile *p = profile_new();
	struct box b, o;
	uint32_t st[2];
	char *svg;

	(void)state;
	assert_non_null(p);
	inl.name = "helper";
	inl.inlined = 1;
	st[1] = (uint32_t)profile_add_frame(p, &outer);
	st[0] = (uint32_t)profile_add_frame(p, &inl);
	assert_int_equal(profile_add_sample(p, st, 2, 5, 0, 1, 0), 0);
	svg = svg_of(p);
	assert_int_equal(find_box(svg, "helper_[i]", 0, &b), 0);
	assert_int_equal(find_box(svg, "outer", 0, &o), 0);
	assert_true(b.g >= 200 && b.b >= 200 && b.r < 150);	/* aqua */
	assert_true(o.r >= 205 && o.b <= 55);			/* the caller stays warm */
	free(svg);
	profile_free(p);
}

static void test_svg_text_and_script(void **state)
{
	struct profile *p = fixture_profile();
	char *svg = svg_of(p);

	(void)state;
	assert_non_null(strstr(svg, "100 samples at 99 Hz over 1.01 s, 1 lost (lost_ringbuf_full 1)"));
	assert_non_null(strstr(svg, "<title>operator&lt;&lt;(std::ostream&amp;, char const*) "
				    "&quot;&apos; (5 samples, 5.00%)</title>"));
	assert_non_null(strstr(svg, "<title>odd:name?with?tabs (3 samples"));
	assert_non_null(strstr(svg, "<title>bad&#xfffd;utf8_\xc3\xa9t\xc3\xa9 (2 samples"));
	/* interactive and self-contained */
	assert_non_null(strstr(svg, "<script type=\"text/ecmascript\"><![CDATA["));
	assert_non_null(strstr(svg, "id=\"unzoom\""));
	assert_non_null(strstr(svg, "id=\"search\""));
	assert_non_null(strstr(svg, "e.ctrlKey"));
	assert_null(strstr(svg, "href"));
	assert_null(strstr(svg, "http://www.w3.org/1999/xlink"));
	free(svg);
	profile_free(p);
}

/* Add @count samples of root;@leaf. */
static void add_leaf(struct profile *p, const char *leaf, uint64_t count)
{
	struct pframe f = { .name = "root", .module = "/bin/x", .resolved = 1 };
	uint32_t stack[2];

	stack[1] = (uint32_t)profile_add_frame(p, &f);
	f.name = leaf;
	stack[0] = (uint32_t)profile_add_frame(p, &f);
	assert_int_equal(profile_add_sample(p, stack, 2, count, 0, 0, 0), 0);
}

static void test_svg_elides_narrow_frames(void **state)
{
	struct profile *p = profile_new();
	char name[32], *svg;
	struct box b;

	(void)state;
	assert_non_null(p);
	add_leaf(p, "big", 80000);
	add_leaf(p, "narrow", 50);	/* 0.05%: not drawn */
	add_leaf(p, "visible", 200);	/* 0.2% */
	for (int i = 0; i < 19750; i++) {	/* 100000 samples in all, 20000 stacks */
		snprintf(name, sizeof(name), "tiny_%d", i);
		add_leaf(p, name, 1);
	}
	svg = svg_of(p);
	assert_int_equal(find_box(svg, "big", 0, &b), 0);
	assert_float_equal(b.w, 0.8 * DRAW_WIDTH, 0.01);
	assert_int_equal(find_box(svg, "visible", 0, &b), 0);
	assert_int_equal(find_box(svg, "narrow", 0, &b), -1);
	assert_null(strstr(svg, "tiny_"));
	assert_non_null(strstr(svg, "19751 frame(s) narrower than 0.1%"));
	assert_non_null(strstr(svg, "<title>root (100000 samples, 100.00%)"));
	assert_true(strlen(svg) < 20000);
	if (xmllint(svg) >= 0)
		assert_int_equal(xmllint(svg), 0);
	free(svg);
	profile_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_svg_well_formed),
		cmocka_unit_test(test_svg_boxes),
		cmocka_unit_test(test_svg_inlined),
		cmocka_unit_test(test_svg_text_and_script),
		cmocka_unit_test(test_svg_elides_narrow_frames),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
