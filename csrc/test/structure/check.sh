#!/usr/bin/env bash
# check.sh BUILD_DIR SOURCE_DIR LUA_VERSIONS - the shape of the tree and of
# what it builds, as docs/architecture.md describes it (ctest
# structure_layers, label unit).  Fails, naming what broke, when:
#   - the selector's core (csrc/lib/selector.c, source.c) uses a symbol
#     that a source defines (timer.c, threadpool.c, procpool*.c): the core
#     must reach sources only through their hooks;
#   - a source includes the selector's private layout (internal.h);
#   - a file of the C library is longer than 700 lines;
#   - csrc/include holds anything but selector.h, or `cmake --install`
#     installs any other header;
#   - a Lua module (core.so, socket.so) exports anything but luaopen_*;
#   - the rockspec's source lists differ from the build's.
set -uo pipefail
build=$1
src=$2
versions=${3:-}
failed=0
fail() {
  echo "structure: $*" >&2
  failed=1
}

objs=$build/CMakeFiles/selector_objects.dir/csrc/lib
for f in selector source timer threadpool procpool procpool_workers; do
  [ -f "$objs/$f.c.o" ] || fail "no object $objs/$f.c.o"
done

# The core names no source.
defined=$(for f in timer threadpool procpool procpool_workers; do
  nm --defined-only "$objs/$f.c.o" | awk '$2 ~ /^[TDBR]$/ {print $3}'
done | sort -u)
for f in selector source; do
  used=$(nm -u "$objs/$f.c.o" | awk '{print $2}' | sort -u)
  both=$(comm -12 <(echo "$defined") <(echo "$used"))
  [ -z "$both" ] || fail "csrc/lib/$f.c uses what a source defines: $both"
done

# Sources see the selector through source.h only.
for f in timer threadpool procpool procpool_workers; do
  if grep -q '#include "internal.h"' "$src/csrc/lib/$f.c"; then
    fail "csrc/lib/$f.c includes internal.h"
  fi
done

# One responsibility per file.
for f in "$src"/csrc/lib/*.c "$src"/csrc/lib/*.h; do
  n=$(wc -l <"$f")
  [ "$n" -le 700 ] || fail "${f#"$src"/} has $n lines (more than 700)"
done

# One public header, and only it is installed.
public=$(cd "$src/csrc/include" && ls -A)
[ "$public" = "selector.h" ] || fail "csrc/include holds: $public"
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
if cmake --install "$build" --prefix "$prefix" >/dev/null; then
  headers=$(cd "$prefix" && find . -name '*.h' | sort)
  [ "$headers" = "./include/selector.h" ] || fail "installed headers: $headers"
else
  fail "cmake --install failed"
fi

# Lua modules export luaopen_* alone.
for v in $versions; do
  for m in core socket; do
    so=$build/lua/$v/selectors/$m.so
    [ -f "$so" ] || { fail "no $so"; continue; }
    extra=$(nm -D --defined-only "$so" | awk '{print $3}' | grep -v '^luaopen_selectors_' || true)
    [ -z "$extra" ] || fail "$so exports more than luaopen_*: $(echo $extra)"
  done
done

# The rockspec lists what the build compiles.
cmake_list() {  # FILE VAR: the csrc/ paths of set(VAR ...) in FILE
  awk -v var="$2" '
    $0 ~ "set\\(" var "( |$)" {on = 1}
    on {for (i = 1; i <= NF; i++) if ($i ~ /^csrc\//) {s = $i; sub(/\)$/, "", s); print s}}
    on && /\)/ {on = 0}' "$1"
}
rock_list() {  # NAME: the paths of `local NAME = {...}` in the rockspec
  awk -v var="$1" '
    $0 ~ "^local " var " = \\{" {on = 1; next}
    on && /^\}/ {on = 0}
    on {gsub(/[",[:space:]]/, ""); if ($0 != "") print}' \
    "$src/rockspec/selectors-scm-1.rockspec"
}
lib=$(cmake_list "$src/CMakeLists.txt" SEL_SOURCES)
common=$(cmake_list "$src/cmake/LuaModules.cmake" SEL_LUA_COMMON_SOURCES)
core=$(cmake_list "$src/cmake/LuaModules.cmake" SEL_LUA_core_SOURCES)
socket=$(cmake_list "$src/cmake/LuaModules.cmake" SEL_LUA_socket_SOURCES)
[ -n "$lib" ] && [ -n "$core" ] && [ -n "$socket" ] || fail "source lists not found"
want_core=$(printf '%s\n' $common $core $lib | sort)
want_socket=$(printf '%s\n' $common $socket | sort)
have_core=$(rock_list core_sources | sort)
have_socket=$(rock_list socket_sources | sort)
[ "$want_core" = "$have_core" ] ||
  fail "rockspec core_sources differ: $(diff <(echo "$want_core") <(echo "$have_core") | grep '^[<>]' | tr '\n' ' ')"
[ "$want_socket" = "$have_socket" ] ||
  fail "rockspec socket_sources differ: $(diff <(echo "$want_socket") <(echo "$have_socket") | grep '^[<>]' | tr '\n' ' ')"
# Every C file of the tree is built by one of the lists.
all=$(cd "$src" && find csrc/lib csrc/lua -name '*.c' | sort)
built=$(printf '%s\n' $lib $common $core $socket | sort -u)
[ "$all" = "$built" ] ||
  fail "C files not in a source list: $(comm -23 <(echo "$all") <(echo "$built") | tr '\n' ' ')"

[ "$failed" -eq 0 ] && echo "structure: all checks passed"
exit "$failed"
