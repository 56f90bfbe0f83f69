/*
 * msgpack.h - the MessagePack codec between Lua values and bytes, as the
 * pools use it to carry arguments and results (docs/lua.md, "Pools"),
 * over msgpack-c (Debian: libmsgpack-dev).  Private to the binding.
 *
 * The values that cross: nil, booleans, integers and floats (kept apart
 * on Lua 5.3+; before 5.3 a number that is integral and fits int64 goes
 * as an integer, except -0.0), strings (MessagePack str when valid UTF-8,
 * else bin, so a worker in another language sees text as text; both
 * decode to a Lua string), and tables: keys exactly 1..n (n >= 1) make an
 * array, the empty table an empty array, anything else a map.  Refused,
 * with a message naming the type and where it is: functions, userdata,
 * threads, tables with a metatable, and nesting past the limit below
 * (which is also how a cycle ends).
 *
 * Every function here is safe on any thread, each with its own lua_State:
 * no global state, and no Lua error is raised for a bad value or bad bytes
 * (the message goes into err, truncated to errlen).  Like any Lua API
 * call, they can still raise a memory error of the Lua allocator.
 */
#ifndef SEL_LUA_MSGPACK_H
#define SEL_LUA_MSGPACK_H

#include <msgpack.h>

#include "lua/compat.h"

/* The nesting limit of a value: at most 30 tables inside one another
 * ({} is one level, {{}} two; a scalar none).  msgpack-c's C unpacker
 * keeps its open containers in a fixed stack of MSGPACK_EMBED_STACK_SIZE
 * (32) entries and fails past it (with MSGPACK_UNPACK_NOMEM_ERROR, not a
 * parse error), so a frame holds at most 32 levels.  The pools wrap a
 * value in up to two arrays (["call", code, fn, [args...]], [true,
 * result]), which leaves 30 to the value: whatever lsel_mp_pack accepts
 * still parses once framed. */
#define SEL_MP_MAX_DEPTH 30

/* What lsel_mp_parse and lsel_mp_push accept: a whole frame. */
#define SEL_MP_MAX_FRAME_DEPTH (SEL_MP_MAX_DEPTH + 2)

#pragma GCC visibility push(hidden)

/* Packs the Lua value at idx into pk.  `what` names the value in messages
 * ("args[2]", "result"; NULL means "value"), followed by the path to the
 * culprit: "cannot send a function (args[2].x)", "cannot send a table with
 * a metatable (result[3])", "too deeply nested: a table contains itself
 * (value.self)".  Returns 0, or -1 with a message in err; the packer's
 * output is then unspecified (discard it).  Leaves the Lua stack as it
 * found it. */
int lsel_mp_pack(lua_State *L, int idx, msgpack_packer *pk, const char *what,
                 char *err, size_t errlen);

/* Parses exactly one MessagePack object from data[0..len) into obj, its
 * arrays and maps allocated from zone; str, bin and ext bodies point into
 * data, which must outlive obj.  The bytes are checked first (every
 * count and length against the bytes left, the nesting against
 * SEL_MP_MAX_FRAME_DEPTH, exactly one object), so that msgpack-c, which
 * allocates a container's claimed size up front, never uses more than
 * O(len) memory.  Returns 0, or -1 with a message in err: truncated,
 * trailing bytes, malformed (0xc1), too deeply nested, out of memory. */
int lsel_mp_parse(const char *data, size_t len, msgpack_zone *zone,
                  msgpack_object *obj, char *err, size_t errlen);

/* Pushes the Lua value of obj: arrays become tables 1..n (a nil element
 * leaves a hole), maps tables (duplicate keys: the last wins), ints
 * integers (on 5.3+; a uint64 above math.maxinteger becomes a float),
 * float32/float64 floats.  Returns 0 with one value pushed, or -1 with
 * nothing pushed and a message in err: a map key that is nil or NaN
 * ("invalid table key"), an ext type ("unsupported MessagePack ext type"),
 * nesting past SEL_MP_MAX_FRAME_DEPTH. */
int lsel_mp_push(lua_State *L, const msgpack_object *obj, char *err, size_t errlen);

/* Sets mp_encode and mp_decode on the module table at the top of the
 * stack (selectors.core): the codec for specs, and for whoever debugs a
 * worker written in another language.
 *   core.mp_encode(v) -> bytes; raises "mp_encode: <message>" on refusal
 *   core.mp_decode(s) -> value, or nil, message for bad bytes (raises only
 *                        for an argument that is not a string) */
void lsel_open_msgpack(lua_State *L);

#pragma GCC visibility pop

#endif /* SEL_LUA_MSGPACK_H */
