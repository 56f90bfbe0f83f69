-- fuzz_api: random API calls (issue 12), meant to run against the ASan+UBSan
-- modules of build-asan/ on Lua 5.4 and LuaJIT (stress/fuzz_api.sh).
--
-- A random sequence, from a fixed seed, of calls drawn from a table of
-- operations on DefaultSelector (register, unregister, modify, get_key,
-- get_map, select, run_once, run, call_later, cancel, stop, wakeup, close),
-- selectors.socket objects (socketpair, socket, create_server,
-- create_connection, bind, listen, accept, connect, send, recv, close,
-- settimeout, setsockopt, ...), timers, and small ThreadPools and
-- ProcessPools (submit, apply_async, apply, map, result and exception with
-- timeouts, cancel, close, join, terminate, shutdown), with random and
-- often invalid arguments: wrong types, NaN, negative and huge numbers,
-- closed objects, objects whose fileno() misbehaves, closes the selector
-- or re-enters it. Every call runs under pcall: errors the library raises
-- are fine. Checked after each step: get_map agrees with what was
-- registered (keys identical to those register/modify returned), and
-- every few steps a registered socketpair end that holds unread data is
-- reported readable by select(0). Failures: a leaked internal error (a
-- position inside selectors/*.lua that the docs do not promise, or
-- "attempt to ..." from inside the library), a broken invariant, a step
-- that blocks, or descriptors left open after everything was closed. The
-- crash and sanitizer side is the wrapper's.
--
-- Relies on: Linux /proc/self/fdinfo (descriptor count), a writable
-- directory for AF_UNIX paths, loopback networking, math.random's sequence
-- for a seed (per interpreter). Known defects can be tolerated with
-- SEL_FUZZ_ALLOW=FILE, a file of Lua patterns, one a line (# comments),
-- matched against the leaked message (none at present).
--
-- Usage: lua stress/fuzz_api.lua STEPS SEED TMPDIR JOURNAL
local selectors = require "selectors"
local socket = require "selectors.socket"
local core = require "selectors.core"

local steps_wanted = assert(tonumber(arg[1]), "STEPS expected")
local seed = assert(tonumber(arg[2]), "SEED expected")
local tmpdir = assert(arg[3], "TMPDIR expected")
local journal = assert(io.open(assert(arg[4], "JOURNAL expected"), "w"))
journal:setvbuf("line")

local unpack = table.unpack or unpack -- luacheck: ignore 143
local R = math.random
local clock = core._clock
local format = string.format
local interp = jit and "luajit" or _VERSION:gsub("Lua ", "lua")
local NAN = 0 / 0

math.randomseed(seed)

-- The methods, taken from real objects, so that they can be called with
-- any value as self (a wrong self must raise cleanly, not crash).
local SELM, SOCKM, TIMERM = {}, {}, {}
do
  local s = selectors.DefaultSelector()
  for _, n in ipairs({"register", "unregister", "modify", "get_key", "get_map", "select", "run", "run_once",
                      "stop", "wakeup", "close", "call_later"}) do SELM[n] = s[n] end
  local t = s:call_later(1, string.len)
  TIMERM.cancel, TIMERM.cancelled = t.cancel, t.cancelled
  s:close()
  local a, b = socket.socketpair()
  for _, n in ipairs({"bind", "listen", "accept", "connect", "recv", "recvfrom", "send", "sendall", "sendto",
                      "setblocking", "settimeout", "gettimeout", "setsockopt", "getsockopt", "shutdown",
                      "getsockname", "getpeername", "fileno", "close"}) do SOCKM[n] = a[n] end
  a:close()
  b:close()
end

local function chance(p) return R() < p end
local function pick(t) return t[R(t.n or #t)] end
-- A list that may hold nils: pick() knows its length.
local function L(...) return {n = select("#", ...), ...} end
local function pack(...) return {n = select("#", ...), ...} end
local function say(...) io.write(format(...), "\n") io.stdout:flush() end

---------------------------------------------------------------------------
-- Allowed (known) leaks

local allow = {}
do
  local path = os.getenv("SEL_FUZZ_ALLOW")
  if path and path ~= "" then
    local f = assert(io.open(path), "SEL_FUZZ_ALLOW: cannot open " .. path)
    for line in f:lines() do
      local pat = line:gsub("%s+#.*$", ""):gsub("^%s+", ""):gsub("%s+$", "")
      if pat ~= "" and not pat:find("^#") then allow[#allow + 1] = pat end
    end
    f:close()
  end
end

---------------------------------------------------------------------------
-- Findings

local step = 0
local current_op, current_args = "?", nil
local describe          -- a value as the journal shows it (defined with the world)
local findings, finding_order = {}, {}
local function finding(kind, detail)
  local f = findings[kind]
  if f == nil then
    if current_args then
      local d = {}
      for i = 1, current_args.n do d[i] = describe(current_args[i]) end
      detail = tostring(detail) .. " <- " .. current_op .. "(" .. table.concat(d, ", ") .. ")"
    end
    f = {count = 0, step = step, op = current_op, detail = detail}
    findings[kind] = f
    finding_order[#finding_order + 1] = kind
    journal:write(format("  FINDING at step %d (%s): %s: %s\n", step, current_op, kind, tostring(detail)))
  end
  f.count = f.count + 1
end

local calls, raised = 0, 0
local messages, message_order = {}, {}   -- normalized first lines -> count

local function normalize(line)
  return (line:gsub("0x%x+", "0x?"):gsub("fd %d+", "fd N"):gsub("fd=%d+", "fd=N")
              :gsub("[^%s]*/(selectors/[%w_]+%.lua:%d+:)", "%1"):gsub("[^%s]*/(fuzz_api%.lua:)%d+:", "%1")
              :gsub(tmpdir:gsub("%p", "%%%0"), "TMPDIR"))
end

-- Positions inside the library that the docs promise (docs/lua.md:
-- "Lua puts a position inside selectors/pool.lua in front").
local DOCUMENTED_AT_POSITION = {"^result: timeout$", "^exception: timeout$", "^ThreadPool: ", "^ProcessPool: "}
local RUNS_SELECTOR = {run = true, run_once = true, result = true, exception = true, apply = true, map = true,
                      join = true, shutdown = true}

local CALLS_FILENO = {register = true, unregister = true, modify = true, get_key = true}

