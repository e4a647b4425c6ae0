// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The one JSON string writer: golden outputs for escapes, control characters
 * and non-UTF-8 input, each also checked by an independent strict parser
 * (json-c with UTF-8 validation) and decoded back to the expected text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "json_str.h"

static const struct {
	const char *in, *golden, *decoded;
} cases[] = {
	{ "plain", "\"plain\"", "plain" },
	{ "", "\"\"", "" },
	{ "q\"b\\s/", "\"q\\\"b\\\\s/\"", "q\"b\\s/" },
	{ "tab\tnl\ncr\r\x01\x1f\x7f", "\"tab\\u0009nl\\u000acr\\u000d\\u0001\\u001f\\u007f\"",
	  "tab\tnl\ncr\r\x01\x1f\x7f" },
	{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\xa5", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\xa5\"",
	  "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\xa5" },
	/* not UTF-8: each bad byte is U+FFFD */
	{ "\xff", "\"\\ufffd\"", "\xef\xbf\xbd" },
	{ "a\xff\xfe" "b", "\"a\\ufffd\\ufffdb\"", "a\xef\xbf\xbd\xef\xbf\xbd" "b" },
	{ "\xc3", "\"\\ufffd\"", "\xef\xbf\xbd" },			/* truncated */
	{ "\xc0\xaf", "\"\\ufffd\\ufffd\"", "\xef\xbf\xbd\xef\xbf\xbd" },	/* overlong '/' */
	{ "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"",			/* a surrogate */
	  "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
	{ "\xe2\x82x", "\"\\ufffd\\ufffdx\"", "\xef\xbf\xbd\xef\xbf\xbdx" },
	{ "latin1 \xe9t\xe9", "\"latin1 \\ufffdt\\ufffd\"", "latin1 \xef\xbf\xbdt\xef\xbf\xbd" },
};

static char *write_str(const char *s)
{
	char *buf = NULL;
	size_t len;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	json_write_string(f, s);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void test_golden(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = write_str(cases[i].in);

		if (strcmp(got, cases[i].golden))
			fail_msg("case %zu: got %s, want %s", i, got, cases[i].golden);
		free(got);
	}
}

static void test_strict_parser_agrees(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct json_tokener *tok = json_tokener_new();
		char *got = write_str(cases[i].in);
		json_object *o;

		assert_non_null(tok);
		json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
		o = json_tokener_parse_ex(tok, got, (int)strlen(got));
		if (!o || !json_object_is_type(o, json_type_string))
			fail_msg("case %zu: %s is not a valid JSON string (%s)", i, got,
				 json_tokener_error_desc(json_tokener_get_error(tok)));
		if (strcmp(json_object_get_string(o), cases[i].decoded))
			fail_msg("case %zu: decodes to '%s'", i, json_object_get_string(o));
		json_object_put(o);
		json_tokener_free(tok);
		free(got);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_strict_parser_agrees),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
