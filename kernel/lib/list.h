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

#define list_entry(n, type, member) container_of(n, type, member)
#define list_for_each(it, h) for ((it) = (h)->next; (it) != (h); (it) = (it)->next)
#define list_for_each_safe(it, tmp, h) \
	for ((it) = (h)->next, (tmp) = (it)->next; (it) != (h); (it) = (tmp), (tmp) = (it)->next)

#endif