local function classify(op, err)
  if type(err) ~= "string" then
    if err == nil then finding("raised nil", op) end
    return
  end
  local line = err:match("^[^\n]*")
  if line:find("attempt to use a closed socket", 1, true) then return end
  local norm = normalize(line)
  if messages[norm] == nil then
    messages[norm] = 0
    message_order[#message_order + 1] = norm
  end
  messages[norm] = messages[norm] + 1
  if line:find("fuzz_api%.lua:%d+: attempt to") then
    finding("the fuzzer itself raised (a bug in fuzz_api.lua)", line)
    return
  end
  local leak
  local rest = line:match("selectors/[%w_]+%.lua:%d+: (.*)$")
  if rest then
    leak = true
    for _, p in ipairs(DOCUMENTED_AT_POSITION) do
      if rest:find(p) then leak = false end
    end
  end
  if line:find("attempt to %a") then
    -- run and run_once (and the waits of pools, which run the selector)
    -- call key.data, and register & co. call fileno() or getfd(): Lua's
    -- own error when the user's value is no function is the caller's bug,
    -- as Python's TypeError would be. Listed as a note, not a failure.
    if line:find("^attempt to call a [%w%.%*_]+ value$") and (RUNS_SELECTOR[op] or CALLS_FILENO[op]) then
      finding("note (not a failure): Lua's own error for a user value that is not callable: " .. norm, line)
      return
    end
    leak = true
  end
  if leak then
    for _, p in ipairs(allow) do
      if line:find(p) then
        finding("tolerated (SEL_FUZZ_ALLOW): " .. norm, line)
        return
      end
    end
    finding("leaked internal error: " .. norm, line)
    return
  end
end

-- Calls f(...) under pcall; returns the packed results of pcall.
local epoch = 0          -- bumped by every call, and by what changes registrations or sockets

local function call(op, f, ...)
  calls = calls + 1
  -- A call made from a callback inside the readiness check's select (a
  -- select there replaces the batch being walked) voids the check.
  epoch = epoch + 1
  local saved, saved_args = current_op, current_args
  current_op, current_args = op, pack(...)
  local res = pack(pcall(f, ...))
  if not res[1] then
    raised = raised + 1
    classify(op, res[2])
  end
  current_op, current_args = saved, saved_args
  return res
end

---------------------------------------------------------------------------
-- The world

local sels = {}          -- selectors made (closed ones too), at most 6
local model = {}         -- selector -> {[fd] = {key, events, fileobj, data, sock}}
local socks = {}         -- open (or recently closed) sockets
local closed_socks = {}  -- a few closed sockets, as arguments
local is_sock = setmetatable({}, {__mode = "k"})
-- (weak values too: LuaJIT has no ephemerons, two ends would keep each other)
local peer = setmetatable({}, {__mode = "kv"})    -- socketpair (stream) ends
local pending = setmetatable({}, {__mode = "k"})  -- unread bytes sent by the peer
local servers = {}       -- listening TCP sockets: {sock, port}
local unix_paths = {}
local timers = {}
local pools = {}         -- {pool =, kind =, sel =}
local futures = {}
local pids_seen = {}
local objs = {}          -- misbehaving file objects
local depth = 0          -- callbacks inside callbacks
local MAX_SOCKS, MAX_SELS, MAX_POOLS = 40, 6, 2

local is_selector = setmetatable({}, {__mode = "k"})
local function is_closed(sel)
  return tostring(sel):find("(closed)", 1, true) ~= nil
end

local function model_of(sel)
  local m = model[sel]
  if m == nil then
    m = {}
    model[sel] = m
  end
  return m
end

