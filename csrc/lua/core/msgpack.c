/*
 * msgpack.c - Lua values to MessagePack bytes and back (the contract is
 * in msgpack.h), and core.mp_encode / core.mp_decode on top.
 *
 * Packing walks the value recursively with msgpack-c's packer, and keeps,
 * per open table, which element it is in (the key stays on the Lua stack
 * while lua_next walks), so that a refusal can name its path without
 * costing anything on the way when nothing is refused.  Parsing first runs
 * a small validating walker over the bytes, because msgpack-c trusts the
 * counts it reads (an array32 header claiming 4e9 items in a 5-byte frame
 * would have it ask for 64 GB); only bytes that walker accepts reach
 * msgpack_unpack.  Pushing turns the msgpack_object tree into Lua values.
 */
#include "lua/core/msgpack.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <msgpack/unpack_define.h>

/* The installed header's default; the library is built with it. */
#if defined(MSGPACK_EMBED_STACK_SIZE) && MSGPACK_EMBED_STACK_SIZE < SEL_MP_MAX_FRAME_DEPTH
#error "msgpack-c's unpacker cannot hold SEL_MP_MAX_FRAME_DEPTH levels"
#endif

#define MP_MAX_COUNT 0xffffffffu  /* str32, bin32, array32, map32 */

#define STR_(x) #x
#define STR(x) STR_(x)

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

static void set_err(char *err, size_t errlen, const char *fmt, ...) PRINTF_LIKE(3, 4);
static void path_add(char *buf, size_t size, size_t *pos, const char *fmt, ...)
    PRINTF_LIKE(4, 5);

static void set_err(char *err, size_t errlen, const char *fmt, ...) {
  va_list ap;
  if (errlen == 0) return;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
}

/* ---- packing ------------------------------------------------------- */

/* Where the walk is inside each open table: the i-th array element, the
 * value of the key at stack index key, or that key itself. */
enum { AT_INDEX, AT_VALUE, AT_KEY };

typedef struct place {
  int kind;
  int key;             /* stack index of the key (AT_VALUE, AT_KEY) */
  lua_Integer i;       /* AT_INDEX */
} place;

typedef struct packer {
  lua_State *L;
  msgpack_packer *pk;
  const char *what;
  char *err;
  size_t errlen;
  int depth;                                  /* tables open */
  const void *open[SEL_MP_MAX_DEPTH + 1];     /* those tables, to spot a cycle */
  place at[SEL_MP_MAX_DEPTH];
} packer;

static int pack_value(packer *p, int idx);

/* Appends to buf[*pos..size), keeping room for "..." if it runs out. */
static void path_add(char *buf, size_t size, size_t *pos, const char *fmt, ...) {
  va_list ap;
  int n;
  if (*pos + 4 >= size) return;
  va_start(ap, fmt);
  n = vsnprintf(buf + *pos, size - *pos - 3, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n >= size - *pos - 3) {
    *pos = size - 4;
    memcpy(buf + *pos, "...", 4);
    *pos = size - 1;  /* full: nothing more goes in */
  } else {
    *pos += (size_t)n;
  }
}

static int is_identifier(const char *s, size_t len) {
  size_t i;
  if (len == 0 || len > 40 || (s[0] >= '0' && s[0] <= '9')) return 0;
  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9')))
      return 0;
  }
  return 1;
}

