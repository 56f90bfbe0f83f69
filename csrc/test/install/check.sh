#!/usr/bin/env bash
# check.sh BUILD_DIR SOURCE_DIR - the ctest test `install_package`: checks
# libselector as a user meets it.  It installs the build into a temporary
# prefix, builds examples/c/echo_server.c outside the tree twice (with
# `pkg-config selector` and with CMake's find_package(selector), the
# latter also against selector::selector_static), makes sure the shared
# builds really load the installed libselector.so, then starts each server
# on an ephemeral 127.0.0.1 port and talks to it through bash's /dev/tcp
# (no python or nc needed): the seed's messages on two connections at
# once, all 256 byte values, 64 KiB of random bytes, 8 MiB sent before the
# client reads any of it, a client that hangs up without reading, more
# clients than the server has descriptors for, and finally SIGTERM, after
# which the server must exit 0 (under sanitizers that also means no leak).
# A sanitized build (SEL_SANITIZE=ON in the cache) installs sanitized
# libraries, so the consumers are then compiled with the same compiler and
# -fsanitize flags.
# Every wait is bounded; only the servers this script started are killed.
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 BUILD_DIR SOURCE_DIR" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
export LC_ALL=C

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sel-install-check.XXXXXX")
server_pids=()

cleanup() {
  local pid
  for pid in "${server_pids[@]}"; do
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
  echo "install_package: FAIL: $*" >&2
  exit 1
}

step() {
  echo "-- $*"
}

# Prints a log file into the test output, for the failure messages.
show() {
  echo "---- $1" >&2
  cat "$1" >&2 || true
  echo "----" >&2
}

cache_value() {
  sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt" | head -n 1
}

[ -f "$build/CMakeCache.txt" ] || fail "$build is not a CMake build directory"
cc=$(cache_value CMAKE_C_COMPILER)
[ -n "$cc" ] || fail "no CMAKE_C_COMPILER in $build/CMakeCache.txt"
san=()
if [ "$(cache_value SEL_SANITIZE)" = "ON" ]; then
  san=("-fsanitize=address,undefined" -fno-omit-frame-pointer)
fi
flags=(-Wall -Wextra -Werror "${san[@]}")

# ---- install -------------------------------------------------------------

prefix=$tmp/prefix
step "cmake --install $build --prefix $prefix"
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1 ||
  { show "$tmp/install.log"; fail "cmake --install failed"; }

pcfile=$(find "$prefix" -name selector.pc -path '*/pkgconfig/*' | head -n 1)
[ -n "$pcfile" ] || fail "selector.pc was not installed under $prefix"
pcdir=$(dirname "$pcfile")
libdir=$(dirname "$pcdir")
[ -f "$prefix/include/selector.h" ] || fail "selector.h not installed in $prefix/include"
for f in libselector.a libselector.so cmake/selector/selectorConfig.cmake \
         cmake/selector/selectorConfigVersion.cmake; do
  [ -e "$libdir/$f" ] || fail "$libdir/$f was not installed"
done
ls "$libdir"/libselector.so.* >/dev/null 2>&1 ||
  fail "no versioned libselector.so.* in $libdir"

# The shared builds must load the library just installed, not one that
# happens to sit in a system directory.
check_loads_installed() {
  local bin=$1 line
  readelf -d "$bin" | grep -q 'NEEDED.*libselector\.so' ||
    fail "$bin is not linked against the shared libselector"
  line=$(ldd "$bin" | grep 'libselector\.so' || true)
  case $line in
    *"=> $libdir/"*) ;;
    *) fail "$bin loads libselector from elsewhere: '$line' (want $libdir)" ;;
  esac
}

# ---- build with pkg-config ------------------------------------------------

step "build echo_server.c with pkg-config ($cc ${flags[*]})"
export PKG_CONFIG_PATH=$pcdir
pc_flags=$(pkg-config --cflags --libs selector) ||
  fail "pkg-config cannot resolve selector from $pcdir"
case $pc_flags in
  *"-lselector"*) ;;
  *) fail "pkg-config --libs selector lacks -lselector: $pc_flags" ;;
esac
# shellcheck disable=SC2086  # the flags are meant to split into words
"$cc" "${flags[@]}" "$src/examples/c/echo_server.c" $pc_flags \
  -o "$tmp/echo_pkgconfig" >"$tmp/pc-build.log" 2>&1 ||
  { show "$tmp/pc-build.log"; fail "pkg-config build of echo_server.c failed"; }
LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} \
  check_loads_installed "$tmp/echo_pkgconfig"

# ---- build with find_package ------------------------------------------------

