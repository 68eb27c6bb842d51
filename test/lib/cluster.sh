# test/lib/cluster.sh: bash functions that install the build dependencies,
# build and install login_anomaly, and run a throwaway PostgreSQL 15 cluster
# for the tests and the demo.
#
# Source this file from bash.  It sets no shell options, so it works with and
# without `set -e`.  Every function returns non-zero on failure and prints
# the reason on stderr.
#
#   la_install_deps          apt-get install the packages of LA_DEPS that are
#                            missing (as root, or through sudo)
#   la_build_install         make, then make install, in the repository root
#   la_start_cluster         initdb and start a cluster in a new temporary
#                            directory; export PGHOST, PGPORT, PGUSER and
#                            PGDATABASE so that psql and libpq clients reach it
#   la_stop_cluster          stop the cluster and delete its directory; an EXIT
#                            trap set by la_start_cluster calls it, and it does
#                            nothing when called a second time
#   la_server_log_has_crash  return 0 if the server log shows a crashed backend
#
# LA_KEEP_CLUSTER=1 leaves the cluster running at exit, for debugging.  A
# caller that sets its own EXIT trap after la_start_cluster replaces the one
# set here, so it must call la_stop_cluster itself.

# Debian bookworm packages needed to build, test and demonstrate the
# extension.  Extend the array after sourcing, e.g. LA_DEPS+=(jq), then call
# la_install_deps.
LA_DEPS=(
	build-essential
	postgresql-15
	postgresql-server-dev-15
	libsvm-dev
	libpq-dev
	libcurl4-openssl-dev
	libpcre2-dev
	libyaml-dev
	uap-core
	tzdata
	python3
	python3-psycopg2
	python3-yaml
	python3-aiosmtpd
	python3-ua-parser
	python3-sklearn
	gnuplot-nox
	valgrind
	openssl
)