/* One step of a path: .name, ["odd key"], [3], [0.5], [true], [table]. */
static void path_key(lua_State *L, int key, char *buf, size_t size, size_t *pos) {
  switch (lua_type(L, key)) {
    case LUA_TSTRING: {
      size_t len, i;
      const char *s = lua_tolstring(L, key, &len);
      char q[48];
      if (is_identifier(s, len)) {
        path_add(buf, size, pos, ".%s", s);
        break;
      }
      for (i = 0; i < len && i < 32; i++) {
        unsigned char c = (unsigned char)s[i];
        q[i] = (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? (char)c : '?';
      }
      q[i] = '\0';
      path_add(buf, size, pos, "[\"%s%s\"]", q, len > 32 ? "..." : "");
      break;
    }
    case LUA_TNUMBER:
#if LUA_VERSION_NUM >= 503
      if (lua_isinteger(L, key)) {
        path_add(buf, size, pos, "[%lld]", (long long)lua_tointeger(L, key));
        break;
      }
#endif
      path_add(buf, size, pos, "[%.17g]", (double)lua_tonumber(L, key));
      break;
    case LUA_TBOOLEAN:
      path_add(buf, size, pos, "[%s]", lua_toboolean(L, key) ? "true" : "false");
      break;
    default:
      path_add(buf, size, pos, "[%s]", luaL_typename(L, key));
  }
}

/* "<msg> (<what><path to the first `upto` levels>)", or "(a key in ...)"
 * when the culprit is the key being packed at the deepest level. */
static int fail_at(packer *p, int upto, const char *msg) {
  char path[160];
  size_t pos = 0;
  int d, askey = upto > 0 && p->at[upto - 1].kind == AT_KEY;
  path_add(path, sizeof path, &pos, "%s", p->what ? p->what : "value");
  for (d = 0; d < upto - askey; d++) {
    if (p->at[d].kind == AT_INDEX)
      path_add(path, sizeof path, &pos, "[%lld]", (long long)p->at[d].i);
    else if (p->at[d].kind == AT_VALUE)
      path_key(p->L, p->at[d].key, path, sizeof path, &pos);
    else
      path_add(path, sizeof path, &pos, "<key>");
  }
  path[pos < sizeof path ? pos : sizeof path - 1] = '\0';
  set_err(p->err, p->errlen, "%s (%s%s)", msg, askey ? "a key in " : "", path);
  return -1;
}

static int fail(packer *p, const char *msg) {
  return fail_at(p, p->depth, msg);
}

/* msgpack-c's packer returns the write callback's result: non-zero is an
 * allocation that failed. */
static int put(packer *p, int rc) {
  return rc == 0 ? 0 : fail(p, "cannot send: out of memory");
}

/* A table one level too deep: if it is a cycle, name the shortest path
 * to where it closes, where the same table comes back. */
static int fail_depth(packer *p, int idx) {
  int m, i;
  p->open[p->depth] = lua_topointer(p->L, idx);
  for (m = 1; m <= p->depth; m++)
    for (i = 0; i < m; i++)
      if (p->open[i] == p->open[m])
        return fail_at(p, m, "too deeply nested: a table contains itself");
  return fail(p, "too deeply nested: more than " STR(SEL_MP_MAX_DEPTH) " levels of tables");
}

/* Is the key at the top of the stack an integer in 1..n? */
static int key_in_range(lua_State *L, size_t n) {
#if LUA_VERSION_NUM >= 503
  lua_Integer k;
  if (!lua_isinteger(L, -1)) return 0;
  k = lua_tointeger(L, -1);
  return k >= 1 && (lua_Unsigned)k <= n;
#else
  lua_Number k;
  if (lua_type(L, -1) != LUA_TNUMBER) return 0;
  k = lua_tonumber(L, -1);
  return k >= 1 && k <= (lua_Number)n && k == floor(k);
#endif
}

/* Counts the keys of the table at idx and says whether they are exactly
 * 1..n: with n its length (a border), all keys integers in 1..n and as
 * many as n, they can only be 1..n. */
static size_t count_keys(lua_State *L, int idx, int *is_array) {
  size_t n = lua_rawlen(L, idx), count = 0;
  int in_range = 1;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    count++;
    if (in_range && !key_in_range(L, n)) in_range = 0;
  }
  *is_array = in_range && count == n;
  return count;
}

static int pack_table(packer *p, int idx) {
  lua_State *L = p->L;
  size_t count, i;
  int is_array, level = p->depth;
  if (level >= SEL_MP_MAX_DEPTH) return fail_depth(p, idx);
  if (lua_getmetatable(L, idx)) {
    lua_pop(L, 1);
    return fail(p, "cannot send a table with a metatable");
  }
  /* key, value, and count_keys's key and value: 3 slots a level. */
  if (!lua_checkstack(L, 3)) return fail(p, "too deeply nested: out of Lua stack");
  count = count_keys(L, idx, &is_array);
  if (count > MP_MAX_COUNT) return fail(p, "cannot send a table of more than 2^32-1 entries");
  p->open[level] = lua_topointer(L, idx);
  p->depth++;
  if (is_array) {
    if (put(p, msgpack_pack_array(p->pk, count)) < 0) return -1;
    p->at[level].kind = AT_INDEX;
    for (i = 1; i <= count; i++) {
      p->at[level].i = (lua_Integer)i;
      lua_rawgeti(L, idx, (lua_Integer)i);
      if (pack_value(p, lua_gettop(L)) < 0) return -1;
      lua_pop(L, 1);
    }
  } else {
    if (put(p, msgpack_pack_map(p->pk, count)) < 0) return -1;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
      int key = lua_gettop(L) - 1;
      p->at[level].key = key;
      p->at[level].kind = AT_KEY;
      if (pack_value(p, key) < 0) return -1;
      p->at[level].kind = AT_VALUE;
      if (pack_value(p, key + 1) < 0) return -1;
      lua_pop(L, 1);
    }
  }
  p->depth--;
  return 0;
}

