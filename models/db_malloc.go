package models

// #cgo LDFLAGS: -ldl
// #include <dlfcn.h>
// #include <stddef.h>
//
// // trim_c_heap asks the C library to give the free memory of its heap
// // back to the operating system, where it has malloc_trim (glibc); it is
// // looked up at run time so that other C libraries (musl) still link.
// static int trim_c_heap(void) {
// 	int (*trim)(size_t) = (int (*)(size_t))dlsym(RTLD_DEFAULT, "malloc_trim");
// 	if (trim == NULL) return -1;
// 	return trim(0);
// }
import "C"

// trimCHeap returns the C heap's free memory (SQLite's freed caches) to
// the operating system: glibc keeps what is freed in its arenas, one per
// thread that allocated, so a burst's page caches stayed resident after
// SQLite had let them go.
func trimCHeap() { C.trim_c_heap() }
