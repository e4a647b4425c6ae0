/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* C++ and Rust symbol names made readable, with libiberty (what binutils uses). */
#ifndef PB_DEMANGLE_H
#define PB_DEMANGLE_H

/*
 * The readable form of symbol @name ("_ZN2ns3fooEi" -> "ns::foo(int)"), a
 * version or PLT suffix kept ("...@plt"). A malloc'd string the caller frees,
 * or NULL when @name is not mangled (or on ENOMEM).
 */
char *demangle(const char *name);
/* The qualified name alone, without parameters nor return type ("ns::f<int>"); like demangle(). */
char *demangle_bare(const char *name);

#endif