static int pack_number(packer *p, int idx) {
#if LUA_VERSION_NUM >= 503
  if (lua_isinteger(p->L, idx))
    return put(p, msgpack_pack_int64(p->pk, (int64_t)lua_tointeger(p->L, idx)));
  return put(p, msgpack_pack_double(p->pk, (double)lua_tonumber(p->L, idx)));
#else
  /* No integer subtype: an integral number that int64 holds exactly goes
   * as an integer, so that 3 reaches a worker in another language as 3;
   * -0.0 stays a float to keep its sign.  NaN fails d == floor(d), and
   * the infinities the range. */
  double d = (double)lua_tonumber(p->L, idx);
  if (d == floor(d) && d >= -0x1p63 && d < 0x1p63 && !(d == 0 && signbit(d)))
    return put(p, msgpack_pack_int64(p->pk, (int64_t)d));
  return put(p, msgpack_pack_double(p->pk, d));
#endif
}

/* Well-formed UTF-8: no overlong forms, no surrogates, nothing past
 * U+10FFFF.  ASCII goes 8 bytes at a time. */
static int utf8_valid(const unsigned char *s, size_t len) {
  size_t i = 0;
  while (i < len) {
    unsigned c, c1;
    uint64_t w;
    if (i + 8 <= len) {
      memcpy(&w, s + i, 8);
      if ((w & 0x8080808080808080ull) == 0) {
        i += 8;
        continue;
      }
    }
    c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    if (c < 0xc2) return 0;  /* a continuation byte, or overlong */
    if (c < 0xe0) {
      if (len - i < 2 || (s[i + 1] & 0xc0) != 0x80) return 0;
      i += 2;
      continue;
    }
    if (len - i < 3) return 0;
    c1 = s[i + 1];
    if ((c1 & 0xc0) != 0x80 || (s[i + 2] & 0xc0) != 0x80) return 0;
    if (c < 0xf0) {
      if ((c == 0xe0 && c1 < 0xa0) || (c == 0xed && c1 >= 0xa0)) return 0;
      i += 3;
      continue;
    }
    if (c > 0xf4 || len - i < 4 || (s[i + 3] & 0xc0) != 0x80) return 0;
    if ((c == 0xf0 && c1 < 0x90) || (c == 0xf4 && c1 >= 0x90)) return 0;
    i += 4;
  }
  return 1;
}

static int pack_value(packer *p, int idx) {
  lua_State *L = p->L;
  int t = lua_type(L, idx);
  switch (t) {
    case LUA_TNIL:
      return put(p, msgpack_pack_nil(p->pk));
    case LUA_TBOOLEAN:
      return put(p, lua_toboolean(L, idx) ? msgpack_pack_true(p->pk)
                                          : msgpack_pack_false(p->pk));
    case LUA_TNUMBER:
      return pack_number(p, idx);
    case LUA_TSTRING: {
      size_t len;
      const char *s = lua_tolstring(L, idx, &len);
      if (len > MP_MAX_COUNT) return fail(p, "cannot send a string of 4 GiB or more");
      if (utf8_valid((const unsigned char *)s, len))
        return put(p, msgpack_pack_str_with_body(p->pk, s, len));
      return put(p, msgpack_pack_bin_with_body(p->pk, s, len));
    }
    case LUA_TTABLE:
      return pack_table(p, idx);
    default: {
      char msg[48];
      snprintf(msg, sizeof msg, "cannot send a %s",
               t == LUA_TLIGHTUSERDATA ? "light userdata" : lua_typename(L, t));
      return fail(p, msg);
    }
  }
}

int lsel_mp_pack(lua_State *L, int idx, msgpack_packer *pk, const char *what,
                 char *err, size_t errlen) {
  packer p;
  int top = lua_gettop(L), rc;
  if (idx < 0 && idx > LUA_REGISTRYINDEX) idx = top + idx + 1;
  p.L = L;
  p.pk = pk;
  p.what = what;
  p.err = err;
  p.errlen = errlen;
  p.depth = 0;
  rc = pack_value(&p, idx);
  lua_settop(L, top);
  return rc;
}

