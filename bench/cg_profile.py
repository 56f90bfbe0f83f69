"""cg_profile.py - per-message profile from two callgrind runs.

    cg_profile.py [--top K] N1 CALLGRIND_OUT1 N2 CALLGRIND_OUT2

The two files are callgrind outputs of the same server echoing N1 and N2
messages.  For every function it takes callgrind_annotate's inclusive and
self instruction counts in both, and prints (Ir2 - Ir1) / (N2 - N1): what
one more echoed message costs in that function, with start-up and
shutdown cancelled out.  Prints two Markdown tables (top K by inclusive
and by self cost) and the total per message.  bench/run --full runs it on
the Lua 5.4 select-loop server; it needs callgrind_annotate (valgrind).
"""
import re
import subprocess
import sys

LINE = re.compile(r"^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.+?)\s*$")
# Frames above main: the same whole-run figure, nothing to learn from.
ABOVE_MAIN = re.compile(r"\(below main\)|__libc_start_main|^\?\?\?:0x[0-9a-f]+ \[.*ld-linux")


def annotate(path, inclusive):
    """Returns {function: Ir} from callgrind_annotate, and the total."""
    out = subprocess.run(
        ["callgrind_annotate", "--inclusive=" + ("yes" if inclusive else "no"),
         "--threshold=100", "--auto=no", path],
        check=True, capture_output=True, text=True).stdout
    costs, total = {}, None
    for line in out.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        value, name = int(m.group(1).replace(",", "")), m.group(2)
        if name == "PROGRAM TOTALS":
            total = value
        else:
            costs[name] = costs.get(name, 0) + value
    return costs, total


def short(name):
    """'file:function [/path/obj.so]' -> 'function (obj.so)'."""
    m = re.match(r"^(.*?):([^:\[]+?)(?: \[(.*)\])?$", name)
    if not m:
        return name
    obj = (m.group(3) or "").rsplit("/", 1)[-1]
    return "%s (%s)" % (m.group(2), obj) if obj else m.group(2)


def per_message(c1, c2, n1, n2):
    names = set(c1) | set(c2)
    return {k: (c2.get(k, 0) - c1.get(k, 0)) / float(n2 - n1) for k in names}


def table(title, costs, top, whole=None):
    """Top rows; with whole, frames that hold (nearly) all of it are left
    out: main and the interpreter's call wrappers around the script."""
    rows = sorted(costs.items(), key=lambda kv: -kv[1])
    if whole is not None:
        rows = [kv for kv in rows
                if not ABOVE_MAIN.search(kv[0]) and kv[1] < 0.995 * whole]
    print()
    print("| %s | Ir/msg |" % title)
    print("|---|---:|")
    for name, v in rows[:top]:
        print("| `%s` | %s |" % (short(name), format(int(round(v)), ",")))


def main(argv):
    top = 15
    if len(argv) >= 2 and argv[0] == "--top":
        top, argv = int(argv[1]), argv[2:]
    if len(argv) != 4:
        sys.stderr.write(__doc__)
        return 2
    n1, f1, n2, f2 = int(argv[0]), argv[1], int(argv[2]), argv[3]
    inc1, t1 = annotate(f1, True)
    inc2, t2 = annotate(f2, True)
    self1, _ = annotate(f1, False)
    self2, _ = annotate(f2, False)
    whole = (t2 - t1) / float(n2 - n1)
    print("Total: %s instructions per message ((%s - %s) / (%d - %d))."
          % (format(int(round(whole)), ","), format(t2, ","), format(t1, ","), n2, n1))
    print("Inclusive leaves out main and the frames wrapping the whole script"
          " (lua_pcallk, luaV_execute of the main chunk...), which hold all of it.")
    table("function, inclusive (itself and what it calls)",
          per_message(inc1, inc2, n1, n2), top, whole)
    self_pm = per_message(self1, self2, n1, n2)
    table("function, self (its own instructions)", self_pm, top)
    by_obj = {}
    for name, v in self_pm.items():
        m = re.search(r"\[(.*)\]$", name)
        obj = m.group(1).rsplit("/", 1)[-1] if m else "?"
        by_obj[obj] = by_obj.get(obj, 0) + v
    print()
    print("| object (self, summed) | Ir/msg |")
    print("|---|---:|")
    for obj, v in sorted(by_obj.items(), key=lambda kv: -kv[1]):
        if round(v) != 0:
            print("| %s | %s |" % (obj, format(int(round(v)), ",")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
