#!/usr/bin/env bash
# A real DNS stack with DNSSEC on loopback, for the DNS tests (test/dns-interop.test.ts).
#
#   test/interop/dns.sh start   install if needed, sign the zones, start; writes $DIR/env.json
#   test/interop/dns.sh stop    stop what start started
#
# BIND 9 (named) is authoritative for sec.test, bogus.test and audit.test (signed), expired.test
# (signed with signatures that have run out) and plain.test (unsigned); Unbound validates
# with the signed zones' DS records as its only trust anchors. In bogus.test some records
# are altered after signing, so a validator answers SERVFAIL (EDE 6, DNSSEC Bogus) while
# named itself serves the altered data. Nothing ever goes beyond 127.0.0.1.
set -euo pipefail

DIR=${SMTPKIT_DNS_DIR:-/tmp/smtpkit-dns}
HERE=$(cd "$(dirname "$0")" && pwd)
TLS_DIR=$(cd "$HERE/../fixtures/tls" && pwd)

log() { echo "dns.sh: $*" >&2; }

install_packages() {
  if command -v named >/dev/null && command -v unbound >/dev/null && command -v dnssec-signzone >/dev/null; then return; fi
  [ "$(id -u)" = 0 ] || { log "bind9/unbound are missing and we are not root to install them"; exit 1; }
  log "installing bind9, bind9-utils, bind9-dnsutils and unbound"
  # Keep the packages from starting their own daemons (nothing should listen on :53).
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends bind9 bind9-utils bind9-dnsutils unbound >/dev/null
}

# Free ports, asked of the OS (shared with the other interop script).
. "$HERE/ports.sh"

# 3 1 1 association data: SHA-256 of the certificate's public key (RFC 7671 §5.1).
spki_sha256() { openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1; }
# 2 0 1: SHA-256 of the whole (CA) certificate.
cert_sha256() { openssl x509 -in "$1" -outform DER | sha256sum | cut -d' ' -f1; }

# A certificate for mx2.sec.test from the fixture CA, for DANE-TA with a matching name.
issue_ta_leaf() {
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=mx2.sec.test \
    -keyout "$DIR/tls/mx2.key" -out "$DIR/tls/mx2.csr" 2>/dev/null
  printf 'subjectAltName=DNS:mx2.sec.test\n' > "$DIR/tls/mx2.ext"
  openssl x509 -req -in "$DIR/tls/mx2.csr" -CA "$TLS_DIR/ca.pem" -CAkey "$TLS_DIR/ca.key" -CAcreateserial \
    -CAserial "$DIR/tls/ca.srl" -days 30 -extfile "$DIR/tls/mx2.ext" -out "$DIR/tls/mx2.pem" 2>/dev/null
}

