#!/usr/bin/env bash
# A private Postfix + Dovecot SASL instance on loopback, for the interop tests.
#
#   test/interop/postfix.sh start   install if needed, configure, start; writes $DIR/env.json
#   test/interop/postfix.sh stop    stop what start started
#
# Three personalities on free ports: plain SMTP (STARTTLS optional, AUTH offered),
# submission (TLS required, AUTH only after TLS), and implicit TLS. Mail for
# example.test goes to an mbox under $DIR/mail; everything else is discarded (discard.test is
# a relay domain for anyone, for load benchmarks).
# Dovecot also serves IMAP and POP3 (STARTTLS/STLS, no login before TLS) and IMAPS/POP3S.
# For the SMTP smuggling tests, two more services end DATA only at <CR><LF>.<CR><LF>:
# smtpd_forbid_bare_newline=yes (strict: bare <LF> normalized) and =reject, both with no
# exclusions (the default exclusions are $mynetworks, which cover loopback); the plain
# SMTP port keeps Debian's default (lenient: bare <LF> ends lines, so "\n.\n" ends DATA).
# Their test mail goes to $SMUGGLE_RCPT's own mbox, apart from the shared mailbox.
set -euo pipefail

DIR=${SMTPKIT_INTEROP_DIR:-/tmp/smtpkit-interop}
ENV_FILE=${SMTPKIT_INTEROP_ENV:-$DIR/env.json}
HERE=$(cd "$(dirname "$0")" && pwd)
FIXTURES=$HERE/../fixtures
USER_NAME=smtpkit@example.test
# A throwaway password for a throwaway server on loopback; the tests check it never leaks.
PASSWORD=interop-Secret-7d1f
SMUGGLE_RCPT=smuggle@example.test

log() { echo "postfix.sh: $*" >&2; }

install_packages() {
  # imap-login and pop3-login: Dovecot's IMAP and POP3 for the audit's mailbox-access check.
  if command -v postfix >/dev/null && command -v dovecot >/dev/null && [ -x /usr/lib/dovecot/imap-login ] &&
    [ -x /usr/lib/dovecot/pop3-login ]; then return; fi
  [ "$(id -u)" = 0 ] || { log "postfix and dovecot are missing and we are not root to install them"; exit 1; }
  log "installing postfix, dovecot-core, dovecot-imapd and dovecot-pop3d"
  # Keep the packages from starting their own daemons during install (no init system here).
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postfix dovecot-core dovecot-imapd dovecot-pop3d >/dev/null
}

# Free ports, asked of the OS; fail naming the holder if one is taken when we bind.
. "$HERE/ports.sh"

ipv6_loopback() {
  node -e 'require("net").createServer().listen(0, "::1", function () { this.close(); }).on("error", () => process.exit(1))' 2>/dev/null
}