/* ---- parsing ------------------------------------------------------- */

static uint64_t load_be(const unsigned char *b, int n) {
  uint64_t v = 0;
  int i;
  for (i = 0; i < n; i++) v = (v << 8) | b[i];
  return v;
}

/* What a header byte announces.  n: bytes of the length or count field
 * that follows (str, bin, ext, array, map), or of the payload (fixed-size
 * scalars).  For ext, one more byte (the type) follows the length. */
enum { K_SCALAR, K_BODY, K_EXT, K_ARRAY, K_MAP, K_BAD };

static int classify(unsigned c, int *n, uint64_t *inline_len) {
  *n = 0;
  *inline_len = 0;
  if (c <= 0x7f || c >= 0xe0) return K_SCALAR;
  if (c <= 0x8f) { *inline_len = c & 0x0f; return K_MAP; }
  if (c <= 0x9f) { *inline_len = c & 0x0f; return K_ARRAY; }
  if (c <= 0xbf) { *inline_len = c & 0x1f; return K_BODY; }
  switch (c) {
    case 0xc0: case 0xc2: case 0xc3: return K_SCALAR;
    case 0xc4: *n = 1; return K_BODY;     /* bin 8/16/32 */
    case 0xc5: *n = 2; return K_BODY;
    case 0xc6: *n = 4; return K_BODY;
    case 0xc7: *n = 1; return K_EXT;      /* ext 8/16/32 */
    case 0xc8: *n = 2; return K_EXT;
    case 0xc9: *n = 4; return K_EXT;
    case 0xca: *n = 4; return K_SCALAR;   /* float 32/64 */
    case 0xcb: *n = 8; return K_SCALAR;
    case 0xcc: case 0xd0: *n = 1; return K_SCALAR;   /* (u)int 8..64 */
    case 0xcd: case 0xd1: *n = 2; return K_SCALAR;
    case 0xce: case 0xd2: *n = 4; return K_SCALAR;
    case 0xcf: case 0xd3: *n = 8; return K_SCALAR;
    case 0xd4: *n = 2; return K_SCALAR;   /* fixext 1..16: type + data */
    case 0xd5: *n = 3; return K_SCALAR;
    case 0xd6: *n = 5; return K_SCALAR;
    case 0xd7: *n = 9; return K_SCALAR;
    case 0xd8: *n = 17; return K_SCALAR;
    case 0xd9: *n = 1; return K_BODY;     /* str 8/16/32 */
    case 0xda: *n = 2; return K_BODY;
    case 0xdb: *n = 4; return K_BODY;
    case 0xdc: *n = 2; return K_ARRAY;
    case 0xdd: *n = 4; return K_ARRAY;
    case 0xde: *n = 2; return K_MAP;
    case 0xdf: *n = 4; return K_MAP;
    default: return K_BAD;                /* 0xc1, never used */
  }
}

/* Checks that data[0..len) is exactly one well-formed object that nests
 * at most SEL_MP_MAX_FRAME_DEPTH containers, with every count and length
 * within the bytes left.  due[d] counts the objects still to come at
 * nesting level d (due[0] the root). */
static int scan(const unsigned char *b, size_t len, char *err, size_t errlen) {
  uint64_t due[SEL_MP_MAX_FRAME_DEPTH + 1];
  int depth = 0;
  size_t pos = 0;
  due[0] = 1;
  for (;;) {
    size_t at = pos, left;
    uint64_t count;
    int kind, n;
    while (due[depth] == 0) {
      if (depth == 0) goto done;
      depth--;
    }
    due[depth]--;
    if (pos >= len) goto truncated;
    kind = classify(b[pos++], &n, &count);
    if (kind == K_BAD) {
      set_err(err, errlen, "malformed MessagePack data: byte 0x%02x at offset %zu",
              (unsigned)b[at], at);
      return -1;
    }
    if (len - pos < (size_t)n) goto truncated;
    if (kind == K_SCALAR) {
      pos += (size_t)n;
      continue;
    }
    if (n > 0) count = load_be(b + pos, n);
    pos += (size_t)n;
    left = len - pos;
    if (kind == K_BODY || kind == K_EXT) {
      if (kind == K_EXT) count += 1;  /* the type byte */
      if (count > left) goto truncated;
      pos += (size_t)count;
      continue;
    }
    if (depth == SEL_MP_MAX_FRAME_DEPTH) {
      set_err(err, errlen,
              "MessagePack data too deeply nested: more than %d levels (offset %zu)",
              SEL_MP_MAX_FRAME_DEPTH, at);
      return -1;
    }
    /* Each item takes a byte at least, so a count past the bytes left is
     * a lie or a truncation: refused before msgpack-c allocates it. */
    if ((kind == K_MAP ? 2 * count : count) > left) {
      set_err(err, errlen,
              "truncated MessagePack data: %s of %llu %s at offset %zu, %zu bytes left",
              kind == K_MAP ? "a map" : "an array", (unsigned long long)count,
              kind == K_MAP ? "pairs" : "items", at, left);
      return -1;
    }
    due[++depth] = kind == K_MAP ? 2 * count : count;
  }
done:
  if (pos != len) {
    set_err(err, errlen,
            "trailing bytes after the MessagePack object: %zu at offset %zu",
            len - pos, pos);
    return -1;
  }
  return 0;
truncated:
  set_err(err, errlen, "truncated MessagePack data: %zu bytes, more needed at offset %zu",
          len, pos > len ? len : pos);
  return -1;
}