write_zones() {
  local leaf ca
  leaf=$(spki_sha256 "$TLS_DIR/server.pem")
  issue_ta_leaf
  ca=$(cert_sha256 "$TLS_DIR/ca.pem")
  local soa='@ 300 IN SOA ns.test. hostmaster.test. 1 3600 600 86400 300
@ 300 IN NS ns.test.'
  cat > "$DIR/zones/sec.test" <<Z
\$TTL 300
$soa
@ MX 10 mx1
@ TXT "v=spf1 mx -all"
_dmarc TXT "v=DMARC1; p=reject; rua=mailto:dmarc@sec.test"
mx1 A 127.0.0.1
mx2 A 127.0.0.1
mx3 A 127.0.0.1
_25._tcp.mx1 TLSA 3 1 1 $leaf
; DANE-TA: trust from the CA in the TLSA record, the name still checked against mx2.sec.test
_25._tcp.mx2 TLSA 2 0 1 $ca
; wrong data: a validated record that matches nothing
_25._tcp.mx4 TLSA 3 1 1 $(printf '07%.0s' $(seq 32))
mx4 A 127.0.0.1
ta MX 10 mx2
wrong MX 10 mx4
partial MX 10 mx1
partial MX 20 mx3
spf MX 10 mx1
spf TXT "v=spf1 include:_spf.bogus.test -all"
tlsa MX 10 mx.bogus.test.
tlsa TXT "v=spf1 -all"
Z
  # For the audit (test/audit-interop.test.ts): a good domain with a CAA record and a TLSA
  # rollover pair (the current key and the next, RFC 7671 §8.1), and two domains whose MX a
  # test serves on its own port: one without STARTTLS, one with weak TLS.
  cat > "$DIR/zones/audit.test" <<Z
\$TTL 300
$soa
@ MX 10 mx
@ TXT "v=spf1 mx -all"
@ CAA 0 issue "ca.test"
_dmarc TXT "v=DMARC1; p=reject; rua=mailto:dmarc@audit.test"
mx A 127.0.0.1
_25._tcp.mx TLSA 3 1 1 $leaf
_25._tcp.mx TLSA 3 1 1 $(spki_sha256 "$DIR/tls/mx2.pem")
plaintext MX 10 mx-plain
mx-plain A 127.0.0.1
weak MX 10 mx-weak
mx-weak A 127.0.0.1
Z
  cat > "$DIR/zones/bogus.test" <<Z
\$TTL 300
$soa
@ MX 10 mx
mx A 127.0.0.1
_spf TXT "v=spf1 ip4:127.0.0.1 -all"
_25._tcp.mx TLSA 3 1 1 $leaf
Z
  cat > "$DIR/zones/expired.test" <<Z
\$TTL 300
$soa
@ MX 10 mx
mx A 127.0.0.1
Z
  cat > "$DIR/zones/plain.test" <<Z
\$TTL 300
$soa
@ MX 10 mx1
mx1 A 127.0.0.1
_25._tcp.mx1 TLSA 3 1 1 $leaf
Z
}

sign() {
  local zone=$1 window=$2
  (
    cd "$DIR/keys"
    # Keys active since three days ago, so a signature window in the past is allowed.
    dnssec-keygen -q -a ECDSAP256SHA256 -P now-259200 -A now-259200 -f KSK -n ZONE "$zone" >/dev/null
    dnssec-keygen -q -a ECDSAP256SHA256 -P now-259200 -A now-259200 -n ZONE "$zone" >/dev/null
    # -O full: one record per line, so a record can be altered after signing; -P: no
    # verification after signing (it would refuse the signatures that have run out).
    # shellcheck disable=SC2086
    dnssec-signzone -q -P -S -K . -d . -o "$zone" -O full -N unixtime $window -f "$DIR/zones/$zone.signed" "$DIR/zones/$zone" >/dev/null
  )
}

# Replace one record's data after signing: its RRSIG no longer verifies.
tamper() {
  local file=$1 pattern=$2 replacement=$3
  grep -qE "$pattern" "$file" || { log "cannot tamper with $file: no line matches $pattern"; exit 1; }
  sed -i -E "s/$pattern/$replacement/" "$file"
}