start() {
  install_packages
  stop >/dev/null 2>&1 || true
  rm -rf "$DIR"
  mkdir -p "$DIR"/{conf,spool,data,mail/example.test,dovecot-run,dovecot-state}
  read -r SMTP SUBMISSION SMTPS IMAP IMAPS POP3 POP3S STRICT REJECT < <(free_ports 9)
  MAILBOX_ADDRESS=127.0.0.2
  local nobody_uid nobody_gid
  nobody_uid=$(id -u nobody)
  nobody_gid=$(id -g nobody)
  cp "$FIXTURES/tls/server.pem" "$FIXTURES/tls/server.key" "$DIR/conf/"
  chmod 600 "$DIR/conf/server.key"
  chown postfix:postfix "$DIR/data"
  chmod 700 "$DIR/data"
  chown "$nobody_uid:$nobody_gid" "$DIR/mail" "$DIR/mail/example.test"

  cat > "$DIR/conf/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $DIR/spool
data_directory = $DIR/data
meta_directory = /etc/postfix
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
mail_owner = postfix
setgid_group = postdrop
maillog_file = $DIR/maillog
maillog_file_prefixes = $DIR
myhostname = mail.test
mydomain = mail.test
myorigin = mail.test
mydestination =
mynetworks = 127.0.0.1/32
inet_interfaces = loopback-only
inet_protocols = $(ipv6_loopback && echo all || echo ipv4)
alias_maps =
alias_database =
biff = no
smtputf8_enable = yes
smtpd_banner = \$myhostname ESMTP smtpkit interop
smtpd_tls_cert_file = $DIR/conf/server.pem
smtpd_tls_key_file = $DIR/conf/server.key
smtpd_tls_security_level = may
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = private/auth
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
# Load benchmarks relay here without a mailbox growing: discard.test goes to the discard transport.
relay_domains = discard.test
virtual_mailbox_domains = example.test
virtual_mailbox_base = $DIR/mail
virtual_mailbox_maps = texthash:$DIR/conf/vmailbox
virtual_uid_maps = static:$nobody_uid
virtual_gid_maps = static:$nobody_gid
default_transport = discard:no outside delivery in tests
relay_transport = discard:no outside delivery in tests
CF
  {
    printf '%s example.test/%s\n' "$USER_NAME" smtpkit "$SMUGGLE_RCPT" smuggle
    # One mailbox per smuggling service, so tests of the three can run at once.
    for s in strict reject lenient; do printf 'smuggle-%s@example.test example.test/smuggle-%s\n' "$s" "$s"; done
  } > "$DIR/conf/vmailbox"

  local listen6=""
  # No reverse look-up of ::1 (no hosts entry here): it goes to the machine's DNS, and one
  # greeting in ~60 waited 5 s for it, which cipher scans over IPv6 took as refused suites.
  ipv6_loopback && listen6="[::1]:$SMTP inet n - n - - smtpd -o smtpd_peername_lookup=no"
  cat > "$DIR/conf/master.cf" <<CF
127.0.0.1:$SMTP inet n - n - - smtpd
$listen6
127.0.0.1:$SUBMISSION inet n - n - - smtpd
  -o smtpd_tls_security_level=encrypt
  -o smtpd_tls_auth_only=yes
127.0.0.1:$SMTPS inet n - n - - smtpd
  -o smtpd_tls_wrappermode=yes
127.0.0.1:$STRICT inet n - n - - smtpd
  -o smtpd_forbid_bare_newline=yes
  -o smtpd_forbid_bare_newline_exclusions=
127.0.0.1:$REJECT inet n - n - - smtpd
  -o smtpd_forbid_bare_newline=reject
  -o smtpd_forbid_bare_newline_exclusions=
pickup    unix n - n 60 1 pickup
cleanup   unix n - n - 0 cleanup
qmgr      unix n - n 300 1 qmgr
tlsmgr    unix - - n 1000? 1 tlsmgr
rewrite   unix - - n - - trivial-rewrite
bounce    unix - - n - 0 bounce
defer     unix - - n - 0 bounce
trace     unix - - n - 0 bounce
verify    unix - - n - 1 verify
flush     unix n - n 1000? 0 flush
proxymap  unix - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp      unix - - n - - smtp
relay     unix - - n - - smtp
showq     unix n - n - - showq
error     unix - - n - - error
retry     unix - - n - - error
discard   unix - - n - - discard
local     unix - n n - - local
virtual   unix - n n - - virtual
lmtp      unix - - n - - lmtp
anvil     unix - - n - 1 anvil
scache    unix - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
CF

  # SASL for Postfix (plaintext auth allowed: the AUTH-before-TLS tests need it), and IMAP and
  # POP3 as a careful admin runs them: STARTTLS/STLS, no login before TLS, 993/995-style ports.
  # Those listen on 127.0.0.2: Dovecot counts a client whose address is its own as secure
  # (no LOGINDISABLED for 127.0.0.1 -> 127.0.0.1), and a client on 127.0.0.1 reaching .2 is not.
  cat > "$DIR/conf/dovecot.conf" <<CF
protocols = imap pop3
listen = $MAILBOX_ADDRESS
base_dir = $DIR/dovecot-run
state_dir = $DIR/dovecot-state
log_path = $DIR/dovecot.log
ssl = yes
ssl_cert = <$DIR/conf/server.pem
ssl_key = <$DIR/conf/server.key
disable_plaintext_auth = no
protocol imap {
  disable_plaintext_auth = yes
}
protocol pop3 {
  disable_plaintext_auth = yes
}
service imap-login {
  inet_listener imap {
    address = $MAILBOX_ADDRESS
    port = $IMAP
  }
  inet_listener imaps {
    address = $MAILBOX_ADDRESS
    port = $IMAPS
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    address = $MAILBOX_ADDRESS
    port = $POP3
  }
  inet_listener pop3s {
    address = $MAILBOX_ADDRESS
    port = $POP3S
    ssl = yes
  }
}
auth_mechanisms = plain login cram-md5 scram-sha-1 scram-sha-256
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $DIR/conf/users
}
userdb {
  driver = static
  args = uid=$nobody_uid gid=$nobody_gid home=$DIR/mail
}
service auth {
  unix_listener $DIR/spool/private/auth {
    mode = 0660
    user = postfix
    group = postfix
  }
}
CF
  printf '%s:{PLAIN}%s\n' "$USER_NAME" "$PASSWORD" > "$DIR/conf/users"
  chmod 640 "$DIR/conf/users"
  chgrp dovecot "$DIR/conf/users"

  postfix -c "$DIR/conf" check || { log "postfix check failed"; cat "$DIR/maillog" 2>/dev/null >&2; exit 1; }
  mkdir -p "$DIR/spool/private"
  dovecot -c "$DIR/conf/dovecot.conf" </dev/null >/dev/null 2>&1 || { log "dovecot failed to start"; cat "$DIR/dovecot.log" >&2; exit 1; }
  if ! postfix -c "$DIR/conf" start </dev/null >/dev/null 2>&1; then
    log "postfix failed to start"; cat "$DIR/maillog" >&2; exit 1
  fi
  wait_for_port "$SMTP" && wait_for_port "$SUBMISSION" && wait_for_port "$SMTPS" && wait_for_port "$STRICT" && wait_for_port "$REJECT" || { cat "$DIR/maillog" >&2; exit 1; }
  for p in "$IMAP" "$IMAPS" "$POP3" "$POP3S"; do wait_for_port "$p" "$MAILBOX_ADDRESS" || { cat "$DIR/dovecot.log" >&2; exit 1; }; done

  mkdir -p "$(dirname "$ENV_FILE")"
  cat > "$ENV_FILE" <<JSON
{
  "smtp": $SMTP,
  "submission": $SUBMISSION,
  "smtps": $SMTPS,
  "imap": $IMAP,
  "imaps": $IMAPS,
  "pop3": $POP3,
  "pop3s": $POP3S,
  "mailboxAddress": "$MAILBOX_ADDRESS",
  "ipv6": $(ipv6_loopback && echo true || echo false),
  "user": "$USER_NAME",
  "password": "$PASSWORD",
  "mailbox": "$DIR/mail/example.test/smtpkit",
  "ca": "$(cd "$FIXTURES/tls" && pwd)/ca.pem",
  "smuggling": {
    "strict": $STRICT,
    "reject": $REJECT,
    "lenient": $SMTP,
    "rcpt": "$SMUGGLE_RCPT",
    "mailbox": "$DIR/mail/example.test/smuggle",
    "byService": {
      "strict": { "rcpt": "smuggle-strict@example.test", "mailbox": "$DIR/mail/example.test/smuggle-strict" },
      "reject": { "rcpt": "smuggle-reject@example.test", "mailbox": "$DIR/mail/example.test/smuggle-reject" },
      "lenient": { "rcpt": "smuggle-lenient@example.test", "mailbox": "$DIR/mail/example.test/smuggle-lenient" }
    }
  }
}
JSON
  log "up: smtp $SMTP, submission $SUBMISSION, smtps $SMTPS, imap $IMAP, imaps $IMAPS, pop3 $POP3, pop3s $POP3S, bare <LF> normalized $STRICT, refused $REJECT; details in $ENV_FILE"
}

wait_for_port() {
  for _ in $(seq 1 100); do
    if node -e 'const s=require("net").connect(Number(process.argv[1]),process.argv[2],()=>process.exit(0));s.on("error",()=>process.exit(1))' "$1" "${2:-127.0.0.1}"; then return 0; fi
    sleep 0.1
  done
  log "nothing listens on port $1 after 10 s"
  return 1
}

stop() {
  # Without the env file the interop tests skip (outside CI) instead of failing on a dead server.
  rm -f "$ENV_FILE"
  [ -f "$DIR/conf/main.cf" ] && postfix -c "$DIR/conf" stop </dev/null >/dev/null 2>&1 || true
  if [ -f "$DIR/dovecot-run/master.pid" ]; then
    kill "$(cat "$DIR/dovecot-run/master.pid")" 2>/dev/null || true
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
