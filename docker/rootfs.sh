#!/bin/sh
# Regenerates docker/rootfs.tar, which both Dockerfiles ADD at /.
#
# Why a tar: the runtime stage may be FROM scratch (the test stand-ins), so it
# cannot RUN mkdir/chmod, and COPY --chmod needs BuildKit, which the offline
# test build does not have. ADD of a local tar keeps the owner, group and mode
# recorded here, with either builder.
#
# Contents: home/komodo, the daemons' HOME, owned by uid 10001 and group 0 and
# group-writable (mode 0775): OpenShift runs the image with a random uid in
# group 0, and a named volume mounted there starts with this owner and mode.
set -eu
out=$(cd "$(dirname "$0")" && pwd)/rootfs.tar
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/home/komodo"
chmod 0775 "$tmp/home/komodo"
tar --create --file "$out" --directory "$tmp" --format=ustar --numeric-owner \
    --owner=10001 --group=0 --mtime=@0 --sort=name --no-recursion home/komodo
tar --list --verbose --numeric-owner --file "$out"