LA_REPO_ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
LA_PG_CONFIG=${LA_PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
LA_PG_BIN=${LA_PG_BIN:-/usr/lib/postgresql/15/bin}

# Debian's interpreter, which has python3-psycopg2.  A python3 found earlier
# in PATH (pyenv, a virtualenv) usually does not.
LA_PYTHON=${LA_PYTHON:-/usr/bin/python3}

# First port tried by la_start_cluster; it tries the next 19 when it is taken.
LA_FIRST_PORT=${LA_FIRST_PORT:-54329}

# Run a command as root: directly when we are root, else through sudo.
la_as_root()
{
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		echo "la_as_root: need root or sudo to run: $*" >&2
		return 1
	fi
}

la_install_deps()
{
	local package status
	local missing=()

	for package in "${LA_DEPS[@]}"; do
		status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null)
		if [ "$status" != "install ok installed" ]; then
			missing+=("$package")
		fi
	done
	if [ ${#missing[@]} -eq 0 ]; then
		return 0
	fi

	echo "la_install_deps: installing ${missing[*]}" >&2
	la_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q || {
		echo "la_install_deps: apt-get update failed" >&2
		return 1
	}
	la_as_root env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends "${missing[@]}" || {
		echo "la_install_deps: apt-get install failed for: ${missing[*]}" >&2
		return 1
	}
}

la_build_install()
{
	make -C "$LA_REPO_ROOT" -j"$(nproc)" PG_CONFIG="$LA_PG_CONFIG" || {
		echo "la_build_install: make failed in $LA_REPO_ROOT" >&2
		return 1
	}
	la_as_root make -C "$LA_REPO_ROOT" PG_CONFIG="$LA_PG_CONFIG" install || {
		echo "la_build_install: make install failed in $LA_REPO_ROOT" >&2
		return 1
	}
}

# initdb and pg_ctl reject root, so as root they run as Debian's postgres
# user.  The working directory is the cluster directory, because the
# caller's may not be readable by that user.
la_as_cluster_owner()
{
	if [ "$(id -u)" -eq 0 ]; then
		(cd "$LA_CLUSTER_DIR" && runuser -u postgres -- "$@")
	else
		(cd "$LA_CLUSTER_DIR" && "$@")
	fi
}

# Return 0 when something already accepts TCP connections on the port.
la_port_in_use()
{
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

la_start_cluster()
{
	local owner parent port started=0 previous_trap

	if [ -n "${LA_CLUSTER_DIR:-}" ]; then
		echo "la_start_cluster: a cluster is already running in $LA_CLUSTER_DIR" >&2
		return 1
	fi
	if [ "$(id -u)" -eq 0 ]; then
		owner=postgres
		if ! id postgres >/dev/null 2>&1; then
			echo "la_start_cluster: running as root needs the postgres user (package postgresql-15)" >&2
			return 1
		fi
	else
		owner=$(id -un)
	fi

	# As root the postgres user must reach the directory, and root's TMPDIR
	# may be private.
	parent=${TMPDIR:-/tmp}
	if [ "$owner" = postgres ] && ! runuser -u postgres -- test -x "$parent"; then
		parent=/tmp
	fi
	LA_CLUSTER_DIR=$(mktemp -d "$parent/login_anomaly-cluster.XXXXXX") || return 1
	LA_PGDATA=$LA_CLUSTER_DIR/data
	LA_SOCKET_DIR=$LA_CLUSTER_DIR/socket
	LA_SERVER_LOG=$LA_CLUSTER_DIR/server.log
	mkdir "$LA_SOCKET_DIR"
	chmod 755 "$LA_CLUSTER_DIR" "$LA_SOCKET_DIR"
	if [ "$owner" = postgres ]; then
		chown -R postgres: "$LA_CLUSTER_DIR"
	fi

	# Stop the cluster at exit, keeping any EXIT trap the caller already had.
	previous_trap=$(trap -p EXIT)
	if [ -n "$previous_trap" ]; then
		eval "set -- $previous_trap"
		trap "la_stop_cluster; $3" EXIT
	else
		trap la_stop_cluster EXIT
	fi
	trap 'exit 130' INT
	trap 'exit 143' TERM

	if ! la_as_cluster_owner "$LA_PG_BIN/initdb" -D "$LA_PGDATA" -U "$owner" \
			--auth=trust --encoding=UTF8 --locale=C.UTF-8 \
			>"$LA_CLUSTER_DIR/initdb.log" 2>&1; then
		echo "la_start_cluster: initdb failed:" >&2
		cat "$LA_CLUSTER_DIR/initdb.log" >&2
		return 1
	fi

	# Settings for tests only: fsync=off loses data on a machine crash.
	cat >>"$LA_PGDATA/postgresql.conf" <<EOF

# added by test/lib/cluster.sh
listen_addresses = '127.0.0.1'
unix_socket_directories = '$LA_SOCKET_DIR'
max_connections = 50
fsync = off
synchronous_commit = off
full_page_writes = off
timezone = 'UTC'
log_timezone = 'UTC'
lc_messages = 'C'
log_line_prefix = '%m [%p] %q%u@%d '
log_min_messages = warning
EOF

	# A port can be taken between the check and the start, so a start that
	# fails to bind moves on to the next port as well.
	for port in $(seq "$LA_FIRST_PORT" $((LA_FIRST_PORT + 19))); do
		if la_port_in_use "$port"; then
			continue
		fi
		if la_as_cluster_owner "$LA_PG_BIN/pg_ctl" start -w -t 60 \
				-D "$LA_PGDATA" -l "$LA_SERVER_LOG" -o "-p $port" >/dev/null; then
			started=1
			break
		fi
		if ! grep -q -e 'could not bind' -e 'could not create any TCP/IP sockets' \
				"$LA_SERVER_LOG" 2>/dev/null; then
			break
		fi
	done
	if [ "$started" -ne 1 ]; then
		echo "la_start_cluster: the server did not start; end of $LA_SERVER_LOG:" >&2
		tail -n 30 "$LA_SERVER_LOG" >&2 2>/dev/null
		return 1
	fi

	LA_PORT=$port
	export PGHOST=$LA_SOCKET_DIR
	export PGPORT=$port
	export PGUSER=$owner
	export PGDATABASE=postgres
	export LA_CLUSTER_DIR LA_PGDATA LA_SOCKET_DIR LA_SERVER_LOG LA_PORT
	echo "la_start_cluster: PostgreSQL running on 127.0.0.1:$port and $LA_SOCKET_DIR as $owner; log $LA_SERVER_LOG" >&2
}

la_stop_cluster()
{
	if [ -z "${LA_CLUSTER_DIR:-}" ]; then
		return 0
	fi
	if [ "${LA_KEEP_CLUSTER:-0}" = 1 ]; then
		echo "la_stop_cluster: LA_KEEP_CLUSTER=1, leaving the cluster running:" >&2
		echo "  PGHOST=$LA_SOCKET_DIR PGPORT=${LA_PORT:-?} PGUSER=${PGUSER:-?} psql postgres" >&2
		echo "  stop it with: $LA_PG_BIN/pg_ctl stop -D $LA_PGDATA (as ${PGUSER:-its owner})" >&2
		LA_CLUSTER_DIR=
		return 0
	fi
	if [ -f "$LA_PGDATA/postmaster.pid" ]; then
		la_as_cluster_owner "$LA_PG_BIN/pg_ctl" stop -D "$LA_PGDATA" -m fast -w -t 60 \
			>/dev/null 2>&1 ||
			echo "la_stop_cluster: pg_ctl stop failed for $LA_PGDATA" >&2
	fi
	rm -rf -- "$LA_CLUSTER_DIR"
	LA_CLUSTER_DIR=
}

# Return 0 if the server log (by default the running cluster's) shows a
# backend killed by a signal or a PANIC.
la_server_log_has_crash()
{
	local log=${1:-${LA_SERVER_LOG:-}}

	[ -n "$log" ] && [ -f "$log" ] &&
		grep -q -E 'terminated by signal|PANIC|server process .* was terminated' "$log"
}
