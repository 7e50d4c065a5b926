#!/bin/bash
# A faithful re-creation of the 2018-style komodod container entrypoint that
# dokomodo replaces, used by bench/run.sh as the baseline for `dokomodo run`.
# It is NOT a recommended setup: credentials travel in the environment, ports
# come from a hand-kept table, and files are written in place (no fsync, no
# atomic rename, no check that the template still matches the chain).
#
# As in those images: one template conf per chain with placeholders, filled in
# with sed from environment variables set by docker-compose (an .env file),
# then `exec` of the daemon with the launch parameters from the compose
# `command:` (this script's arguments).
#
#   ASSETCHAIN       the chain (KMD for Komodo itself)
#   RPCUSER, RPCPASSWORD, RPCPORT              the chain's conf values
#   KMD_RPCUSER, KMD_RPCPASSWORD               komodo.conf (assetchains read it)
#   TEMPLATES        directory with komodo.conf.tpl and <CHAIN>.conf.tpl
#   KOMODOD          the daemon (default komodod)
set -e

: "${ASSETCHAIN:?ASSETCHAIN not set}"
: "${TEMPLATES:=/templates}"
: "${KOMODOD:=komodod}"

umask 077
mkdir -p "$HOME/.komodo/$ASSETCHAIN"

if [ -f "$TEMPLATES/komodo.conf.tpl" ]; then
    sed -e "s/RPCUSER/${KMD_RPCUSER}/" \
        -e "s/RPCPASSWORD/${KMD_RPCPASSWORD}/" \
        -e "s/RPCPORT/7771/" \
        "$TEMPLATES/komodo.conf.tpl" > "$HOME/.komodo/komodo.conf"
fi

if [ "$ASSETCHAIN" != "KMD" ]; then
    sed -e "s/RPCUSER/${RPCUSER}/" \
        -e "s/RPCPASSWORD/${RPCPASSWORD}/" \
        -e "s/RPCPORT/${RPCPORT}/" \
        "$TEMPLATES/$ASSETCHAIN.conf.tpl" > "$HOME/.komodo/$ASSETCHAIN/$ASSETCHAIN.conf"
fi

cd "$HOME"
exec "$KOMODOD" "$@"
