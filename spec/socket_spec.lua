-- The contract of `require "selectors.socket"` (docs/lua.md, "Module
-- selectors.socket"): Python-shaped sockets whose I/O failures return nil,
-- message, errno and whose misuse raises.  Every network case uses the
-- loopback and ephemeral ports, and every loop is bounded.
local socket = require "selectors.socket"
local net = require "helpers.net"

local E = net.errno
local unpack = table.unpack or unpack
local has_ipv6 = net.has_ipv6()
if not has_ipv6 then
  print("socket_spec: no IPv6 loopback on this machine; IPv6 cases are skipped")
end

local families = {
  { name = "IPv4", family = socket.AF_INET, host = "127.0.0.1", any = "0.0.0.0" },
  { name = "IPv6", family = socket.AF_INET6, host = "::1", any = "::" },
}

-- Runs body(case) for each family, as pending when IPv6 is missing.
local function each_family(title, body)
  for _, f in ipairs(families) do
    if f.family == socket.AF_INET6 and not has_ipv6 then
      pending(f.name .. " " .. title .. " (no IPv6 loopback)")
    else
      it(f.name .. " " .. title, function() body(f) end)
    end
  end
end

-- Collects everything b can read without blocking, bounded.
local function drain(b, into)
  for _ = 1, 1000 do
    local chunk, msg = b:recv(65536)
    if not chunk then
      assert.equal("wouldblock", msg)
      return
    end
    into[#into + 1] = chunk
  end
end

describe("selectors.socket", function()
  describe("module", function()
    it("exports the constants as integers", function()
      for _, name in ipairs {
        "AF_INET", "AF_INET6", "AF_UNIX", "SOCK_STREAM", "SOCK_DGRAM",
        "SOL_SOCKET", "SO_REUSEADDR", "SO_KEEPALIVE", "SO_RCVBUF",
        "SO_SNDBUF", "SO_ERROR", "SO_LINGER", "SO_BROADCAST", "IPPROTO_TCP",
        "TCP_NODELAY", "IPPROTO_IPV6", "IPV6_V6ONLY", "SHUT_RD", "SHUT_WR",
        "SHUT_RDWR",
      } do
        assert.equal("number", type(socket[name]), name)
        assert.equal(math.floor(socket[name]), socket[name], name)
      end
      if net.linux then assert.equal("number", type(socket.SO_REUSEPORT)) end
    end)

    it("exports SOMAXCONN, for listen, as a positive integer", function()
      assert.equal("number", type(socket.SOMAXCONN))
      assert.equal(math.floor(socket.SOMAXCONN), socket.SOMAXCONN)
      assert.is_true(socket.SOMAXCONN > 0)
      -- listen takes it as it is (the kernel caps it at its own maximum).
      local s = assert(socket.socket())
      assert(s:bind("127.0.0.1", 0))
      assert.is_true(s:listen(socket.SOMAXCONN))
      s:close()
    end)

    it("gethostname returns a name", function()
      local name = assert(socket.gethostname())
      assert.is_true(#name > 0)
    end)
  end)

  describe("a new socket", function()
    it("defaults to a blocking AF_INET stream", function()
      local s = assert(socket.socket())
      assert.is_nil(s:gettimeout())
      assert.matches("^<selectors%.socket fd=%d+, family=AF_INET, type=SOCK_STREAM>$",
                     tostring(s))
      assert.equal("number", type(s:fileno()))
      s:close()
    end)

    it("is close-on-exec and blocking at the OS level", function()
      if not net.linux then return pending("needs /proc") end
      local s = assert(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
      assert.is_true(net.has_flag(s:fileno(), net.O_CLOEXEC))
      assert.is_false(net.has_flag(s:fileno(), net.O_NONBLOCK))
      s:close()
    end)

    it("tracks setblocking and settimeout as Python does", function()
      local s = assert(socket.socket())
      local fd = s:fileno()
      local cases = {
        { "setblocking", false, 0, true },
        { "setblocking", true, nil, false },
        { "settimeout", 0, 0, true },
        { "settimeout", 0.5, 0.5, true },
        { "settimeout", nil, nil, false },
      }
      for _, c in ipairs(cases) do
        assert.is_true(s[c[1]](s, c[2]))
        assert.equal(c[3], s:gettimeout())
        if net.linux then
          assert.equal(c[4], net.has_flag(fd, net.O_NONBLOCK), c[1])
        end
      end
      s:close()
    end)
  end)

  describe("TCP", function()
    each_family("round trip with getsockname/getpeername and accept's address",
      function(f)
        local srv = assert(socket.socket(f.family))
        assert.is_true(srv:setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, true))
        assert.is_true(srv:bind(f.host, 0))
        assert.is_true(srv:listen())
        local host, port = srv:getsockname()
        assert.equal(f.host, host)
        assert.is_true(port > 0)
        local c = assert(socket.socket(f.family))
        assert.is_true(c:connect(f.host, port))
        local conn, chost, cport = srv:accept()
        assert.equal(f.host, chost)
        local lhost, lport = c:getsockname()
        assert.same({ lhost, lport }, { chost, cport })
        assert.same({ f.host, port }, { c:getpeername() })
        assert.same({ f.host, port }, { conn:getsockname() })
        assert.equal(5, c:send("hello"))
        assert.equal("hello", conn:recv(100))
        assert.equal(3, conn:sendall("abc"))
        assert.equal("ab", c:recv(2))
        assert.equal("c", c:recv(2))
        for _, s in ipairs { c, conn, srv } do s:close() end
      end)

    each_family("binds the wildcard for '' and '*'", function(f)
      for _, any in ipairs { "", "*" } do
        local s = assert(socket.socket(f.family))
        assert.is_true(s:bind(any, 0))
        assert.equal(f.any, (s:getsockname()))
        s:close()
      end
    end)

    it("resolves localhost when binding", function()
      local s = assert(socket.socket())
      assert.is_true(s:bind("localhost", 0))
      assert.equal("127.0.0.1", (s:getsockname()))
      s:close()
    end)

    it("reads '' at end of stream, after shutdown(SHUT_WR) or close", function()
      for _, how in ipairs { socket.SHUT_WR, "w", "rw", "close" } do
        local c, conn = net.tcp_pair(socket.AF_INET)
        if how == "close" then c:close() else assert.is_true(c:shutdown(how)) end
        assert.equal("", conn:recv(10))
        assert.equal("", conn:recv(10))
        c:close()
        conn:close()
      end
    end)

    it("returns wouldblock from a non-blocking recv and accept", function()
      local c, conn = net.tcp_pair(socket.AF_INET)
      conn:setblocking(false)
      assert.same({ nil, "wouldblock", E.EAGAIN }, { conn:recv(10) })
      local srv = assert(socket.create_server("127.0.0.1", 0))
      srv:setblocking(false)
      assert.same({ nil, "wouldblock", E.EAGAIN }, { srv:accept() })
      for _, s in ipairs { c, conn, srv } do s:close() end
    end)

    it("returns Broken pipe on a write to a peer that has gone, without SIGPIPE",
      function()
        local c, conn = net.tcp_pair(socket.AF_INET)
        conn:close()
        local results = {}
        for i = 1, 3 do results[i] = { c:send("x") } end
        -- The first write may still be accepted; the RST makes later ones fail.
        assert.same({ nil, "Broken pipe", E.EPIPE }, results[3])
        assert.same({ nil, "Broken pipe", E.EPIPE, 0 }, { c:sendall("y") })
        c:close()
      end)

    it("reports Connection reset by peer after an SO_LINGER 0 close", function()
      local c, conn = net.tcp_pair(socket.AF_INET)
      assert.is_true(c:setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, 0))
      c:close()
      conn:settimeout(2)
      assert.same({ nil, "Connection reset by peer", E.ECONNRESET }, { conn:recv(10) })
      conn:close()
    end)

    it("reports ENOTCONN from getpeername on an unconnected socket", function()
      local s = assert(socket.socket())
      assert.same({ nil, "Transport endpoint is not connected", E.ENOTCONN },
                  { s:getpeername() })
      s:close()
    end)

    it("reports Connection refused from a blocking connect", function()
      local s = assert(socket.socket())
      assert.same({ nil, "Connection refused", E.ECONNREFUSED },
                  { s:connect("127.0.0.1", net.closed_port()) })
      s:close()
    end)

    it("returns inprogress (or success) from a non-blocking connect", function()
      local srv = assert(socket.create_server("127.0.0.1", 0))
      local _, port = srv:getsockname()
      local c = assert(socket.socket())
      c:setblocking(false)
      local ok, msg, errno = c:connect("127.0.0.1", port)
      if not ok then
        assert.same({ "inprogress", E.EINPROGRESS }, { msg, errno })
      end
      -- accept returns once the handshake is done, so c is connected.
      local conn = assert(srv:accept())
      assert.equal(0, c:getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
      assert.same({ "127.0.0.1", port }, { c:getpeername() })
      for _, s in ipairs { c, conn, srv } do s:close() end
    end)

    it("connects within a timeout", function()
      local srv = assert(socket.create_server("127.0.0.1", 0))
      local _, port = srv:getsockname()
      local c = assert(socket.socket())
      c:settimeout(2)
      assert.is_true(c:connect("127.0.0.1", port))
      assert.equal(2, c:gettimeout())
      local conn = assert(srv:accept())
      for _, s in ipairs { c, conn, srv } do s:close() end
    end)

    it("times out connect and create_connection to a full backlog", function()
      -- Linux drops SYNs once the accept queue (backlog 0: one slot) is full.
      if not net.linux then return pending("relies on Linux's SYN drop") end
      local srv = assert(socket.create_server("127.0.0.1", 0, { backlog = 0 }))
      local _, port = srv:getsockname()
      local clients, result = {}, nil
      for i = 1, 8 do
        clients[i] = assert(socket.socket())
        clients[i]:settimeout(0.1)
        result = { clients[i]:connect("127.0.0.1", port) }
        if not result[1] then break end
      end
      assert.same({ nil, "timeout", E.ETIMEDOUT }, result)
      assert.same({ nil, "timeout", E.ETIMEDOUT },
                  { socket.create_connection("127.0.0.1", port, 0.1) })
      for _, c in ipairs(clients) do c:close() end
      srv:close()
    end)

    it("gives accepted connections blocking, close-on-exec sockets", function()
      for _, mode in ipairs { "blocking", "non-blocking", "timeout" } do
        local srv = assert(socket.create_server("127.0.0.1", 0))
        local _, port = srv:getsockname()
        if mode == "non-blocking" then srv:setblocking(false) end
        if mode == "timeout" then srv:settimeout(2) end
        local c = assert(socket.create_connection("127.0.0.1", port))
        -- The handshake is done once connect returns: accept never waits.
        local conn = assert(srv:accept())
        assert.is_nil(conn:gettimeout(), mode)
        if net.linux then
          assert.is_false(net.has_flag(conn:fileno(), net.O_NONBLOCK), mode)
          assert.is_true(net.has_flag(conn:fileno(), net.O_CLOEXEC), mode)
        end
        for _, s in ipairs { c, conn, srv } do s:close() end
      end
    end)

    it("times out accept on a quiet listener", function()
      local srv = assert(socket.create_server("127.0.0.1", 0))
      srv:settimeout(0.05)
      assert.same({ nil, "timeout", E.ETIMEDOUT }, { srv:accept() })
      srv:close()
    end)
  end)

  describe("UDP", function()
    each_family("sendto/recvfrom give the data and the sender's address",
      function(f)
        local a = assert(socket.socket(f.family, socket.SOCK_DGRAM))
        assert.is_true(a:bind(f.host, 0))
        local _, aport = a:getsockname()
        local b = assert(socket.socket(f.family, socket.SOCK_DGRAM))
        assert.is_true(b:bind(f.host, 0))
        local _, bport = b:getsockname()
        assert.equal(4, b:sendto("ping", f.host, aport))
        assert.same({ "ping", f.host, bport }, { a:recvfrom(100) })
        assert.equal(4, a:sendto("pong", f.host, bport))
        assert.same({ "pong", f.host, aport }, { b:recvfrom(100) })
        -- A datagram larger than n is cut to n.
        assert.equal(6, b:sendto("abcdef", f.host, aport))
        assert.equal("abc", (a:recvfrom(3)))
        a:setblocking(false)
        assert.same({ nil, "wouldblock", E.EAGAIN }, { a:recvfrom(10) })
        a:close()
        b:close()
      end)

    it("sets SO_BROADCAST", function()
      local s = assert(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
      assert.is_false(s:getsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST))
      assert.is_true(s:setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, true))
      assert.is_true(s:getsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST))
      s:close()
    end)
  end)

  describe("AF_UNIX", function()
    local path, cleanup
    before_each(function() path, cleanup = net.tmp_path() end)
    after_each(function() cleanup() end)

    it("streams through a path in the temporary directory", function()
      local srv = assert(socket.socket(socket.AF_UNIX))
      assert.is_true(srv:bind(path))
      assert.is_true(srv:listen(5))
      assert.equal(path, srv:getsockname())
      local c = assert(socket.socket(socket.AF_UNIX))
      assert.is_true(c:connect(path))
      local conn, peer = srv:accept()
      assert.equal("", peer) -- the client is unnamed
      assert.equal(path, c:getpeername())
      assert.equal("", c:getsockname())
      assert.equal(3, c:sendall("abc"))
      assert.equal("abc", conn:recv(10))
      for _, s in ipairs { c, conn, srv } do s:close() end
    end)

    it("sends datagrams to a path and reports the sender's path", function()
      local a = assert(socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM))
      assert.is_true(a:bind(path))
      local b = assert(socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM))
      assert.equal(2, b:sendto("hi", path))
      local data, from = a:recvfrom(10)
      assert.equal("hi", data)
      assert.is_nil(from) -- an unbound sender has no address (None in Python)
      local bpath, bcleanup = net.tmp_path()
      assert.is_true(b:bind(bpath))
      assert.equal(3, b:sendto("hi!", path))
      assert.same({ "hi!", bpath }, { a:recvfrom(10) })
      a:close()
      b:close()
      bcleanup()
    end)

    it("binds in the abstract namespace (Linux)", function()
      if not net.linux then return pending("Linux only") end
      local name = "\0selectors-spec-" .. tostring(os.time()) .. path:gsub("%W", "")
      local s = assert(socket.socket(socket.AF_UNIX))
      assert.is_true(s:bind(name))
      assert.equal(name, s:getsockname())
      s:close()
    end)

    it("socketpair defaults to a connected AF_UNIX stream pair", function()
      local a, b = socket.socketpair()
      assert.matches("family=AF_UNIX, type=SOCK_STREAM", tostring(a))
      assert.is_nil(a:gettimeout())
      if net.linux then assert.is_true(net.has_flag(b:fileno(), net.O_CLOEXEC)) end
      assert.equal(5, a:send("hello"))
      assert.equal("hello", b:recv(5))
      assert.equal(2, b:sendall("ok"))
      assert.equal("ok", a:recv(100))
      a:close()
      assert.equal("", b:recv(1))
      assert.same({ nil, "Broken pipe", E.EPIPE }, { b:send("x") })
      b:close()
    end)

    it("socketpair makes datagram pairs and recv takes sizes past 64 KiB", function()
      local a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
      local big = string.rep("z", 100000)
      assert.equal(#big, a:send(big))
      assert.equal(big, b:recv(200000))
      assert.equal(3, a:send("abc"))
      assert.equal("abc", (b:recvfrom(300000)))
      a:close()
      b:close()
    end)
  end)

  describe("timeouts", function()
    it("recv on a quiet socket returns timeout after the deadline", function()
      local a, b = socket.socketpair()
      assert.is_true(a:settimeout(0.1))
      local t0 = net.now()
      assert.same({ nil, "timeout", E.ETIMEDOUT }, { a:recv(10) })
      local elapsed = net.now() - t0
      assert.is_true(elapsed >= 0.099, "waited only " .. elapsed .. " s")
      assert.is_true(elapsed < 5, "waited " .. elapsed .. " s")
      assert.equal(1, b:send("x"))
      assert.equal("x", a:recv(10)) -- ready data comes at once
      a:close()
      b:close()
    end)

    it("sendall with a timeout reports what it sent, so it can resume", function()
      local a, b = socket.socketpair()
      a:settimeout(0.01)
      b:setblocking(false)
      local data = string.rep("0123456789abcdef", 4 * 1024 * 1024 / 16)
      local pos, got, rounds = 1, {}, 0
      while pos <= #data do
        rounds = rounds + 1
        assert.is_true(rounds < 5000, "sendall made no progress")
        local n, msg, errno, sent = a:sendall(pos == 1 and data or data:sub(pos))
        if n then
          assert.equal(#data - pos + 1, n)
          pos = #data + 1
        else
          assert.same({ "timeout", E.ETIMEDOUT }, { msg, errno })
          pos = pos + sent
        end
        drain(b, got)
      end
      drain(b, got)
      assert.equal(#data, #table.concat(got))
      assert.is_true(table.concat(got) == data)
      a:close()
      b:close()
    end)

    it("sendall on a non-blocking socket waits for a slow reader", function()
      local exe = net.lua_exe()
      if not exe then return pending("needs /proc to start a reader process") end
      local srv = assert(socket.create_server("127.0.0.1", 0))
      local _, port = srv:getsockname()
      local reader = ([[
        local socket = require "selectors.socket"
        local c = assert(socket.socket())
        c:setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        c:settimeout(10)
        assert(c:connect("127.0.0.1", PORT))
        local n = 0
        while true do
          local d = assert(c:recv(1000))
          if d == "" then break end
          n = n + #d
        end
        io.write(n)
      ]]):gsub("PORT", tostring(port)):gsub("\n%s*", " ")
      local child = assert(io.popen(exe .. " -e '" .. reader .. "'", "r"))
      srv:settimeout(10)
      local conn = assert(srv:accept())
      -- Small buffers on both sides (no autotuning), so 4 MiB cannot fit.
      conn:setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
      conn:setblocking(false)
      local data = string.rep("x", 4 * 1024 * 1024)
      assert.equal(#data, conn:sendall(data))
      assert.equal(0, conn:gettimeout())
      conn:close()
      local out = child:read("*a")
      child:close()
      assert.equal(tostring(#data), out)
      srv:close()
    end)
  end)

  describe("options", function()
    local S, T = socket.SOL_SOCKET, socket.IPPROTO_TCP
    local cases = {
      { "SO_REUSEADDR", S, socket.SO_REUSEADDR, true, true },
      { "SO_REUSEADDR off", S, socket.SO_REUSEADDR, false, false },
      { "SO_KEEPALIVE", S, socket.SO_KEEPALIVE, 1, true },
      { "SO_KEEPALIVE off", S, socket.SO_KEEPALIVE, 0, false },
      { "TCP_NODELAY", T, socket.TCP_NODELAY, true, true },
      { "SO_LINGER 5", S, socket.SO_LINGER, 5, 5 },
      { "SO_LINGER on", S, socket.SO_LINGER, true, 0 },
      { "SO_LINGER off", S, socket.SO_LINGER, false, false },
      { "IPV6_V6ONLY", socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, true, true, socket.AF_INET6 },
    }
    if socket.SO_REUSEPORT then
      cases[#cases + 1] = { "SO_REUSEPORT", S, socket.SO_REUSEPORT, true, true }
    end
    for _, c in ipairs(cases) do
      it("round-trips " .. c[1], function()
        if c[6] == socket.AF_INET6 and not has_ipv6 then return pending("no IPv6") end
        local s = assert(socket.socket(c[6]))
        assert.is_true(s:setsockopt(c[2], c[3], c[4]))
        assert.equal(c[5], s:getsockopt(c[2], c[3]))
        s:close()
      end)
    end

    it("round-trips buffer sizes (Linux doubles them)", function()
      local s = assert(socket.socket())
      for _, name in ipairs { socket.SO_RCVBUF, socket.SO_SNDBUF } do
        assert.is_true(s:setsockopt(S, name, 65536))
        local v = s:getsockopt(S, name)
        assert.is_true(v >= 65536 and v <= 4 * 65536, tostring(v))
      end
      s:close()
    end)

    it("reads SO_ERROR as an integer", function()
      local s = assert(socket.socket())
      assert.equal(0, s:getsockopt(S, socket.SO_ERROR))
      s:close()
    end)
  end)

  describe("create_server and create_connection", function()
    each_family("round trip", function(f)
      local srv = assert(socket.create_server(f.host, 0, { family = f.family, backlog = 8 }))
      assert.is_nil(srv:gettimeout())
      assert.is_true(srv:getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR))
      local _, port = srv:getsockname()
      local c = assert(socket.create_connection(f.host, port))
      assert.is_nil(c:gettimeout())
      local conn, host, cport = srv:accept()
      assert.same({ host, cport }, { c:getsockname() })
      assert.equal(4, c:sendall("ping"))
      assert.equal("ping", conn:recv(4))
      for _, s in ipairs { c, conn, srv } do s:close() end
    end)

    it("makes IPv6 servers IPv6-only unless dualstack_ipv6 is set", function()
      if not has_ipv6 then return pending("no IPv6") end
      for _, dual in ipairs { false, true } do
        local srv = assert(socket.create_server("::", 0,
          { family = socket.AF_INET6, dualstack_ipv6 = dual }))
        assert.equal(not dual, srv:getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY))
        srv:close()
      end
    end)

    it("create_connection tries each address of localhost and keeps the timeout",
      function()
        local srv = assert(socket.create_server("127.0.0.1", 0))
        local _, port = srv:getsockname()
        local c = assert(socket.create_connection("localhost", port, 1.5))
        assert.equal(1.5, c:gettimeout())
        assert.same({ "127.0.0.1", port }, { c:getpeername() })
        local conn = assert(srv:accept())
        for _, s in ipairs { c, conn, srv } do s:close() end
      end)

    it("create_connection returns the error when nothing listens", function()
      assert.same({ nil, "Connection refused", E.ECONNREFUSED },
                  { socket.create_connection("127.0.0.1", net.closed_port(), 1) })
    end)

    it("create_server returns Address already in use, unless reuse_port", function()
      local a = assert(socket.create_server("127.0.0.1", 0))
      local _, port = a:getsockname()
      assert.same({ nil, "Address already in use", E.EADDRINUSE },
                  { socket.create_server("127.0.0.1", port) })
      a:close()
      if not socket.SO_REUSEPORT then return end
      local b = assert(socket.create_server("127.0.0.1", 0, { reuse_port = true }))
      _, port = b:getsockname()
      local c = assert(socket.create_server("127.0.0.1", port, { reuse_port = true }))
      b:close()
      c:close()
    end)
  end)

  describe("closing", function()
    it("is idempotent and makes fileno -1", function()
      local s = assert(socket.socket())
      assert.is_true(s:close())
      assert.is_true(s:close())
      assert.equal(-1, s:fileno())
      assert.equal("<selectors.socket [closed] family=AF_INET, type=SOCK_STREAM>",
                   tostring(s))
    end)

    local calls = {
      { "bind", "127.0.0.1", 0 }, { "listen" }, { "accept" },
      { "connect", "127.0.0.1", 1 }, { "recv", 1 }, { "recvfrom", 1 },
      { "send", "x" }, { "sendall", "x" }, { "sendto", "x", "127.0.0.1", 1 },
      { "setblocking", false }, { "settimeout", 1 }, { "gettimeout" },
      { "setsockopt", socket.SOL_SOCKET, socket.SO_REUSEADDR, true },
      { "getsockopt", socket.SOL_SOCKET, socket.SO_REUSEADDR },
      { "shutdown", "rw" }, { "getsockname" }, { "getpeername" },
    }
    for _, c in ipairs(calls) do
      it("raises on " .. c[1] .. " after close", function()
        local s = assert(socket.socket())
        s:close()
        assert.has_error(function() s[c[1]](s, unpack(c, 2)) end,
                         "attempt to use a closed socket")
      end)
    end

    it("closes the descriptor when collected", function()
      if not net.linux then return pending("needs /proc") end
      local function open_one() return socket.socket():fileno() end
      local fd = open_one()
      collectgarbage()
      collectgarbage()
      assert.is_false(net.fd_open(fd))
    end)

    -- <close> is Lua 5.4 syntax: the case exists only there.
    if _VERSION == "Lua 5.4" then
      it("closes the descriptor on leaving a <close> scope (Lua 5.4)", function()
        local chunk = assert(load([[
          local socket = ...
          local fd
          do
            local s <close> = socket.socket()
            fd = s:fileno()
          end
          return fd
        ]]))
        local fd = chunk(socket)
        assert.is_false(net.fd_open(fd))
      end)
    end
  end)

  describe("misuse raises", function()
    local s, u
    before_each(function()
      s = assert(socket.socket())
      u = assert(socket.socket(socket.AF_UNIX))
    end)
    after_each(function()
      s:close()
      u:close()
    end)

    local S = socket.SOL_SOCKET
    local cases = {
      { "socket('x')", function() socket.socket("x") end,
        "bad argument #1 to 'socket' (number expected, got string)" },
      { "socket(12345)", function() socket.socket(12345) end,
        "bad argument #1 to 'socket' (unsupported address family)" },
      { "socket(AF_INET, 99)", function() socket.socket(socket.AF_INET, 99) end,
        "bad argument #2 to 'socket' (unsupported socket type)" },
      { "socketpair(AF_UNIX, 1.5)", function() socket.socketpair(socket.AF_UNIX, 1.5) end,
        "bad argument #2 to 'socketpair' (number has no integer representation)" },
      { "recv(0)", function() s:recv(0) end,
        "bad argument #1 to 'recv' (size must be positive)" },
      { "recv(-1)", function() s:recv(-1) end,
        "bad argument #1 to 'recv' (size must be positive)" },
      { "recv(1.5)", function() s:recv(1.5) end,
        "bad argument #1 to 'recv' (number has no integer representation)" },
      { "recv('10')", function() s:recv("10") end,
        "bad argument #1 to 'recv' (number expected, got string)" },
      { "recv()", function() s:recv() end,
        "bad argument #1 to 'recv' (number expected, got no value)" },
      { "recvfrom(0)", function() s:recvfrom(0) end,
        "bad argument #1 to 'recvfrom' (size must be positive)" },
      { "recv on a non-socket", function() s.recv("x", 10) end,
        "bad argument #1 to 'recv' (selectors.socket expected, got string)" },
      -- Other userdata, of any size (the fast check compares size and tag).
      { "recv on a file", function() s.recv(io.stdout, 10) end,
        "bad argument #1 to 'recv' (selectors.socket expected, got userdata)" },
      { "send on a selector", function()
          s.send(require("selectors").DefaultSelector(), "x") end,
        "bad argument #1 to 'send' (selectors.socket expected, got userdata)" },
      { "send(42)", function() s:send(42) end,
        "bad argument #1 to 'send' (string expected, got number)" },
      { "sendall(nil)", function() s:sendall(nil) end,
        "bad argument #1 to 'sendall' (string expected, got nil)" },
      { "bind(nil, 0)", function() s:bind(nil, 0) end,
        "bad argument #1 to 'bind' (string expected, got nil)" },
      { "bind(host, 70000)", function() s:bind("127.0.0.1", 70000) end,
        "bad argument #2 to 'bind' (port out of range)" },
      { "connect(host)", function() s:connect("127.0.0.1") end,
        "bad argument #2 to 'connect' (number expected, got no value)" },
      { "sendto without port", function() s:sendto("x", "127.0.0.1") end,
        "bad argument #3 to 'sendto' (number expected, got no value)" },
      { "AF_UNIX path too long", function() u:bind(string.rep("p", 200)) end,
        "bad argument #1 to 'bind' (path too long)" },
      { "listen('x')", function() s:listen("x") end,
        "bad argument #1 to 'listen' (number expected, got string)" },
      { "setblocking(0)", function() s:setblocking(0) end,
        "bad argument #1 to 'setblocking' (boolean expected, got number)" },
      { "settimeout(-1)", function() s:settimeout(-1) end,
        "bad argument #1 to 'settimeout' (timeout must be non-negative)" },
      { "settimeout(0/0)", function() s:settimeout(0 / 0) end,
        "bad argument #1 to 'settimeout' (timeout must be non-negative)" },
      { "settimeout('1')", function() s:settimeout("1") end,
        "bad argument #1 to 'settimeout' (number or nil expected, got string)" },
      { "unknown option", function() s:setsockopt(S, 9999, true) end,
        "bad argument #2 to 'setsockopt' (unsupported socket option)" },
      { "unknown level", function() s:getsockopt(9999, socket.SO_REUSEADDR) end,
        "bad argument #2 to 'getsockopt' (unsupported socket option)" },
      { "option name as a string", function() s:setsockopt(S, "SO_REUSEADDR", true) end,
        "bad argument #2 to 'setsockopt' (number expected, got string)" },
      { "size option with a boolean", function() s:setsockopt(S, socket.SO_RCVBUF, true) end,
        "bad argument #3 to 'setsockopt' (number expected, got boolean)" },
      { "flag option with a string", function() s:setsockopt(S, socket.SO_REUSEADDR, "y") end,
        "bad argument #3 to 'setsockopt' (boolean or number expected, got string)" },
      { "linger with a string", function() s:setsockopt(S, socket.SO_LINGER, "y") end,
        "bad argument #3 to 'setsockopt' (false or number expected, got string)" },
      { "negative linger", function() s:setsockopt(S, socket.SO_LINGER, -1) end,
        "bad argument #3 to 'setsockopt' (value out of range)" },
      { "setting SO_ERROR", function() s:setsockopt(S, socket.SO_ERROR, 0) end,
        "bad argument #2 to 'setsockopt' (read-only socket option)" },
      { "shutdown('x')", function() s:shutdown("x") end,
        "bad argument #1 to 'shutdown' (invalid option 'x')" },
      { "shutdown(99)", function() s:shutdown(99) end,
        "bad argument #1 to 'shutdown' (invalid shutdown mode)" },
      { "shutdown()", function() s:shutdown() end,
        "bad argument #1 to 'shutdown' (number or string expected, got no value)" },
      { "create_server opts not a table",
        function() socket.create_server("127.0.0.1", 0, 5) end,
        "bad argument #3 to 'create_server' (table or nil expected, got number)" },
      { "create_server unknown option",
        function() socket.create_server("127.0.0.1", 0, { bogus = 1 }) end,
        "bad argument #3 to 'create_server' (unknown option 'bogus')" },
      { "create_server bad backlog",
        function() socket.create_server("127.0.0.1", 0, { backlog = "x" }) end,
        "bad argument #3 to 'create_server' (option 'backlog' must be an integer >= 0)" },
      { "create_server bad reuse_port",
        function() socket.create_server("127.0.0.1", 0, { reuse_port = 1 }) end,
        "bad argument #3 to 'create_server' (option 'reuse_port' must be a boolean)" },
      { "create_server AF_UNIX",
        function() socket.create_server("x", 0, { family = socket.AF_UNIX }) end,
        "bad argument #3 to 'create_server' (option 'family' must be AF_INET or AF_INET6)" },
      { "create_server without port", function() socket.create_server("127.0.0.1") end,
        "bad argument #2 to 'create_server' (number expected, got no value)" },
      { "create_connection(nil, 1)", function() socket.create_connection(nil, 1) end,
        "bad argument #1 to 'create_connection' (string expected, got nil)" },
      { "create_connection negative timeout",
        function() socket.create_connection("127.0.0.1", 1, -1) end,
        "bad argument #3 to 'create_connection' (timeout must be non-negative)" },
    }
    for _, c in ipairs(cases) do
      it(c[1], function() assert.has_error(c[2], c[3]) end)
    end
  end)
end)