int lsel_mp_parse(const char *data, size_t len, msgpack_zone *zone,
                  msgpack_object *obj, char *err, size_t errlen) {
  size_t off = 0;
  msgpack_unpack_return rc;
  if (scan((const unsigned char *)data, len, err, errlen) < 0) return -1;
  rc = msgpack_unpack(data, len, &off, zone, obj);
  if (rc == MSGPACK_UNPACK_SUCCESS) return 0;
  /* The scan accepts only what msgpack-c parses: what is left is memory. */
  if (rc == MSGPACK_UNPACK_NOMEM_ERROR)
    set_err(err, errlen, "MessagePack data: out of memory");
  else
    set_err(err, errlen, "malformed MessagePack data (msgpack-c: %d)", (int)rc);
  return -1;
}

/* ---- pushing ------------------------------------------------------- */

static int push_obj(lua_State *L, const msgpack_object *o, int depth, char *err,
                    size_t errlen);

static int push_container(lua_State *L, const msgpack_object *o, int depth,
                          char *err, size_t errlen) {
  uint32_t i, n;
  if (depth >= SEL_MP_MAX_FRAME_DEPTH) {
    set_err(err, errlen, "MessagePack data too deeply nested: more than %d levels",
            SEL_MP_MAX_FRAME_DEPTH);
    return -1;
  }
  if (!lua_checkstack(L, 3)) {
    set_err(err, errlen, "MessagePack data too deeply nested: out of Lua stack");
    return -1;
  }
  if (o->type == MSGPACK_OBJECT_ARRAY) {
    n = o->via.array.size;
    lua_createtable(L, n <= INT_MAX ? (int)n : 0, 0);
    for (i = 0; i < n; i++) {
      if (push_obj(L, &o->via.array.ptr[i], depth + 1, err, errlen) < 0) return -1;
      lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 0;
  }
  n = o->via.map.size;
  lua_createtable(L, 0, n <= INT_MAX ? (int)n : 0);
  for (i = 0; i < n; i++) {
    const msgpack_object_kv *kv = &o->via.map.ptr[i];
    if (push_obj(L, &kv->key, depth + 1, err, errlen) < 0) return -1;
    if (lua_isnil(L, -1) ||
        (lua_type(L, -1) == LUA_TNUMBER && isnan((double)lua_tonumber(L, -1)))) {
      set_err(err, errlen, "invalid table key (%s) in MessagePack map",
              lua_isnil(L, -1) ? "nil" : "NaN");
      return -1;
    }
    if (push_obj(L, &kv->val, depth + 1, err, errlen) < 0) return -1;
    lua_rawset(L, -3);
  }
  return 0;
}

static int push_obj(lua_State *L, const msgpack_object *o, int depth, char *err,
                    size_t errlen) {
  switch (o->type) {
    case MSGPACK_OBJECT_NIL:
      lua_pushnil(L);
      return 0;
    case MSGPACK_OBJECT_BOOLEAN:
      lua_pushboolean(L, o->via.boolean);
      return 0;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
#if LUA_VERSION_NUM >= 503
      if (o->via.u64 <= (uint64_t)LUA_MAXINTEGER) {
        lua_pushinteger(L, (lua_Integer)o->via.u64);
        return 0;
      }
#endif
      lua_pushnumber(L, (lua_Number)o->via.u64);
      return 0;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
#if LUA_VERSION_NUM >= 503
      lua_pushinteger(L, (lua_Integer)o->via.i64);
#else
      lua_pushnumber(L, (lua_Number)o->via.i64);
#endif
      return 0;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
      lua_pushnumber(L, (lua_Number)o->via.f64);
      return 0;
    case MSGPACK_OBJECT_STR:
      lua_pushlstring(L, o->via.str.ptr, o->via.str.size);
      return 0;
    case MSGPACK_OBJECT_BIN:
      lua_pushlstring(L, o->via.bin.ptr, o->via.bin.size);
      return 0;
    case MSGPACK_OBJECT_ARRAY:
    case MSGPACK_OBJECT_MAP:
      return push_container(L, o, depth, err, errlen);
    case MSGPACK_OBJECT_EXT:
      set_err(err, errlen, "unsupported MessagePack ext type %d", (int)o->via.ext.type);
      return -1;
    default:
      set_err(err, errlen, "unsupported MessagePack object type %d", (int)o->type);
      return -1;
  }
}

int lsel_mp_push(lua_State *L, const msgpack_object *obj, char *err, size_t errlen) {
  int top = lua_gettop(L);
  if (!lua_checkstack(L, 2)) {
    set_err(err, errlen, "MessagePack data: out of Lua stack");
    return -1;
  }
  if (push_obj(L, obj, 0, err, errlen) < 0) {
    lua_settop(L, top);
    return -1;
  }
  return 0;
}

/* ---- core.mp_encode, core.mp_decode -------------------------------- */

/* The buffer and zone of one call live in a userdata, so that a memory
 * error raised by lua_pushlstring or lua_createtable leaks nothing: its
 * __gc frees them.  On the way out they are freed at once. */
#define MP_SCRATCH_MT "selectors.mp_scratch"

typedef struct scratch {
  msgpack_sbuffer sb;
  msgpack_zone zone;
  int has_zone;
} scratch;

static void scratch_free(scratch *s) {
  msgpack_sbuffer_destroy(&s->sb);
  memset(&s->sb, 0, sizeof s->sb);
  if (s->has_zone) msgpack_zone_destroy(&s->zone);
  s->has_zone = 0;
}

static int scratch_gc(lua_State *L) {
  scratch_free(luaL_checkudata(L, 1, MP_SCRATCH_MT));
  return 0;
}

static scratch *scratch_new(lua_State *L) {
  scratch *s = lua_newuserdata(L, sizeof *s);
  memset(s, 0, sizeof *s);
  luaL_setmetatable(L, MP_SCRATCH_MT);
  return s;
}

static int l_mp_encode(lua_State *L) {
  char err[256];
  msgpack_packer pk;
  scratch *s;
  luaL_checkany(L, 1);
  lua_settop(L, 1);
  s = scratch_new(L);
  msgpack_packer_init(&pk, &s->sb, msgpack_sbuffer_write);
  if (lsel_mp_pack(L, 1, &pk, NULL, err, sizeof err) < 0) {
    scratch_free(s);
    return luaL_error(L, "mp_encode: %s", err);
  }
  lua_pushlstring(L, s->sb.data ? s->sb.data : "", s->sb.size);
  scratch_free(s);
  return 1;
}

static int l_mp_decode(lua_State *L) {
  char err[256];
  msgpack_object obj;
  size_t len;
  const char *data;
  scratch *s;
  if (lua_type(L, 1) != LUA_TSTRING)
    return luaL_argerror(L, 1, lua_pushfstring(L, "string expected, got %s",
                                               luaL_typename(L, 1)));
  data = lua_tolstring(L, 1, &len);
  lua_settop(L, 1);
  s = scratch_new(L);
  if (!msgpack_zone_init(&s->zone, 1024)) return luaL_error(L, "mp_decode: out of memory");
  s->has_zone = 1;
  if (lsel_mp_parse(data, len, &s->zone, &obj, err, sizeof err) < 0 ||
      lsel_mp_push(L, &obj, err, sizeof err) < 0) {
    scratch_free(s);
    lua_pushnil(L);
    lua_pushstring(L, err);
    return 2;
  }
  scratch_free(s);
  return 1;
}

void lsel_open_msgpack(lua_State *L) {
  luaL_newmetatable(L, MP_SCRATCH_MT);
  lua_pushcfunction(L, scratch_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  lua_pushcfunction(L, l_mp_encode);
  lua_setfield(L, -2, "mp_encode");
  lua_pushcfunction(L, l_mp_decode);
  lua_setfield(L, -2, "mp_decode");
}
