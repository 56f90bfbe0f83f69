#!/usr/bin/env bash
# bench/plot.sh [DATA [SVG]] - the plot of select() cost against the number
# of idle registrations, from the data file bench/scaling.sh writes
# (default bench/scaling.dat) to an SVG (default bench/select_scaling.svg):
# log-log, N across, ns per select up, one line per implementation.
# Columns of DATA: N, then ns per select of the C core, Lua 5.4, LuaJIT,
# Python select, poll and epoll; NaN where not measured.  Needs gnuplot
# (Debian's gnuplot-nox, installed here when missing and run as root).
set -euo pipefail

bench=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
data=${1:-$bench/scaling.dat}
svg=${2:-$bench/select_scaling.svg}

if ! command -v gnuplot >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "plot.sh: installing gnuplot-nox"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q gnuplot-nox >/dev/null 2>&1 || {
      DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q gnuplot-nox >/dev/null
    }
  fi
  command -v gnuplot >/dev/null 2>&1 || {
    echo "plot.sh: gnuplot is not installed (Debian: apt-get install gnuplot-nox)" >&2
    exit 1
  }
fi
[ -f "$data" ] || { echo "plot.sh: no data file $data (run bench/scaling.sh)" >&2; exit 1; }

# The title names the machine, from the data file's first comment line.
machine=$(sed -n '1s/^.*UTC: //p' "$data" | tr -d '"')

gnuplot <<EOF
set terminal svg size 800,520 dynamic noenhanced font "sans,12" background "white"
set output "$svg"
set datafile missing "NaN"
set title "select() returning 1 ready descriptor while N others are idle\n$machine"
set xlabel "N idle registrations"
set ylabel "ns per select"
set logscale xy
set format x "%.0f"
set format y "%.0f"
set grid xtics ytics mxtics mytics lc rgb "#dddddd"
set key top left box opaque
set xrange [5:200000]
plot "$data" using 1:2 with linespoints lw 2 pt 7 lc rgb "#1f4e99" title "C core (sel_select)", \
     "" using 1:3 with linespoints lw 2 pt 5 lc rgb "#2ca02c" title "Lua 5.4 (sel:select)", \
     "" using 1:4 with linespoints lw 2 pt 9 lc rgb "#9467bd" title "LuaJIT (sel:select)", \
     "" using 1:5 with linespoints lw 1 pt 4 dt 2 lc rgb "#d62728" title "Python SelectSelector", \
     "" using 1:6 with linespoints lw 1 pt 6 dt 2 lc rgb "#ff7f0e" title "Python PollSelector", \
     "" using 1:7 with linespoints lw 1 pt 8 dt 2 lc rgb "#7f7f7f" title "Python EpollSelector"
EOF
echo "plot.sh: wrote $svg"
