/*
 * Intrusive doubly linked lists. A list head is a struct list_node whose
 * next/prev point to itself when empty. Nodes belong to at most one list at a
 * time; whoever guards the list guards the nodes' links.
 */
#ifndef KLIB_LIST_H
#define KLIB_LIST_H

#include "kernel/lib/types.h"

struct list_node {
	struct list_node *next, *prev;
};

#define LIST_INIT(name) { &(name), &(name) }

static inline void list_init(struct list_node *h) { h->next = h->prev = h; }
static inline bool list_empty(const struct list_node *h) { return h->next == h; }

static inline void list_insert_between(struct list_node *n, struct list_node *prev,
				       struct list_node *next)
{
	n->prev = prev;
	n->next = next;
	prev->next = n;
	next->prev = n;
}

static inline void list_push_back(struct list_node *h, struct list_node *n)
{
	list_insert_between(n, h->prev, h);
}

static inline void list_push_front(struct list_node *h, struct list_node *n)
{
	list_insert_between(n, h, h->next);
}

static inline void list_remove(struct list_node *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->next = n->prev = n;
}

static inline struct list_node *list_pop_front(struct list_node *h)
{
	struct list_node *n = h->next;
	if (n == h)
		return NULL;
	list_remove(n);
	return n;
}

/*
 * RCU variants: readers walk a list with list_for_each_rcu inside
 * rcu_read_lock, with no lock; writers, under the list's lock, add with
 * list_push_back_rcu (the node is complete before it is published) and
 * take out with list_remove_rcu, which leaves the node's next pointer so
 * a reader standing on it walks on; the node may be freed or reused only
 * after a grace period (call_rcu).
 */
static inline void list_push_back_rcu(struct list_node *h, struct list_node *n)
{
	struct list_node *prev = h->prev;
	n->next = h;
	n->prev = prev;
	__atomic_store_n(&prev->next, n, __ATOMIC_RELEASE);
	h->prev = n;
}

static inline void list_remove_rcu(struct list_node *n)
{
	__atomic_store_n(&n->prev->next, n->next, __ATOMIC_RELEASE);
	n->next->prev = n->prev;
	n->prev = NULL;
}

#define list_for_each_rcu(it, h)                                                 \
	for ((it) = __atomic_load_n(&(h)->next, __ATOMIC_ACQUIRE); (it) != (h); \
	     (it) = __atomic_load_n(&(it)->next, __ATOMIC_ACQUIRE))

#define list_entry(n, type, member) container_of(n, type, member)
#define list_for_each(it, h) for ((it) = (h)->next; (it) != (h); (it) = (it)->next)
#define list_for_each_safe(it, tmp, h) \
	for ((it) = (h)->next, (tmp) = (it)->next; (it) != (h); (it) = (tmp), (tmp) = (it)->next)

#endif