start() {
  install_packages
  stop >/dev/null 2>&1 || true
  rm -rf "$DIR"
  mkdir -p "$DIR"/{zones,keys,named,unbound,tls}
  read -r NAMED UNBOUND < <(free_ports 2)
  write_zones
  sign sec.test "-e now+2592000"
  sign bogus.test "-e now+2592000"
  sign audit.test "-e now+2592000"
  sign expired.test "-s now-172800 -e now-86400"
  # The MX points elsewhere, the include's SPF and the TLSA change: all bogus to a validator.
  tamper "$DIR/zones/bogus.test.signed" '(IN[[:space:]]+MX[[:space:]]+10[[:space:]]+)mx\.bogus\.test\.' '\1evil.tampered.test.'
  tamper "$DIR/zones/bogus.test.signed" '"v=spf1 ip4:127\.0\.0\.1 -all"' '"v=spf1 +all"'
  tamper "$DIR/zones/bogus.test.signed" '(IN[[:space:]]+TLSA[[:space:]]+3[[:space:]]+1[[:space:]]+1[[:space:]]+)[0-9A-Fa-f]+' '\1'"$(printf '0E%.0s' $(seq 32))"

  cat > "$DIR/named/named.conf" <<CONF
options {
  directory "$DIR/named";
  pid-file "$DIR/named/named.pid";
  listen-on port $NAMED { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion no;
  dnssec-validation no;
  notify no;
};
zone "sec.test" { type primary; file "$DIR/zones/sec.test.signed"; };
zone "bogus.test" { type primary; file "$DIR/zones/bogus.test.signed"; };
zone "expired.test" { type primary; file "$DIR/zones/expired.test.signed"; };
zone "plain.test" { type primary; file "$DIR/zones/plain.test"; };
zone "audit.test" { type primary; file "$DIR/zones/audit.test.signed"; };
CONF
  named-checkconf "$DIR/named/named.conf"
  named-checkzone -q sec.test "$DIR/zones/sec.test.signed"
  named-checkzone -q plain.test "$DIR/zones/plain.test"
  named-checkzone -q audit.test "$DIR/zones/audit.test.signed"
  cat "$DIR/keys/dsset-sec.test." "$DIR/keys/dsset-bogus.test." "$DIR/keys/dsset-expired.test." "$DIR/keys/dsset-audit.test." > "$DIR/unbound/anchors"

  {
    cat <<CONF
server:
  interface: 127.0.0.1@$UNBOUND
  do-ip6: no
  do-not-query-localhost: no
  module-config: "validator iterator"
  trust-anchor-file: "$DIR/unbound/anchors"
  domain-insecure: "plain.test"
  ede: yes
  val-log-level: 2
  # Bogus answers are not cached: each test sees the validator's full reason (EDE and text).
  val-bogus-ttl: 0
  verbosity: 1
  username: ""
  chroot: ""
  directory: "$DIR/unbound"
  pidfile: "$DIR/unbound/unbound.pid"
  logfile: "$DIR/unbound/unbound.log"
  use-syslog: no
  local-zone: "." refuse
  local-zone: "test." nodefault
CONF
    for z in sec.test bogus.test expired.test plain.test audit.test; do echo "  local-zone: \"$z.\" transparent"; done
    for z in sec.test bogus.test expired.test plain.test audit.test; do printf 'stub-zone:\n  name: "%s"\n  stub-addr: 127.0.0.1@%s\n' "$z" "$NAMED"; done
    printf 'remote-control:\n  control-enable: no\n'
  } > "$DIR/unbound/unbound.conf"
  unbound-checkconf "$DIR/unbound/unbound.conf" >/dev/null

  named -c "$DIR/named/named.conf" </dev/null >"$DIR/named/stdout" 2>&1 || { log "named failed to start"; cat "$DIR/named/stdout" >&2; exit 1; }
  unbound -c "$DIR/unbound/unbound.conf" </dev/null >"$DIR/unbound/stdout" 2>&1 || { log "unbound failed to start"; cat "$DIR/unbound/stdout" "$DIR/unbound/unbound.log" >&2; exit 1; }
  wait_for_answer "$NAMED" sec.test && wait_for_answer "$UNBOUND" sec.test || exit 1

  cat > "$DIR/env.json" <<JSON
{
  "named": $NAMED,
  "unbound": $UNBOUND,
  "ca": "$TLS_DIR/ca.pem",
  "mx2Cert": "$DIR/tls/mx2.pem",
  "mx2Key": "$DIR/tls/mx2.key",
  "zones": ["sec.test", "bogus.test", "expired.test", "plain.test", "audit.test"]
}
JSON
  log "up: named on 127.0.0.1:$NAMED, unbound (validating) on 127.0.0.1:$UNBOUND; details in $DIR/env.json"
}

wait_for_answer() {
  for _ in $(seq 1 100); do
    if dig +short +time=1 +tries=1 @127.0.0.1 -p "$1" "$2" SOA >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  log "no DNS answer on port $1 after 10 s"
  return 1
}

stop() {
  # Without the env file the DNS tests skip (outside CI) instead of failing on a dead server.
  rm -f "$DIR/env.json"
  for pidfile in "$DIR/unbound/unbound.pid" "$DIR/named/named.pid"; do
    if [ -s "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null || true; fi
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
