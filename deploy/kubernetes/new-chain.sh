#!/bin/sh
# Prints the Service and StatefulSet of one chain, from chain.yaml.in, with the
# ports komodod derives (asked of dokomodo, never typed by hand).
#   ./new-chain.sh CONFIG NAME [STORAGE] > name.yaml
# CONFIG is the notary YAML (the same text as configmap.yaml holds); STORAGE is
# the volume size (default 10Gi). $DOKOMODO names the binary (default dokomodo).
set -eu
if [ $# -lt 2 ] || [ $# -gt 3 ]; then
    echo "usage: $0 CONFIG NAME [STORAGE]" >&2
    exit 64
fi
config=$1 name=$2 storage=${3:-10Gi}
dokomodo=${DOKOMODO:-dokomodo}
here=$(dirname "$0")
# `check` prints NAME AC_NAME P2P RPC MAGIC HOST, one line per chain.
row=$("$dokomodo" --config "$config" check | awk -v n="$name" '$1 == n { print $3, $4, $6 }')
if [ -z "$row" ]; then
    echo "$0: no chain $name in $config" >&2
    exit 78
fi
set -- $row
p2p=$1 rpc=$2 host=$3
# The image is the chain's daemon's: komodod (its forks too, built from
# Dockerfile.komodod on their own base), or a coin's own (LTC: litecoind).
daemon=$("$dokomodo" --config "$config" ports --json "$name" | sed -n 's/.*"daemon":"\([^"]*\)".*/\1/p')
case $daemon in
    litecoind) image=litecoind ;;
    *) image=komodod ;;
esac
# A Kubernetes Service name is a DNS-1035 label.
if ! printf '%s\n' "$host" | grep -Eq '^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$'; then
    echo "$0: chain $name has host \`$host\`, not a Kubernetes Service name: set \`host:\` in the YAML (lower-case letters, digits, -)" >&2
    exit 78
fi
sed -e "s/@CHAIN@/$name/g" -e "s/@HOST@/$host/g" -e "s/@P2P@/$p2p/g" \
    -e "s/@RPC@/$rpc/g" -e "s/@STORAGE@/$storage/g" -e "s/@IMAGE@/$image/g" \
    "$here/chain.yaml.in"
