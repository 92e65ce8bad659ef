#!/usr/bin/env bash
# A self-contained Dovecot IMAP server for integration tests.
#
#   .ci/dovecot.sh start DIR PORT   # prints "ready" once a user can log in on 127.0.0.1:PORT
#   .ci/dovecot.sh stop DIR
#
# Everything lives under DIR: dovecot.conf, users (passwd-file), mail/<user> (Maildir),
# home/<user> (the users' home directories, which Dovecot keeps a few small files in),
# run/ (base_dir: master.pid and sockets), state/, dovecot.log. /etc/dovecot is neither read
# nor changed, and no system instance is needed, so several instances (different DIR and
# PORT) run side by side. Plain IMAP on 127.0.0.1 only, no TLS.
#
# Users (password "geheim"): service@shop.example, info@shop.example. More can be added by
# setting DOVECOT_USERS="a@x b@y" before start. DOVECOT_DEBUG=1 turns on auth/mail debug logs.
#
# As root (CI), DIR is made 0711 and DIR/mail, DIR/home are owned by nobody, which the mail
# processes run as (Dovecot refuses root for them): DIR's parents must be searchable by others.
#
# Written for Dovecot 2.3 (Debian 12: 2.3.19.1); Dovecot 2.4 has a different config syntax.
set -euo pipefail

USERS=${DOVECOT_USERS:-service@shop.example info@shop.example}

usage() { echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2; }

abspath() { mkdir -p "$1" && (cd "$1" && pwd -P); }

# base_dir holds unix sockets; their paths must stay under ~100 bytes (sun_path is 108).
# For a long DIR, base_dir is a short directory in /tmp and DIR/run is a symlink to it.
setup_base_dir() {
  local dir=$1
  if [ -L "$dir/run" ] && [ -d "$dir/run" ]; then readlink "$dir/run"; return; fi
  if [ ${#dir} -le 60 ]; then mkdir -p "$dir/run"; echo "$dir/run"; return; fi
  rm -rf "$dir/run"
  local short; short=$(mktemp -d /tmp/dovecot-run.XXXXXX)
  ln -s "$short" "$dir/run"
  echo "$short"
}

cleanup_base_dir() {  # removes a short base_dir made by setup_base_dir, once stopped
  local link=$1/run target
  [ -L "$link" ] || return 0
  target=$(readlink "$link")
  case $target in /tmp/dovecot-run.*) rm -rf "$target";; esac
  rm -f "$link"
}

alive() {  # a process that exited but is not reaped yet (a zombie) counts as gone
  kill -0 "$1" 2>/dev/null || return 1
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ "$state" != Z ]
}

master_pid() {  # prints the pid of the running master for DIR, or fails
  local pidfile=$1/run/master.pid pid
  [ -f "$pidfile" ] || return 1
  pid=$(cat "$pidfile" 2>/dev/null) || return 1
  [ -n "$pid" ] && alive "$pid" || return 1
  # A stale pid file may name an unrelated process that reused the pid.
  grep -q dovecot "/proc/$pid/comm" 2>/dev/null || return 1
  echo "$pid"
}

serves() {  # true when 127.0.0.1:$1 greets and lets user $2 log in
  timeout 3 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    IFS= read -r -t 1 line <&3 || exit 1
    case $line in "* OK"*) ;; *) exit 1;; esac
    printf "a LOGIN \"%s\" geheim\r\n" "$2" >&3
    while IFS= read -r -t 2 line <&3; do
      case $line in
        "a OK"*) printf "b LOGOUT\r\n" >&3; exit 0;;
        "a "*) exit 1;;
      esac
    done
    exit 1' _ "$1" "$2" 2>/dev/null
}

fail() {
  local dir=$1; shift
  echo "dovecot.sh: $*" >&2
  for f in "$dir/startup.log" "$dir/dovecot.log"; do
    [ -s "$f" ] && { echo "--- tail of $f" >&2; tail -n 30 "$f" >&2; }
  done
  master_pid "$dir" >/dev/null || cleanup_base_dir "$dir"
  exit 1
}

