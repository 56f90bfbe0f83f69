-- The example programs of examples/*.lua, run as their users run them:
-- each server is started as a child process with port 0, its first line
-- ("... listening on 127.0.0.1:PORT") gives the port, and the spec talks to
-- it over TCP with selectors.socket, asserting the exact bytes that come
-- back and the lines the example prints.  Children run under coreutils
-- `timeout`, are killed by PID in after_each, and every wait here has a
-- deadline, so a broken example fails a test instead of hanging the run.
--
-- The examples run on the interpreter running busted (arg[-1]) unless
-- SEL_LUA names another; they find the modules through LUA_PATH and
-- LUA_CPATH, which the child inherits, so run from the top of the tree:
--   LUA_CPATH="build/lua/5.4/?.so;;" LUA_PATH="lua/?.lua;lua/?/init.lua;;" \
--     lua5.4 /usr/bin/busted spec/examples_spec.lua
local selectors = require "selectors"
local socket = require "selectors.socket"
-- LuaSocket's sub-second clock (a test dependency), for the timings of
-- the offload server.
local clock = require("socket").gettime

local READ, WRITE = selectors.EVENT_READ, selectors.EVENT_WRITE
local HOST = "127.0.0.1"
local CHILD_LIMIT = 20  -- seconds after which `timeout` ends any child
local IO_TIMEOUT = 5    -- seconds a blocking socket call of the spec may wait

-- The interpreter: SEL_LUA, else the one that runs busted (the lowest
-- negative index of arg), else lua5.4.
local LUA = os.getenv("SEL_LUA")
if not LUA or LUA == "" then
  local i = -1
  LUA = nil
  while arg and arg[i] ~= nil do
    LUA = arg[i]
    i = i - 1
  end
  LUA = LUA or "lua5.4"
end

-- examples/ beside this spec's directory ("" when run from the top).
local ROOT = debug.getinfo(1, "S").source:match("^@(.-)spec/[^/]*$") or ""

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- The shell command that runs an example with arguments, time-limited.
local function command(script, args)
  local words = {"timeout", CHILD_LIMIT, quote(LUA), quote(ROOT .. "examples/" .. script)}
  for _, a in ipairs(args or {}) do words[#words + 1] = quote(a) end
  return table.concat(words, " ")
end

-- Runs a shell command line to its end: its output (stdout and stderr)
-- and exit status.
local function run(cmdline)
  local f = assert(io.popen(cmdline .. ' 2>&1; echo "exit=$?"', "r"))
  local out = f:read("*a")
  f:close()
  local body, status = out:match("^(.*)exit=(%d+)\n$")
  return body, tonumber(status)
end

-- Children started by spawn, stopped by after_each.
local children = {}

-- Starts an example server; returns {pid, pipe, port, first}.  The shell
-- prints its PID, then execs `timeout`, which keeps that PID and passes a
-- kill on to the example.
local function spawn(script, ...)
  local cmdline = "echo $$; exec " .. command(script, {...}) .. " 2>&1"
  local f = assert(io.popen(cmdline, "r"))
  local child = {pid = tonumber(f:read("*l")), pipe = f}
  children[#children + 1] = child
  child.first = f:read("*l")
  child.port = tonumber(child.first and child.first:match(" listening on 127%.0%.0%.1:(%d+)$"))
  assert(child.port, "no port in the first line of " .. script .. ": " .. tostring(child.first))
  return child
end

-- Stops a child (once) and returns everything it printed after the first line.
local function stop(child)
  if child.pid then
    os.execute("kill " .. child.pid .. " 2>/dev/null")
    child.pid = nil
    child.rest = child.pipe:read("*a")
    child.pipe:close()
  end
  return child.rest
end

-- The next line a running child prints (nil at its end).
local function next_line(child)
  return child.pipe:read("*l")
end

local function connect(port)
  local s = assert(socket.create_connection(HOST, port, IO_TIMEOUT))
  s:settimeout(IO_TIMEOUT)
  return s
end

local function local_port(s)
  local _, port = s:getsockname()
  return port
end

-- Reads exactly n bytes from a blocking socket, or what came before the end,
-- an error or the timeout (then also the error).
local function recv_exactly(s, n)
  local parts, got = {}, 0
  while got < n do
    local data, err = s:recv(n - got)
    if not data then return table.concat(parts), err end
    if data == "" then return table.concat(parts), "closed" end
    parts[#parts + 1] = data
    got = got + #data
  end
  return table.concat(parts)
end

-- Reads one line ("\n" included) from a blocking socket, a byte at a time.
local function recv_line(s)
  local parts = {}
  repeat
    local c, err = s:recv(1)
    if not c or c == "" then return table.concat(parts), err or "closed" end
    parts[#parts + 1] = c
  until c == "\n"
  return table.concat(parts)
end

-- Reads what s has for the next `seconds`, expecting nothing.
local function recv_nothing(s, seconds)
  s:settimeout(seconds)
  local data, err = s:recv(4096)
  s:settimeout(IO_TIMEOUT)
  return data, err
end

-- n pseudo-random bytes (all 256 values occur), different for each seed:
-- a window into one fixed random block, repeated as needed.
local BLOCK
do
  local bytes, x = {}, 1
  for i = 1, 16381 do
    x = (x * 75 + 74) % 65537
    bytes[i] = string.char(x % 256)
  end
  BLOCK = table.concat(bytes)
end

local function payload(n, seed)
  local start = seed * 7919 % #BLOCK
  local s = BLOCK:sub(start + 1) .. BLOCK:sub(1, start)
  return s:rep(math.ceil(n / #s)):sub(1, n)
end

local function has(mask, ev)
  return math.floor(mask / ev) % 2 == 1
end

-- Connects one client per plan (all open at once), then lets every client
-- send its messages one after the other through one selector, reading
-- while it writes, and checks that each message comes back whole, byte for
-- byte (as expect(message) when given) before it sends the next.  Returns
-- the failures (empty when all is well) and the number of echoes verified.
local function echo_clients(port, plans, seconds, expect)
  expect = expect or function(m) return m end
  local sel = selectors.DefaultSelector()
  local clients, failures, verified, left = {}, {}, 0, #plans
  local expired = false
  local timer = sel:call_later(seconds, function() expired = true end)

  local function finish(c, failure)
    if failure then failures[#failures + 1] = ("client %d, message %d: %s"):format(c.id, c.n, failure) end
    c.done = true
    left = left - 1
    sel:unregister(c.sock)
    c.sock:close()
  end

  local function step(c, mask)
    local msg = c.messages[c.n]
    if has(mask, WRITE) and c.offset < #msg then
      local sent, err = c.sock:send(msg:sub(c.offset + 1, c.offset + 65536))
      if not sent and err ~= "wouldblock" then return finish(c, "send: " .. tostring(err)) end
      c.offset = c.offset + (sent or 0)
      if c.offset == #msg then sel:modify(c.sock, READ, c) end
    end
    if not has(mask, READ) then return end
    local data, err = c.sock:recv(65536)
    if data == "" then return finish(c, ("closed by the server after %d bytes"):format(c.got)) end
    if not data then
      if err == "wouldblock" then return end
      return finish(c, "recv: " .. tostring(err))
    end
    c.parts[#c.parts + 1] = data
    c.got = c.got + #data
    local want = expect(msg)
    if c.got < #want then return end
    local echoed = table.concat(c.parts)
    if echoed ~= want then
      local at = 1
      while echoed:byte(at) == want:byte(at) do at = at + 1 end
      return finish(c, ("%d bytes sent, %d received, first difference at byte %d"):format(#want, #echoed, at))
    end
    verified = verified + 1
    c.n, c.offset, c.parts, c.got = c.n + 1, 0, {}, 0
    if c.n > #c.messages then return finish(c) end
    sel:modify(c.sock, READ + WRITE, c)
  end

  for i, messages in ipairs(plans) do
    local sock = connect(port)
    sock:setblocking(false)
    clients[i] = {id = i, sock = sock, messages = messages, n = 1, offset = 0, parts = {}, got = 0}
  end
  for _, c in ipairs(clients) do sel:register(c.sock, READ + WRITE, c) end
  while left > 0 and not expired do
    for key, mask in sel:select() do step(key.data, mask) end
  end
  timer:cancel()
  for _, c in ipairs(clients) do
    if not c.done then finish(c, ("no complete echo within %g s"):format(seconds)) end
  end
  sel:close()
  return failures, verified
end

after_each(function()
  for _, child in ipairs(children) do stop(child) end
  children = {}
end)

-- The example's own PID: spawn's is `timeout`'s, whose one child runs the
-- example (nil where /proc does not list children).
local function example_pid(child)
  local f = io.open(("/proc/%d/task/%d/children"):format(child.pid, child.pid))
  if not f then return nil end
  local pid = tonumber((f:read("*a") or ""):match("^%d+"))
  f:close()
  return pid
end

describe("the example servers' listen backlog", function()
  -- The tutorials listen(100) (5, 10); on Linux, once that many connections
  -- wait to be accepted, the kernel drops further SYNs and the client
  -- retries only after 1 s.  The server is stopped (SIGSTOP) so that it
  -- accepts nothing: handshakes still complete, into the backlog, until it
  -- is full, so the number of connections that complete within a second
  -- is the backlog's size, with no race.  With a SOMAXCONN-sized backlog
  -- all of them do; with listen(100), 101.
  local N = 300
  local servers = {
    {"echo_server.lua", "-q", "0"},
    {"select_server.lua", "-q", "0"},
    {"chat_server.lua", "-q", "0"},
    {"offload_server.lua", "-q", "-w", "1", "0"},
  }
  for _, args in ipairs(servers) do
    it(args[1] .. " completes " .. N .. " handshakes while it accepts nothing", function()
      local server = spawn((table.unpack or unpack)(args))
      local pid = example_pid(server)
      if pid == nil then
        pending("no /proc/PID/task/PID/children here")
        return
      end
      local sel = selectors.DefaultSelector()
      local socks = {}
      -- Runs on failure too: the server goes on (after_each then stops
      -- it), and every socket of this test is closed.
      finally(function()
        os.execute("kill -CONT " .. pid .. " 2>/dev/null")
        sel:close()
        for _, s in ipairs(socks) do s:close() end
      end)
      local r = os.execute("kill -STOP " .. pid)
      assert(r == true or r == 0, "kill -STOP " .. pid .. " failed")
      -- Stopped for sure (state T) before the first connect, so that it
      -- accepts none of them.
      local stopped
      for _ = 1, 200 do
        local f = io.open("/proc/" .. pid .. "/stat")
        stopped = f and f:read("*a"):match("^%d+ %b() (%a)") == "T"
        if f then f:close() end
        if stopped then break end
        os.execute("sleep 0.01")
      end
      assert.is_true(stopped)
      local connected = 0
      for i = 1, N do
        local s = assert(socket.socket())
        socks[i] = s
        s:setblocking(false)
        local ok, err = s:connect(HOST, server.port)
        if ok then
          connected = connected + 1
        else
          assert.are.equal("inprogress", err)
          sel:register(s, WRITE)
        end
      end
      local deadline = clock() + 1
      while connected < N and clock() < deadline do
        for key in sel:select(deadline - clock()) do
          sel:unregister(key.fileobj)
          if key.fileobj:getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0 then
            connected = connected + 1
          end
        end
      end
      assert.is_true(connected >= N - 10,
                     ("%d of %d connections completed with the server stopped"):format(connected, N))
    end)
  end
end)

describe("examples/echo_server.lua", function()
  it("prints the seed's lines: accepted, echoing, closing", function()
    local server = spawn("echo_server.lua", "0")
    assert.are.equal("echo server listening on 127.0.0.1:" .. server.port, server.first)
    local s = connect(server.port)
    local cport = local_port(s)
    assert(s:sendall("hello\n"))
    assert.are.equal("hello\n", (recv_exactly(s, 6)))
    s:close()
    local conn = "<selectors%.socket fd=%d+, family=AF_INET, type=SOCK_STREAM>"
    assert.matches("^accepted\t" .. conn .. "\tfrom\t127%.0%.0%.1:" .. cport .. "$", next_line(server))
    assert.matches('^echoing\t"hello\\n"\tto\t' .. conn .. "$", next_line(server))
    assert.matches("^closing\t" .. conn .. "$", next_line(server))
  end)

  it("serves 100 concurrent clients, each echo byte for byte", function()
    local server = spawn("echo_server.lua", "-q", "0")
    assert.are.equal("echo server listening on 127.0.0.1:" .. server.port, server.first)
    local plans = {}
    for i = 1, 100 do
      plans[i] = {
        "hello from client " .. i .. "\n",
        payload(i, i),
        payload(999 + 7 * i, 2 * i),
        payload(4096 + 13 * i, 3 * i),  -- more than the server's recv(1000)
        payload(i % 3 == 0 and 1 or 300, 4 * i),
      }
    end
    local failures, verified = echo_clients(server.port, plans, 8)
    assert.are.same({}, failures)
    assert.are.equal(500, verified)
  end)

  it("echoes a 1 MiB payload that no single send can take", function()
    local server = spawn("echo_server.lua", "-q", "0")
    local failures, verified = echo_clients(server.port, {{payload(1024 * 1024, 7), "after\n"}}, 8)
    assert.are.same({}, failures)
    assert.are.equal(2, verified)
  end)

  it("survives a client that resets its connection", function()
    local server = spawn("echo_server.lua", "-q", "0")
    for i = 1, 3 do
      local s = connect(server.port)
      assert(s:sendall(payload(5000, i)))  -- echoes it never reads
      assert(s:setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, 0))
      s:close()                            -- linger 0: RST, not FIN
    end
    local failures = echo_clients(server.port, {{"still there?\n"}}, 5)
    assert.are.same({}, failures)
  end)
end)

describe("examples/select_server.lua", function()
  it("echoes through per-connection queues, with write interest", function()
    local server = spawn("select_server.lua", "-q", "0")
    assert.are.equal("select server listening on 127.0.0.1:" .. server.port, server.first)
    local plans = {}
    for i = 1, 5 do
      plans[i] = {"message " .. i .. "\n", payload(3000 + i, i), payload(100 * i, 9 * i)}
    end
    local failures, verified = echo_clients(server.port, plans, 8)
    assert.are.same({}, failures)
    assert.are.equal(15, verified)
  end)

  it("echoes a 1 MiB payload in full, across short sends", function()
    local server = spawn("select_server.lua", "-q", "0")
    local big = payload(1024 * 1024, 11)
    local failures, verified = echo_clients(server.port, {{big, "tail\n"}, {"small\n", big}}, 9)
    assert.are.same({}, failures)
    assert.are.equal(4, verified)
  end)

  it("prints the seed's lines, and drops write interest when the queue is empty", function()
    local server = spawn("select_server.lua", "0")
    local s = connect(server.port)
    local peer = "127.0.0.1:" .. local_port(s)
    assert(s:sendall("hi"))
    assert.are.equal("hi", (recv_exactly(s, 2)))
    -- Stay connected until the server found the queue empty: a hang-up
    -- seen in the same select would come first and end the connection.
    local lines, empty = {}, "  \t" .. peer .. "\tqueue empty"
    repeat
      local line = next_line(server)
      lines[#lines + 1] = line
    until line == nil or line == empty
    s:close()
    repeat
      local line = next_line(server)
      lines[#lines + 1] = line
    until line == nil or line == "closing\t" .. peer
    assert.are.same({
      "starting up on 127.0.0.1 port " .. server.port,
      "waiting for the next event",
      "connection from\t" .. peer,
      "waiting for the next event",
      'received "hi" from ' .. peer,
      "waiting for the next event",
      'sending "hi" to ' .. peer,
      "waiting for the next event",
      "  \t" .. peer .. "\tqueue empty",
      "waiting for the next event",
      "closing\t" .. peer,
    }, lines)
  end)

  it("upper-cases the answers with -u, as the 003 variant of the seed", function()
    local server = spawn("select_server.lua", "-q", "-u", "0")
    local s = connect(server.port)
    assert(s:sendall("Mixed Case\n"))
    assert.are.equal("MIXED CASE\n", (recv_exactly(s, 11)))
    s:close()
  end)
end)

describe("examples/chat_server.lua", function()
  it("broadcasts to the other clients, never back to the sender", function()
    local server = spawn("chat_server.lua", "-q", "0")
    assert.are.equal("chat server listening on 127.0.0.1:" .. server.port, server.first)
    local a = connect(server.port)
    local b = connect(server.port)
    local pa, pb = local_port(a), local_port(b)
    local entered_b = "[127.0.0.1:" .. pb .. "] entered room\n"
    assert.are.equal(entered_b, (recv_exactly(a, #entered_b)))
    local c = connect(server.port)
    local pc = local_port(c)
    local entered_c = "[127.0.0.1:" .. pc .. "] entered room\n"
    assert.are.equal(entered_c, (recv_exactly(a, #entered_c)))
    assert.are.equal(entered_c, (recv_exactly(b, #entered_c)))

    assert(a:sendall("hello\n"))
    local from_a = "\r<127.0.0.1:" .. pa .. "> hello\n"
    assert.are.equal(from_a, (recv_exactly(b, #from_a)))
    assert.are.equal(from_a, (recv_exactly(c, #from_a)))
    local nothing, err = recv_nothing(a, 0.3)
    assert.is_nil(nothing)
    assert.are.equal("timeout", err)

    -- Larger than one recv(4096): each piece comes with the prefix.
    local big = payload(100000, 5)
    assert(c:sendall(big))
    local prefix = "\r<127%.0%.0%.1:" .. pc .. "> "
    local raw, pieces = ""
    repeat
      local data = assert(a:recv(65536))
      raw = raw .. data
      local stripped, n = raw:gsub(prefix, "")
      pieces = n
    until #stripped >= #big or data == ""
    assert.are.equal(big, (raw:gsub(prefix, "")))
    assert.is_true(pieces >= math.ceil(#big / 4096))

    b:close()
    local offline = "Client (127.0.0.1, " .. pb .. ") is offline\n"
    assert.are.equal(offline, (recv_exactly(a, #offline)))
    assert.are.equal(offline, (recv_exactly(c, #offline)))
    a:close()
    c:close()
  end)

  it("prints the seed's lines", function()
    local server = spawn("chat_server.lua", "0")
    assert.are.equal("Chat server started on port " .. server.port, next_line(server))
    local a = connect(server.port)
    local pa = local_port(a)
    assert.are.equal("Client (127.0.0.1, " .. pa .. ") connected", next_line(server))
    a:close()
    assert.are.equal("Client (127.0.0.1, " .. pa .. ") is offline", next_line(server))
  end)
end)

describe("examples/chat_client.lua", function()
  it("sends its arguments, prints what the room says, and exits", function()
    local server = spawn("chat_server.lua", "-q", "0")
    local b = connect(server.port)
    local pb = local_port(b)
    local f = assert(io.popen(command("chat_client.lua", {"-w", "1.5", server.port, "hello", "world"}) .. " 2>&1", "r"))
    local entered = recv_line(b)
    local pclient = entered:match("^%[127%.0%.0%.1:(%d+)%] entered room\n$")
    assert(pclient, "not an entered line: " .. entered)
    assert.are.equal("\r<127.0.0.1:" .. pclient .. "> hello\n", recv_line(b))
    -- The seed prefixes what one recv() got: the two lines may have come
    -- in one piece, and then share the prefix.
    local second = recv_line(b)
    if second ~= "world\n" then
      assert.are.equal("\r<127.0.0.1:" .. pclient .. "> world\n", second)
    end
    assert(b:sendall("hi there\n"))
    local out = f:read("*a")
    f:close()
    assert.are.equal("Connected to remote host. Start sending messages\n"
                     .. "\r<127.0.0.1:" .. pb .. "> hi there\n", out)
    b:close()
  end)

  it("sends the lines of its stdin, with the seed's prompt", function()
    local server = spawn("chat_server.lua", "-q", "0")
    local b = connect(server.port)
    local out = run("printf 'from stdin\\n' | " .. command("chat_client.lua", {"-w", "0.5", server.port}))
    assert.are.equal("Connected to remote host. Start sending messages\n<You><You>", out)
    local pclient = recv_line(b):match("^%[127%.0%.0%.1:(%d+)%] entered room\n$")
    assert(pclient, "no entered line")
    assert.are.equal("\r<127.0.0.1:" .. pclient .. "> from stdin\n", recv_line(b))
    b:close()
  end)

  it("says so when it cannot connect", function()
    local probe = assert(socket.create_server(HOST, 0))
    local _, port = probe:getsockname()
    probe:close()  -- nothing listens there now
    local out, status = run(command("chat_client.lua", {port, "x"}))
    assert.are.equal(1, status)
    assert.matches("^Unable to connect:\t", out)
  end)
end)

describe("examples/stdin_select.lua", function()
  it("prints each line written to its stdin, then its end", function()
    local out, status = run("printf 'hello\\nworld\\n' | " .. command("stdin_select.lua", {"0.5"}))
    assert.are.equal("select get stdin\thello\nselect get stdin\tworld\nstdin closed\n", out)
    assert.are.equal(0, status)
  end)

  it("prints the timeout message when nothing comes", function()
    -- stdin stays open and silent for 2 s; three 0.1 s rounds end before.
    local out, status = run("sleep 2 | " .. command("stdin_select.lua", {"0.1", "3"}))
    assert.are.equal(("timeout: nothing on stdin for 0.1 s\n"):rep(3), out)
    assert.are.equal(0, status)
  end)

  it("times out, then prints a line that comes late", function()
    local out = run("(sleep 0.6; echo late) | " .. command("stdin_select.lua", {"0.1"}))
    local timeout_line = "timeout: nothing on stdin for 0.1 s\n"
    local timeouts, rest = 0, out
    while rest:sub(1, #timeout_line) == timeout_line do
      timeouts = timeouts + 1
      rest = rest:sub(#timeout_line + 1)
    end
    assert.is_true(timeouts >= 1, "no timeout before the line: " .. out)
    assert.are.equal("select get stdin\tlate\nstdin closed\n", rest)
  end)
end)

describe("examples/echo_client.lua", function()
  it("checks the seed's messages against echo_server and exits 0", function()
    local server = spawn("echo_server.lua", "-q", "0")
    local out, status = run(command("echo_client.lua", {server.port}))
    assert.are.equal(0, status)
    local lines = {}
    for line in out:gmatch("[^\n]+") do lines[#lines + 1] = (line:gsub("^127%.0%.0%.1:%d+: ", "")) end
    assert.are.same({
      "connecting to 127.0.0.1 port " .. server.port,
      'sending "This is the message. "', 'sending "This is the message. "',
      'received "This is the message. "', 'received "This is the message. "',
      'sending "It will be sent "', 'sending "It will be sent "',
      'received "It will be sent "', 'received "It will be sent "',
      'sending "in parts."', 'sending "in parts."',
      'received "in parts."', 'received "in parts."',
      "all 6 echoes matched",
    }, lines)
  end)

  it("sends its arguments on -n sockets against select_server", function()
    local server = spawn("select_server.lua", "-q", "0")
    local out, status = run(command("echo_client.lua", {"-q", "-n", "4", server.port, "one", "two three"}))
    assert.are.equal("", out)
    assert.are.equal(0, status)
  end)

  it("exits non-zero when the echo differs (select_server -u)", function()
    local server = spawn("select_server.lua", "-q", "-u", "0")
    local out, status = run(command("echo_client.lua", {"-q", server.port, "lower"}))
    assert.are.equal(1, status)
    assert.matches('expected "lower", received "LOWER"', out, 1, true)
  end)
end)

-- The runs of lines under each "== " header of a text: the headers, and
-- the lists of lines.
local function sections(text)
  local headers, parts = {}, {}
  for line in text:gmatch("([^\n]*)\n") do
    if line:match("^== ") then
      headers[#headers + 1] = line
      parts[#parts + 1] = {}
    elseif #parts > 0 then
      local part = parts[#parts]
      part[#part + 1] = line
    end
  end
  return headers, parts
end

local function sorted(list)
  local copy = {}
  for i, v in ipairs(list) do copy[i] = v end
  table.sort(copy)
  return copy
end

-- The index of the first line equal to s, or nil.
local function index_of(list, s)
  for i, v in ipairs(list) do
    if v == s then return i end
  end
end

describe("examples/process_pool.lua", function()
  it("runs seed 000's pools 3 at a time, then blocking, then seed 003's callbacks", function()
    local out, status = run(command("process_pool.lua", {"0.4"}))
    assert.are.equal(0, status, out)
    local headers, parts = sections(out)
    assert.are.same({
      "== seed 000: Pool(processes = 3), apply_async ==",
      "== seed 000: Pool(processes = 3), apply (blocking) ==",
      "== seed 003: Pool(5), apply_async(Foo, {i}, Bar) ==",
    }, headers, out)

    -- apply_async on 3 workers: every line once; "Sub-process(es) done."
    -- after all of them (join waited); never more than 3 tasks between
    -- their "msg:" and "end", and 3 at once at the start; "hello 3" only
    -- once a worker is free again.
    local async = parts[1]
    assert.are.same(sorted({
      "SOS~ SOS~ SOS~~~~~~~~~~~~~~~~~~~~~~",
      "msg: hello 0", "msg: hello 1", "msg: hello 2", "msg: hello 3",
      "end", "end", "end", "end", "Sub-process(es) done.",
    }), sorted(async))
    assert.are.equal("Sub-process(es) done.", async[#async])
    local running, most = 0, 0
    for _, line in ipairs(async) do
      if line:match("^msg: ") then running = running + 1 end
      if line == "end" then running = running - 1 end
      most = math.max(most, running)
    end
    assert.are.equal(3, most, out)
    assert.is_true(index_of(async, "msg: hello 3") > index_of(async, "end"), out)

    -- apply blocks: one task after the other, in order.
    assert.are.same({
      "msg: hello 0", "end", "msg: hello 1", "end",
      "msg: hello 2", "end", "msg: hello 3", "end",
      "Mark~ Mark~ Mark~~~~~~~~~~~~~~~~~~~~~~",
      "Sub-process(es) done.",
    }, parts[2])

    -- Foo's results reach Bar in the parent, each once; "end" comes first,
    -- since callbacks never run inside apply_async.
    local callback = parts[3]
    assert.are.equal("end", callback[1])
    local bars = {}
    for i = 0, 9 do bars[#bars + 1] = "-->exec done: " .. (100 + i) end
    table.remove(callback, 1)
    assert.are.same(sorted(bars), sorted(callback))
  end)
end)

describe("examples/thread_pool.lua", function()
  it("runs seed 002's thread pool on 5 threads, with its timer, then Pool(5)", function()
    local out, status = run(command("thread_pool.lua", {"0.2"}))
    assert.are.equal(0, status, out)
    local headers, parts = sections(out)
    assert.are.same({
      "== seed 002: ThreadPool(5), 10 tasks, Timer(hello) ==",
      "== seed 002: Pool(5), apply_async(f1, {i}) ==",
    }, headers, out)

    -- Every task prints its number; the timer fires while join() waits
    -- (before the summary); 5 threads share the 10 tasks.
    local first = parts[1]
    assert.are.equal("10 tasks done by 5 threads", first[#first], out)
    local want = {"hello,word", "10 tasks done by 5 threads"}
    for i = 0, 9 do want[#want + 1] = tostring(i) end
    assert.are.same(sorted(want), sorted(first))

    local second = parts[2]
    assert.are.equal("15 tasks done", second[#second])
    want = {"15 tasks done"}
    for i = 0, 14 do want[#want + 1] = tostring(i) end
    assert.are.same(sorted(want), sorted(second))
  end)
end)

describe("examples/offload_server.lua", function()
  -- Sends "slow 2" on one connection, then makes 20 echo round trips on
  -- another while the slow task runs: each must come back at once, all of
  -- them long before "done 2", which must come about 2 s after its request.
  local function fast_client_not_held_up(...)
    local server = spawn("offload_server.lua", "-q", ...)
    assert.are.equal("offload server listening on 127.0.0.1:" .. server.port, server.first)
    local slow, fast = connect(server.port), connect(server.port)
    assert(fast:sendall("warm up\n"))          -- both connections accepted
    assert.are.equal("warm up\n", (recv_line(fast)))

    local t0 = clock()
    assert(slow:sendall("slow 2\n"))
    local worst = 0
    for i = 1, 20 do
      local line = ("ping %d\n"):format(i)
      local t = clock()
      assert(fast:sendall(line))
      assert.are.equal(line, (recv_line(fast)))
      worst = math.max(worst, clock() - t)
    end
    local fast_done = clock() - t0
    local nothing, err = recv_nothing(slow, 0.05)
    assert.is_nil(nothing, "the slow answer came early: " .. tostring(nothing))
    assert.are.equal("timeout", err)

    assert.are.equal("done 2\n", (recv_line(slow)))  -- within IO_TIMEOUT
    local slow_done = clock() - t0
    assert.is_true(worst < 0.5, ("slowest echo took %.3f s"):format(worst))
    assert.is_true(fast_done < 1, ("20 echoes took %.3f s"):format(fast_done))
    assert.is_true(slow_done > 1.9, ("done 2 came after %.3f s"):format(slow_done))
    assert.is_true(slow_done - fast_done > 0.9)
    slow:close()
    fast:close()
  end

  it("keeps answering a fast client while a slow task runs (ProcessPool)", function()
    fast_client_not_held_up("0")
  end)

  it("keeps answering a fast client while a slow task runs (ThreadPool, -t)", function()
    fast_client_not_held_up("-t", "0")
  end)

  it("runs slow tasks of several clients in parallel, on its workers", function()
    local server = spawn("offload_server.lua", "-q", "-w", "3", "0")
    local clients = {}
    local t0 = clock()
    for i = 1, 3 do
      clients[i] = connect(server.port)
      assert(clients[i]:sendall("slow 1\n"))
    end
    for i = 1, 3 do assert.are.equal("done 1\n", (recv_line(clients[i]))) end
    local elapsed = clock() - t0
    assert.is_true(elapsed > 0.9 and elapsed < 2.5, ("3 x slow 1 took %.3f s"):format(elapsed))
    for i = 1, 3 do clients[i]:close() end
  end)

  it("echoes lines split across sends, answers bad requests, keeps order per request", function()
    local server = spawn("offload_server.lua", "-q", "0")
    local s = connect(server.port)
    assert(s:sendall("hel"))
    assert(s:sendall("lo\r\nslow x\nslow 0"))
    assert(s:sendall(".1\nslow 99\nlast\n"))
    assert.are.equal("hello\r\n", (recv_line(s)))
    assert.are.equal("error: slow needs seconds from 0 to 60\n", (recv_line(s)))
    -- "slow 99" is refused at once, "last" echoed at once: both before the
    -- answer of "slow 0.1", which takes a worker 0.1 s.
    assert.are.equal("error: slow needs seconds from 0 to 60\n", (recv_line(s)))
    assert.are.equal("last\n", (recv_line(s)))
    assert.are.equal("done 0.1\n", (recv_line(s)))
    -- A line longer than the server's limit is echoed in pieces as it comes.
    local big = payload(200000, 3):gsub("\n", "") .. "\n"
    assert(s:sendall(big))
    assert.are.equal(big, (recv_exactly(s, #big)))
    s:close()
  end)

  it("survives a client that resets its connection while its task runs", function()
    local server = spawn("offload_server.lua", "-q", "0")
    local s = connect(server.port)
    assert(s:sendall("slow 0.3\n"))
    assert(s:setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, 0))
    s:close()                               -- RST; the answer has nowhere to go
    local t = connect(server.port)
    assert(t:sendall("slow 0.5\n"))        -- outlives the first task
    assert.are.equal("done 0.5\n", (recv_line(t)))
    assert(t:sendall("still there?\n"))
    assert.are.equal("still there?\n", (recv_line(t)))
    t:close()
  end)

  it("stops on a shutdown line: bye, busy workers killed, exits", function()
    local server = spawn("offload_server.lua", "-q", "0")
    local busy = connect(server.port)
    assert(busy:sendall("slow 8\n"))
    local s = connect(server.port)
    assert(s:sendall("ping\n"))            -- the slow request is in by now
    assert.are.equal("ping\n", (recv_line(s)))
    local t0 = clock()
    assert(s:sendall("shutdown\n"))
    assert.are.equal("bye\n", (recv_line(s)))
    local data, err = busy:recv(100)        -- closed, its task dropped
    assert.are.equal("", data, err)
    -- The pipe ends when the server and every worker have exited: well
    -- before the 8 s task would have finished.
    local rest = server.pipe:read("*a")
    server.pipe:close()
    server.pid = nil
    assert.is_true(clock() - t0 < 4, ("exit took %.3f s"):format(clock() - t0))
    assert.are.equal("shutting down\noffload server stopped\n", rest)
    busy:close()
    s:close()
  end)
end)
