/*
 * binding.h - what a language binding may use beyond selector.h: telling
 * registrations of one descriptor apart.  A binding that walks a batch of
 * sel_select() while running its callbacks keeps (fd, serial) pairs
 * rather than key pointers, which a callback that unregisters may leave
 * dangling; before reporting a pair it asks whether the key now at fd is
 * still the one it saw.  Private to the project; nothing here is
 * installed.
 */
#ifndef SEL_BINDING_H
#define SEL_BINDING_H

#include "selector.h"

#pragma GCC visibility push(hidden)

/* The serial of a registered key: no two registrations of a selector
 * share one (until the counter wraps, after 2^32 registrations). */
unsigned sel__key_serial(const sel_key *key);

/* The events of the key registered at fd if it is the registration with
 * that serial; 0 if fd is not registered, or by another registration. */
int sel__key_events_if(const sel_selector *sel, int fd, unsigned serial);

#pragma GCC visibility pop

#endif /* SEL_BINDING_H */