ensure_installed() {
  [ -x /usr/sbin/dovecot ] && [ -x /usr/lib/dovecot/imap ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "dovecot.sh: dovecot-imapd is not installed and we are not root to install it" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  # The package's postinst tries to start the system service; in a container policy-rc.d
  # usually forbids that, and either way our instance shares nothing with it.
  apt-get install -y -qq dovecot-imapd >/dev/null 2>&1 || {
    apt-get update -qq >/dev/null
    apt-get install -y -qq dovecot-imapd >/dev/null
  }
}

write_config() {
  local dir=$1 port=$2 base=$3
  local user group login_user login_chroot mail_user mail_group unchroot=""
  user=$(id -un); group=$(id -gn)
  if [ "$(id -u)" -eq 0 ]; then
    # Dovecot 2.3 will not run these as root: imap-login ("This process must not be run as
    # root") and the imap process ("Mail access not allowed for root"). imap-login runs as
    # dovenull (made by dovecot-core), chrooted into base_dir/login as usual; mail is owned
    # by and accessed as nobody:nogroup. The other internal processes run as root.
    login_user=dovenull
    getent passwd dovenull >/dev/null || login_user=nobody
    login_chroot=login
    mail_user=nobody
    mail_group=$(id -g nobody)
    mkdir -p "$dir/mail" "$dir/home"
    chmod 0711 "$dir"  # DIR may be a 0700 temp dir; nobody must reach DIR/mail
    chown -R "$mail_user:$mail_group" "$dir/mail" "$dir/home"
    setpriv --reuid="$mail_user" --regid="$mail_group" --clear-groups test -w "$dir/mail" \
      || fail "$dir" "$dir/mail is not writable for $mail_user: a parent directory is not searchable by others"
  else
    # Unprivileged: everything runs as the caller; chroot would need root.
    login_user=$user
    login_chroot=
    mail_user=$(id -u)
    mail_group=$(id -g)
    local svc
    for svc in anvil ipc old-stats imap-urlauth-login; do
      unchroot+="service $svc {"$'\n'"  chroot ="$'\n'"}"$'\n'
    done
  fi
  local mail_uid mail_gid
  mail_uid=$(id -u "$mail_user"); mail_gid=$mail_group

  mkdir -p "$dir/mail" "$dir/home" "$dir/state"
  : > "$dir/users"
  for u in $USERS; do
    # user:password:uid:gid:gecos:home:shell:extra; uid, gid and home come from mail_*.
    echo "$u:{PLAIN}geheim:::::" >> "$dir/users"
  done
  chmod 0644 "$dir/users"

  local debug=no
  [ "${DOVECOT_DEBUG:-0}" = 1 ] && debug=yes

  cat > "$dir/dovecot.conf" <<EOF
# Generated by .ci/dovecot.sh for a test instance; Dovecot 2.3 syntax.
instance_name = anliegen-test-$port
base_dir = $base
state_dir = $dir/state
log_path = $dir/dovecot.log
info_log_path = $dir/dovecot.log
debug_log_path = $dir/dovecot.log

protocols = imap
listen = 127.0.0.1

# Plain IMAP, cleartext LOGIN/AUTHENTICATE PLAIN allowed (2.4 calls it auth_allow_cleartext).
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
auth_verbose = yes
auth_debug = $debug
mail_debug = $debug

# Internal processes run as whoever started the instance (root in CI); see write_config.
default_internal_user = $user
default_internal_group = $group
default_login_user = $login_user
first_valid_uid = $mail_uid
last_valid_uid = $mail_uid
first_valid_gid = $mail_gid
last_valid_gid = $mail_gid

passdb {
  driver = passwd-file
  args = $dir/users
}
userdb {
  driver = passwd-file
  args = $dir/users
}

mail_uid = $mail_uid
mail_gid = $mail_gid
mail_home = $dir/home/%u
mail_location = maildir:$dir/mail/%u
namespace inbox {
  inbox = yes
  separator = /
  prefix =
  mailbox Drafts {
    special_use = \Drafts
    auto = subscribe
  }
  mailbox Sent {
    special_use = \Sent
    auto = subscribe
  }
  mailbox Junk {
    special_use = \Junk
    auto = subscribe
  }
  mailbox Trash {
    special_use = \Trash
    auto = subscribe
  }
}

# Tests open many connections for the same user from 127.0.0.1 (IDLE plus fetches).
mail_max_userip_connections = 200

service imap-login {
  chroot = $login_chroot
  inet_listener imap {
    address = 127.0.0.1
    port = $port
  }
  inet_listener imaps {
    port = 0
  }
}
$unchroot
EOF
}

start() {
  [ $# -eq 2 ] || usage
  local port=$2
  [[ $port =~ ^[0-9]+$ ]] && [ "$port" -gt 0 ] && [ "$port" -lt 65536 ] || usage
  ensure_installed
  local version; version=$(/usr/sbin/dovecot --version)
  case $version in
    2.3.*) ;;
    *) echo "dovecot.sh: Dovecot $version found; this script writes 2.3 config only" >&2; exit 1;;
  esac

  local dir; dir=$(abspath "$1")
  local pid
  if pid=$(master_pid "$dir"); then
    fail "$dir" "an instance for $dir is already running (pid $pid); stop it first"
  fi
  local base; base=$(setup_base_dir "$dir")
  rm -f "$base/master.pid"
  write_config "$dir" "$port" "$base"
  # Keep one previous log; the wait below reads this start's log only.
  [ -f "$dir/dovecot.log" ] && mv -f "$dir/dovecot.log" "$dir/dovecot.log.prev"

  /usr/sbin/dovecot -c "$dir/dovecot.conf" > "$dir/startup.log" 2>&1 \
    || fail "$dir" "dovecot failed to start (is port $port free?)"

  # The master binds the port before it forks imap-login, so a connect alone proves little:
  # wait until a user can log in. A Fatal in the log means a service will not come up.
  local deadline=$((SECONDS + 10)) first_user=${USERS%% *}
  while [ $SECONDS -lt $deadline ]; do
    grep -q 'Fatal:' "$dir/dovecot.log" 2>/dev/null && break
    if serves "$port" "$first_user"; then
      master_pid "$dir" >/dev/null || fail "$dir" "port $port answers but our dovecot is not running"
      grep -q 'Fatal:' "$dir/dovecot.log" 2>/dev/null && break
      echo ready
      return 0
    fi
    master_pid "$dir" >/dev/null || fail "$dir" "dovecot exited"
    sleep 0.2
  done
  stop "$dir" >/dev/null 2>&1 || true
  fail "$dir" "no IMAP login on 127.0.0.1:$port within 10 s"
}

stop() {
  [ $# -eq 1 ] || usage
  [ -d "$1" ] || { echo "dovecot.sh: no such directory $1" >&2; return 0; }
  local dir; dir=$(cd "$1" && pwd -P)
  local pid
  pid=$(master_pid "$dir") || { cleanup_base_dir "$dir"; echo "not running"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  local i
  for i in $(seq 100); do
    alive "$pid" || { cleanup_base_dir "$dir"; echo stopped; return 0; }
    sleep 0.1
  done
  # The master did not go within 10 s: kill it and whatever of its children remain.
  pkill -KILL -P "$pid" 2>/dev/null || true
  kill -KILL "$pid" 2>/dev/null || true
  cleanup_base_dir "$dir"
  echo "stopped (killed)"
}

case ${1:-} in
  start) shift; start "$@";;
  stop) shift; stop "$@";;
  *) usage;;
esac