local function open_sels()
  local t = {}
  for _, s in ipairs(sels) do
    if not is_closed(s) then t[#t + 1] = s end
  end
  return t
end

local function open_socks()
  local t = {}
  for _, s in ipairs(socks) do
    if s:fileno() >= 0 then t[#t + 1] = s end
  end
  return t
end

local function sock_with_fd(fd)
  for _, s in ipairs(socks) do
    if s:fileno() == fd then return s end
  end
  return nil
end

local function add_sock(s)
  if type(s) ~= "userdata" then return end
  is_sock[s] = true
  socks[#socks + 1] = s
  epoch = epoch + 1
end

-- Drops closed sockets from the list, keeping a few as arguments.
local function tidy_socks()
  local keep = {}
  for _, s in ipairs(socks) do
    if s:fileno() >= 0 then
      keep[#keep + 1] = s
    elseif #closed_socks < 8 then
      closed_socks[#closed_socks + 1] = s
    end
  end
  socks = keep
end

-- A blocking socket call must not block: a timeout of 5 ms at most
-- (strict: sendall waits on a non-blocking socket too).
local function guard(s, strict)
  if not is_sock[s] or s:fileno() < 0 then return end
  local t = s:gettimeout()
  if t == nil or t > 0.01 or (strict and t == 0) then s:settimeout(0.005) end
end

local obj_kind = setmetatable({}, {__mode = "k"})
local sel_id = setmetatable({}, {__mode = "k"})
local n_sel_ids = 0
function describe(v)
  local t = type(v)
  if is_selector[v] then
    if sel_id[v] == nil then
      n_sel_ids = n_sel_ids + 1
      sel_id[v] = n_sel_ids
    end
    return "selector#" .. sel_id[v] .. (is_closed(v) and "(closed)" or "")
  end
  if is_sock[v] then
    local fd = v:fileno()
    return fd >= 0 and ("socket fd " .. fd) or "socket(closed)"
  end
  if obj_kind[v] then return "object with " .. obj_kind[v] end
  if t == "string" then return format("%q", #v > 20 and v:sub(1, 20) .. "..." or v) end
  if t == "number" or t == "boolean" or t == "nil" then return tostring(v) end
  if t == "table" and rawget(v, "executor") then return rawget(v, "id") and "a future" or "a pool" end
  return t
end

---------------------------------------------------------------------------
-- Registrations, with the model kept in step

local function same(a, b) return rawequal(a, b) or (a ~= a and b ~= b) end

local function check_key_fields(op, key, obj, data)
  if type(key) ~= "table" then
    finding(op .. " returned no key table", type(key))
    return false
  end
  if not rawequal(key.fileobj, obj) then finding(op .. ": key.fileobj is not the object given", op) end
  if not same(key.data, data) then finding(op .. ": key.data is not the data given", op) end
  if type(key.fd) ~= "number" or key.fd < 0 then finding(op .. ": key.fd is not a descriptor", tostring(key.fd)) end
  return true
end

local function do_register(sel, obj, events, data)
  local key = SELM.register(sel, obj, events, data)
  epoch = epoch + 1
  if not check_key_fields("register", key, obj, data) then return key end
  if is_closed(sel) then
    finding("register returned a key on a closed selector", tostring(key.fd))
    return key
  end
  local m = model_of(sel)
  if m[key.fd] then finding("register replaced a registration", tostring(key.fd)) end
  m[key.fd] = {key = key, events = key.events, fileobj = obj, data = data, sock = sock_with_fd(key.fd)}
  if key.events ~= events + 0 then finding("register: key.events differs", tostring(events)) end
  return key
end

local function do_unregister(sel, obj)
  local key = SELM.unregister(sel, obj)
  epoch = epoch + 1
  local m = model_of(sel)
  if type(key) ~= "table" then
    finding("unregister returned no key", type(key))
  elseif m[key.fd] == nil then
    finding("unregister removed what was not registered", tostring(key.fd))
  else
    if not rawequal(m[key.fd].key, key) then finding("unregister returned another key", tostring(key.fd)) end
    m[key.fd] = nil
  end
  return key
end

local function do_modify(sel, obj, events, data)
  local key = SELM.modify(sel, obj, events, data)
  epoch = epoch + 1
  local m = model_of(sel)
  if type(key) ~= "table" or m[key.fd] == nil then
    finding("modify returned a key for nothing registered", tostring(type(key) == "table" and key.fd))
    return key
  end
  local e = m[key.fd]
  if e.events == events + 0 and not rawequal(e.key, key) then
    finding("modify with the same events returned a new key", tostring(key.fd))
  end
  if not same(key.data, data) then finding("modify: key.data is not the data given", "") end
  e.key, e.events, e.data = key, key.events, data
  return key
end

local function do_get_key(sel, obj)
  local key = SELM.get_key(sel, obj)
  local m = model_of(sel)
  if type(key) ~= "table" or m[key.fd] == nil or not rawequal(m[key.fd].key, key) then
    finding("get_key returned a key that register/modify did not", tostring(type(key) == "table" and key.fd))
  end
  return key
end

local function do_close_sel(sel)
  SELM.close(sel)
  if is_selector[sel] then model[sel] = {} end
  epoch = epoch + 1
end

---------------------------------------------------------------------------
-- Random arguments

local JUNK = L(nil, true, false, 0, -1, 1, 1.5, 2 ^ 31, 2 ^ 53, -2 ^ 63, math.huge, -math.huge, NAN, "",
              "x", "1", "0.001", "fileno", {}, {1, 2}, string.len, function() end,
              coroutine.create(function() end), io.stdout, setmetatable({}, {__index = function() return 1 end}))
local function junk()
  local r = R(JUNK.n + 6)
  if r <= JUNK.n then return JUNK[r] end
  r = r - JUNK.n
  if r == 1 then return pick(sels) end
  if r == 2 and #socks > 0 then return pick(socks) end
  if r == 3 and #timers > 0 then return pick(timers) end
  if r == 4 and #pools > 0 then return pick(pools).pool end
  if r == 5 and #futures > 0 then return pick(futures) end
  return nil
end

local function any_sel()
  if chance(0.92) then
    local open = open_sels()
    if #open > 0 then return pick(open) end
  end
  if chance(0.5) and #sels > 0 then return pick(sels) end
  return junk()
end

local function any_sock()
  if chance(0.9) then
    local open = open_socks()
    if #open > 0 then return pick(open) end
  end
  if chance(0.7) and #closed_socks > 0 then return pick(closed_socks) end
  return junk()
end

-- A registered fileobj of sel, for unregister/modify/get_key.
local function registered_of(sel)
  local m = model[sel]
  if m == nil then return nil end
  local fds = {}
  for fd in pairs(m) do fds[#fds + 1] = fd end
  if #fds == 0 then return nil end
  table.sort(fds)
  local e = m[pick(fds)]
  if chance(0.8) then return e.fileobj end
  return e.key.fd
end

local random_step   -- forward

-- Something for a selector to call: model-aware actions on sel.
local function make_callback(sel)
  local kind = R(10)
  if kind == 10 and chance(0.5) then return setmetatable({}, {__call = function() end}) end
  return function(a)
    if depth >= 2 then return end
    depth = depth + 1
    local ok, err = pcall(function()
      if kind == 2 then
        if is_sock[a] and a:fileno() >= 0 then
          guard(a)
          local data = a:recv(4096)
          if type(data) == "string" and pending[a] then pending[a] = math.max(0, pending[a] - #data) end
        end
      elseif kind == 3 then
        error("fuzz: callback error")
      elseif kind == 4 then
        error({fuzz = true})
      elseif kind == 5 then
        do_unregister(sel, a)
      elseif kind == 6 then
        do_close_sel(sel)
      elseif kind == 7 then
        random_step(true)
      elseif kind == 8 then
        SELM.stop(sel)
      elseif kind == 9 and #timers > 0 then
        local t = pick(timers)
        t:cancel()
      end
    end)
    depth = depth - 1
    if not ok then error(err, 0) end
  end
end

local function any_data(sel)
  if chance(0.8) then return make_callback(sel) end
  return junk()
end

local function any_events()
  if chance(0.88) then return R(3) end
  return pick(L(0, 4, -1, 1.5, "1", NAN, 2 ^ 40, 1.0, 3.0, {}, true, nil))
end

local function any_timeout()
  if chance(0.85) then return pick({0, 0, 0, 0.001, 0.003}) end
  return pick({-1, -math.huge, NAN, "0", "x", "0.001", {}, true, 1e-9})
end

-- A file object that misbehaves in one way or another.
local OBJ_KINDS = {"fileno() giving a socket's fd", "fileno() giving -1", "fileno() giving nothing",
                   "fileno() giving a string", "fileno() giving a fraction", "fileno() giving 2^40",
                   "fileno() giving NaN", "fileno() raising", "fileno() closing the selector",
                   "fileno() answering differently each call", "fileno() re-entering the selector",
                   "fileno() giving the object", "fileno() raising a table", "fileno() giving two values"}
local function make_obj(sel)
  local s = any_sock()
  local fd = is_sock[s] and s:fileno() or R(0, 64)
  local kind = R(14)
  local o = {}
  local calls_made = 0
  local getter = function(self)
    calls_made = calls_made + 1
    if kind == 1 then return fd end
    if kind == 2 then return -1 end
    if kind == 3 then return nil end
    if kind == 4 then return tostring(fd) end
    if kind == 5 then return fd + 0.5 end
    if kind == 6 then return 2 ^ 40 end
    if kind == 7 then return NAN end
    if kind == 8 then error("fuzz: fileno error") end
    if kind == 9 then                          -- closes the selector
      if is_selector[sel] then do_close_sel(sel) end
      return fd
    end
    if kind == 10 then                         -- a different answer each time
      return calls_made % 2 == 1 and fd or R(0, 64)
    end
    if kind == 11 then                         -- re-enters the selector
      if depth < 2 and sel then
        depth = depth + 1
        pcall(random_step, true)
        depth = depth - 1
      end
      return fd
    end
    if kind == 12 then return self end
    if kind == 13 then error({}) end
    return fd, "extra"
  end
  local method = chance(0.85) and "fileno" or "getfd"
  o[method] = getter
  obj_kind[o] = OBJ_KINDS[kind]:gsub("fileno%(%)", method .. "()")
  if chance(0.1) then
    local kind_name = obj_kind[o]
    o = setmetatable({}, {__index = o, __tostring = function() error("fuzz: tostring error") end})
    obj_kind[o] = kind_name .. ", and a __tostring that raises"
  end
  objs[#objs + 1] = o
  if #objs > 20 then table.remove(objs, 1) end
  return o
end

local closed_file = io.open("/dev/null")
closed_file:close()

local function any_fileobj(sel)
  local r = R(20)
  if r <= 11 then return any_sock() end
  if r <= 14 then return make_obj(sel) end
  if r == 15 then
    local s = any_sock()
    return is_sock[s] and s:fileno() or R(0, 64)
  end
  if r == 16 and #objs > 0 then return pick(objs) end
  if r == 17 then return pick({closed_file, io.stdin, io.stderr}) end
  if r == 18 then return pick({-1, 2 ^ 31, 2 ^ 53, 3.0, 0.5, NAN, math.huge, -0.0}) end
  return junk()
end

-- After each step: get_map agrees with the model, on every selector.
local function check_maps()
  for _, sel in ipairs(sels) do
    local m = model_of(sel)
    if is_closed(sel) then
      if next(m) ~= nil then
        model[sel] = {}   -- closed by something the model did not see (a __gc, a pool)
      end
      local ok, map = pcall(sel.get_map, sel)
      if not ok or map ~= nil then finding("get_map on a closed selector is not nil", tostring(map)) end
    else
      local ok, map = pcall(sel.get_map, sel)
      if not ok or type(map) ~= "table" then
        finding("get_map failed on an open selector", tostring(map))
      else
        local n_model, n_map = 0, 0
        for fd, e in pairs(m) do
          n_model = n_model + 1
          if not rawequal(map[fd], e.key) then
            finding("get_map disagrees with what was registered", ("fd %d"):format(fd))
          end
        end
        for fd in pairs(map) do
          n_map = n_map + 1
          if m[fd] == nil then finding("get_map holds a key never registered", ("fd %s"):format(tostring(fd))) end
        end
        if n_map ~= n_model then finding("get_map counts differ", ("%d vs %d"):format(n_map, n_model)) end
      end
    end
  end
end

-- Every few steps: a registered socketpair end holding unread data is
-- reported readable by select(0) (unless something changed meanwhile).
local readiness_checks, readiness_skipped = 0, 0
local function check_readiness()
  local open = open_sels()
  if #open == 0 then return end
  local sel = pick(open)
  local want = {}
  for fd, e in pairs(model_of(sel)) do
    local s = e.sock
    if s and s:fileno() == fd and pending[s] and pending[s] > 0 and e.events % 2 == 1 then want[fd] = true end
  end
  if next(want) == nil then return end
  local before = epoch
  local got = {}
  local ok = pcall(function()
    for key, mask in sel:select(0) do
      if mask % 2 == 1 then got[key.fd] = true end
    end
  end)
  if not ok or epoch ~= before or is_closed(sel) then
    readiness_skipped = readiness_skipped + 1
    return
  end
  readiness_checks = readiness_checks + 1
  for fd in pairs(want) do
    if not got[fd] then
      finding("a registered socketpair end with unread data was not reported readable",
              ("fd %d, %d bytes"):format(fd, pending[model_of(sel)[fd].sock]))
    end
  end
end

---------------------------------------------------------------------------
-- Operations

local function socket_result(res)
  if res[1] then
    for i = 2, res.n do
      if is_sock[res[i]] == nil and type(res[i]) == "userdata" and tostring(res[i]):find("selectors.socket") then
        add_sock(res[i])
      end
    end
  end
end

local HOSTS = L("127.0.0.1", "127.0.0.1", "::1", "", "*", "localhost", "0.0.0.0", "<broadcast>", 42, nil, {})
local function any_port()
  if chance(0.4) and #servers > 0 then return pick(servers).port end
  return pick(L(0, 0, 0, -1, 65536, 1.5, "x", NAN, nil))
end

local function any_address(s)
  local r = R(10)
  if r <= 5 then return pick(HOSTS), any_port() end
  if r <= 8 then
    local path
    if chance(0.5) or #unix_paths == 0 then
      path = tmpdir .. "/s" .. R(1, 30)
      unix_paths[#unix_paths + 1] = path
    else
      path = pick(unix_paths)
    end
    if chance(0.1) then path = tmpdir .. "/" .. string.rep("p", 120) end
    if chance(0.1) then path = "\0fuzz-" .. seed .. "-" .. R(1, 5) end
    return path
  end
  if s then return junk(), junk() end
  return junk()
end

local FAMILIES = {socket.AF_INET, socket.AF_INET6, socket.AF_UNIX}
local TYPES = {socket.SOCK_STREAM, socket.SOCK_DGRAM}
local OPTS = {
  {socket.SOL_SOCKET, socket.SO_REUSEADDR}, {socket.SOL_SOCKET, socket.SO_KEEPALIVE},
  {socket.SOL_SOCKET, socket.SO_BROADCAST}, {socket.SOL_SOCKET, socket.SO_RCVBUF},
  {socket.SOL_SOCKET, socket.SO_SNDBUF}, {socket.SOL_SOCKET, socket.SO_LINGER},
  {socket.SOL_SOCKET, socket.SO_ERROR}, {socket.IPPROTO_TCP, socket.TCP_NODELAY},
  {socket.IPPROTO_IPV6, socket.IPV6_V6ONLY}, {socket.SOL_SOCKET, socket.SO_REUSEPORT},
  {-1, 1}, {9999, 9999}, {"x", 1}, {socket.SOL_SOCKET, -5},
}
local OPT_VALUES = L(true, false, 0, 1, -1, 2 ^ 31, 2 ^ 40, 1.5, NAN, "x", nil, {}, 4096, 65536, math.huge)
local SIZES = L(1, 1, 16, 4096, 65536, 65537, 0, -1, 2 ^ 31, 2 ^ 53, 1.5, NAN, "x", nil, math.huge, 2 ^ 20)

local function any_data_string()
  local r = R(8)
  if r <= 3 then return string.rep("d", R(1, 64)) end
  if r == 4 then return string.rep("e", R(65, 70000)) end
  if r == 5 then return "" end
  return junk()
end

-- Tasks: quick, and raising only on purpose (no "attempt to ..." of their
-- own: LuaJIT's math.max compares its arguments, so it is not here).
local TASKS = {
  function(...) return ... end,
  function(...) return select("#", ...) end,
  function() error("fuzz task error") end,
  function() error({}) end,
  function() return function() end end,
  function() local s = 0 for i = 1, 200 do s = s + i end return s end,
  function(x) return {x, {x}} end,
  "string.rep", "string.upper", "math.abs", "tostring", "no.such.module.fn", "string.nosuch", "select",
  string.len, 42, nil,
}
local function any_task()
  if chance(0.05) then
    local up = R(9)
    return function() return up end   -- an upvalue: refused
  end
  return TASKS[R(#TASKS)]
end

local function any_task_arg()
  local r = R(12)
  if r <= 3 then return R(-1, 5) end
  if r <= 6 then return pick({"ab", "", "x", "#", "string"}) end
  if r == 7 then return chance(0.5) end
  if r == 8 then return {1, "two", {three = 3}} end
  if r == 9 then return 1.5 end
  if r == 10 then return nil end
  return pick({print, io.stdout, setmetatable({}, {}), coroutine.create(function() end)})
end

local function task_args()
  local args = {n = R(0, 3)}
  for i = 1, args.n do args[i] = any_task_arg() end
  return args
end

local function live_pools()
  local n = 0
  for _, p in ipairs(pools) do
    if p.pool.state ~= "joined" then n = n + 1 end
  end
  return n
end

local function any_pool()
  if #pools == 0 then return nil end
  return pick(pools).pool
end

local function any_future()
  if #futures == 0 then return nil end
  return pick(futures)
end

local function add_future(res)
  if res[1] and type(res[2]) == "table" and res[2].state then
    futures[#futures + 1] = res[2]
    if #futures > 60 then table.remove(futures, 1) end
  end
end

local function note_pids(p)
  if p and p.pids then
    local ok, pids = pcall(p.pids, p)
    if ok and type(pids) == "table" then
      for _, pid in ipairs(pids) do pids_seen[pid] = true end
    end
  end
end

local RESULT_TIMEOUTS = L(0, 0, 0.001, 0.05, 0.05, -1, nil, nil, NAN, "x", "0.01", {}, true, math.huge)

local blocking_guarded = 0
-- Makes a wait that may block for ever end soon: a wake-up or a timer.
local function unblock(sel)
  if is_closed(sel) then return end
  blocking_guarded = blocking_guarded + 1
  if chance(0.5) then
    sel:wakeup()
  else
    sel:call_later(0.002, function() end)
  end
end

local ops = {}
local function op(name, weight, fn) ops[#ops + 1] = {name = name, weight = weight, fn = fn} end

-- Selectors
op("DefaultSelector", 2, function()
  if #open_sels() >= 3 or #sels >= MAX_SELS then
    -- Forget the oldest closed one, or close one.
    for i, s in ipairs(sels) do
      if is_closed(s) then
        local in_use = false
        for _, p in ipairs(pools) do if rawequal(p.sel, s) then in_use = true end end
        if not in_use then
          table.remove(sels, i)
          model[s] = nil
          return
        end
      end
    end
    call("close", do_close_sel, pick(open_sels()) or sels[1])
    return
  end
  local res = call("DefaultSelector", selectors.DefaultSelector)
  if res[1] then
    sels[#sels + 1] = res[2]
    is_selector[res[2]] = true
  end
end)
op("register", 14, function()
  local sel = any_sel()
  call("register", do_register, sel, any_fileobj(sel), any_events(), any_data(sel))
end)
op("unregister", 6, function()
  local sel = any_sel()
  local obj = chance(0.8) and registered_of(sel) or any_fileobj(sel)
  call("unregister", do_unregister, sel, obj)
end)
op("modify", 6, function()
  local sel = any_sel()
  local obj = chance(0.8) and registered_of(sel) or any_fileobj(sel)
  call("modify", do_modify, sel, obj, any_events(), any_data(sel))
end)
op("get_key", 4, function()
  local sel = any_sel()
  local obj = chance(0.8) and registered_of(sel) or any_fileobj(sel)
  call("get_key", do_get_key, sel, obj)
end)
op("get_map", 3, function()
  local sel = any_sel()
  local res = call("get_map", SELM.get_map, sel)
  if res[1] and type(res[2]) == "table" then
    local map = res[2]
    local w = call("map write", function() map[R(200, 300)] = true end)
    if w[1] then finding("writing to the selector map did not raise", "") end
    call("map #", function() return #map end)
    call("map pairs", function() for _ in pairs(map) do end end)
  end
end)
op("select", 6, function()
  local sel = any_sel()
  local t = any_timeout()
  if chance(0.1) and is_selector[sel] and not is_closed(sel) then
    call("wakeup", unblock, sel)
    t = pick(L(nil, math.huge, 1e9 + 1))
  end
  call("select", function(x, y)
    for key, mask in SELM.select(x, y) do
      if type(key) ~= "table" or mask < 1 or mask > 3 then finding("select gave a bad pair", tostring(mask)) end
    end
  end, sel, t)
end)
op("run_once", 6, function()
  local sel = any_sel()
  local t = any_timeout()
  if chance(0.1) and is_selector[sel] and not is_closed(sel) then
    call("wakeup", unblock, sel)
    t = nil
  end
  call("run_once", SELM.run_once, sel, t)
end)
op("run", 2, function()
  local sel = any_sel()
  if is_selector[sel] and not is_closed(sel) then
    if chance(0.5) then
      SELM.stop(sel)
    else
      SELM.call_later(sel, 0.002, function() pcall(SELM.stop, sel) end)
    end
  end
  call("run", SELM.run, sel)
end)
op("call_later", 5, function()
  local sel = any_sel()
  local delay = pick({0, 0, 0.001, 0.002, -1})
  if chance(0.15) then delay = pick(L(NAN, "0", "x", math.huge, 2e9, {}, nil)) end
  local fn = chance(0.9) and make_callback(sel) or junk()
  local res = call("call_later", SELM.call_later, sel, delay, fn, junk(), junk())
  if res[1] then
    timers[#timers + 1] = res[2]
    if #timers > 30 then table.remove(timers, 1) end
  end
end)
op("timer cancel", 3, function()
  if #timers == 0 then return end
  if chance(0.9) then
    local t = pick(timers)
    local res = call("cancel", TIMERM.cancel, t)
    local c = call("cancelled", TIMERM.cancelled, t)
    if res[1] and res[2] == true and c[1] and c[2] ~= true then
      finding("a timer cancel() said true but cancelled() is false", "")
    end
  else
    call("cancel", TIMERM.cancel, junk())
    call("cancelled", TIMERM.cancelled, junk())
  end
end)
op("stop", 2, function() call("stop", SELM.stop, any_sel()) end)
op("wakeup", 2, function() call("wakeup", SELM.wakeup, any_sel()) end)
op("close", 1, function() call("close", do_close_sel, any_sel()) end)
op("tostring", 1, function() call("tostring", tostring, any_sel()) end)
op("selector method, wrong self", 2, function()
  local names = {"register", "unregister", "modify", "get_key", "get_map", "select", "run", "run_once",
                 "stop", "wakeup", "close", "call_later"}
  local name = pick(names)
  -- never a real selector: the model would not see it
  local self = pick({42, "x", {}, io.stdout, closed_file, socks[1], timers[1]})
  call(name, SELM[name], self, junk(), junk())
end)

-- Sockets
op("socketpair", 5, function()
  if #open_socks() >= MAX_SOCKS then
    call("socket close", SOCKM.close, pick(open_socks()))
    epoch = epoch + 1
    tidy_socks()
    return
  end
  local fam, typ = nil, nil
  if chance(0.15) then fam = chance(0.5) and pick(FAMILIES) or junk() end
  if chance(0.15) then typ = chance(0.5) and pick(TYPES) or junk() end
  local res = call("socketpair", socket.socketpair, fam, typ)
  socket_result(res)
  if res[1] and res[2] and (fam == nil or fam == socket.AF_UNIX) and (typ == nil or typ == socket.SOCK_STREAM) then
    local a, b = res[2], res[3]
    peer[a], peer[b] = b, a
    pending[a], pending[b] = 0, 0
    if chance(0.7) then a:setblocking(false) b:setblocking(false) end
  end
end)
op("socket", 3, function()
  if #open_socks() >= MAX_SOCKS then return end
  local fam = chance(0.85) and pick(FAMILIES) or junk()
  local typ = chance(0.85) and pick(TYPES) or junk()
  socket_result(call("socket", socket.socket, fam, typ))
end)
op("create_server", 1, function()
  if #open_socks() >= MAX_SOCKS then return end
  local opts = nil
  if chance(0.3) then
    opts = pick({{backlog = R(-1, 5)}, {reuse_port = true}, {family = socket.AF_INET6, dualstack_ipv6 = true},
                 {bogus = 1}, {backlog = 1.5}, {family = socket.AF_UNIX}, 42})
  end
  local host = chance(0.8) and "127.0.0.1" or pick(HOSTS)
  local port = chance(0.8) and 0 or any_port()
  local res = call("create_server", socket.create_server, host, port, opts)
  socket_result(res)
  if res[1] and is_sock[res[2]] then
    local ok, _, p = pcall(res[2].getsockname, res[2])
    if ok and type(p) == "number" then
      servers[#servers + 1] = {sock = res[2], port = p}
      if #servers > 6 then table.remove(servers, 1) end
    end
    res[2]:setblocking(false)
  end
end)
op("create_connection", 2, function()
  if #open_socks() >= MAX_SOCKS then return end
  local host = chance(0.8) and "127.0.0.1" or pick(HOSTS)
  local t = chance(0.8) and 0.05 or pick(L(nil, 0, -1, NAN, "x", 0.001))
  socket_result(call("create_connection", socket.create_connection, host, any_port(), t))
end)
op("bind", 3, function()
  local s = any_sock()
  call("bind", SOCKM.bind, s, any_address(s))
end)
op("listen", 2, function()
  local s = any_sock()
  call("listen", SOCKM.listen, s, pick(L(nil, 0, 1, 5, -1, 1.5, "x", 2 ^ 40)))
end)
op("accept", 3, function()
  local s = chance(0.6) and #servers > 0 and pick(servers).sock or any_sock()
  guard(s)
  socket_result(call("accept", SOCKM.accept, s))
end)
op("connect", 3, function()
  local s = any_sock()
  guard(s)
  call("connect", SOCKM.connect, s, any_address(s))
end)
op("send", 8, function()
  local s = any_sock()
  local data = any_data_string()
  guard(s)
  local res = call("send", SOCKM.send, s, data)
  if res[1] and type(res[2]) == "number" and peer[s] and pending[peer[s]] then
    pending[peer[s]] = pending[peer[s]] + res[2]
  end
end)
op("sendall", 3, function()
  local s = any_sock()
  local data = any_data_string()
  guard(s, true)
  local res = call("sendall", SOCKM.sendall, s, data)
  if res[1] and peer[s] and pending[peer[s]] then
    local sent = type(res[2]) == "number" and res[2] or (type(res[5]) == "number" and res[5] or 0)
    pending[peer[s]] = pending[peer[s]] + sent
  end
end)
op("sendto", 1, function()
  local s = any_sock()
  local data = any_data_string()
  guard(s)
  call("sendto", SOCKM.sendto, s, data, any_address(s))
end)
op("recv", 8, function()
  local s = any_sock()
  local n = chance(0.8) and pick({1, 16, 4096, 65536, 70000}) or pick(SIZES)
  guard(s)
  local res = call("recv", SOCKM.recv, s, n)
  if res[1] and type(res[2]) == "string" and pending[s] then
    pending[s] = math.max(0, pending[s] - #res[2])
  end
end)
op("recvfrom", 1, function()
  local s = any_sock()
  guard(s)
  local res = call("recvfrom", SOCKM.recvfrom, s, pick(SIZES))
  if res[1] and type(res[2]) == "string" and pending[s] then
    pending[s] = math.max(0, pending[s] - #res[2])
  end
end)
op("setblocking", 2, function()
  local s = any_sock()
  call("setblocking", SOCKM.setblocking, s, chance(0.8) and chance(0.5) or junk())
end)
op("settimeout", 2, function()
  local s = any_sock()
  local t = pick(L(nil, 0, 0.001, 0.005, -1, NAN, math.huge, "x", 1e308, {}))
  call("settimeout", SOCKM.settimeout, s, t)
end)
op("gettimeout", 1, function() local s = any_sock() call("gettimeout", SOCKM.gettimeout, s) end)
op("setsockopt", 3, function()
  local s = any_sock()
  local o = pick(OPTS)
  call("setsockopt", SOCKM.setsockopt, s, o[1], o[2], pick(OPT_VALUES))
end)
op("getsockopt", 2, function()
  local s = any_sock()
  local o = pick(OPTS)
  call("getsockopt", SOCKM.getsockopt, s, o[1], o[2])
end)
op("shutdown", 1, function()
  local s = any_sock()
  call("shutdown", SOCKM.shutdown, s,
       pick(L("r", "w", "rw", socket.SHUT_RD, socket.SHUT_WR, socket.SHUT_RDWR, "x", 5, nil)))
end)
op("getsockname", 1, function() call("getsockname", SOCKM.getsockname, any_sock()) end)
op("getpeername", 1, function() call("getpeername", SOCKM.getpeername, any_sock()) end)
op("fileno", 1, function() local s = any_sock() call("fileno", SOCKM.fileno, s) end)
op("socket close", 3, function()
  local s = any_sock()
  call("socket close", SOCKM.close, s)
  epoch = epoch + 1
  tidy_socks()
end)
op("socket tostring", 1, function() call("tostring", tostring, any_sock()) end)
op("socket method, wrong self", 2, function()
  local name = pick({"recv", "send", "bind", "close", "fileno", "settimeout", "setsockopt", "accept", "connect"})
  local self = pick({42, "x", {}, io.stdout, sels[1], timers[1]})
  call(name, SOCKM[name], self, junk(), junk())
end)
op("forget a socket", 1, function()
  -- Its __gc closes it, unless a selector still holds it.
  if #socks > 0 then
    table.remove(socks, R(#socks))
    epoch = epoch + 1
  end
  call("collectgarbage", collectgarbage)
end)

-- Pools
op("pool", 1, function()
  if live_pools() >= MAX_POOLS then
    local p = pick(pools).pool
    call("terminate", p.terminate, p)
    call("join", p.join, p)
    return
  end
  local kind = chance(0.6) and "ThreadPool" or "ProcessPool"
  local sel = any_sel()
  local opts = {workers = R(1, 2)}
  if chance(0.15) then
    opts = pick({"x", {workers = 0}, {workers = 2000}, {workers = 1.5}, {workers = "2"}, {maxtasksperchild = -1},
                 {workers = 1, maxtasksperchild = R(1, 3)}, {workers = 1, interpreter = "/nonexistent/lua"},
                 {workers = 1, initializer = any_task(), initargs = task_args()},
                 {workers = 1, initializer = function() error("fuzz: initializer error") end},
                 {workers = 1, initargs = 42}})
  end
  local res = call(kind, selectors[kind], sel, opts)
  if res[1] then
    pools[#pools + 1] = {pool = res[2], kind = kind, sel = sel}
    note_pids(res[2])
  end
end)
op("submit", 5, function()
  local p = any_pool()
  if p == nil then return end
  local args = task_args()
  add_future(call("submit", p.submit, p, any_task(), unpack(args, 1, args.n)))
  note_pids(p)
end)
op("apply_async", 2, function()
  local p = any_pool()
  if p == nil then return end
  local args = chance(0.9) and task_args() or junk()
  local cb = chance(0.7) and make_callback(p.sel) or junk()
  local ecb = chance(0.7) and make_callback(p.sel) or junk()
  add_future(call("apply_async", p.apply_async, p, any_task(), args, cb, ecb))
end)
op("apply", 1, function()
  local p = any_pool()
  if p == nil or depth > 0 then return end
  local args = task_args()
  call("apply", p.apply, p, any_task(), unpack(args, 1, args.n))
end)
op("map", 1, function()
  local p = any_pool()
  if p == nil or depth > 0 then return end
  local list = chance(0.9) and {R(3), "x", R(5)} or junk()
  call("map", p.map, p, any_task(), list)
end)
op("result", 4, function()
  local f = any_future()
  if f == nil then return end
  local t = pick(RESULT_TIMEOUTS)
  if depth > 0 and (t == nil or t == math.huge) then t = 0 end
  call("result", f.result, f, t)
end)
op("exception", 2, function()
  local f = any_future()
  if f == nil then return end
  local t = pick(RESULT_TIMEOUTS)
  if depth > 0 and (t == nil or t == math.huge) then t = 0 end
  call("exception", f.exception, f, t)
end)
op("future cancel", 2, function()
  local f = any_future()
  if f == nil then return end
  local res = call("future cancel", f.cancel, f)
  if res[1] and res[2] == true and not f:cancelled() then finding("cancel() true but not cancelled()", "") end
  call("done", f.done, f)
end)
op("add_done_callback", 1, function()
  local f = any_future()
  if f == nil then return end
  call("add_done_callback", f.add_done_callback, f, chance(0.8) and make_callback(f.sel) or junk())
end)
op("pool close", 1, function()
  local p = any_pool()
  if p then call("pool close", p.close, p) end
end)
op("pool terminate", 1, function()
  local p = any_pool()
  if p then
    note_pids(p)
    call("terminate", p.terminate, p)
  end
end)
op("pool join", 1, function()
  local p = any_pool()
  if p and depth == 0 then call("join", p.join, p) end
end)
op("pool shutdown", 1, function()
  local p = any_pool()
  if p and depth == 0 then call("shutdown", p.shutdown, p, pick(L(nil, true, false, 0, "x"))) end
end)
op("pids", 1, function()
  local p = any_pool()
  if p then
    call("pids", p.pids, p)
    note_pids(p)
  end
end)
op("gc", 1, function() call("collectgarbage", collectgarbage) end)

local total_weight = 0
for _, o in ipairs(ops) do total_weight = total_weight + o.weight end

local op_counts = {}
local function choose_op(nested)
  while true do
    local x = R(total_weight)
    for _, o in ipairs(ops) do
      x = x - o.weight
      if x <= 0 then
        -- Inside a callback: nothing that creates selectors or pools.
        if not (nested and (o.name == "DefaultSelector" or o.name == "pool" or o.name == "run")) then return o end
        break
      end
    end
  end
end

local step_op = "?"
function random_step(nested)
  local o = choose_op(nested)
  if not nested then step_op = o.name end
  if not nested then journal:write(format("%d %s\n", step, o.name)) end
  op_counts[o.name] = (op_counts[o.name] or 0) + 1
  o.fn()
end

---------------------------------------------------------------------------
-- The run

local function fd_count()
  local n = 0
  for i = 0, 1023 do
    local f = io.open("/proc/self/fdinfo/" .. i)
    if f then
      n = n + 1
      f:close()
    end
  end
  return n
end

-- libuv opens a process-wide pipe pair with its first loop and keeps it.
selectors.DefaultSelector():close()
collectgarbage()
local fd_base = fd_count()
local t0 = clock()
local slowest, slowest_step, slowest_op = 0, 0, ""

sels[1] = selectors.DefaultSelector()
is_selector[sels[1]] = true
for _ = 1, steps_wanted do
  step = step + 1
  local s0 = clock()
  local ok, err = pcall(random_step, false)
  if not ok then finding("the fuzzer itself raised (a bug in fuzz_api.lua)", tostring(err)) end
  local ok2, err2 = pcall(check_maps)
  if not ok2 then finding("the map check raised", tostring(err2)) end
  if step % 5 == 0 then
    local ok3, err3 = pcall(check_readiness)
    if not ok3 then finding("the readiness check raised", tostring(err3)) end
  end
  if #open_sels() == 0 then
    sels[#sels + 1] = selectors.DefaultSelector()
    is_selector[sels[#sels]] = true
  end
  local dt = clock() - s0
  if dt > slowest then slowest, slowest_step, slowest_op = dt, step, step_op end
  if dt > 5 then finding("a step took more than 5 s", ("step %d"):format(step)) end
end
local seconds = clock() - t0

-- Close everything: first what the joins' run_once would call (keys whose
-- callbacks raise every time, timers), then the pools, then the rest.
for _, t in ipairs(timers) do pcall(TIMERM.cancel, t) end
for _, sel in ipairs(sels) do
  if not is_closed(sel) then
    local fds = {}
    for fd in pairs(SELM.get_map(sel)) do fds[#fds + 1] = fd end
    for _, fd in ipairs(fds) do call("unregister", do_unregister, sel, fd) end
  end
end
for _, p in ipairs(pools) do
  note_pids(p.pool)
  call("terminate", p.pool.terminate, p.pool)
  -- join runs the selector: a callback that raises (a key whose data is
  -- not a function...) makes it raise, and it may be called again.
  local res
  for _ = 1, 50 do
    res = call("join", p.pool.join, p.pool)
    if res[1] or not is_selector[p.sel] or is_closed(p.sel) then break end
  end
  if not res[1] and is_selector[p.sel] and not is_closed(p.sel) then
    finding("join after terminate still failed after 50 tries", tostring(res[2]))
  end
end
for _, s in ipairs(socks) do pcall(s.close, s) end
for _, s in ipairs(servers) do pcall(s.sock.close, s.sock) end
for _, sel in ipairs(sels) do pcall(sel.close, sel) end
pools, futures, socks, closed_socks, servers, sels, timers, objs = {}, {}, {}, {}, {}, {}, {}, {}
model = {}
-- Objects that only a finalized object referenced are collected one
-- cycle later: collect until the count stops falling (a few cycles).
local fd_after = fd_count()
local gc_cycles = 0
repeat
  local before = fd_after
  collectgarbage()
  gc_cycles = gc_cycles + 1
  fd_after = fd_count()
until gc_cycles >= 2 and (fd_after == before or gc_cycles >= 10)
if fd_after ~= fd_base then
  finding("descriptors left open after closing everything", ("%d -> %d"):format(fd_base, fd_after))
end

-- Worker processes: none left unreaped.
local mypid
do
  local f = io.open("/proc/self/stat")
  mypid = f:read("*l"):match("^%d+")
  f:close()
end
local npids, zombies = 0, 0
for pid in pairs(pids_seen) do
  npids = npids + 1
  local f = io.open("/proc/" .. pid .. "/stat")
  if f then
    local st = f:read("*a")
    f:close()
    local state, ppid = st:match("^%d+ %b() (%a) (%d+)")
    if ppid == mypid then
      zombies = zombies + 1
      finding("a worker process left behind", ("pid %d state %s"):format(pid, state))
    end
  end
end

local op_names = {}
for name in pairs(op_counts) do op_names[#op_names + 1] = name end
table.sort(op_names)
local parts = {}
for _, name in ipairs(op_names) do parts[#parts + 1] = name .. " " .. op_counts[name] end

local nfind, ntol, nnote = 0, 0, 0
for _, kind in ipairs(finding_order) do
  if kind:find("^tolerated") then
    ntol = ntol + 1
  elseif kind:find("^note") then
    nnote = nnote + 1
  else
    nfind = nfind + 1
  end
end

say("%s: %d steps, %d calls, %d raised (seed %d), %.1f s; %d distinct messages", interp, step, calls, raised,
    seed, seconds, #message_order)
say("  steps by operation: %s", table.concat(parts, ", "))
say("  readiness checks %d (skipped %d: something changed during select); waits unblocked %d",
    readiness_checks, readiness_skipped, blocking_guarded)
say("  slowest step %d (%s): %.3f s; descriptors %d -> %d (%d GC cycles); worker pids seen %d, left %d",
    slowest_step, slowest_op, slowest, fd_base, fd_after, gc_cycles, npids, zombies)
if os.getenv("SEL_FUZZ_MESSAGES") then
  table.sort(message_order)
  for _, m in ipairs(message_order) do say("    %6d  %s", messages[m], m) end
end
for _, kind in ipairs(finding_order) do
  local f = findings[kind]
  local label = kind:find("^tolerated") and "TOLERATED" or kind:find("^note") and "NOTE" or "FINDING"
  say("  %s %s (x%d), first at step %d in %s: %s", label, kind,
      f.count, f.step, f.op, (tostring(f.detail):gsub("\n", " | ")))
end
say("FIGURES interp=%s status=%s seed=%d steps=%d calls=%d raised=%d messages=%d findings=%d tolerated=%d " ..
    "notes=%d readiness_checks=%d fd_base=%d fd_after=%d", interp, nfind == 0 and "ok" or "FAIL", seed, step, calls,
    raised, #message_order, nfind, ntol, nnote, readiness_checks, fd_base, fd_after)
journal:close()
os.exit(nfind == 0 and 0 or 1, true)
