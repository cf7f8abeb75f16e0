#!/usr/bin/env bash
# Amazon Linux 2023's trust-store layout, in a private mount namespace, for one command.
#
#   unshare -m --propagation private bash bench/lambda/al2023-trust-store.sh ROOTS_PEM -- CMD...
#
# Must run as the first process of a new mount namespace (unshare -m): it lays an overlay
# (upper layer on a tmpfs) over /etc, so nothing of the host's /etc changes, and inside it
# reproduces what provided.al2023 ships (the ca-certificates package, p11-kit's extraction):
#
#   /etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem         the roots, PEM "CERTIFICATE"
#   /etc/pki/ca-trust/extracted/openssl/ca-bundle.trust.crt   the same roots as OpenSSL
#                                                             "TRUSTED CERTIFICATE"s
#   /etc/pki/tls/certs/ca-bundle.crt       -> ../pem/tls-ca-bundle.pem
#   /etc/pki/tls/certs/ca-bundle.trust.crt -> ../openssl/ca-bundle.trust.crt
#   /etc/pki/tls/cert.pem                  -> ../pem/tls-ca-bundle.pem
#   /etc/ssl/certs                         -> ../pki/tls/certs
#
# ROOTS_PEM is the roots to use (the bench passes this machine's roots plus its stub's CA, as
# `update-ca-trust` would after adding an anchor). Then CMD runs; the layer is removed after.
set -euo pipefail
roots=$1
shift
[[ ${1:-} == -- ]] && shift

layer=$(mktemp -d -t lambda-async-api-al2023-etc.XXXXXX)
cleanup() {
  umount /etc 2>/dev/null || true
  umount "$layer" 2>/dev/null || true
  rmdir "$layer" 2>/dev/null || true
}
trap cleanup EXIT
mount -t tmpfs -o mode=0755 al2023-etc "$layer"
mkdir "$layer/upper" "$layer/work" "$layer/split"

# One "TRUSTED CERTIFICATE" per root, as p11-kit writes ca-bundle.trust.crt (serverAuth trust).
trusted="$layer/ca-bundle.trust.crt"
awk -v dir="$layer/split" '/-----BEGIN CERTIFICATE-----/ { n++; out = sprintf("%s/%04d.pem", dir, n) }
  out { print > out } /-----END CERTIFICATE-----/ { close(out); out = "" }' "$roots"
for pem in "$layer"/split/*.pem; do
  openssl x509 -in "$pem" -addtrust serverAuth -trustout 2>/dev/null >>"$trusted" || true
done

mount -t overlay al2023-etc -o "lowerdir=/etc,upperdir=$layer/upper,workdir=$layer/work" /etc
extracted=/etc/pki/ca-trust/extracted
mkdir -p "$extracted/pem" "$extracted/openssl" /etc/pki/tls/certs
cp "$roots" "$extracted/pem/tls-ca-bundle.pem"
cp "$trusted" "$extracted/openssl/ca-bundle.trust.crt"
ln -s "$extracted/pem/tls-ca-bundle.pem" /etc/pki/tls/certs/ca-bundle.crt
ln -s "$extracted/openssl/ca-bundle.trust.crt" /etc/pki/tls/certs/ca-bundle.trust.crt
ln -s "$extracted/pem/tls-ca-bundle.pem" /etc/pki/tls/cert.pem
rm -rf /etc/ssl/certs
ln -s ../pki/tls/certs /etc/ssl/certs

"$@" && rc=0 || rc=$?
exit "$rc"
