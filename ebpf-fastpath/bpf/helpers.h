/* The few libbpf-style definitions splice.bpf.c needs, so the build depends
 * only on clang and the kernel UAPI headers (linux-libc-dev), not on
 * libbpf-dev. Helper numbers are the kernel's stable UAPI ids from
 * enum bpf_func_id in <linux/bpf.h>. */
#ifndef SHARDWIRE_HELPERS_H
#define SHARDWIRE_HELPERS_H

#include <linux/bpf.h>

#define SEC(name) __attribute__((section(name), used))

/* BTF-defined map fields: the type carries the value, as in libbpf. */
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name

static void *(*bpf_map_lookup_elem)(void *map, const void *key) =
	(void *)BPF_FUNC_map_lookup_elem;
static __u64 (*bpf_get_socket_cookie)(void *ctx) =
	(void *)BPF_FUNC_get_socket_cookie;
static long (*bpf_sk_redirect_hash)(struct __sk_buff *skb, void *map,
				    void *key, __u64 flags) =
	(void *)BPF_FUNC_sk_redirect_hash;

static long (*bpf_skb_load_bytes)(const void *skb, __u32 offset, void *to,
				  __u32 len) = (void *)BPF_FUNC_skb_load_bytes;

#endif