step "build echo_server.c with find_package(selector)"
cmake -S "$src/csrc/test/install" -B "$tmp/fp-build" \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" \
  -DCMAKE_C_FLAGS="${flags[*]}" \
  -DCMAKE_EXE_LINKER_FLAGS="${san[*]}" \
  >"$tmp/fp-configure.log" 2>&1 ||
  { show "$tmp/fp-configure.log"; fail "configuring the find_package consumer failed"; }
found=$(sed -n 's/^selector_DIR:PATH=//p' "$tmp/fp-build/CMakeCache.txt")
[ "$found" = "$libdir/cmake/selector" ] ||
  fail "find_package(selector) found '$found', not $libdir/cmake/selector"
cmake --build "$tmp/fp-build" >"$tmp/fp-build.log" 2>&1 ||
  { show "$tmp/fp-build.log"; fail "building the find_package consumer failed"; }
# CMake records the imported library's directory in the build RPATH, so
# this one needs no LD_LIBRARY_PATH.
check_loads_installed "$tmp/fp-build/echo_server"
if readelf -d "$tmp/fp-build/echo_server_static" | grep -q 'NEEDED.*libselector\.so'; then
  fail "echo_server_static is linked against the shared libselector"
fi

# ---- talking to a server ------------------------------------------------------

server_pid=
server_port=
server_out=

