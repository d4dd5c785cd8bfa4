#!/bin/sh
# The image's entry point: the first argument is the role. The simulators listen on every interface here (their
# `vangnet sim-*` commands bind 127.0.0.1, which another container cannot reach), so they run as their modules.
set -eu
role="${1:-api}"
[ "$#" -gt 0 ] && shift
case "$role" in
    sim-payments)
        exec python -m simulators.payments.app --host 0.0.0.0 --port "${PAYSIM_PORT:-8101}" "$@" ;;
    sim-netbeheerder)
        exec python -m simulators.netbeheerder.app --host 0.0.0.0 --port "${NBSIM_PORT:-8102}" "$@" ;;
    *)
        exec vangnet "$role" "$@" ;;
esac
