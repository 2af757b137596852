/* Shardwire's in-kernel splice: sk_skb programs that forward every byte a
 * spliced socket receives to its peer socket, without waking user space.
 *
 * Two socket hashes, both keyed by socket cookie:
 *  - sw_intercept has the parser and verdict attached: a socket in it has its
 *    ingress run through sw_verdict;
 *  - sw_targets has no programs: it only names redirect targets.
 * User space puts both sockets of a pair in sw_targets before either goes
 * into sw_intercept, so there is no moment where a redirect points at a
 * socket the kernel cannot find (bpf_sk_redirect_hash would drop the bytes).
 *
 * sw_peers maps a cookie to its peer, the pair id (the client's cookie) and
 * the direction; a socket without an entry gets SK_PASS (its bytes stay
 * readable by user space), which is the state during set-up and tear-down. */
#include "helpers.h"

char _license[] SEC("license") = "Apache-2.0";

/* Replaced at load time with the configured session capacity. */
#define SW_DEFAULT_PAIRS 65536

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 2 * SW_DEFAULT_PAIRS);
	__type(key, __u64);
	__type(value, __u32); /* a socket fd from user space */
} sw_intercept SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 2 * SW_DEFAULT_PAIRS);
	__type(key, __u64);
	__type(value, __u32);
} sw_targets SEC(".maps");

/* Layout shared with src/kernel/maps.rs:
 * [peer cookie, pair id, direction, farewell, flags]. */
struct sw_peer {
	__u64 peer;
	__u64 pair;
	__u64 dir; /* 0: this socket is the client, 1: the backend */
	/* The client's 5-byte goodbye (PostgreSQL Terminate, MySQL COM_QUIT)
	 * in memory order, when SW_FAREWELL is set. */
	__u64 farewell;
	__u64 flags;
};

/* flags: the pair watches for the farewell; the verdict saw it. */
#define SW_FAREWELL 1
#define SW_HELD 2
#define SW_FAREWELL_LEN 5

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2 * SW_DEFAULT_PAIRS);
	__type(key, __u64);
	__type(value, struct sw_peer);
} sw_peers SEC(".maps");

/* Per pair (keyed by the client's cookie): [client->backend, backend->client]. */
struct sw_pair_bytes {
	__u64 to_backend;
	__u64 to_client;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SW_DEFAULT_PAIRS);
	__type(key, __u64);
	__type(value, struct sw_pair_bytes);
} sw_pair_bytes SEC(".maps");

/* The byte stream has no message boundaries we care about: every skb is one
 * "message", so nothing is held back waiting for more data. */
SEC("sk_skb/stream_parser")
int sw_parser(struct __sk_buff *skb)
{
	return skb->len;
}

SEC("sk_skb/stream_verdict")
int sw_verdict(struct __sk_buff *skb)
{
	__u64 cookie = bpf_get_socket_cookie(skb);
	struct sw_peer *peer = bpf_map_lookup_elem(&sw_peers, &cookie);
	if (!peer)
		return SK_PASS;

	/* An skb that is exactly the client's goodbye stays in the client's own
	 * queue (SK_PASS), and so does everything after it, in order: user
	 * space decides. Followed by the close, the goodbye is withheld and the
	 * backend session survives for the pool; followed by more bytes, it was
	 * not a goodbye and user space forwards them all, in order. Held bytes
	 * are not counted: the counters are what was redirected. */
	if (peer->flags & SW_HELD)
		return SK_PASS;
	if ((peer->flags & SW_FAREWELL) && skb->len == SW_FAREWELL_LEN) {
		__u64 got = 0;
		if (bpf_skb_load_bytes(skb, 0, &got, SW_FAREWELL_LEN) == 0 &&
		    got == peer->farewell) {
			__sync_fetch_and_or(&peer->flags, SW_HELD);
			return SK_PASS;
		}
	}

	__u64 pair = peer->pair;
	struct sw_pair_bytes *bytes = bpf_map_lookup_elem(&sw_pair_bytes, &pair);
	if (bytes) {
		if (peer->dir == 0)
			__sync_fetch_and_add(&bytes->to_backend, skb->len);
		else
			__sync_fetch_and_add(&bytes->to_client, skb->len);
	}

	__u64 target = peer->peer;
	return bpf_sk_redirect_hash(skb, &sw_targets, &target, 0);
}