# start_server NAME BINARY [ARGS...]: runs it on port 0 and waits (10 s at
# most) for the startup line that names the port.
start_server() {
  local name=$1 bin=$2 i
  shift 2
  server_out=$tmp/$name.out
  "$bin" "$@" 0 >"$server_out" 2>"$tmp/$name.err" &
  server_pid=$!
  server_pids+=("$server_pid")
  server_port=
  for ((i = 0; i < 100; i++)); do
    server_port=$(sed -n 's/^echo server listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$server_out")
    [ -n "$server_port" ] && break
    kill -0 "$server_pid" 2>/dev/null ||
      { show "$tmp/$name.err"; fail "$name exited before listening"; }
    sleep 0.1
  done
  [ -n "$server_port" ] || { show "$server_out"; fail "$name printed no port within 10 s"; }
  [ "$server_port" -gt 0 ] || fail "$name reports port $server_port"
}

# connect VAR: opens a connection and stores its descriptor in VAR.
connect() {
  local new_fd
  exec {new_fd}<>"/dev/tcp/127.0.0.1/$server_port" ||
    fail "cannot connect to 127.0.0.1:$server_port"
  printf -v "$1" '%s' "$new_fd"
}

send_file() {
  timeout 10 cat "$3" >&"$2" || fail "$1: sending $(basename "$3") failed"
}

# check_echo NAME FD FILE: exactly FILE's bytes must arrive on FD within
# 20 s.  head -c reads no further than it needs, so the next echo on the
# same connection is left in place.
check_echo() {
  local size
  size=$(stat -c %s "$3")
  timeout 20 head -c "$size" <&"$2" >"$3.back" ||
    fail "$1: no echo of $(basename "$3") ($size bytes) within 20 s"
  cmp -s "$3" "$3.back" ||
    fail "$1: echo of $(basename "$3") differs ($(stat -c %s "$3.back") of $size bytes back)"
}

# expect_echo NAME FD FILE: sends and checks, the reader running beside
# the writer so that a message larger than the socket buffers cannot
# deadlock.
expect_echo() {
  local reader
  check_echo "$@" &
  reader=$!
  send_file "$@"
  wait "$reader" || exit 1
}

stop_server() {
  local name=$1 i status=0
  kill -TERM "$server_pid" || fail "$name is no longer running"
  for ((i = 0; i < 100; i++)); do
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$server_pid" 2>/dev/null && fail "$name did not exit within 10 s of SIGTERM"
  wait "$server_pid" || status=$?
  [ "$status" -eq 0 ] ||
    { show "$tmp/$name.err"; fail "$name exited with status $status after SIGTERM"; }
}

# The messages: the seed client's three parts, every byte value, and 64 KiB.
printf 'This is the message. ' >"$tmp/m1"
printf 'It will be sent ' >"$tmp/m2"
printf 'in parts.' >"$tmp/m3"
# shellcheck disable=SC2059  # the format is the octal escape of byte i
for ((i = 0; i < 256; i++)); do printf "\\$(printf '%03o' "$i")"; done >"$tmp/bytes"
head -c 65536 /dev/urandom >"$tmp/big"
head -c 8388608 /dev/urandom >"$tmp/huge"
[ "$(stat -c %s "$tmp/bytes")" -eq 256 ] || fail "could not build the 256-byte message"

# exercise NAME BINARY [ARGS...]
exercise() {
  local name=$1 a b c m writer
  step "echo through $name"
  start_server "$@"

  # The seed client: two sockets; each message is sent on both, then
  # both answers are read.
  connect a
  connect b
  for m in m1 m2 m3; do
    send_file "$name" "$a" "$tmp/$m"
    send_file "$name" "$b" "$tmp/$m"
    check_echo "$name" "$a" "$tmp/$m"
    check_echo "$name" "$b" "$tmp/$m"
  done
  expect_echo "$name" "$a" "$tmp/bytes"
  expect_echo "$name" "$b" "$tmp/big"
  exec {a}>&- {b}>&-

  # A client that sends 8 MiB before it starts reading fills every buffer
  # on the way: the server must hold the unsent rest and stop reading
  # until the client drains it, without losing a byte.
  connect c
  timeout 20 cat "$tmp/huge" >&"$c" &
  writer=$!
  sleep 0.5
  check_echo "$name" "$c" "$tmp/huge"
  wait "$writer" || fail "$name: sending huge failed"
  exec {c}>&-

  # A client that sends a lot and hangs up without reading resets the
  # connection under the server's feet; that must cost the server this
  # connection only (and its descriptor, which the next one may reuse).
  connect c
  timeout 10 cat "$tmp/big" >&"$c" || true
  exec {c}>&-
  connect c
  expect_echo "$name" "$c" "$tmp/m1"
  expect_echo "$name" "$c" "$tmp/big"
  exec {c}>&-

  wait_all_closed "$name"
  stop_server "$name"
}

# When the server logs, every connection it accepted must have been closed
# by now, the reset one included: none may linger in the selector.
wait_all_closed() {
  local i accepted=0 closed=0
  for ((i = 0; i < 100; i++)); do
    accepted=$(grep -c '^accepted ' "$server_out" || true)
    closed=$(grep -c '^closing ' "$server_out" || true)
    [ "$accepted" -eq "$closed" ] && return 0
    sleep 0.1
  done
  show "$server_out"
  fail "$1: $accepted connections accepted but $closed closed after 10 s"
}

# env execs the server, so the PID that start_server records is the server's.
exercise pkgconfig env "LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
  "$tmp/echo_pkgconfig"
grep -q '^accepted [0-9][0-9]* from 127\.0\.0\.1:[0-9][0-9]*$' "$server_out" ||
  { show "$server_out"; fail "no 'accepted <fd> from 127.0.0.1:<port>' line"; }
grep -q '^echoing [0-9][0-9]* bytes to [0-9][0-9]*$' "$server_out" ||
  { show "$server_out"; fail "no 'echoing N bytes to <fd>' line"; }
grep -q '^closing [0-9][0-9]*$' "$server_out" ||
  { show "$server_out"; fail "no 'closing <fd>' line"; }
[ "$(grep -c '^accepted ' "$server_out")" -eq 5 ] ||
  { show "$server_out"; fail "pkgconfig: expected 5 accepted connections"; }

exercise find_package "$tmp/fp-build/echo_server" -q
[ "$(wc -l <"$server_out")" -eq 1 ] ||
  { show "$server_out"; fail "-q printed more than the startup line"; }

exercise find_package_static "$tmp/fp-build/echo_server_static" -q

# With few descriptors, accept() fails with EMFILE while clients wait in
# the backlog; the server must say it pauses, and serve them once others
# hang up.  The ulimit is set in the shell that then execs the server.
step "echo through find_package_static with 64 descriptors"
start_server fd_limit bash -c 'ulimit -n 64 && exec "$@"' limited \
  "$tmp/fp-build/echo_server_static" -q
clients=()
for ((i = 0; i < 80; i++)); do
  connect fd
  clients+=("$fd")
  send_file fd_limit "$fd" "$tmp/m1"
done
for ((i = 0; i < 100; i++)); do
  grep -q 'pausing accepts' "$tmp/fd_limit.err" && break
  sleep 0.1
done
grep -q 'pausing accepts' "$tmp/fd_limit.err" ||
  { show "$tmp/fd_limit.err"; fail "fd_limit: no 'pausing accepts' after 80 connections with 64 descriptors"; }
for ((i = 0; i < 40; i++)); do
  fd=${clients[i]}
  exec {fd}>&-
done
for ((i = 40; i < 80; i++)); do
  check_echo fd_limit "${clients[i]}" "$tmp/m1"
done
for ((i = 40; i < 80; i++)); do
  fd=${clients[i]}
  exec {fd}>&-
done
stop_server fd_limit

echo "install_package: OK (pkg-config, find_package shared and static)"
