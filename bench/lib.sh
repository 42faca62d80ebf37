# shellcheck shell=sh
# Shared by the bench scripts: runs interleaved against drift, and medians. The caller defines
# once PEER FIGURE (prints one result line), RUNS, WARMUP and TMP.

# abba FIGURE PEER...: `once PEER FIGURE` RUNS times for each peer, after WARMUP runs each, in
# two halves, the second in reverse order (A B, B A), so that slow drift of the machine falls
# on all alike. The results go to $TMP/FIGURE.PEER, a line each.
abba() {
    _figure=$1
    shift
    _reverse=
    for _peer in "$@"; do
        : >"$TMP/$_figure.$_peer"
        _reverse="$_peer $_reverse"
    done
    for _half in 0 1; do
        _order="$*" _n=$(((RUNS + 1) / 2))
        if [ $_half = 1 ]; then _order=$_reverse _n=$((RUNS / 2)); fi
        for _peer in $_order; do
            _i=0
            while [ $_i -lt "$WARMUP" ]; do
                once "$_peer" "$_figure" >/dev/null
                _i=$((_i + 1))
            done
            _i=0
            while [ $_i -lt $_n ]; do
                once "$_peer" "$_figure" >>"$TMP/$_figure.$_peer"
                _i=$((_i + 1))
            done
        done
    done
}

# median FILE [COLUMN]: the median of a column (default the first) of numbers.
median() {
    awk -v c="${2:-1}" '{ print $c }' "$1" | sort -g |
        awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
